//! kubectl's JSONPath template dialect: literal text with `{…}` actions, implicit `$`,
//! `{range …}…{end}`, quoted literals like `{"\t"}`; paths evaluated with `jsonpath-rust`.

use jsonpath_rust::query::js_path_vals;
use serde_json::Value;

/// JSONPath errors.
#[derive(Debug, thiserror::Error)]
pub enum JsonPathError {
    /// Bad template.
    #[error("error parsing jsonpath {0}, {1}")]
    Parse(String, String),
}

#[derive(Debug, Clone)]
enum Node {
    Text(String),
    Path(String),
    Range(String, Vec<Node>),
}

fn parse(src: &str) -> Result<Vec<Node>, JsonPathError> {
    let mut stack: Vec<(Option<String>, Vec<Node>)> = vec![(None, Vec::new())];
    let mut rest = src;
    while !rest.is_empty() {
        let Some(open) = rest.find('{') else {
            push(&mut stack, Node::Text(rest.to_string()));
            break;
        };
        if open > 0 {
            push(&mut stack, Node::Text(rest[..open].to_string()));
        }
        let after = &rest[open + 1..];
        let close = find_close(after)
            .ok_or_else(|| JsonPathError::Parse(src.into(), "unclosed action".into()))?;
        let action = after[..close].trim();
        rest = &after[close + 1..];
        if let Some(r) = action.strip_prefix("range") {
            stack.push((Some(r.trim().to_string()), Vec::new()));
        } else if action == "end" {
            let (Some(path), body) = stack.pop().unwrap_or((None, Vec::new())) else {
                return Err(JsonPathError::Parse(
                    src.into(),
                    "not in range, nothing to end".into(),
                ));
            };
            push(&mut stack, Node::Range(path, body));
        } else if let Some(lit) = quoted(action) {
            push(&mut stack, Node::Text(lit));
        } else {
            push(&mut stack, Node::Path(action.to_string()));
        }
    }
    if stack.len() != 1 {
        return Err(JsonPathError::Parse(src.into(), "unclosed range".into()));
    }
    Ok(stack.pop().map(|s| s.1).unwrap_or_default())
}

fn push(stack: &mut [(Option<String>, Vec<Node>)], n: Node) {
    if let Some(top) = stack.last_mut() {
        top.1.push(n);
    }
}

fn find_close(s: &str) -> Option<usize> {
    let mut in_q: Option<char> = None;
    let mut prev = ' ';
    for (i, c) in s.char_indices() {
        match in_q {
            Some(q) if c == q && prev != '\\' => in_q = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => in_q = Some(c),
            None if c == '}' => return Some(i),
            None => {}
        }
        prev = c;
    }
    None
}

fn quoted(a: &str) -> Option<String> {
    let inner = a.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some(o) => out.push(o),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// Converts a kubectl path (`.items[*].metadata.name`, `@.x`, `$.x`) to RFC 9535.
fn to_rfc(path: &str) -> String {
    let p = path.trim();
    let body = if let Some(r) = p.strip_prefix('$') {
        r.to_string()
    } else if let Some(r) = p.strip_prefix('@') {
        r.to_string()
    } else if p.starts_with('.') || p.starts_with('[') {
        p.to_string()
    } else {
        format!(".{p}")
    };
    format!("${body}")
}

fn fmt_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Number(n) => crate::print::json::go_number(n),
        other => other.to_string(),
    }
}

fn eval(path: &str, data: &Value) -> Vec<Value> {
    let rfc = to_rfc(path);
    if rfc == "$" || rfc == "$." {
        return vec![data.clone()];
    }
    js_path_vals(&rfc, data)
        .map(|v| v.into_iter().cloned().collect())
        .unwrap_or_default()
}

fn exec(nodes: &[Node], data: &Value, out: &mut String) -> Result<(), JsonPathError> {
    for n in nodes {
        match n {
            Node::Text(t) => out.push_str(t),
            Node::Path(p) => {
                let vals = eval(p, data);
                let parts: Vec<String> = vals.iter().map(fmt_value).collect();
                out.push_str(&parts.join(" "));
            }
            Node::Range(p, body) => {
                for v in eval(p, data) {
                    let items = match (&v, p.contains('*')) {
                        (Value::Array(a), false) => a.clone(),
                        _ => vec![v],
                    };
                    for item in items {
                        exec(body, &item, out)?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Renders a kubectl JSONPath template.
pub fn render(src: &str, data: &Value) -> Result<String, JsonPathError> {
    let nodes = parse(src)?;
    let mut out = String::new();
    exec(&nodes, data, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dialect() {
        let d = json!({"items": [{"metadata": {"name": "a"}, "n": 1}, {"metadata": {"name": "b"}, "n": 2}]});
        assert_eq!(
            render("{.items[*].metadata.name}", &d).ok().as_deref(),
            Some("a b")
        );
        assert_eq!(
            render(
                r#"{range .items[*]}{.metadata.name}{"\t"}{.n}{"\n"}{end}"#,
                &d
            )
            .ok()
            .as_deref(),
            Some("a\t1\nb\t2\n")
        );
        assert_eq!(
            render("x={.items[0].metadata}", &d).ok().as_deref(),
            Some(r#"x={"name":"a"}"#)
        );
        assert_eq!(
            render(r#"{.items[?(@.n==2)].metadata.name}"#, &d)
                .ok()
                .as_deref(),
            Some("b")
        );
        assert_eq!(render("{.nope}", &d).ok().as_deref(), Some(""));
    }
}
