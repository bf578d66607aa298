//! NodeUnschedulable: keeps pods off cordoned nodes (`spec.unschedulable`) unless tolerated.

use k8s_openapi::api::core::v1::Taint;

use crate::framework::{Code, FilterPlugin, NodeInfo, PodToSchedule, Status};
use skiff_api::taints::tolerated_by_any;

/// Plugin name.
pub const NAME: &str = "NodeUnschedulable";
/// Reason text, as upstream words it.
pub const REASON: &str = "node(s) were unschedulable";

/// The plugin.
pub struct NodeUnschedulable;

impl FilterPlugin for NodeUnschedulable {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self, pod: &PodToSchedule<'_>, node: &NodeInfo) -> Status {
        let cordoned = node
            .node
            .spec
            .as_ref()
            .and_then(|s| s.unschedulable)
            .unwrap_or(false);
        if !cordoned {
            return Status::success();
        }
        let taint = Taint {
            key: "node.kubernetes.io/unschedulable".into(),
            effect: "NoSchedule".into(),
            ..Default::default()
        };
        let tolerations = pod
            .pod
            .spec
            .as_ref()
            .and_then(|s| s.tolerations.as_deref())
            .unwrap_or(&[]);
        if tolerated_by_any(tolerations, &taint) {
            Status::success()
        } else {
            Status::new(Code::UnschedulableAndUnresolvable, REASON)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::testutil::{node, pod};
    use serde_json::json;

    #[test]
    fn table() {
        let cases = [
            (json!({}), json!({}), true),
            (json!({"unschedulable": true}), json!({}), false),
            (
                json!({"unschedulable": true}),
                json!({"tolerations": [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}]}),
                true,
            ),
        ];
        for (nspec, pspec, ok) in cases {
            let p = pod(pspec.clone());
            let st = NodeUnschedulable.filter(
                &PodToSchedule::new(&p),
                &node("n", nspec.clone(), json!({})),
            );
            assert_eq!(st.is_success(), ok, "{nspec} {pspec}");
            if !ok {
                assert_eq!(st.reasons, vec![REASON.to_string()]);
                assert_eq!(st.code, Code::UnschedulableAndUnresolvable);
            }
        }
    }
}
