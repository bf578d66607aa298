//! Field errors in upstream's shape (`field.Error`): reason, field path and the `ErrorBody` message.

use serde_json::Value;

/// One cause of an Invalid status: `{reason, field, message}` as in `status.details.causes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldCause {
    /// "FieldValueRequired", "FieldValueInvalid", "FieldValueDuplicate", "FieldValueNotSupported", "FieldValueForbidden", "FieldValueTooLong".
    pub reason: String,
    /// Field path, e.g. "spec.containers[0].name".
    pub field: String,
    /// Upstream's message, e.g. `Required value` or `Invalid value: "Foo": …`.
    pub message: String,
}

impl FieldCause {
    /// `field: message`, as upstream prints one field error.
    pub fn to_error_string(&self) -> String {
        format!("{}: {}", self.field, self.message)
    }
}

/// Formats a bad value the way Go's field errors print it.
pub fn go_value(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::String(s) => format!("{s:?}"),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Object(m) if m.values().all(Value::is_string) => {
            // Go prints map[string]string with %#v, keys sorted.
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{:?}:{}", k, go_value(&m[*k])))
                .collect();
            format!("map[string]string{{{}}}", parts.join(", "))
        }
        Value::Array(a) if a.iter().all(Value::is_string) => {
            let parts: Vec<String> = a.iter().map(go_value).collect();
            format!("[]string{{{}}}", parts.join(", "))
        }
        other => other.to_string(),
    }
}

fn cause(reason: &str, field: &str, message: String) -> FieldCause {
    FieldCause {
        reason: reason.to_string(),
        field: field.to_string(),
        message,
    }
}

fn with_detail(mut s: String, detail: &str) -> String {
    if !detail.is_empty() {
        s.push_str(": ");
        s.push_str(detail);
    }
    s
}

/// `Required value[: detail]`.
pub fn required(field: &str, detail: &str) -> FieldCause {
    cause(
        "FieldValueRequired",
        field,
        with_detail("Required value".into(), detail),
    )
}

/// `Invalid value: <v>: detail`.
pub fn invalid(field: &str, value: &Value, detail: &str) -> FieldCause {
    cause(
        "FieldValueInvalid",
        field,
        with_detail(format!("Invalid value: {}", go_value(value)), detail),
    )
}

/// `Invalid value: "<s>": detail`.
pub fn invalid_str(field: &str, value: &str, detail: &str) -> FieldCause {
    invalid(field, &Value::String(value.to_string()), detail)
}

/// `Duplicate value: <v>`.
pub fn duplicate(field: &str, value: &Value) -> FieldCause {
    cause(
        "FieldValueDuplicate",
        field,
        format!("Duplicate value: {}", go_value(value)),
    )
}

/// `Unsupported value: "<v>": supported values: "a", "b"`.
pub fn not_supported(field: &str, value: &Value, supported: &[&str]) -> FieldCause {
    let list: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
    cause(
        "FieldValueNotSupported",
        field,
        format!(
            "Unsupported value: {}: supported values: {}",
            go_value(value),
            list.join(", ")
        ),
    )
}

/// `Forbidden: detail`.
pub fn forbidden(field: &str, detail: &str) -> FieldCause {
    cause(
        "FieldValueForbidden",
        field,
        with_detail("Forbidden".into(), detail),
    )
}

/// `Too long: may not be more than N bytes`.
pub fn too_long(field: &str, max: usize) -> FieldCause {
    cause(
        "FieldValueTooLong",
        field,
        format!("Too long: may not be more than {max} bytes"),
    )
}

/// The Status message upstream builds for an Invalid error:
/// `Pod "x" is invalid: spec.containers[0].name: Required value` (several causes are bracketed).
pub fn invalid_message(qualified_kind: &str, name: &str, causes: &[FieldCause]) -> String {
    let mut msgs: Vec<String> = Vec::new();
    for c in causes {
        let s = c.to_error_string();
        if !msgs.contains(&s) {
            msgs.push(s);
        }
    }
    let agg = match msgs.len() {
        0 => String::new(),
        1 => msgs.remove(0),
        _ => format!("[{}]", msgs.join(", ")),
    };
    format!("{qualified_kind} {name:?} is invalid: {agg}")
}

/// `Invalid value: <shown>: detail` with the value already formatted.
pub fn invalid_shown(field: &str, shown: &str, detail: &str) -> FieldCause {
    cause(
        "FieldValueInvalid",
        field,
        with_detail(format!("Invalid value: {shown}"), detail),
    )
}

fn go_string_map(v: Option<&Value>) -> String {
    match v {
        Some(m @ Value::Object(_)) => go_value(m),
        _ => "map[string]string(nil)".to_string(),
    }
}

/// A `metav1.LabelSelector` printed the way Go's `%#v` prints the pointer upstream validates.
pub fn go_label_selector(sel: &Value) -> String {
    if sel.is_null() {
        return "(*v1.LabelSelector)(nil)".to_string();
    }
    let exprs = match sel.get("matchExpressions").and_then(Value::as_array) {
        None => "[]v1.LabelSelectorRequirement(nil)".to_string(),
        Some(list) => {
            let items: Vec<String> = list
                .iter()
                .map(|e| {
                    let values = match e.get("values") {
                        Some(v @ Value::Array(_)) => go_value(v),
                        _ => "[]string(nil)".to_string(),
                    };
                    format!(
                        "v1.LabelSelectorRequirement{{Key:{}, Operator:{}, Values:{}}}",
                        go_value(e.get("key").unwrap_or(&Value::String(String::new()))),
                        go_value(e.get("operator").unwrap_or(&Value::String(String::new()))),
                        values
                    )
                })
                .collect();
            format!("[]v1.LabelSelectorRequirement{{{}}}", items.join(", "))
        }
    };
    format!(
        "&v1.LabelSelector{{MatchLabels:{}, MatchExpressions:{}}}",
        go_string_map(sel.get("matchLabels")),
        exprs
    )
}
