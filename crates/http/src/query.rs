//! Query strings: percent-decoding (`%XX` and `+`), pairs in order (keys may repeat, as
//! `command=sh&command=-c` does), and percent-encoding for forwarded requests.

/// Decodes `%XX` and `+` in a query component. A `%` not followed by two hex digits stays
/// as it is; invalid UTF-8 becomes U+FFFD.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Every decoded `(key, value)` pair of a raw query, in order.
pub fn pairs(q: Option<&str>) -> Vec<(String, String)> {
    q.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn percent_encode(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

/// A query string from pairs, each key and value percent-encoded.
pub fn encode_pairs(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding() {
        let cases = [
            ("app%3Dweb%2Ctier+in+(a)", "app=web,tier in (a)"),
            ("echo%20hi+there", "echo hi there"),
            ("%zz", "%zz"),
            // Go's unhex takes hex digits only; a sign is not one.
            ("%+1", "% 1"),
            ("100%", "100%"),
            ("%4", "%4"),
            ("%41", "A"),
            ("%e2%9c%93", "\u{2713}"),
        ];
        for (raw, want) in cases {
            assert_eq!(percent_decode(raw), want, "{raw}");
        }
    }

    #[test]
    fn repeated_keys_in_order_and_round_trip() {
        let p = pairs(Some(
            "command=sh&command=-c&command=echo%20hi&tty=1&flag&&x=",
        ));
        let keys: Vec<&str> = p.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["command", "command", "command", "tty", "flag", "x"]);
        assert_eq!(p[2].1, "echo hi");
        assert_eq!(p[4].1, "");
        assert_eq!(pairs(Some(&encode_pairs(&p))), p);
        assert_eq!(percent_encode("a b/c~"), "a%20b%2Fc~");
    }
}
