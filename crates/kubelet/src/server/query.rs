//! Reading query strings whose keys repeat (`command=a&command=b`); the decoding is the
//! shared one (`skiff_http::query`).

pub use skiff_http::query::pairs;

/// The first value of `key`.
pub fn get(pairs: &[(String, String)], key: &str) -> Option<String> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

/// Every value of `key`.
pub fn all(pairs: &[(String, String)], key: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .collect()
}

/// A boolean flag: "1", "true" (any case) are true.
pub fn flag(pairs: &[(String, String)], key: &str) -> bool {
    get(pairs, key).is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_and_decoding() {
        let p = pairs(Some(
            "command=sh&command=-c&command=echo%20hi+there&tty=1&x=%zz",
        ));
        assert_eq!(all(&p, "command"), vec!["sh", "-c", "echo hi there"]);
        assert!(flag(&p, "tty"));
        assert!(!flag(&p, "stdin"));
        assert_eq!(get(&p, "x").as_deref(), Some("%zz"));
    }
}
