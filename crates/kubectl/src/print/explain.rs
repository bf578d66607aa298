//! kubectl explain's plaintext rendering of an OpenAPI v3 document, step for step as
//! kubectl's `plaintext.tmpl` walks it: `$ref`/`allOf`/`items`/`additionalProperties`
//! traversal with cycle guards, type guesses, enums, go-wordwrap wrapping and indents.

use serde_json::Value;
use std::collections::BTreeSet;

/// A field path that does not exist (kubectl: `error: field "x" does not exist`).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("field \"{0}\" does not exist")]
pub struct NoField(pub String);

/// Go template truthiness of an optional value.
fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
    }
}

/// A non-bool, non-empty `additionalProperties`.
fn additional(s: &Value) -> Option<&Value> {
    s.get("additionalProperties")
        .filter(|a| !a.is_boolean() && truthy(Some(a)))
}

fn items(s: &Value) -> Option<&Value> {
    s.get("items").filter(|i| truthy(Some(i)))
}

fn ref_of(s: &Value) -> &str {
    s.get("$ref").and_then(Value::as_str).unwrap_or("")
}

fn all_of(s: &Value) -> &[Value] {
    s.get("allOf")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// resolveRef: follows a `#/…` fragment through the document's maps.
fn resolve<'a>(r: &str, doc: &'a Value) -> Option<&'a Value> {
    let frag = r.strip_prefix('#')?;
    let mut cur = doc;
    for k in frag.split('/').filter(|k| !k.is_empty()) {
        cur = cur.get(k).filter(|v| v.is_object())?;
    }
    Some(cur)
}

/// go-wordwrap's WrapString: breaks at whitespace once a line would pass `lim`; keeps
/// existing newlines; never breaks a word.
pub fn wrap(s: &str, lim: usize) -> String {
    let mut buf = String::new();
    let (mut current, mut word, mut space) = (0usize, String::new(), String::new());
    let len = |s: &str| s.len();
    for c in s.chars() {
        if c == '\n' {
            if word.is_empty() {
                // trailing spaces that would pass the limit are dropped
                if current + len(&space) <= lim {
                    buf.push_str(&space);
                }
                space.clear();
            } else {
                buf.push_str(&space);
                buf.push_str(&word);
                space.clear();
                word.clear();
            }
            buf.push(c);
            current = 0;
        } else if c.is_whitespace() {
            if space.is_empty() || !word.is_empty() {
                current += len(&space) + len(&word);
                buf.push_str(&space);
                buf.push_str(&word);
                space.clear();
                word.clear();
            }
            space.push(c);
        } else {
            word.push(c);
            if current + len(&space) + len(&word) > lim && len(&word) < lim {
                buf.push('\n');
                current = 0;
                space.clear();
            }
        }
    }
    if word.is_empty() {
        if current + len(&space) <= lim {
            buf.push_str(&space);
        }
    } else {
        buf.push_str(&space);
        buf.push_str(&word);
    }
    buf
}

/// The template's `indent`: pads the first line and every line after a newline.
pub fn indent(n: usize, s: &str) -> String {
    let pad = " ".repeat(n);
    format!("{pad}{}", s.replace('\n', &format!("\n{pad}")))
}

/// typeGuess: `string`, `[]Container`, `map[string]string`, `Object` …
pub fn type_guess(s: &Value, doc: &Value) -> String {
    if let Some(i) = items(s) {
        return format!("[]{}", type_guess(i, doc));
    }
    if let Some(a) = additional(s) {
        return format!("map[string]{}", type_guess(a, doc));
    }
    let all = all_of(s);
    if !all.is_empty() && !truthy(s.get("properties")) && all.len() == 1 {
        return type_guess(&all[0], doc);
    }
    let r = ref_of(s);
    if !r.is_empty() {
        let target = resolve(r, doc);
        let ty = target.and_then(|t| t.get("type")).and_then(Value::as_str);
        return match ty {
            None | Some("") | Some("object") => {
                let name = r.rsplit('/').next().unwrap_or("");
                match name.rsplit('.').next() {
                    Some(n) if !n.is_empty() => n.to_string(),
                    _ => "Object".into(),
                }
            }
            Some(t) => t.to_string(),
        };
    }
    match s.get("type").and_then(Value::as_str) {
        Some("object") | None | Some("") => "Object".into(),
        Some(t) => t.to_string(),
    }
}

