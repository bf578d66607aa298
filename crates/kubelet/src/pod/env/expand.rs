//! `$(VAR)` expansion in env values, command and args, with upstream's rules:
//! `$$` escapes, unknown or unterminated references stay as written.

/// Expand `$(NAME)` references in `input` using `lookup`.
pub fn expand(input: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(input.len());
    let mut checkpoint = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' && i + 1 < bytes.len() {
            out.push_str(&input[checkpoint..i]);
            let rest = &input[i + 1..];
            let (text, advance) = read_reference(rest, lookup);
            out.push_str(&text);
            i += advance;
            checkpoint = i + 1;
        }
        i += 1;
    }
    if checkpoint < input.len() {
        out.push_str(&input[checkpoint..]);
    }
    out
}

/// What follows a `$`: returns the replacement text and how many bytes after
/// the `$` were consumed.
fn read_reference(rest: &str, lookup: &dyn Fn(&str) -> Option<String>) -> (String, usize) {
    let first = rest.chars().next().unwrap_or('$');
    match first {
        '$' => ("$".to_string(), 1),
        '(' => match rest[1..].find(')') {
            Some(end) => {
                let name = &rest[1..1 + end];
                let text = lookup(name).unwrap_or_else(|| format!("$({name})"));
                (text, end + 2)
            }
            None => ("$(".to_string(), 1),
        },
        c => (format!("${c}"), c.len_utf8()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "VAR_A" => Some("A".into()),
            "VAR_B" => Some("B".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expands_like_upstream() {
        let cases = [
            ("$(VAR_A)", "A"),
            ("___$(VAR_A)___", "___A___"),
            ("$(VAR_A)$(VAR_B)", "AB"),
            ("$(VAR_A)-$(UNKNOWN)", "A-$(UNKNOWN)"),
            ("$$(VAR_A)", "$(VAR_A)"),
            ("$$$(VAR_A)", "$A"),
            ("$(VAR_A", "$(VAR_A"),
            ("$VAR_A", "$VAR_A"),
            ("foo$", "foo$"),
            ("$(EMPTY)x", "x"),
            ("$()", "$()"),
            ("no refs", "no refs"),
            ("ünï$(VAR_B)ç", "ünïBç"),
            ("$ü", "$ü"),
        ];
        for (input, want) in cases {
            assert_eq!(expand(input, &env), want, "input {input:?}");
        }
    }
}
