//! Short getters into `serde_json` values by JSON pointer, with Go's zero values for
//! what is absent (`""`, `0`, an empty slice), and Go's `%v` of a scalar.

use serde_json::{Map, Value};

/// String at a JSON pointer ("" when absent).
pub fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

/// Integer at a JSON pointer (0 when absent).
pub fn i(v: &Value, ptr: &str) -> i64 {
    v.pointer(ptr).and_then(Value::as_i64).unwrap_or(0)
}

/// Array at a JSON pointer (empty when absent).
pub fn arr<'a>(v: &'a Value, ptr: &str) -> &'a [Value] {
    v.pointer(ptr)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Object at a JSON pointer.
pub fn obj<'a>(v: &'a Value, ptr: &str) -> Option<&'a Map<String, Value>> {
    v.pointer(ptr).and_then(Value::as_object)
}

/// Go's `%v` of a JSON scalar.
pub fn gv(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => crate::print::json::go_number(n),
        Some(Value::Bool(b)) => b.to_string(),
        Some(o) => o.to_string(),
    }
}
