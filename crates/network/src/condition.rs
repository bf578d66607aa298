//! The node condition `NetworkUnavailable`, which the network agent sets to `False` once
//! the node's routes are in place (as flannel and upstream's route controller do).

use k8s_openapi::api::core::v1::Node;
use serde_json::{json, Value};

/// The condition type.
pub const TYPE: &str = "NetworkUnavailable";
/// The reason upstream's route controller gives once the routes exist.
pub const REASON: &str = "RouteCreated";
/// The message beside it.
pub const MESSAGE: &str = "Skiff host-gw created routes to the other nodes' pod CIDRs";

/// Whether the node already says its network is available for the reason we give.
pub fn network_available(node: &Node) -> bool {
    let conditions = node.status.as_ref().and_then(|s| s.conditions.as_ref());
    conditions
        .into_iter()
        .flatten()
        .any(|c| c.type_ == TYPE && c.status == "False" && c.reason.as_deref() == Some(REASON))
}

/// A strategic-merge patch of `status` setting the condition (conditions merge by type).
pub fn available_patch(now: chrono::DateTime<chrono::Utc>) -> Value {
    let at = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    json!({"status": {"conditions": [{
        "type": TYPE,
        "status": "False",
        "reason": REASON,
        "message": MESSAGE,
        "lastHeartbeatTime": at,
        "lastTransitionTime": at,
    }]}})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(conditions: Value) -> Node {
        serde_json::from_value(
            json!({"metadata": {"name": "a"}, "status": {"conditions": conditions}}),
        )
        .unwrap()
    }

    #[test]
    fn only_false_with_our_reason_counts_as_set() {
        let cond = |status: &str, reason: &str| json!([{"type": TYPE, "status": status, "reason": reason}]);
        let cases = [
            (json!([]), false),
            (json!([{"type": "Ready", "status": "True"}]), false),
            (cond("True", "NoRouteCreated"), false),
            (cond("False", "FlannelIsUp"), false),
            (cond("False", REASON), true),
        ];
        for (conditions, want) in cases {
            assert_eq!(
                network_available(&node(conditions.clone())),
                want,
                "{conditions}"
            );
        }
    }

    #[test]
    fn the_patch_sets_the_condition_false() {
        let now = chrono::DateTime::parse_from_rfc3339("2024-05-01T10:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let patch = available_patch(now);
        let c = &patch["status"]["conditions"][0];
        assert_eq!(
            (c["type"].as_str(), c["status"].as_str()),
            (Some(TYPE), Some("False"))
        );
        assert_eq!(c["lastTransitionTime"], "2024-05-01T10:00:00Z");
    }
}
