//! Pods: admission's default tolerations, phase Pending and the QoS class on create;
//! graceful deletion (a bound, unfinished pod gets its grace period; the kubelet removes
//! it); a DELETE answers with the pod.

use super::{is_deleting, mark_deleted, rfc3339_in, Deletion, Strategy};
use crate::admission::DefaultTolerations;
use serde_json::{json, Value};

/// The strategy of core/v1 Pods.
pub struct PodStrategy {
    tolerations: DefaultTolerations,
}

impl PodStrategy {
    /// Pods get `tolerations` on create.
    pub fn new(tolerations: DefaultTolerations) -> Self {
        PodStrategy { tolerations }
    }
}

/// The pod's QoS class (`status.qosClass`), by the one rule in skiff-api (init containers
/// included, quantities compared by value).
fn qos_class(pod: &Value) -> &'static str {
    skiff_api::qos::pod_qos_class_json(pod).as_str()
}

/// The grace period a deletion gives the pod: none when it never ran on a node or has
/// finished, else the request's (or the pod's `terminationGracePeriodSeconds`, 30).
fn grace_period(pod: &Value, requested: Option<i64>) -> i64 {
    let bound = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty());
    let done = matches!(
        pod.pointer("/status/phase").and_then(Value::as_str),
        Some("Succeeded") | Some("Failed")
    );
    if !bound || done {
        return 0;
    }
    let default = pod
        .pointer("/spec/terminationGracePeriodSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(30);
    requested.unwrap_or(default).max(0)
}

impl Strategy for PodStrategy {
    fn prepare_for_create(&self, obj: &mut Value) {
        self.tolerations.admit_pod(obj);
        let qos = qos_class(obj);
        obj["status"] = json!({"phase": "Pending", "qosClass": qos});
    }

    fn begin_delete(&self, obj: &Value, new: &mut Value, grace: Option<i64>) -> Deletion {
        let grace = grace_period(obj, grace);
        if grace == 0 {
            return Deletion::Now;
        }
        let current = obj
            .pointer("/metadata/deletionGracePeriodSeconds")
            .and_then(Value::as_i64);
        if is_deleting(obj) && current.is_some_and(|c| c <= grace) {
            return Deletion::AlreadyPending;
        }
        mark_deleted(new, rfc3339_in(grace), grace, false);
        Deletion::Pending
    }

    fn returns_deleted_object(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(node: &str, phase: &str, tgps: Option<i64>) -> Value {
        let mut p = json!({"metadata": {"name": "p"}, "spec": {"nodeName": node}, "status": {"phase": phase}});
        if let Some(t) = tgps {
            p["spec"]["terminationGracePeriodSeconds"] = json!(t);
        }
        p
    }

    #[test]
    fn grace_periods() {
        let cases = [
            (pod("", "Pending", None), None, 0),
            (pod("n1", "Running", None), None, 30),
            (pod("n1", "Running", Some(5)), None, 5),
            (pod("n1", "Running", Some(5)), Some(2), 2),
            (pod("n1", "Running", None), Some(-3), 0),
            (pod("n1", "Succeeded", None), Some(10), 0),
            (pod("n1", "Failed", None), None, 0),
        ];
        for (p, requested, want) in cases {
            assert_eq!(grace_period(&p, requested), want, "{p} {requested:?}");
        }
    }

    #[test]
    fn graceful_deletion_marks_once_and_only_shortens() {
        let s = PodStrategy::new(DefaultTolerations::default());
        let running = pod("n1", "Running", None);
        let mut marked = running.clone();
        assert_eq!(
            s.begin_delete(&running, &mut marked, Some(20)),
            Deletion::Pending
        );
        assert_eq!(marked["metadata"]["deletionGracePeriodSeconds"], 20);
        let mut again = marked.clone();
        assert_eq!(
            s.begin_delete(&marked, &mut again, Some(25)),
            Deletion::AlreadyPending
        );
        assert_eq!(
            s.begin_delete(&marked, &mut again, Some(5)),
            Deletion::Pending
        );
        assert_eq!(again["metadata"]["deletionGracePeriodSeconds"], 5);
        let mut unbound = pod("", "Pending", None);
        assert_eq!(
            s.begin_delete(&unbound.clone(), &mut unbound, None),
            Deletion::Now
        );
    }

    #[test]
    fn qos_classes() {
        let c = |res: Value| json!({"spec": {"containers": [{"name": "c", "resources": res}]}});
        let cases = [
            (c(json!({})), "BestEffort"),
            (c(json!({"requests": {"cpu": "100m"}})), "Burstable"),
            (
                c(json!({"limits": {"cpu": "1", "memory": "1Gi"}})),
                "Guaranteed",
            ),
            (
                c(json!({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m"}})),
                "Burstable",
            ),
            // The copies that disagreed, settled upstream's way: quantities compare by
            // value (1 == 1000m) and init containers count.
            (
                c(json!({"limits": {"cpu": "1", "memory": "1Gi"},
                         "requests": {"cpu": "1000m", "memory": "1024Mi"}})),
                "Guaranteed",
            ),
            (
                json!({"spec": {
                    "containers": [{"name": "c"}],
                    "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "1"}}}]
                }}),
                "Burstable",
            ),
        ];
        for (p, want) in cases {
            assert_eq!(qos_class(&p), want, "{p}");
        }
    }

    #[test]
    fn create_sets_pending_status_and_default_tolerations() {
        let s = PodStrategy::new(DefaultTolerations::default());
        let mut p =
            json!({"spec": {"containers": [{"name": "c"}]}, "status": {"phase": "Running"}});
        s.prepare_for_create(&mut p);
        assert_eq!(
            p["status"],
            json!({"phase": "Pending", "qosClass": "BestEffort"})
        );
        assert_eq!(p["spec"]["tolerations"].as_array().map(Vec::len), Some(2));
    }
}
