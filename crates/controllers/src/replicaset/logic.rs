//! ReplicaSet decisions as data: how many pods to create or delete, slow-start batches, the
//! pods it creates (named by the API server from `generateName`), and its status.

use std::cmp::Ordering;

use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use skiff_api::owner::new_controller_ref;

use crate::podutil::{is_available, is_ready, selector_matches};

/// Most pods created or deleted in one sync (upstream's burstReplicas).
pub const BURST_REPLICAS: usize = 500;

/// Slow-start batch sizes for `n` creations: 1, 2, 4, … (upstream's SlowStartInitialBatchSize=1).
pub fn slow_start_batches(n: usize) -> Vec<usize> {
    let (mut out, mut left, mut size) = (Vec::new(), n, 1usize);
    while left > 0 {
        let b = size.min(left);
        out.push(b);
        left -= b;
        size *= 2;
    }
    out
}

/// The most a pod-name prefix may be: a DNS subdomain (upstream's `ValidatePodName`).
const MAX_NAME: usize = 253;

/// The `generateName` of a ReplicaSet's pods: `<rs-name>-`, or the bare name when the dash
/// would make the prefix too long (upstream's `getPodsPrefix`); the API server appends the
/// random suffix.
pub fn pod_name_prefix(rs_name: &str) -> String {
    if rs_name.len() < MAX_NAME {
        format!("{rs_name}-")
    } else {
        rs_name.to_string()
    }
}

/// The pod a ReplicaSet creates from its template (upstream's `GetPodFromTemplate`):
/// template labels, annotations and finalizers, a `generateName`, and the controller
/// reference.
pub fn pod_from_template(rs: &ReplicaSet) -> Pod {
    let tmpl = rs
        .spec
        .as_ref()
        .and_then(|s| s.template.clone())
        .unwrap_or_default();
    let tm = tmpl.metadata.unwrap_or_default();
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(pod_name_prefix(rs.metadata.name.as_deref().unwrap_or(""))),
            namespace: rs.metadata.namespace.clone(),
            labels: tm.labels,
            annotations: tm.annotations,
            finalizers: tm.finalizers,
            owner_references: Some(vec![new_controller_ref(rs)]),
            ..Default::default()
        },
        spec: tmpl.spec,
        status: None,
    }
}

/// What one sync does about the number of pods (upstream's `manageReplicas`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Diff {
    /// Create this many pods (in slow-start batches).
    Create(usize),
    /// Delete this many pods (the best candidates of [`super::ranking::pods_to_delete`]).
    Delete(usize),
    /// The count is right.
    None,
}

/// Compares the owned active pods with `spec.replicas`, at most [`BURST_REPLICAS`] a sync.
pub fn diff(rs: &ReplicaSet, owned: usize) -> Diff {
    let want = rs
        .spec
        .as_ref()
        .and_then(|s| s.replicas)
        .unwrap_or(1)
        .max(0) as usize;
    match owned.cmp(&want) {
        Ordering::Less => Diff::Create((want - owned).min(BURST_REPLICAS)),
        Ordering::Greater => Diff::Delete((owned - want).min(BURST_REPLICAS)),
        Ordering::Equal => Diff::None,
    }
}

/// The status computed from the RS's active pods.
pub fn compute_status(rs: &ReplicaSet, pods: &[&Pod], now: Timestamp) -> ReplicaSetStatus {
    let spec = rs.spec.as_ref();
    let min_ready = spec.and_then(|s| s.min_ready_seconds).unwrap_or(0);
    let template_labels = spec
        .and_then(|s| s.template.as_ref())
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.labels.as_ref());
    let fully = pods
        .iter()
        .filter(|p| {
            let labels = p.metadata.labels.as_ref();
            template_labels.is_none_or(|tl| {
                tl.iter()
                    .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
            })
        })
        .count();
    let prev = rs.status.as_ref();
    ReplicaSetStatus {
        replicas: pods.len() as i32,
        fully_labeled_replicas: Some(fully as i32),
        ready_replicas: Some(pods.iter().filter(|p| is_ready(p)).count() as i32),
        available_replicas: Some(
            pods.iter()
                .filter(|p| is_available(p, min_ready, now))
                .count() as i32,
        ),
        observed_generation: rs.metadata.generation,
        conditions: prev.and_then(|s| s.conditions.clone()),
        ..Default::default()
    }
}

