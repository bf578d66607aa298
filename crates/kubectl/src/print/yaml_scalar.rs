//! Scalar style decisions of go-yaml v2 (what `sigs.k8s.io/yaml` emits): which strings
//! are quoted, how, and how long lines fold at column 80.

/// How a string scalar is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Unquoted.
    Plain,
    /// `'…'`.
    Single,
    /// `"…"` with escapes.
    Double,
    /// `|` block.
    Literal,
}

/// True when go-yaml would read `s` back as something other than a string.
pub fn resolves_non_string(s: &str) -> bool {
    const WORDS: &[&str] = &[
        "", "~", "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "n", "N",
        "no", "No", "NO", "off", "Off", "OFF", "true", "True", "TRUE", "false", "False", "FALSE",
        ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf",
        "-.Inf", "-.INF", "<<",
    ];
    if WORDS.contains(&s) {
        return true;
    }
    let first = s.as_bytes()[0];
    match first {
        b'.' => s.parse::<f64>().is_ok() && !s[1..].starts_with(['i', 'I', 'n', 'N']),
        b'+' | b'-' | b'0'..=b'9' => {
            if first.is_ascii_digit() && is_timestamp(s) {
                return true;
            }
            let plain: String = s.chars().filter(|c| *c != '_').collect();
            go_parse_int(&plain) || is_yaml_float(&plain) || is_binary(&plain)
        }
        _ => false,
    }
}

fn go_parse_int(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() {
        return false;
    }
    let lower = body.to_ascii_lowercase();
    let (digits, radix) = if let Some(h) = lower.strip_prefix("0x") {
        (h.to_string(), 16)
    } else if let Some(o) = lower.strip_prefix("0o") {
        (o.to_string(), 8)
    } else if let Some(b) = lower.strip_prefix("0b") {
        (b.to_string(), 2)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (lower[1..].to_string(), 8)
    } else {
        (lower, 10)
    };
    !digits.is_empty() && u64::from_str_radix(&digits, radix).is_ok()
}

fn is_binary(s: &str) -> bool {
    let b = s.strip_prefix('-').unwrap_or(s);
    b.strip_prefix("0b")
        .is_some_and(|d| !d.is_empty() && d.chars().all(|c| c == '0' || c == '1'))
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let st = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - st
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let num = |i: &mut usize, min: usize, max: usize| {
        let st = *i;
        while *i < b.len() && b[*i].is_ascii_digit() && *i - st < max {
            *i += 1;
        }
        *i - st >= min
    };
    let mut i = 0;
    if !(num(&mut i, 4, 4) && b.get(i) == Some(&b'-')) {
        return false;
    }
    i += 1;
    if !(num(&mut i, 1, 2) && b.get(i) == Some(&b'-')) {
        return false;
    }
    i += 1;
    if !num(&mut i, 1, 2) {
        return false;
    }
    if i == b.len() {
        return true;
    }
    let sep = b[i];
    if !(sep == b'T' || sep == b't' || sep == b' ') {
        return false;
    }
    i += 1;
    for k in 0..3 {
        if !num(&mut i, 1, 2) {
            return false;
        }
        if k < 2 {
            if b.get(i) != Some(&b':') {
                return false;
            }
            i += 1;
        }
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !num(&mut i, 1, 9) {
            return false;
        }
    }
    let rest = &s[i..];
    if sep == b' ' {
        return rest.is_empty();
    }
    if rest == "Z" {
        return true;
    }
    let r = rest.as_bytes();
    r.len() == 6
        && (r[0] == b'+' || r[0] == b'-')
        && r[1].is_ascii_digit()
        && r[2].is_ascii_digit()
        && r[3] == b':'
        && r[4].is_ascii_digit()
        && r[5].is_ascii_digit()
}

/// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`
fn is_base60_float(s: &str) -> bool {
    if !s.contains(':') {
        return false;
    }
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (main, frac) = match body.split_once('.') {
        Some((m, f)) => (m, Some(f)),
        None => (body, None),
    };
    if let Some(f) = frac {
        if !f.chars().all(|c| c.is_ascii_digit() || c == '_') {
            return false;
        }
    }
    let mut parts = main.split(':');
    let head = parts.next().unwrap_or("");
    if !head.starts_with(|c: char| c.is_ascii_digit())
        || !head.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return false;
    }
    parts.all(|p| {
        let b = p.as_bytes();
        match b.len() {
            1 => b[0].is_ascii_digit(),
            2 => (b'0'..=b'5').contains(&b[0]) && b[1].is_ascii_digit(),
            _ => false,
        }
    })
}

