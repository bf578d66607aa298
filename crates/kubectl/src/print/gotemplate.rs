//! `-o go-template=…`: Go text/template via `gotmpl`, with kubectl's extra functions
//! `exists` and `base64decode`, over the object as Go's `json.Unmarshal` would see it.

use base64::Engine;
use gotmpl::{Template, Value as T};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Template errors, worded like kubectl's.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The template does not parse.
    #[error("error parsing template {0}, {1}")]
    Parse(String, String),
    /// Execution failed.
    #[error("error executing template \"{0}\": {1}")]
    Exec(String, String),
}

/// Converts JSON to template data; numbers become float64 like Go's decoder makes them.
pub fn to_tmpl(v: &Value) -> T {
    match v {
        Value::Null => T::Nil,
        Value::Bool(b) => T::Bool(*b),
        Value::Number(n) => T::Float(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => T::String(Arc::from(s.as_str())),
        Value::Array(a) => T::List(a.iter().map(to_tmpl).collect::<Vec<_>>().into()),
        Value::Object(m) => {
            let b: BTreeMap<Arc<str>, T> = m
                .iter()
                .map(|(k, v)| (Arc::from(k.as_str()), to_tmpl(v)))
                .collect();
            T::Map(Arc::new(b))
        }
    }
}

fn exists(args: &[T]) -> gotmpl::Result<T> {
    let Some((first, path)) = args.split_first() else {
        return Ok(T::Bool(false));
    };
    let mut cur = first.clone();
    for p in path {
        let next = match (&cur, p) {
            (T::Map(m), T::String(k)) => m.get(k.as_ref()).cloned(),
            (T::List(l), T::Int(i)) => usize::try_from(*i).ok().and_then(|i| l.get(i).cloned()),
            (T::List(l), T::Float(f)) => l.get(*f as usize).cloned(),
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => return Ok(T::Bool(false)),
        }
    }
    Ok(T::Bool(true))
}

fn base64decode(args: &[T]) -> gotmpl::Result<T> {
    let s = match args.first() {
        Some(T::String(s)) => s.to_string(),
        _ => String::new(),
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s.as_bytes())
        .unwrap_or_default();
    Ok(T::String(Arc::from(
        String::from_utf8_lossy(&bytes).as_ref(),
    )))
}

/// Renders `src` against `data`.
pub fn render(src: &str, data: &Value) -> Result<String, TemplateError> {
    let t = Template::new("output")
        .func("exists", exists)
        .func("base64decode", base64decode)
        .parse(src)
        .map_err(|e| TemplateError::Parse(src.to_string(), e.to_string()))?;
    t.execute_to_string(&to_tmpl(data))
        .map_err(|e| TemplateError::Exec("output".into(), e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kubectl_funcs() {
        let d = json!({"data": {"a": "b"}, "spec": {"replicas": 3}});
        let r = render(
            r#"{{base64decode "aGk="}} {{exists . "data" "a"}} {{.data}} {{.spec.replicas}} {{.nope}}"#,
            &d,
        );
        assert_eq!(r.ok().as_deref(), Some("hi true map[a:b] 3 <no value>"));
    }
}
