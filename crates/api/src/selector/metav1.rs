//! `metav1.LabelSelector` (matchLabels + matchExpressions), typed or raw JSON, turned into a
//! [`LabelSelector`] by upstream's `LabelSelectorAsSelector` rules: a null selector selects
//! nothing, an empty one everything, an unknown operator or invalid key/value is an error.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector as TypedSelector;
use serde_json::Value;

use super::label::{LabelSelector, Operator, Requirement};
use super::SelectorError;

fn operator(op: &str) -> Result<Operator, SelectorError> {
    match op {
        "In" => Ok(Operator::In),
        "NotIn" => Ok(Operator::NotIn),
        "Exists" => Ok(Operator::Exists),
        "DoesNotExist" => Ok(Operator::DoesNotExist),
        other => Err(SelectorError::Parse(format!(
            "{other:?} is not a valid label selector operator"
        ))),
    }
}

/// Builds the selector from matchLabels pairs and (key, operator, values) expressions.
fn from_parts<'a>(
    match_labels: impl Iterator<Item = (&'a str, &'a str)>,
    expressions: impl Iterator<Item = (&'a str, &'a str, Vec<String>)>,
) -> Result<LabelSelector, SelectorError> {
    let mut reqs = Vec::new();
    for (k, v) in match_labels {
        reqs.push(Requirement::new(k, Operator::Equals, vec![v.to_string()])?);
    }
    for (key, op, values) in expressions {
        reqs.push(Requirement::new(key, operator(op)?, values)?);
    }
    reqs.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(LabelSelector {
        requirements: reqs,
        nothing: false,
    })
}

fn str_field<'a>(v: &'a Value, name: &str) -> &'a str {
    v.get(name).and_then(Value::as_str).unwrap_or_default()
}

fn nothing() -> LabelSelector {
    LabelSelector {
        requirements: Vec::new(),
        nothing: true,
    }
}

impl LabelSelector {
    /// Builds a selector from a `metav1.LabelSelector` JSON (matchLabels + matchExpressions); null selects nothing.
    pub fn from_label_selector_json(sel: &Value) -> Result<Self, SelectorError> {
        let obj = match sel {
            Value::Null => return Ok(nothing()),
            Value::Object(o) => o,
            _ => return Err(SelectorError::Parse("selector must be an object".into())),
        };
        let labels = obj
            .get("matchLabels")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or_default()));
        let exprs = obj
            .get("matchExpressions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|e| {
                let values = e
                    .get("values")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect();
                (str_field(e, "key"), str_field(e, "operator"), values)
            });
        from_parts(labels, exprs)
    }

    /// Builds a selector from a typed `metav1.LabelSelector`; `None` selects nothing
    /// (upstream's `LabelSelectorAsSelector`).
    pub fn from_typed(sel: Option<&TypedSelector>) -> Result<Self, SelectorError> {
        let Some(sel) = sel else {
            return Ok(nothing());
        };
        let labels = sel
            .match_labels
            .iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.as_str()));
        let exprs = sel.match_expressions.iter().flatten().map(|e| {
            let values = e.values.clone().unwrap_or_default();
            (e.key.as_str(), e.operator.as_str(), values)
        });
        from_parts(labels, exprs)
    }

    /// Whether a typed label map satisfies every requirement.
    pub fn matches_labels(&self, labels: &BTreeMap<String, String>) -> bool {
        !self.nothing
            && self
                .requirements
                .iter()
                .all(|r| r.matches_value(labels.get(&r.key).map(String::as_str)))
    }
}

