//! Manifests read the way kubectl reads them (sigs.k8s.io/yaml over go-yaml v2): YAML 1.1
//! resolution of plain scalars (`y`, `yes`, `on`, `No`, `OFF` are booleans, `0777` is
//! octal, `1_000` is 1000), non-string map keys turned into strings, merge keys (`<<`),
//! anchors and aliases; quoted and block scalars stay strings.

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A stream go-yaml would accept but this loader cannot convert.
#[derive(Debug, thiserror::Error)]
pub enum Yaml11Error {
    /// The scanner or parser failed.
    #[error("{0}")]
    Syntax(String),
    /// A map key that has no JSON form (e.g. a nested map or null).
    #[error("Unsupported map key: {0}")]
    Key(String),
}

/// A plain scalar as go-yaml v2's resolver reads it.
pub fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
            return Value::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE" => {
            return Value::Bool(false)
        }
        _ => {}
    }
    if !s.starts_with(|c: char| "-+0123456789.".contains(c)) {
        return Value::String(s.to_string());
    }
    let plain = s.replace('_', "");
    if let Some(n) = go_parse_int(&plain) {
        return Value::Number(n);
    }
    if let Some(f) = go_parse_float(&plain) {
        return float_value(f).unwrap_or_else(|| Value::String(s.to_string()));
    }
    Value::String(s.to_string())
}

/// strconv.ParseInt/ParseUint with base 0: `0x`, `0o`, `0b`, a leading `0` for octal.
fn go_parse_int(s: &str) -> Option<Number> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() {
        return None;
    }
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let mag = u64::from_str_radix(digits, radix).ok()?;
    if neg {
        let v = i64::try_from(mag)
            .ok()
            .map(|m| -m)
            .or_else(|| (mag == i64::MIN.unsigned_abs()).then_some(i64::MIN))?;
        Some(Number::from(v))
    } else {
        Some(Number::from(mag))
    }
}

/// strconv.ParseFloat for the decimal forms YAML documents use.
fn go_parse_float(s: &str) -> Option<f64> {
    let body = s.trim_start_matches(['+', '-']);
    let ok = !body.is_empty()
        && body.chars().any(|c| c.is_ascii_digit())
        && body
            .chars()
            .all(|c| c.is_ascii_digit() || ".eE+-".contains(c));
    if !ok {
        return None;
    }
    s.parse::<f64>().ok()
}

/// A float as json.Marshal writes it: integral values without a fraction.
fn float_value(f: f64) -> Option<Value> {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        // exact: the value is integral and well inside i64
        return Some(Value::Number(Number::from(f as i64)));
    }
    Number::from_f64(f).map(Value::Number)
}

/// A key as sigs.k8s.io/yaml turns it into a JSON object key.
fn key_string(v: &Value) -> Result<String, Yaml11Error> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(Yaml11Error::Key(other.to_string())),
    }
}

/// A mapping being built: its entries, the pending key (`Merge` for `<<`), its anchor
/// and the values of its merge keys.
struct MapFrame {
    map: Map<String, Value>,
    key: Option<Key>,
    anchor: usize,
    merges: Vec<Value>,
}

enum Key {
    Merge,
    Value(Value),
}

enum Frame {
    Seq(Vec<Value>, usize),
    Map(MapFrame),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    docs: Vec<Value>,
    anchors: std::collections::HashMap<usize, Value>,
    error: Option<Yaml11Error>,
}

impl Builder {
    fn push_value(&mut self, v: Value, anchor: usize, merge_key: bool) {
        if anchor > 0 {
            self.anchors.insert(anchor, v.clone());
        }
        match self.stack.last_mut() {
            None => self.docs.push(v),
            Some(Frame::Seq(items, _)) => items.push(v),
            Some(Frame::Map(m)) => match m.key.take() {
                None if merge_key => m.key = Some(Key::Merge),
                None => m.key = Some(Key::Value(v)),
                Some(Key::Merge) => m.merges.push(v),
                Some(Key::Value(k)) => match key_string(&k) {
                    Ok(k) => {
                        m.map.insert(k, v);
                    }
                    Err(e) => self.error = Some(e),
                },
            },
        }
    }
}

fn scalar(value: String, style: TScalarStyle, tag: Option<&Tag>) -> Value {
    let suffix = tag.map(|t| t.suffix.as_str());
    match (style, suffix) {
        (_, Some("str")) => Value::String(value),
        (TScalarStyle::Plain, _) => resolve_plain(&value),
        (_, Some("int" | "float" | "bool" | "null")) => resolve_plain(&value),
        _ => Value::String(value),
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, _mark: Marker) {
        match ev {
            Event::Scalar(value, style, anchor, tag) => {
                let merge = style == TScalarStyle::Plain && value == "<<";
                let at_key = matches!(self.stack.last(), Some(Frame::Map(m)) if m.key.is_none());
                let v = scalar(value, style, tag.as_ref());
                self.push_value(v, anchor, merge && at_key);
            }
            Event::Alias(id) => {
                let v = self.anchors.get(&id).cloned().unwrap_or(Value::Null);
                self.push_value(v, 0, false);
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Seq(Vec::new(), anchor)),
            Event::MappingStart(anchor, _) => self.stack.push(Frame::Map(MapFrame {
                map: Map::new(),
                key: None,
                anchor,
                merges: Vec::new(),
            })),
            Event::SequenceEnd => {
                if let Some(Frame::Seq(items, anchor)) = self.stack.pop() {
                    self.push_value(Value::Array(items), anchor, false);
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map(MapFrame {
                    mut map,
                    anchor,
                    merges,
                    ..
                })) = self.stack.pop()
                {
                    for m in merges {
                        let sources = match m {
                            Value::Array(a) => a,
                            other => vec![other],
                        };
                        for src in sources {
                            if let Value::Object(o) = src {
                                for (k, v) in o {
                                    map.entry(k).or_insert(v);
                                }
                            }
                        }
                    }
                    self.push_value(Value::Object(map), anchor, false);
                }
            }
            Event::DocumentEnd => {}
            _ => {}
        }
    }
}

/// Loads every document of a YAML stream (empty documents become `null`).
pub fn load_all(text: &str) -> Result<Vec<Value>, Yaml11Error> {
    let mut b = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser
        .load(&mut b, true)
        .map_err(|e| Yaml11Error::Syntax(e.to_string()))?;
    match b.error {
        Some(e) => Err(e),
        None => Ok(b.docs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_1_1_scalars() {
        let docs = load_all(
            "a: {x: y, n: No, o: on, q: \"yes\", s: 'off'}\nb: |\n  yes\nd: 0x1F\ne: 0777\nf: 1.50\ng: 1e3\nh: 2026-01-01\ni: ~\nj: 1_000\ny: 1\n2: two\nk: -12\nl: 1.2.3\n---\n---\nm: &A {p: 1}\nn: {<<: *A, r: 2}\nt: !!str on\n",
        )
        .unwrap_or_default();
        assert_eq!(
            docs[0],
            json!({"a": {"x": true, "false": false, "o": true, "q": "yes", "s": "off"}, "b": "yes\n",
                "d": 31, "e": 511, "f": 1.5, "g": 1000, "h": "2026-01-01", "i": null, "j": 1000,
                "true": 1, "2": "two", "k": -12, "l": "1.2.3"})
        );
        assert_eq!(docs[1], Value::Null);
        assert_eq!(
            docs[2],
            json!({"m": {"p": 1}, "false": {"p": 1, "r": 2}, "t": "on"})
        );
    }
}
