//! An ordered JSON document: keeps the field order of objects kubectl builds itself
//! (Go struct order) and converts from/to `serde_json::Value` (sorted, like Go maps);
//! `print::json` writes it as Go's encoding/json does.

use serde_json::{Map, Number, Value};

/// A JSON value whose objects keep insertion order.
#[derive(Debug, Clone, PartialEq)]
pub enum Doc {
    /// JSON null.
    Null,
    /// JSON boolean.
    Bool(bool),
    /// JSON number.
    Num(Number),
    /// JSON string.
    Str(String),
    /// JSON array.
    Arr(Vec<Doc>),
    /// JSON object in insertion order.
    Obj(Vec<(String, Doc)>),
}

impl Doc {
    /// An empty object.
    pub fn obj() -> Self {
        Doc::Obj(Vec::new())
    }

    /// A string value.
    pub fn s(v: impl Into<String>) -> Self {
        Doc::Str(v.into())
    }

    /// Appends a field to an object (no-op on other kinds); builder style.
    pub fn with(mut self, key: &str, val: Doc) -> Self {
        if let Doc::Obj(fields) = &mut self {
            fields.push((key.to_string(), val));
        }
        self
    }

    /// Applies an RFC 7386 merge patch in place: existing fields keep their position,
    /// new ones are appended (Go's struct order for the fields generators leave out).
    pub fn merge_patch(&mut self, patch: &Value) {
        let Value::Object(pm) = patch else {
            *self = Doc::from(patch);
            return;
        };
        if !matches!(self, Doc::Obj(_)) {
            *self = Doc::obj();
        }
        let Doc::Obj(fields) = self else {
            return;
        };
        for (k, v) in pm {
            let pos = fields.iter().position(|(fk, _)| fk == k);
            match (pos, v) {
                (Some(i), Value::Null) => {
                    fields.remove(i);
                }
                (None, Value::Null) => {}
                (Some(i), Value::Object(_)) => fields[i].1.merge_patch(v),
                (Some(i), other) => fields[i].1 = Doc::from(other),
                (None, other) => {
                    let mut d = Doc::obj();
                    d.merge_patch(other);
                    if !other.is_object() {
                        d = Doc::from(other);
                    }
                    fields.push((k.clone(), d));
                }
            }
        }
    }

    /// Converts to a serde_json value (object keys become sorted).
    pub fn to_value(&self) -> Value {
        match self {
            Doc::Null => Value::Null,
            Doc::Bool(b) => Value::Bool(*b),
            Doc::Num(n) => Value::Number(n.clone()),
            Doc::Str(s) => Value::String(s.clone()),
            Doc::Arr(a) => Value::Array(a.iter().map(Doc::to_value).collect()),
            Doc::Obj(f) => {
                let mut m = Map::new();
                for (k, v) in f {
                    m.insert(k.clone(), v.to_value());
                }
                Value::Object(m)
            }
        }
    }
}

impl From<&Value> for Doc {
    fn from(v: &Value) -> Self {
        match v {
            Value::Null => Doc::Null,
            Value::Bool(b) => Doc::Bool(*b),
            Value::Number(n) => Doc::Num(n.clone()),
            Value::String(s) => Doc::Str(s.clone()),
            Value::Array(a) => Doc::Arr(a.iter().map(Doc::from).collect()),
            Value::Object(m) => {
                Doc::Obj(m.iter().map(|(k, v)| (k.clone(), Doc::from(v))).collect())
            }
        }
    }
}

impl From<i64> for Doc {
    fn from(v: i64) -> Self {
        Doc::Num(Number::from(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_keeps_field_order() {
        let mut d = Doc::obj().with("kind", Doc::s("X")).with(
            "spec",
            Doc::obj().with("a", Doc::from(1)).with("b", Doc::from(2)),
        );
        d.merge_patch(&json!({"spec": {"a": null, "c": 3}, "status": {}}));
        assert_eq!(
            d,
            Doc::obj()
                .with("kind", Doc::s("X"))
                .with(
                    "spec",
                    Doc::obj().with("b", Doc::from(2)).with("c", Doc::from(3))
                )
                .with("status", Doc::obj())
        );
    }
}
