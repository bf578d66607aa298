//! The grammar of reference parts (`distribution/reference`'s regular expressions, as plain
//! scanners): registry host with optional port, repository path, tag and digest.

/// `n` lowercase hexadecimal digits.
pub(super) fn is_hex(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A registry host: DNS-like labels (letters, digits, inner dashes) joined by dots, or an
/// IPv6 address in brackets; either with an optional `:port`.
pub(super) fn is_domain(d: &str) -> bool {
    let (host, port) = if let Some(rest) = d.strip_prefix('[') {
        let Some((addr, after)) = rest.split_once(']') else {
            return false;
        };
        if addr.is_empty() || !addr.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return false;
        }
        match after {
            "" => return true,
            p => match p.strip_prefix(':') {
                Some(port) => ("[]", port),
                None => return false,
            },
        }
    } else {
        match d.split_once(':') {
            Some((h, p)) => (h, p),
            None => (d, "1"),
        }
    };
    let port_ok = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
    port_ok && (host == "[]" || host.split('.').all(is_domain_label))
}

fn is_domain_label(l: &str) -> bool {
    let b = l.as_bytes();
    match (b.first(), b.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        }
        _ => false,
    }
}

/// A repository path: `/`-separated components of lowercase letters and digits, runs of which
/// may be joined by one `.`, one or two `_`, or any number of `-`.
pub(super) fn is_path(p: &str) -> bool {
    p.split('/').all(is_path_component)
}

fn is_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    let mut i = 0;
    loop {
        let start = i;
        while i < b.len() && alnum(b[i]) {
            i += 1;
        }
        if i == start {
            return false; // empty, or a separator not between alphanumerics
        }
        if i == b.len() {
            return true;
        }
        let sep = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let ok = match &b[sep..i] {
            b"." | b"_" | b"__" => true,
            s => s.iter().all(|x| *x == b'-'),
        };
        if !ok {
            return false;
        }
    }
}

/// A tag: a letter, digit or `_`, then up to 127 of those, `.` and `-`.
pub(super) fn is_tag(t: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && word(b[0])
        && b[1..].iter().all(|&c| word(c) || c == b'.' || c == b'-')
}

/// A digest a reference may pin: `sha256`, `sha384` or `sha512`, then that many lowercase
/// hexadecimal digits (the algorithms `go-digest` knows).
pub(super) fn is_reference_digest(d: &str) -> bool {
    match d.split_once(':') {
        Some(("sha256", hex)) => is_hex(hex, 64),
        Some(("sha384", hex)) => is_hex(hex, 96),
        Some(("sha512", hex)) => is_hex(hex, 128),
        _ => false,
    }
}
