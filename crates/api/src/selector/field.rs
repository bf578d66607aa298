//! Field selectors (`?fieldSelector=spec.nodeName=n1,status.phase!=Failed`): parsing, the per-kind supported fields, matching.

use serde_json::Value;

use super::SelectorError;
use crate::registry::ResourceInfo;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Term {
    field: String,
    value: String,
    negate: bool,
}

/// A parsed field selector; every term must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSelector {
    terms: Vec<Term>,
}

/// The field labels a resource supports in field selectors (always `metadata.name` and `metadata.namespace`).
pub fn supported_field_labels(res: &ResourceInfo) -> &'static [&'static str] {
    match (res.group, res.kind) {
        ("", "Pod") => &[
            "metadata.name",
            "metadata.namespace",
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.podIPs",
            "status.nominatedNodeName",
        ],
        ("", "Event") | ("events.k8s.io", "Event") => &[
            "metadata.name",
            "metadata.namespace",
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
            "regarding.kind",
            "regarding.namespace",
            "regarding.name",
            "regarding.uid",
            "regarding.apiVersion",
            "regarding.resourceVersion",
            "regarding.fieldPath",
            "reportingController",
        ],
        ("", "Secret") => &["metadata.name", "metadata.namespace", "type"],
        ("", "Namespace") => &["metadata.name", "metadata.namespace", "status.phase"],
        ("", "Node") => &["metadata.name", "metadata.namespace", "spec.unschedulable"],
        ("", "Service") => &[
            "metadata.name",
            "metadata.namespace",
            "spec.clusterIP",
            "spec.type",
        ],
        ("apps", "ReplicaSet") => &["metadata.name", "metadata.namespace", "status.replicas"],
        _ => &["metadata.name", "metadata.namespace"],
    }
}

/// Splits on `sep` where it is not escaped with a backslash.
fn split_unescaped(s: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            cur.push('\\');
            cur.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    if escaped {
        cur.push('\\');
    }
    out.push(cur);
    out
}

fn unescape(s: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(n @ ('\\' | ',' | '=')) => out.push(n),
                Some(n) => return Err(format!("invalid escape sequence: \\{n}")),
                None => return Err("unterminated escape sequence".to_string()),
            }
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// Finds the first unescaped operator: `!=`, `==` or `=`.
fn split_term(term: &str) -> Option<(String, &'static str, String)> {
    let b = term.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            i += 2;
            continue;
        }
        for op in ["!=", "==", "="] {
            if term[i..].starts_with(op) {
                return Some((term[..i].to_string(), op, term[i + op.len()..].to_string()));
            }
        }
        i += 1;
    }
    None
}

impl FieldSelector {
    /// Parses a selector, rejecting fields no served kind supports (`field label not supported: foo`);
    /// [`FieldSelector::parse_for`] checks against one resource's fields.
    pub fn parse(s: &str) -> Result<Self, SelectorError> {
        let sel = Self::parse_syntax(s)?;
        let known = |f: &str| {
            crate::registry::all_resources()
                .iter()
                .any(|r| supported_field_labels(r).contains(&f))
        };
        match sel.terms.iter().find(|t| !known(&t.field)) {
            Some(t) => Err(SelectorError::UnsupportedField(t.field.clone())),
            None => Ok(sel),
        }
    }

    /// Parses the syntax only; any field name is accepted.
    pub fn parse_syntax(s: &str) -> Result<Self, SelectorError> {
        let mut terms = Vec::new();
        if s.trim().is_empty() {
            return Ok(FieldSelector { terms });
        }
        for part in split_unescaped(s, ',') {
            if part.is_empty() {
                continue;
            }
            let bad = || SelectorError::InvalidFieldTerm {
                selector: s.to_string(),
                term: part.clone(),
            };
            let (field, op, value) = split_term(&part).ok_or_else(bad)?;
            let field = unescape(field.trim()).map_err(|_| bad())?;
            let value = unescape(&value).map_err(|_| bad())?;
            terms.push(Term {
                field,
                value,
                negate: op == "!=",
            });
        }
        Ok(FieldSelector { terms })
    }

    /// Parses and checks every field is supported for the resource (`field label not supported: foo`).
    pub fn parse_for(res: &ResourceInfo, s: &str) -> Result<Self, SelectorError> {
        let sel = Self::parse_syntax(s)?;
        sel.check_supported(res)?;
        Ok(sel)
    }

    /// Errors on the first field the resource does not support.
    pub fn check_supported(&self, res: &ResourceInfo) -> Result<(), SelectorError> {
        let ok = supported_field_labels(res);
        match self.terms.iter().find(|t| !ok.contains(&t.field.as_str())) {
            Some(t) => Err(SelectorError::UnsupportedField(t.field.clone())),
            None => Ok(()),
        }
    }

    /// The fields named by the selector.
    pub fn fields(&self) -> Vec<String> {
        self.terms.iter().map(|t| t.field.clone()).collect()
    }

