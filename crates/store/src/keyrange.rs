//! Key-range arithmetic for prefix scans: the exclusive upper bound of a prefix.

/// The smallest string greater than every string that starts with `prefix`,
/// or `None` when no such bound exists (empty prefix, or only `char::MAX`).
///
/// UTF-8 preserves code-point order under byte comparison, so bumping the last
/// character that can be bumped gives a bound SQLite (BINARY collation) and
/// etcd (byte keys) agree with.
pub(crate) fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        if let Some(next) = next_char(last) {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// The next Unicode scalar value after `c`, skipping the surrogate gap.
fn next_char(c: char) -> Option<char> {
    let mut code = u32::from(c) + 1;
    if (0xD800..=0xDFFF).contains(&code) {
        code = 0xE000;
    }
    char::from_u32(code)
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn bumps_last_char() {
        assert_eq!(
            prefix_end("/registry/pods/").as_deref(),
            Some("/registry/pods0")
        );
        assert_eq!(prefix_end("a").as_deref(), Some("b"));
        assert_eq!(prefix_end(""), None);
    }

    #[test]
    fn skips_max_chars_and_surrogates() {
        assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{10FFFF}"), None);
        assert_eq!(prefix_end("\u{D7FF}").as_deref(), Some("\u{E000}"));
    }

    #[test]
    fn bound_orders_after_every_extension() {
        let end = prefix_end("/a/").unwrap_or_default();
        for key in ["/a/", "/a/b", "/a/\u{10FFFF}zz", "/a/\u{7f}"] {
            assert!(key < end.as_str(), "{key:?} < {end:?}");
        }
        assert!("/a0" >= end.as_str());
    }
}