/// Whether go-yaml counts `c` as printable.
pub fn is_printable(c: char) -> bool {
    let u = c as u32;
    u == 0x0A
        || (0x20..=0x7E).contains(&u)
        || u == 0x85
        || (0xA0..=0xD7FF).contains(&u)
        || ((0xE000..=0xFFFD).contains(&u) && u != 0xFEFF)
        || (0x10000..=0x10FFFF).contains(&u)
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// The style go-yaml v2 picks for string `s`; `key` marks a mapping key.
pub fn choose_style(s: &str, key: bool) -> Style {
    let requested = if s.contains('\n') {
        Style::Literal
    } else if !resolves_non_string(s) && !is_base60_float(s) {
        Style::Plain
    } else {
        Style::Double
    };
    let a = analyze(s);
    let mut style = requested;
    if style == Style::Plain && (!a.block_plain || (s.is_empty() && key)) {
        style = Style::Single;
    }
    if style == Style::Plain && key && a.multiline {
        style = Style::Single;
    }
    if style == Style::Single && !a.single {
        style = Style::Double;
    }
    if style == Style::Literal && (!a.block || key) {
        style = Style::Double;
    }
    style
}

struct Analysis {
    multiline: bool,
    block_plain: bool,
    single: bool,
    block: bool,
}

/// go-yaml's `yaml_emitter_analyze_scalar`: which styles can carry `s` unchanged.
fn analyze(s: &str) -> Analysis {
    if s.is_empty() {
        return Analysis {
            multiline: false,
            block_plain: true,
            single: true,
            block: false,
        };
    }
    let chars: Vec<char> = s.chars().collect();
    let block_ind = s.starts_with("---") || s.starts_with("...") || has_indicator(&chars);
    let sp = spacing(&chars);
    let mut a = Analysis {
        multiline: sp.line_breaks,
        block_plain: true,
        single: true,
        block: true,
    };
    if sp.leading_space || sp.leading_break || sp.trailing_space || sp.trailing_break {
        a.block_plain = false;
    }
    if sp.trailing_space {
        a.block = false;
    }
    if sp.break_space {
        a.block_plain = false;
        a.single = false;
    }
    if sp.space_break || sp.special {
        a.block_plain = false;
        a.single = false;
        a.block = false;
    }
    if sp.line_breaks || block_ind {
        a.block_plain = false;
    }
    a
}

/// Whether an indicator character sits where a plain scalar cannot have it: a flow or
/// other indicator first, `? : -` first before whitespace, `: ` anywhere, ` #`.
fn has_indicator(chars: &[char]) -> bool {
    let mut block_ind = false;
    let mut preceded_ws = true;
    let n = chars.len();
    for (i, &c) in chars.iter().enumerate() {
        let followed_ws = i + 1 >= n || chars[i + 1] == ' ' || chars[i + 1] == '\t';
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => block_ind = true,
                '?' | ':' | '-' if followed_ws => block_ind = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_ws => block_ind = true,
                '#' if preceded_ws => block_ind = true,
                _ => {}
            }
        }
        preceded_ws = matches!(c, ' ' | '\t' | '\0') || is_break(c);
    }
    block_ind
}

/// Where spaces, line breaks and unprintable characters occur in a scalar.
#[derive(Default)]
struct Spacing {
    special: bool,
    line_breaks: bool,
    leading_space: bool,
    leading_break: bool,
    trailing_space: bool,
    trailing_break: bool,
    /// A space right after a line break.
    break_space: bool,
    /// A line break right after a space.
    space_break: bool,
}

fn spacing(chars: &[char]) -> Spacing {
    let mut sp = Spacing::default();
    let (mut prev_space, mut prev_break) = (false, false);
    let n = chars.len();
    for (i, &c) in chars.iter().enumerate() {
        if !is_printable(c) {
            sp.special = true;
        }
        if c == ' ' {
            sp.leading_space |= i == 0;
            sp.trailing_space |= i + 1 == n;
            sp.break_space |= prev_break;
            prev_space = true;
            prev_break = false;
        } else if is_break(c) {
            sp.line_breaks = true;
            sp.leading_break |= i == 0;
            sp.trailing_break |= i + 1 == n;
            sp.space_break |= prev_space;
            prev_space = false;
            prev_break = true;
        } else {
            prev_space = false;
            prev_break = false;
        }
    }
    sp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn styles_like_go_yaml() {
        assert_eq!(choose_style("nginx", false), Style::Plain);
        assert_eq!(choose_style("123", false), Style::Double);
        assert_eq!(choose_style("true", false), Style::Double);
        assert_eq!(choose_style("", false), Style::Double);
        assert_eq!(choose_style("2024-01-02T03:04:05Z", false), Style::Double);
        assert_eq!(choose_style("1:20", false), Style::Double);
        assert_eq!(choose_style("*x", false), Style::Single);
        assert_eq!(choose_style("a: b", false), Style::Single);
        assert_eq!(choose_style("a\nb", false), Style::Literal);
        assert_eq!(choose_style("a \nb", false), Style::Double);
        assert_eq!(choose_style("a\tb", false), Style::Double);
        assert_eq!(choose_style("10.42.0.0/16", false), Style::Plain);
        assert_eq!(choose_style("0.1", false), Style::Double);
        assert_eq!(choose_style("100m", false), Style::Plain);
        assert_eq!(choose_style("- x", false), Style::Single);
        assert_eq!(choose_style("x #y", false), Style::Single);
    }
}
