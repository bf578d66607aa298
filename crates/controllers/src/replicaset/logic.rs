//! ReplicaSet decisions as data: which pods to delete first, slow-start batches, status.

use std::cmp::Ordering;

use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use rand::Rng;

use crate::hash::SAFE_ALPHABET;
use crate::podutil::{is_available, is_ready, ready_since, selector_matches};

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

/// A random 5-character suffix in upstream's alphabet (`generateName`).
pub fn random_suffix() -> String {
    let mut rng = rand::rng();
    (0..5)
        .map(|_| SAFE_ALPHABET[rng.random_range(0..SAFE_ALPHABET.len())] as char)
        .collect()
}

fn phase_rank(p: &Pod) -> u8 {
    match p.status.as_ref().and_then(|s| s.phase.as_deref()) {
        Some("Pending") | None => 0,
        Some("Unknown") => 1,
        Some("Running") => 2,
        _ => 3,
    }
}

fn deletion_cost(p: &Pod) -> i32 {
    p.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("controller.kubernetes.io/pod-deletion-cost"))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn restarts(p: &Pod) -> i32 {
    p.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map(|cs| cs.iter().map(|c| c.restart_count).max().unwrap_or(0))
        .unwrap_or(0)
}

/// Upstream's deletion order: unscheduled < scheduled, Pending < Unknown < Running,
/// not ready < ready, lower deletion cost, ready for less time, more restarts, newer.
pub fn deletion_order(a: &Pod, b: &Pod) -> Ordering {
    let assigned = |p: &Pod| {
        p.spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .is_some_and(|n| !n.is_empty())
    };
    assigned(a)
        .cmp(&assigned(b))
        .then_with(|| phase_rank(a).cmp(&phase_rank(b)))
        .then_with(|| is_ready(a).cmp(&is_ready(b)))
        .then_with(|| deletion_cost(a).cmp(&deletion_cost(b)))
        .then_with(|| {
            let t = |p: &Pod| ready_since(p).flatten().map(|t| t.as_second()).unwrap_or(0);
            t(b).cmp(&t(a))
        })
        .then_with(|| restarts(b).cmp(&restarts(a)))
        .then_with(|| {
            let c = |p: &Pod| {
                p.metadata
                    .creation_timestamp
                    .as_ref()
                    .map(|t| t.0.as_second())
                    .unwrap_or(0)
            };
            c(b).cmp(&c(a))
        })
}

/// The `n` pods to delete, best candidates first.
pub fn pods_to_delete<'a>(pods: &[&'a Pod], n: usize) -> Vec<&'a Pod> {
    let mut v: Vec<&Pod> = pods.to_vec();
    v.sort_by(|a, b| deletion_order(a, b));
    v.truncate(n);
    v
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
        let order: Vec<&str> = pods_to_delete(&refs, 5)
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
        assert_eq!(pods_to_delete(&refs, 2).len(), 2);
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
    fn suffix_alphabet() {
        let s = random_suffix();
        assert_eq!(s.len(), 5);
        assert!(s.bytes().all(|b| SAFE_ALPHABET.contains(&b)));
    }
}