/// Whether `labels` (absent: no labels) satisfy a typed selector; an invalid selector selects
/// nothing, as a controller that cannot convert its selector acts on no object.
pub fn typed_selector_matches(
    sel: Option<&TypedSelector>,
    labels: Option<&BTreeMap<String, String>>,
) -> bool {
    let empty = BTreeMap::new();
    LabelSelector::from_typed(sel).is_ok_and(|s| s.matches_labels(labels.unwrap_or(&empty)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Map};

    fn labels(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn from_json_form() {
        let sel = LabelSelector::from_label_selector_json(&json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["dev"]}, {"key": "gpu", "operator": "DoesNotExist"}]
        }))
        .expect("sel");
        assert!(sel.matches(&labels(json!({"app": "web", "env": "prod"}))));
        assert!(!sel.matches(&labels(json!({"app": "web", "gpu": "1"}))));
        assert_eq!(sel.to_string(), "app=web,env notin (dev),!gpu");
        let nothing = LabelSelector::from_label_selector_json(&Value::Null).expect("null");
        assert!(!nothing.matches(&labels(json!({}))));
        assert!(!nothing.is_empty());
        let everything = LabelSelector::from_label_selector_json(&json!({})).expect("empty");
        assert!(everything.is_empty() && everything.matches(&labels(json!({"a": "b"}))));
        let bad = LabelSelector::from_label_selector_json(
            &json!({"matchExpressions": [{"key": "a", "operator": "Foo"}]}),
        );
        assert_eq!(
            bad.expect_err("op").to_string(),
            "\"Foo\" is not a valid label selector operator"
        );
        assert!(LabelSelector::from_label_selector_json(
            &json!({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]})
        )
        .is_err());
    }

    fn typed(v: Value) -> TypedSelector {
        serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `TestLabelSelectorAsSelector`: the typed form prints as the parsed string form.
    #[test]
    fn typed_as_selector() {
        let in_expr = json!([{"key": "baz", "operator": "In", "values": ["qux", "norf"]}]);
        let cases: [(Option<Value>, Option<&str>); 6] = [
            (None, Some("")),
            (Some(json!({})), Some("")),
            (
                Some(json!({"matchLabels": {"foo": "bar"}})),
                Some("foo=bar"),
            ),
            (
                Some(json!({"matchExpressions": in_expr})),
                Some("baz in (norf,qux)"),
            ),
            (
                Some(json!({"matchLabels": {"foo": "bar"}, "matchExpressions": in_expr})),
                Some("baz in (norf,qux),foo=bar"),
            ),
            (
                Some(
                    json!({"matchExpressions": [{"key": "baz", "operator": "Exists", "values": ["qux", "norf"]}]}),
                ),
                None,
            ),
        ];
        for (input, want) in cases {
            let sel = input.clone().map(typed);
            let got = LabelSelector::from_typed(sel.as_ref());
            match want {
                Some(s) => assert_eq!(got.map(|g| g.to_string()), Ok(s.to_string()), "{input:?}"),
                None => assert!(got.is_err(), "{input:?}"),
            }
        }
        assert!(LabelSelector::from_typed(None).is_ok_and(|s| s.nothing));
    }

    #[test]
    fn typed_matching() {
        let l: BTreeMap<String, String> = [("app", "web"), ("tier", "fe")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let cases = [
            (json!({}), true),
            (json!({"matchLabels": {"app": "web"}}), true),
            (json!({"matchLabels": {"app": "db"}}), false),
            (
                json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["fe", "be"]}]}),
                true,
            ),
            (
                json!({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["fe"]}]}),
                false,
            ),
            (
                json!({"matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]}),
                true,
            ),
            (
                json!({"matchExpressions": [{"key": "x", "operator": "Exists"}]}),
                false,
            ),
            // invalid selectors select nothing
            (
                json!({"matchExpressions": [{"key": "tier", "operator": "Bogus"}]}),
                false,
            ),
            (
                json!({"matchExpressions": [{"key": "x", "operator": "NotIn", "values": []}]}),
                false,
            ),
        ];
        for (s, want) in cases {
            assert_eq!(
                typed_selector_matches(Some(&typed(s.clone())), Some(&l)),
                want,
                "{s}"
            );
        }
        assert!(!typed_selector_matches(None, Some(&l)));
        assert!(typed_selector_matches(Some(&typed(json!({}))), None));
    }
}
