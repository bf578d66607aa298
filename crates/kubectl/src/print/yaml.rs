//! YAML output byte-for-byte like kubectl's (`sigs.k8s.io/yaml` on go-yaml v2): keys in
//! go-yaml's natural order, 2-space indent, sequences not indented under their key,
//! long scalars folded past column 80.

use crate::print::yaml_scalar::{choose_style, is_printable, Style};
use serde_json::{Number, Value};
use std::cmp::Ordering;

const WIDTH: usize = 80;

/// Renders one document (no leading `---`).
pub fn to_yaml(v: &Value) -> String {
    let mut e = Emitter {
        out: String::new(),
        column: 0,
    };
    match v {
        Value::Object(m) if !m.is_empty() => e.map(v, 0, false),
        Value::Array(a) if !a.is_empty() => e.seq(v, 0, false),
        other => {
            e.inline(other, 0);
            e.newline();
        }
    }
    e.out
}

/// go-yaml v2's key order (letters after other characters, digit runs numerically).
pub fn key_cmp(a: &str, b: &str) -> Ordering {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let n = ar.len().min(br.len());
    for i in 0..n {
        if ar[i] == br[i] {
            continue;
        }
        let al = ar[i].is_alphabetic();
        let bl = br[i].is_alphabetic();
        if al && bl {
            return ar[i].cmp(&br[i]);
        }
        if al || bl {
            return if bl {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        let (mut an, mut bn) = (0i64, 0i64);
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i;
            while j > 0 && ar[j - 1].is_ascii_digit() {
                j -= 1;
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && ar[ai].is_ascii_digit() {
            an = an
                .wrapping_mul(10)
                .wrapping_add(i64::from(ar[ai] as u8 - b'0'));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && br[bi].is_ascii_digit() {
            bn = bn
                .wrapping_mul(10)
                .wrapping_add(i64::from(br[bi] as u8 - b'0'));
            bi += 1;
        }
        if an != bn {
            return an.cmp(&bn);
        }
        if ai != bi {
            return ai.cmp(&bi);
        }
        return ar[i].cmp(&br[i]);
    }
    ar.len().cmp(&br.len())
}

/// Formats a number as go-yaml does after `sigs.k8s.io/yaml` re-reads JSON.
pub fn yaml_number(n: &Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        };
    }
    // Go's strconv.FormatFloat(f, 'g', -1, 64)
    let e = format!("{f:e}");
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        return go_exp(mant, exp);
    }
    format!("{f}")
}

fn go_exp(mant: &str, exp: i32) -> String {
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mant}e{sign}{:02}", exp.abs())
}

struct Emitter {
    out: String,
    column: usize,
}

impl Emitter {
    fn put(&mut self, s: &str) {
        if let Some(p) = s.rfind('\n') {
            self.column = s[p + 1..].chars().count();
        } else {
            self.column += s.chars().count();
        }
        self.out.push_str(s);
    }