/// Whether a pod matches the RS selector.
pub fn matches(rs: &ReplicaSet, pod: &Pod) -> bool {
    selector_matches(
        rs.spec.as_ref().map(|s| &s.selector),
        pod.metadata.labels.as_ref(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replicaset::ranking::{compare, pods_to_delete};
    use serde_json::json;

    #[test]
    fn batches() {
        assert_eq!(slow_start_batches(0), Vec::<usize>::new());
        assert_eq!(slow_start_batches(1), vec![1]);
        assert_eq!(slow_start_batches(10), vec![1, 2, 4, 3]);
        assert_eq!(slow_start_batches(15), vec![1, 2, 4, 8]);
    }

    fn pod(name: &str, node: Option<&str>, phase: &str, ready: Option<&str>, created: &str) -> Pod {
        let conds = match ready {
            Some(t) => json!([{"type": "Ready", "status": "True", "lastTransitionTime": t}]),
            None => json!([{"type": "Ready", "status": "False"}]),
        };
        serde_json::from_value(
            json!({"metadata": {"name": name, "creationTimestamp": created},
            "spec": {"nodeName": node, "containers": [{"name": "c"}]},
            "status": {"phase": phase, "conditions": conds}}),
        )
        .unwrap()
    }

    #[test]
    fn deletion_ranking() {
        let now = Timestamp::from_second(1_704_067_230).unwrap(); // 00:00:30
        let t = "2024-01-01T00:00:00Z";
        let pods = [
            pod(
                "ready-old",
                Some("n"),
                "Running",
                Some("2024-01-01T00:00:10Z"),
                t,
            ),
            pod(
                "ready-new",
                Some("n"),
                "Running",
                Some("2024-01-01T00:00:20Z"),
                t,
            ),
            pod("unscheduled", None, "Pending", None, t),
            pod("pending", Some("n"), "Pending", None, t),
            pod("notready", Some("n"), "Running", None, t),
        ];
        let refs: Vec<&Pod> = pods.iter().collect();
        // The ranking itself (pods_to_delete skips it when every pod goes).
        let mut ranked = refs.clone();
        ranked.sort_by(|a, b| compare((a, 0), (b, 0), now));
        let order: Vec<&str> = ranked
            .iter()
            .map(|p| p.metadata.name.as_deref().unwrap())
            .collect();
        assert_eq!(
            order,
            vec![
                "unscheduled",
                "pending",
                "notready",
                "ready-new",
                "ready-old"
            ]
        );
        assert_eq!(pods_to_delete(&refs, &[], 2, now).len(), 2);
        assert_eq!(pods_to_delete(&refs, &[], 4, now), ranked[..4].to_vec());
    }

    #[test]
    fn status_counts() {
        let rs: ReplicaSet = serde_json::from_value(json!({"metadata": {"name": "r", "generation": 3},
            "spec": {"selector": {}, "minReadySeconds": 10, "template": {"metadata": {"labels": {"app": "x"}}}}})).unwrap();
        let mut a = pod(
            "a",
            Some("n"),
            "Running",
            Some("2024-01-01T00:00:00Z"),
            "2024-01-01T00:00:00Z",
        );
        a.metadata.labels = Some([("app".to_string(), "x".to_string())].into());
        let b = pod(
            "b",
            Some("n"),
            "Running",
            Some("2024-01-01T00:00:55Z"),
            "2024-01-01T00:00:00Z",
        );
        let now = Timestamp::from_second(1_704_067_260).unwrap(); // 00:01:00
        let st = compute_status(&rs, &[&a, &b], now);
        assert_eq!(
            (
                st.replicas,
                st.fully_labeled_replicas,
                st.ready_replicas,
                st.available_replicas,
                st.observed_generation
            ),
            (2, Some(1), Some(2), Some(1), Some(3))
        );
    }

    #[test]
    fn pods_from_template_use_generate_name() {
        let rs: ReplicaSet = serde_json::from_value(json!({
            "metadata": {"name": "web-7d4b9", "namespace": "ns", "uid": "rs-uid"},
            "spec": {"selector": {}, "template": {
                "metadata": {"name": "ignored", "labels": {"app": "web"}, "annotations": {"a": "b"}, "finalizers": ["f"]},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})).unwrap();
        let p = pod_from_template(&rs);
        let m = &p.metadata;
        assert_eq!(
            (m.name.as_deref(), m.generate_name.as_deref()),
            (None, Some("web-7d4b9-"))
        );
        assert_eq!(m.namespace.as_deref(), Some("ns"));
        assert_eq!(m.labels.as_ref().unwrap()["app"], "web");
        assert_eq!(m.annotations.as_ref().unwrap()["a"], "b");
        assert_eq!(m.finalizers.as_deref(), Some(&["f".to_string()][..]));
        let oref = &m.owner_references.as_ref().unwrap()[0];
        assert_eq!(
            (oref.kind.as_str(), oref.uid.as_str(), oref.controller),
            ("ReplicaSet", "rs-uid", Some(true))
        );
        assert_eq!(
            p.spec.unwrap().containers[0].image.as_deref(),
            Some("nginx")
        );
        // upstream's getPodsPrefix: the dash only while the prefix stays a valid name.
        assert_eq!(pod_name_prefix(&"x".repeat(252)).len(), 253);
        assert_eq!(pod_name_prefix(&"x".repeat(253)).len(), 253);
    }

    #[test]
    fn diff_table() {
        let rs = |replicas: Option<i32>| -> ReplicaSet {
            serde_json::from_value(
                json!({"metadata": {"name": "r"}, "spec": {"selector": {}, "replicas": replicas}}),
            )
            .unwrap()
        };
        let cases = [
            (Some(3), 0, Diff::Create(3)),
            (Some(3), 1, Diff::Create(2)),
            (Some(3), 3, Diff::None),
            (Some(3), 5, Diff::Delete(2)),
            (Some(0), 2, Diff::Delete(2)),
            (None, 0, Diff::Create(1)),
            (Some(-1), 0, Diff::None),
            (Some(1000), 0, Diff::Create(BURST_REPLICAS)),
            (Some(0), 1000, Diff::Delete(BURST_REPLICAS)),
        ];
        for (replicas, owned, want) in cases {
            assert_eq!(diff(&rs(replicas), owned), want, "{replicas:?} {owned}");
        }
    }
}
