//! TaintToleration: NoSchedule/NoExecute taints must be tolerated (filter); fewer untolerated
//! PreferNoSchedule taints is better (score). A node whose Ready condition is False/Unknown is
//! treated as carrying the taint node-lifecycle will add, so the window before it does is safe.

use k8s_openapi::api::core::v1::{Node, Taint, Toleration};
use skiff_api::taints::{
    find_untolerated, tolerated_by_any, NO_EXECUTE, NO_SCHEDULE, PREFER_NO_SCHEDULE,
};

use crate::framework::{
    default_normalize, Code, FilterPlugin, NodeInfo, PodToSchedule, ScorePlugin, Status,
};

/// Plugin name.
pub const NAME: &str = "TaintToleration";
/// Taint of nodes whose Ready condition is False.
pub const TAINT_NOT_READY: &str = "node.kubernetes.io/not-ready";
/// Taint of nodes whose Ready condition is Unknown.
pub const TAINT_UNREACHABLE: &str = "node.kubernetes.io/unreachable";

/// The node's taints plus the NoSchedule taint its Ready condition implies, if missing.
pub fn effective_taints(node: &Node) -> Vec<Taint> {
    let mut taints: Vec<Taint> = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default();
    let ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
        .map(|c| c.status.as_str());
    let implied = match ready {
        Some("False") => Some(TAINT_NOT_READY),
        Some("Unknown") => Some(TAINT_UNREACHABLE),
        _ => None,
    };
    if let Some(key) = implied {
        if !taints.iter().any(|t| t.key == key) {
            taints.push(Taint {
                key: key.into(),
                effect: NO_SCHEDULE.into(),
                ..Default::default()
            });
        }
    }
    taints
}

/// Upstream's reason text for an untolerated taint: `node(s) had untolerated taint {k: v}`.
pub fn reason(taint: &Taint) -> String {
    format!(
        "node(s) had untolerated taint {{{}: {}}}",
        taint.key,
        taint.value.as_deref().unwrap_or("")
    )
}

/// The plugin.
pub struct TaintToleration;

fn tolerations<'a>(pod: &'a PodToSchedule<'_>) -> &'a [Toleration] {
    pod.pod
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.as_deref())
        .unwrap_or(&[])
}

impl FilterPlugin for TaintToleration {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self, pod: &PodToSchedule<'_>, node: &NodeInfo) -> Status {
        let taints = effective_taints(&node.node);
        let bad = find_untolerated(&taints, tolerations(pod), |t| {
            t.effect == NO_SCHEDULE || t.effect == NO_EXECUTE
        });
        match bad {
            Some(t) => Status::new(Code::UnschedulableAndUnresolvable, reason(t)),
            None => Status::success(),
        }
    }
}

impl ScorePlugin for TaintToleration {
    fn name(&self) -> &'static str {
        NAME
    }

    fn weight(&self) -> i64 {
        3
    }

    fn score(&self, pod: &PodToSchedule<'_>, node: &NodeInfo) -> i64 {
        let ts: Vec<Toleration> = tolerations(pod)
            .iter()
            .filter(|t| {
                t.effect
                    .as_deref()
                    .is_none_or(|e| e.is_empty() || e == PREFER_NO_SCHEDULE)
            })
            .cloned()
            .collect();
        let taints = node
            .node
            .spec
            .as_ref()
            .and_then(|s| s.taints.as_deref())
            .unwrap_or(&[]);
        taints
            .iter()
            .filter(|t| t.effect == PREFER_NO_SCHEDULE && !tolerated_by_any(&ts, t))
            .count() as i64
    }

    fn normalize(&self, scores: &mut [i64]) {
        default_normalize(scores, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::testutil::{node, pod};
    use serde_json::json;

    #[test]
    fn filter_table() {
        let taint =
            json!({"taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]});
        let cases = [
            (json!({}), json!({}), json!({}), None),
            (
                taint.clone(),
                json!({}),
                json!({}),
                Some("node(s) had untolerated taint {dedicated: gpu}"),
            ),
            (
                taint.clone(),
                json!({"tolerations": [{"key": "dedicated", "value": "gpu"}]}),
                json!({}),
                None,
            ),
            (
                taint.clone(),
                json!({"tolerations": [{"key": "dedicated", "value": "cpu"}]}),
                json!({}),
                Some("node(s) had untolerated taint {dedicated: gpu}"),
            ),
            (
                taint.clone(),
                json!({"tolerations": [{"operator": "Exists"}]}),
                json!({}),
                None,
            ),
            (
                taint.clone(),
                json!({"tolerations": [{"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}]}),
                json!({}),
                Some("node(s) had untolerated taint {dedicated: gpu}"),
            ),
            (
                json!({"taints": [{"key": "soft", "effect": "PreferNoSchedule"}]}),
                json!({}),
                json!({}),
                None,
            ),
            (
                json!({}),
                json!({}),
                json!({"conditions": [{"type": "Ready", "status": "Unknown"}]}),
                Some("node(s) had untolerated taint {node.kubernetes.io/unreachable: }"),
            ),
            (
                json!({}),
                json!({}),
                json!({"conditions": [{"type": "Ready", "status": "False"}]}),
                Some("node(s) had untolerated taint {node.kubernetes.io/not-ready: }"),
            ),
            (
                json!({}),
                json!({"tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists"}]}),
                json!({"conditions": [{"type": "Ready", "status": "False"}]}),
                None,
            ),
        ];
        for (nspec, pspec, nstatus, want) in cases {
            let p = pod(pspec.clone());
            let st = FilterPlugin::filter(
                &TaintToleration,
                &PodToSchedule::new(&p),
                &node("n", nspec.clone(), nstatus),
            );
            match want {
                None => assert!(st.is_success(), "{nspec} {pspec}: {st:?}"),
                Some(r) => {
                    assert_eq!(st.reasons, vec![r.to_string()], "{nspec} {pspec}");
                    assert_eq!(st.code, Code::UnschedulableAndUnresolvable);
                }
            }
        }
    }

    #[test]
    fn score_prefers_fewer_soft_taints() {
        let p = pod(
            json!({"tolerations": [{"key": "a", "operator": "Exists", "effect": "PreferNoSchedule"}]}),
        );
        let pts = PodToSchedule::new(&p);
        let nodes = [
            node("n0", json!({}), json!({})),
            node(
                "n1",
                json!({"taints": [{"key": "b", "effect": "PreferNoSchedule"}]}),
                json!({}),
            ),
            node(
                "n2",
                json!({"taints": [{"key": "a", "effect": "PreferNoSchedule"}]}),
                json!({}),
            ),
            node(
                "n3",
                json!({"taints": [{"key": "b", "effect": "PreferNoSchedule"}, {"key": "c", "effect": "PreferNoSchedule"}]}),
                json!({}),
            ),
        ];
        let mut s: Vec<i64> = nodes
            .iter()
            .map(|n| ScorePlugin::score(&TaintToleration, &pts, n))
            .collect();
        assert_eq!(s, vec![0, 1, 0, 2]);
        ScorePlugin::normalize(&TaintToleration, &mut s);
        assert_eq!(s, vec![100, 50, 100, 0]);
    }
}