    /// Whether the selector has no terms.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The value required for `field` by an `=` term, if any (useful to narrow a list, e.g. `spec.nodeName`).
    pub fn required_value(&self, field: &str) -> Option<&str> {
        self.terms
            .iter()
            .find(|t| !t.negate && t.field == field)
            .map(|t| t.value.as_str())
    }

    /// Whether an object satisfies every term.
    pub fn matches(&self, obj: &Value) -> bool {
        self.terms.iter().all(|t| {
            let have = field_value(obj, &t.field);
            (have == t.value) != t.negate
        })
    }
}

impl std::fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .terms
            .iter()
            .map(|t| {
                format!(
                    "{}{}{}",
                    t.field,
                    if t.negate { "!=" } else { "=" },
                    t.value
                )
            })
            .collect();
        write!(f, "{}", parts.join(","))
    }
}

fn scalar(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(other) => other.to_string(),
    }
}

/// The string value of a field label on an object, as upstream's `*ToSelectableFields` produce it.
pub fn field_value(obj: &Value, field: &str) -> String {
    let path: Vec<&str> = field.split('.').collect();
    match field {
        "spec.hostNetwork" | "spec.unschedulable" => {
            let v = crate::json::at(obj, &path).and_then(Value::as_bool);
            v.unwrap_or(false).to_string()
        }
        "status.replicas" => crate::json::i64_at(obj, &path).to_string(),
        "status.podIPs" => crate::json::arr_at(obj, &["status", "podIPs"])
            .iter()
            .filter_map(|p| p.get("ip").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(","),
        "source" => {
            let c = crate::json::str_at(obj, &["source", "component"]);
            if c.is_empty() {
                crate::json::str_at(obj, &["deprecatedSource", "component"]).to_string()
            } else {
                c.to_string()
            }
        }
        _ if field.starts_with("involvedObject.") && obj.get("regarding").is_some() => {
            let mut p = vec!["regarding"];
            p.extend_from_slice(&path[1..]);
            scalar(crate::json::at(obj, &p))
        }
        _ => scalar(crate::json::at(obj, &path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::find_resource;
    use serde_json::json;

    #[test]
    fn parse_and_match() {
        let pod = json!({"metadata": {"name": "a", "namespace": "ns"}, "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}});
        let cases = [
            ("spec.nodeName=n1", true),
            ("spec.nodeName==n1", true),
            ("spec.nodeName!=n1", false),
            ("spec.nodeName=n1,status.phase!=Failed", true),
            ("spec.nodeName=", false),
            ("metadata.name=a,metadata.namespace=ns", true),
            ("", true),
        ];
        for (s, want) in cases {
            let sel = FieldSelector::parse(s).expect(s);
            assert_eq!(sel.matches(&pod), want, "{s}");
        }
        let unscheduled = json!({"spec": {}});
        assert!(FieldSelector::parse("spec.nodeName=")
            .expect("p")
            .matches(&unscheduled));
    }

    #[test]
    fn unsupported_field_message() {
        let pods = find_resource("", "v1", "pods").expect("pods");
        let err = FieldSelector::parse_for(pods, "foo=bar").expect_err("unsupported");
        assert_eq!(err.to_string(), "field label not supported: foo");
        let err = FieldSelector::parse("metadata.name=a,foo=bar").expect_err("unknown anywhere");
        assert_eq!(err.to_string(), "field label not supported: foo");
        assert!(FieldSelector::parse_for(pods, "spec.nodeName=x").is_ok());
        let cms = find_resource("", "v1", "configmaps").expect("cm");
        assert!(FieldSelector::parse_for(cms, "spec.nodeName=x").is_err());
    }

    #[test]
    fn bad_term() {
        let err = FieldSelector::parse("foo").expect_err("no operator");
        assert_eq!(
            err.to_string(),
            "invalid selector: 'foo'; can't understand 'foo'"
        );
    }

    #[test]
    fn escapes_and_fields() {
        let sel = FieldSelector::parse(r"metadata.name=a\,b").expect("escaped");
        assert_eq!(sel.fields(), vec!["metadata.name"]);
        assert!(sel.matches(&json!({"metadata": {"name": "a,b"}})));
        assert_eq!(sel.required_value("metadata.name"), Some("a,b"));
    }

    #[test]
    fn event_fields() {
        let ev = json!({"involvedObject": {"kind": "Pod", "name": "p"}, "source": {"component": "kubelet"}, "type": "Normal"});
        let sel = FieldSelector::parse(
            "involvedObject.kind=Pod,involvedObject.name=p,source=kubelet,type=Normal",
        )
        .expect("p");
        assert!(sel.matches(&ev));
        let ev2 = json!({"regarding": {"kind": "Pod", "name": "p"}});
        assert!(FieldSelector::parse("involvedObject.name=p")
            .expect("p")
            .matches(&ev2));
    }
}