    fn newline(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    fn indent_to(&mut self, indent: usize) {
        for _ in 0..indent {
            self.out.push(' ');
        }
        self.column = indent;
    }

    fn map(&mut self, v: &Value, indent: usize, first_inline: bool) {
        let Value::Object(m) = v else { return };
        let mut keys: Vec<&String> = m.keys().collect();
        keys.sort_by(|a, b| key_cmp(a, b));
        for (i, k) in keys.into_iter().enumerate() {
            if i > 0 || !first_inline {
                self.indent_to(indent);
            }
            self.scalar_str(k, indent + 2, true);
            self.put(":");
            let child = &m[k];
            match child {
                Value::Object(c) if !c.is_empty() => {
                    self.newline();
                    self.map(child, indent + 2, false);
                }
                Value::Array(c) if !c.is_empty() => {
                    self.newline();
                    self.seq(child, indent, false);
                }
                _ => {
                    self.put(" ");
                    self.inline(child, indent + 2);
                    if !self.out.ends_with('\n') {
                        self.newline();
                    }
                }
            }
        }
    }

    fn seq(&mut self, v: &Value, indent: usize, first_inline: bool) {
        let Value::Array(a) = v else { return };
        for (i, item) in a.iter().enumerate() {
            if i > 0 || !first_inline {
                self.indent_to(indent);
            }
            self.put("- ");
            match item {
                Value::Object(c) if !c.is_empty() => self.map(item, indent + 2, true),
                Value::Array(c) if !c.is_empty() => self.seq(item, indent + 2, true),
                _ => {
                    self.inline(item, indent + 2);
                    if !self.out.ends_with('\n') {
                        self.newline();
                    }
                }
            }
        }
    }

    fn inline(&mut self, v: &Value, indent: usize) {
        match v {
            Value::Null => self.put("null"),
            Value::Bool(b) => self.put(if *b { "true" } else { "false" }),
            Value::Number(n) => self.put(&yaml_number(n)),
            Value::String(s) => self.scalar_str(s, indent, false),
            Value::Object(_) => self.put("{}"),
            Value::Array(_) => self.put("[]"),
        }
    }

    fn scalar_str(&mut self, s: &str, indent: usize, key: bool) {
        match choose_style(s, key) {
            Style::Plain => self.plain(s, indent, !key),
            Style::Single => self.single(s, indent, !key),
            Style::Double => self.double(s, indent, !key),
            Style::Literal => self.literal(s, indent),
        }
    }

    fn plain(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        let chars: Vec<char> = s.chars().collect();
        let mut spaces = false;
        let mut buf = String::new();
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                let next_space = chars.get(i + 1) == Some(&' ');
                if allow_breaks && !spaces && self.column > WIDTH && !next_space {
                    self.fold(indent);
                } else {
                    self.putc(c, &mut buf);
                }
                spaces = true;
            } else {
                self.putc(c, &mut buf);
                spaces = false;
            }
        }
    }

    fn single(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        let chars: Vec<char> = s.chars().collect();
        let mut buf = String::new();
        self.put("'");
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                let next_space = chars.get(i + 1) == Some(&' ');
                if allow_breaks
                    && !spaces
                    && self.column > WIDTH
                    && i != 0
                    && i + 1 != chars.len()
                    && !next_space
                {
                    self.fold(indent);
                } else {
                    self.putc(c, &mut buf);
                }
                spaces = true;
            } else {
                if c == '\'' {
                    self.putc('\'', &mut buf);
                }
                self.putc(c, &mut buf);
                spaces = false;
            }
        }
        self.put("'");
    }

    fn double(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        let chars: Vec<char> = s.chars().collect();
        let mut buf = String::new();
        self.put("\"");
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if !is_printable(c) || c == '\u{FEFF}' || is_break_char(c) || c == '"' || c == '\\' {
                let esc = match c {
                    '\0' => "\\0".to_string(),
                    '\x07' => "\\a".to_string(),
                    '\x08' => "\\b".to_string(),
                    '\t' => "\\t".to_string(),
                    '\n' => "\\n".to_string(),
                    '\x0b' => "\\v".to_string(),
                    '\x0c' => "\\f".to_string(),
                    '\r' => "\\r".to_string(),
                    '\x1b' => "\\e".to_string(),
                    '"' => "\\\"".to_string(),
                    '\\' => "\\\\".to_string(),
                    '\u{85}' => "\\N".to_string(),
                    '\u{A0}' => "\\_".to_string(),
                    '\u{2028}' => "\\L".to_string(),
                    '\u{2029}' => "\\P".to_string(),
                    c if (c as u32) <= 0xFF => format!("\\x{:02X}", c as u32),
                    c if (c as u32) <= 0xFFFF => format!("\\u{:04X}", c as u32),
                    c => format!("\\U{:08X}", c as u32),
                };
                self.put(&esc);
                spaces = false;
            } else if c == ' ' {
                if allow_breaks && !spaces && self.column > WIDTH && i > 0 && i + 1 < chars.len() {
                    self.fold(indent);
                    if chars.get(i + 1) == Some(&' ') {
                        self.put("\\");
                    }
                } else {
                    self.putc(c, &mut buf);
                }
                spaces = true;
            } else {
                self.putc(c, &mut buf);
                spaces = false;
            }
        }
        self.put("\"");
    }

    fn literal(&mut self, s: &str, indent: usize) {
        self.put("|");
        if s.starts_with(' ') || s.starts_with(is_break_char) {
            self.put("2");
        }
        let trailing = s.chars().rev().take_while(|c| is_break_char(*c)).count();
        if trailing == 0 {
            self.put("-");
        } else if trailing > 1 || s.chars().count() == 1 {
            self.put("+");
        }
        self.newline();
        let mut at_line_start = true;
        for c in s.chars() {
            if is_break_char(c) {
                self.out.push(c);
                self.column = 0;
                at_line_start = true;
            } else {
                if at_line_start {
                    self.indent_to(indent);
                    at_line_start = false;
                }
                self.out.push(c);
                self.column += 1;
            }
        }
        if !self.out.ends_with('\n') {
            self.newline();
        }
    }

    fn fold(&mut self, indent: usize) {
        self.newline();
        self.indent_to(indent);
    }

    fn putc(&mut self, c: char, buf: &mut String) {
        buf.clear();
        buf.push(c);
        self.out.push(c);
        self.column += 1;
    }
}

fn is_break_char(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kubectl_layout() {
        let v = json!({"kind": "Deployment", "apiVersion": "apps/v1",
            "metadata": {"name": "web", "creationTimestamp": null, "labels": {"app": "web"}},
            "spec": {"template": {"spec": {"containers": [{"name": "nginx", "image": "nginx", "resources": {}}]}},
                     "replicas": 1},
            "status": {}});
        assert_eq!(
            to_yaml(&v),
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  creationTimestamp: null\n  labels:\n    app: web\n  name: web\nspec:\n  replicas: 1\n  template:\n    spec:\n      containers:\n      - image: nginx\n        name: nginx\n        resources: {}\nstatus: {}\n"
        );
    }

    #[test]
    fn literal_and_nested_lists() {
        let v = json!({"a": "x\ny\n", "b": "x\ny", "c": [["p", "q"], []], "d": ""});
        assert_eq!(
            to_yaml(&v),
            "a: |\n  x\n  y\nb: |-\n  x\n  y\nc:\n- - p\n  - q\n- []\nd: \"\"\n"
        );
    }

    #[test]
    fn key_order_natural() {
        let mut k = vec!["b10", "b9", "a.b", "ab", "a", "B"];
        k.sort_by(|a, b| key_cmp(a, b));
        assert_eq!(k, vec!["B", "a", "a.b", "ab", "b9", "b10"]);
    }

    #[test]
    fn folds_long_plain() {
        let long = "word ".repeat(20).trim_end().to_string();
        let out = to_yaml(&json!({ "m": long }));
        assert!(out.contains("\n  word"), "{out}");
    }
}
