//! Admission steps that depend on server flags (upstream's DefaultTolerationSeconds plugin).

use serde_json::{json, Value};
use skiff_api::taints::json_covers_no_execute;

/// Seconds a pod tolerates a not-ready / unreachable node before eviction, added to every
/// new pod that does not tolerate those taints already (`--default-*-toleration-seconds`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DefaultTolerations {
    /// For `node.kubernetes.io/not-ready:NoExecute`.
    pub not_ready_seconds: i64,
    /// For `node.kubernetes.io/unreachable:NoExecute`.
    pub unreachable_seconds: i64,
}

impl Default for DefaultTolerations {
    fn default() -> Self {
        DefaultTolerations {
            not_ready_seconds: 300,
            unreachable_seconds: 300,
        }
    }
}

impl DefaultTolerations {
    /// Adds the two NoExecute tolerations to a pod that lacks a matching one.
    pub fn admit_pod(&self, pod: &mut Value) {
        let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
            return;
        };
        let tolerations = spec.entry("tolerations").or_insert_with(|| json!([]));
        let Value::Array(tols) = tolerations else {
            return;
        };
        for (key, seconds) in [
            ("node.kubernetes.io/not-ready", self.not_ready_seconds),
            ("node.kubernetes.io/unreachable", self.unreachable_seconds),
        ] {
            if !tols.iter().any(|t| json_covers_no_execute(t, key)) {
                tols.push(json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": seconds}));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_configured_seconds_unless_already_tolerated() {
        let config = DefaultTolerations {
            not_ready_seconds: 7,
            unreachable_seconds: 9,
        };
        let mut pod = json!({"spec": {"tolerations": [
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 2}
        ]}});
        config.admit_pod(&mut pod);
        let tols = pod["spec"]["tolerations"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(tols.len(), 2);
        assert_eq!(tols[0]["tolerationSeconds"], 2);
        assert_eq!(tols[1]["key"], "node.kubernetes.io/not-ready");
        assert_eq!(tols[1]["tolerationSeconds"], 7);

        let mut tolerate_all = json!({"spec": {"tolerations": [{"operator": "Exists"}]}});
        config.admit_pod(&mut tolerate_all);
        assert_eq!(
            tolerate_all["spec"]["tolerations"].as_array().map(Vec::len),
            Some(1)
        );
    }
}
