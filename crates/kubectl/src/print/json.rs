//! Go's encoding/json output for kubectl: `json.MarshalIndent` with four spaces for
//! `-o json`, compact `json.Marshal` for annotations, Go's number formatting and its
//! HTML-safe string quoting.

use crate::ordered_json::Doc;
use serde_json::Number;

/// Writes `doc` as Go's `json.MarshalIndent(v, "", "    ")` would, plus a newline.
pub fn to_go_json(doc: &Doc) -> String {
    let mut out = String::new();
    write_json(doc, 0, &mut out);
    out.push('\n');
    out
}

/// Compact JSON in the document's field order, as Go's json.Marshal writes it.
pub fn to_go_json_compact(doc: &Doc) -> String {
    let mut out = String::new();
    write_compact(doc, &mut out);
    out
}

fn write_compact(doc: &Doc, out: &mut String) {
    match doc {
        Doc::Arr(a) => {
            out.push('[');
            for (i, item) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_compact(item, out);
            }
            out.push(']');
        }
        Doc::Obj(f) => {
            out.push('{');
            for (i, (k, v)) in f.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_quote(k, out);
                out.push(':');
                write_compact(v, out);
            }
            out.push('}');
        }
        scalar => write_json(scalar, 0, out),
    }
}

fn write_json(doc: &Doc, level: usize, out: &mut String) {
    match doc {
        Doc::Null => out.push_str("null"),
        Doc::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Doc::Num(n) => out.push_str(&go_number(n)),
        Doc::Str(s) => go_quote(s, out),
        Doc::Arr(a) if a.is_empty() => out.push_str("[]"),
        Doc::Obj(f) if f.is_empty() => out.push_str("{}"),
        Doc::Arr(a) => {
            out.push('[');
            for (i, item) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(level + 1, out);
                write_json(item, level + 1, out);
            }
            newline(level, out);
            out.push(']');
        }
        Doc::Obj(f) => {
            out.push('{');
            for (i, (k, v)) in f.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(level + 1, out);
                go_quote(k, out);
                out.push_str(": ");
                write_json(v, level + 1, out);
            }
            newline(level, out);
            out.push('}');
        }
    }
}

fn newline(level: usize, out: &mut String) {
    out.push('\n');
    for _ in 0..level {
        out.push_str("    ");
    }
}

/// Formats a number like Go's encoding/json does for float64/int64 values.
pub fn go_number(n: &Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Go uses exponent form here: 1e+21, 1e-07
        let s = format!("{f:e}");
        match s.split_once('e') {
            Some((m, e)) => {
                let (sign, digits) = e.strip_prefix('-').map_or(("+", e), |d| ("-", d));
                let digits = if digits.len() < 2 {
                    format!("0{digits}")
                } else {
                    digits.to_string()
                };
                format!("{m}e{sign}{digits}")
            }
            None => s,
        }
    } else if f.fract() == 0.0 && abs < 1e21 {
        format!("{f:.0}")
    } else {
        format!("{f}")
    }
}

/// Quotes a string like Go's encoding/json (HTML-safe escaping).
pub fn go_quote(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_json_layout() {
        let d = Doc::obj()
            .with("kind", Doc::s("X"))
            .with("a", Doc::Arr(vec![Doc::from(1), Doc::obj()]))
            .with("e", Doc::Arr(vec![]))
            .with("h", Doc::s("<&>"));
        assert_eq!(
            to_go_json(&d),
            "{\n    \"kind\": \"X\",\n    \"a\": [\n        1,\n        {}\n    ],\n    \"e\": [],\n    \"h\": \"\\u003c\\u0026\\u003e\"\n}\n"
        );
    }

    #[test]
    fn go_numbers() {
        let n = |v: f64| go_number(&Number::from_f64(v).unwrap_or(Number::from(0)));
        assert_eq!(n(1.5), "1.5");
        assert_eq!(n(2.0), "2");
        assert_eq!(n(1e21), "1e+21");
        assert_eq!(n(1e-7), "1e-07");
    }
}