fn enum_text(e: &Value) -> String {
    match e {
        Value::String(s) if s.is_empty() => "\"\"".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// extractEnum in its long (`ENUM:` one per line) or short (`enum: a, b, ....`) form.
fn extract_enum(s: &Value, long: bool, limit: i64, indent_amount: usize) -> String {
    let Some(list) = s
        .get("enum")
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty())
    else {
        return String::new();
    };
    let mut out = if long {
        "ENUM:".to_string()
    } else {
        format!("\n{}enum: ", " ".repeat(indent_amount))
    };
    for (i, e) in list.iter().enumerate() {
        if limit > -1 && i as i64 >= limit {
            out.push_str(", ....");
            break;
        }
        if i > 0 && !long {
            out.push_str(", ");
        } else if long {
            out.push_str("\n    ");
        }
        out.push_str(&enum_text(e));
    }
    out
}

/// The "description" template: this schema's description, then its allOf, items and
/// map values', each followed by a newline.
fn description(s: &Value, doc: &Value) -> String {
    let s = resolve(ref_of(s), doc).unwrap_or(s);
    let mut out = String::new();
    if let Some(d) = s
        .get("description")
        .and_then(Value::as_str)
        .filter(|d| !d.is_empty())
    {
        out.push_str(d);
        out.push('\n');
    }
    for a in all_of(s) {
        out.push_str(&description(a, doc));
    }
    if let Some(i) = items(s) {
        out.push_str(&description(i, doc));
    }
    if let Some(a) = additional(s) {
        out.push_str(&description(a, doc));
    }
    out
}

fn external_docs(s: &Value, amount: usize, width: usize, head_indent: usize) -> String {
    let Some(ed) = s.get("externalDocs").filter(|e| truthy(Some(e))) else {
        return String::new();
    };
    let mut out = format!("{}\n", indent(head_indent, "EXTERNAL DOCS:"));
    if let Some(d) = ed
        .get("description")
        .and_then(Value::as_str)
        .filter(|d| !d.is_empty())
    {
        out.push_str(&format!("{}\n", indent(amount, &wrap(d, width))));
    }
    if let Some(u) = ed
        .get("url")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
    {
        out.push_str(&format!("{}\n", indent(amount, &format!("URL: {u}"))));
    }
    out
}

fn field_detail(name: &str, parent: &Value, short: bool, level: usize, doc: &Value) -> String {
    let amount = level * 2;
    let field = parent.pointer(&format!(
        "/properties/{}",
        name.replace('~', "~0").replace('/', "~1")
    ));
    let field = field.unwrap_or(&Value::Null);
    let mut out = format!("{}\t<{}>", indent(amount, name), type_guess(field, doc));
    let required = parent
        .get("required")
        .and_then(Value::as_array)
        .is_some_and(|r| r.iter().any(|x| x == name));
    if required {
        out.push_str(" -required-");
    }
    out.push_str(&extract_enum(field, false, 4, amount));
    out.push('\n');
    if !short {
        let d = field
            .get("description")
            .and_then(Value::as_str)
            .filter(|d| !d.is_empty())
            .unwrap_or("<no description>");
        out.push_str(&indent(amount + 2, &wrap(d, 78 - amount)));
        out.push('\n');
        let ed = external_docs(field, amount + 4, 76 - amount, amount + 2);
        if !ed.is_empty() {
            out.push('\n');
            out.push_str(&ed);
        }
        out.push('\n');
    }
    out
}

fn field_list(
    s: &Value,
    level: usize,
    history: &BTreeSet<String>,
    recursive: bool,
    doc: &Value,
) -> String {
    let r = ref_of(s);
    if !r.is_empty() && history.contains(r) {
        return String::new();
    }
    let mut next = history.clone();
    next.insert(r.to_string());
    let resolved = resolve(r, doc).unwrap_or(s);
    let mut out = String::new();
    if let Some(props) = resolved.get("properties").and_then(Value::as_object) {
        let mut names: Vec<&String> = props.keys().collect();
        names.sort();
        for k in names {
            out.push_str(&field_detail(k, resolved, recursive, level, doc));
            if recursive {
                out.push_str(&field_list(&props[k], level + 1, &next, recursive, doc));
            }
        }
    }
    for a in all_of(resolved) {
        out.push_str(&field_list(a, level, &next, recursive, doc));
    }
    if let Some(i) = items(resolved) {
        out.push_str(&field_list(i, level, &next, recursive, doc));
    }
    if let Some(a) = additional(resolved) {
        out.push_str(&field_list(a, level, &next, recursive, doc));
    }
    out
}

/// The "output" template: follows `path` and renders the field (or the kind); empty
/// when the path leads nowhere.
fn output(
    s: &Value,
    path: &[&str],
    history: &BTreeSet<String>,
    recursive: bool,
    doc: &Value,
) -> String {
    let r = ref_of(s);
    let mut next = history.clone();
    next.insert(r.to_string());
    let resolved = resolve(r, doc).unwrap_or(s);
    if path.is_empty() {
        let d = description(resolved, doc);
        let d = if d.is_empty() {
            "<empty>".to_string()
        } else {
            d
        };
        let mut out = format!("DESCRIPTION:\n{}\n", indent(4, &wrap(&d, 76)));
        let ed = external_docs(resolved, 4, 76, 0);
        if !ed.is_empty() {
            out.push('\n');
            out.push_str(&ed);
        }
        let fields = field_list(resolved, 1, &BTreeSet::new(), recursive, doc);
        if !fields.is_empty() {
            out.push_str("FIELDS:\n");
            out.push_str(&fields);
        }
        return out;
    }
    if !r.is_empty() && history.contains(r) {
        return String::new();
    }
    if let Some(sub) = resolved.get("properties").and_then(|p| p.get(path[0])) {
        let mut out = String::new();
        if path.len() == 1 {
            out.push_str(&format!("FIELD: {} <{}>\n", path[0], type_guess(sub, doc)));
            out.push_str(&extract_enum(sub, true, -1, 0));
            out.push_str("\n\n");
        }
        out.push_str(&output(sub, &path[1..], &BTreeSet::new(), recursive, doc));
        return out;
    }
    if let Some(i) = items(resolved) {
        return output(i, path, &next, recursive, doc);
    }
    if let Some(a) = additional(resolved) {
        return output(a, path, &next, recursive, doc);
    }
    for a in all_of(resolved) {
        let o = output(a, path, &next, recursive, doc);
        if !o.is_empty() {
            return o;
        }
    }
    String::new()
}

/// Renders the kind schema `kind` of `doc` at `path` (below the GROUP/KIND/VERSION head).
pub fn render(
    kind: &Value,
    path: &[&str],
    recursive: bool,
    doc: &Value,
) -> Result<String, NoField> {
    let text = output(kind, path, &BTreeSet::new(), recursive, doc);
    if text.is_empty() {
        return Err(NoField(
            path.last().map(|s| s.to_string()).unwrap_or_default(),
        ));
    }
    Ok(format!("{text}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wraps_like_go_wordwrap() {
        assert_eq!(wrap("aaa bbb ccc", 7), "aaa bbb\nccc");
        assert_eq!(wrap("a\nb", 7), "a\nb");
        assert_eq!(
            wrap("averyveryverylongword x", 5),
            "averyveryverylongword\nx"
        );
        assert_eq!(indent(2, "a\nb\n"), "  a\n  b\n  ");
    }

    #[test]
    fn renders_field_and_kind() {
        let doc = json!({"components": {"schemas": {
            "a.D": {"description": "D is a thing.", "properties": {
                "spec": {"allOf": [{"$ref": "#/components/schemas/a.S"}], "description": "Spec."},
                "kind": {"type": "string", "description": "Kind."}}},
            "a.S": {"description": "S is the spec.", "required": ["n"], "properties": {
                "n": {"type": "integer", "description": "Count.", "enum": [1, 2]},
                "m": {"type": "object", "additionalProperties": {"type": "string"}}}}}}});
        let kind = &doc["components"]["schemas"]["a.D"];
        let field = render(kind, &["spec"], false, &doc).unwrap_or_default();
        assert_eq!(
            field,
            "FIELD: spec <S>\n\n\nDESCRIPTION:\n    Spec.\n    S is the spec.\n    \nFIELDS:\n  m\t<map[string]string>\n    <no description>\n\n  n\t<integer> -required-\n  enum: 1, 2\n    Count.\n\n\n"
        );
        let rec = render(kind, &[], true, &doc).unwrap_or_default();
        assert!(rec.ends_with("FIELDS:\n  kind\t<string>\n  spec\t<S>\n    m\t<map[string]string>\n    n\t<integer> -required-\n    enum: 1, 2\n\n"), "{rec}");
        assert_eq!(
            render(kind, &["spec", "x"], false, &doc),
            Err(NoField("x".into()))
        );
    }
}
