//! NodeAffinity: `nodeSelector` and required node affinity must match (filter); matching
//! preferred terms add their weights (score).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, NodeSelectorRequirement, NodeSelectorTerm, Pod};

use crate::framework::{
    default_normalize, Code, FilterPlugin, NodeInfo, PodToSchedule, ScorePlugin, Status,
};

/// Plugin name.
pub const NAME: &str = "NodeAffinity";
/// Reason text, as upstream words it.
pub const REASON: &str = "node(s) didn't match Pod's node affinity/selector";

fn requirement_matches(r: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let values = r.values.as_deref().unwrap_or(&[]);
    match r.operator.as_str() {
        "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
        "NotIn" => value.is_none_or(|v| !values.iter().any(|x| x == v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" | "Lt" => {
            let (Some(v), Some(bound)) = (
                value.and_then(|v| v.parse::<i64>().ok()),
                values.first().and_then(|b| b.parse::<i64>().ok()),
            ) else {
                return false;
            };
            if r.operator == "Gt" {
                v > bound
            } else {
                v < bound
            }
        }
        _ => false,
    }
}

/// Whether one selector term matches the node (all expressions and fields; an empty term
/// matches nothing, as upstream).
pub fn term_matches(term: &NodeSelectorTerm, node: &Node) -> bool {
    let exprs = term.match_expressions.as_deref().unwrap_or(&[]);
    let fields = term.match_fields.as_deref().unwrap_or(&[]);
    if exprs.is_empty() && fields.is_empty() {
        return false;
    }
    let empty = BTreeMap::new();
    let labels = node.metadata.labels.as_ref().unwrap_or(&empty);
    exprs
        .iter()
        .all(|r| requirement_matches(r, labels.get(&r.key).map(String::as_str)))
        && fields.iter().all(|r| {
            r.key == "metadata.name" && requirement_matches(r, node.metadata.name.as_deref())
        })
}

/// Whether the pod's nodeSelector and required node affinity admit the node.
pub fn pod_matches_node(pod: &Pod, node: &Node) -> bool {
    let Some(spec) = pod.spec.as_ref() else {
        return true;
    };
    if let Some(sel) = spec.node_selector.as_ref() {
        let labels = node.metadata.labels.as_ref();
        if !sel
            .iter()
            .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
        {
            return false;
        }
    }
    let required = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|na| {
            na.required_during_scheduling_ignored_during_execution
                .as_ref()
        });
    match required {
        Some(sel) => sel
            .node_selector_terms
            .iter()
            .any(|t| term_matches(t, node)),
        None => true,
    }
}

/// The plugin.
pub struct NodeAffinity;

impl FilterPlugin for NodeAffinity {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self, pod: &PodToSchedule<'_>, node: &NodeInfo) -> Status {
        if pod_matches_node(pod.pod, &node.node) {
            Status::success()
        } else {
            Status::new(Code::UnschedulableAndUnresolvable, REASON)
        }
    }
}

impl ScorePlugin for NodeAffinity {
    fn name(&self) -> &'static str {
        NAME
    }

    fn weight(&self) -> i64 {
        2
    }

    fn score(&self, pod: &PodToSchedule<'_>, node: &NodeInfo) -> i64 {
        let preferred = pod
            .pod
            .spec
            .as_ref()
            .and_then(|s| s.affinity.as_ref())
            .and_then(|a| a.node_affinity.as_ref())
            .and_then(|na| {
                na.preferred_during_scheduling_ignored_during_execution
                    .as_ref()
            });
        preferred
            .into_iter()
            .flatten()
            .filter(|p| p.weight != 0 && term_matches(&p.preference, &node.node))
            .map(|p| i64::from(p.weight))
            .sum()
    }

    fn normalize(&self, scores: &mut [i64]) {
        default_normalize(scores, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::testutil::{labeled_node, pod};
    use serde_json::json;

    fn required(exprs: serde_json::Value) -> serde_json::Value {
        json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": exprs}}}})
    }

    #[test]
    fn filter_table() {
        let labels = json!({"zone": "a", "gen": "5", "kubernetes.io/hostname": "n1"});
        let cases = [
            (json!({}), true),
            (json!({"nodeSelector": {"zone": "a"}}), true),
            (json!({"nodeSelector": {"zone": "b"}}), false),
            (json!({"nodeSelector": {"missing": "x"}}), false),
            (
                required(
                    json!([{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}]),
                ),
                true,
            ),
            (
                required(
                    json!([{"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["a"]}]}]),
                ),
                false,
            ),
            (
                required(json!([{"matchExpressions": [{"key": "zone", "operator": "Exists"}]}])),
                true,
            ),
            (
                required(
                    json!([{"matchExpressions": [{"key": "zone", "operator": "DoesNotExist"}]}]),
                ),
                false,
            ),
            (
                required(
                    json!([{"matchExpressions": [{"key": "gen", "operator": "Gt", "values": ["4"]}]}]),
                ),
                true,
            ),
            (
                required(
                    json!([{"matchExpressions": [{"key": "gen", "operator": "Lt", "values": ["4"]}]}]),
                ),
                false,
            ),
            (
                required(
                    json!([{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}]),
                ),
                true,
            ),
            (
                required(
                    json!([{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["x"]}]},
                             {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}]),
                ),
                true,
            ),
            (required(json!([{}])), false),
            (required(json!([])), false),
        ];
        let n = labeled_node("n1", labels);
        for (pspec, ok) in cases {
            let p = pod(pspec.clone());
            let st = FilterPlugin::filter(&NodeAffinity, &PodToSchedule::new(&p), &n);
            assert_eq!(st.is_success(), ok, "{pspec}");
            if !ok {
                assert_eq!(st.reasons, vec![REASON.to_string()]);
            }
        }
    }

    #[test]
    fn score_sums_matching_weights() {
        let p = pod(
            json!({"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 10, "preference": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}},
                {"weight": 30, "preference": {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}}
            ]}}}),
        );
        let pts = PodToSchedule::new(&p);
        let nodes = [
            labeled_node("a", json!({"zone": "a"})),
            labeled_node("b", json!({"zone": "a", "disk": "ssd"})),
            labeled_node("c", json!({})),
        ];
        let mut s: Vec<i64> = nodes
            .iter()
            .map(|n| ScorePlugin::score(&NodeAffinity, &pts, n))
            .collect();
        assert_eq!(s, vec![10, 40, 0]);
        ScorePlugin::normalize(&NodeAffinity, &mut s);
        assert_eq!(s, vec![25, 100, 0]);
    }
}
