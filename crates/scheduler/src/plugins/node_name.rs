//! NodeName: a pod that names a node may only go there.

use crate::framework::{Code, FilterPlugin, NodeInfo, PodToSchedule, Status};

/// Plugin name.
pub const NAME: &str = "NodeName";
/// Reason text, as upstream words it.
pub const REASON: &str = "node(s) didn't match the requested node name";

/// The plugin.
pub struct NodeName;

impl FilterPlugin for NodeName {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self, pod: &PodToSchedule<'_>, node: &NodeInfo) -> Status {
        match pod.pod.spec.as_ref().and_then(|s| s.node_name.as_deref()) {
            Some(n) if !n.is_empty() && n != node.name() => {
                Status::new(Code::UnschedulableAndUnresolvable, REASON)
            }
            _ => Status::success(),
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
        for (pspec, ok) in [
            (json!({}), true),
            (json!({"nodeName": "a"}), true),
            (json!({"nodeName": "b"}), false),
        ] {
            let p = pod(pspec.clone());
            assert_eq!(
                NodeName
                    .filter(&PodToSchedule::new(&p), &node("a", json!({}), json!({})))
                    .is_success(),
                ok,
                "{pspec}"
            );
        }
    }
}
