//! Which pods a ReplicaSet deletes first when it scales down: upstream's
//! `ActivePodsWithRanks` order (with LogarithmicScaleDown, on by default upstream), ranked by
//! how many related pods share each pod's node.

use std::cmp::Ordering;
use std::collections::HashMap;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;

use crate::podutil::{is_active, is_ready, ready_since};

/// Annotation lowering (or raising) the cost of deleting a pod.
pub const DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";

fn node(p: &Pod) -> &str {
    p.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .unwrap_or("")
}

/// Pending < Unknown < Running; any other phase ranks with Pending (upstream's map default).
fn phase_ordinal(p: &Pod) -> u8 {
    match p.status.as_ref().and_then(|s| s.phase.as_deref()) {
        Some("Unknown") => 1,
        Some("Running") => 2,
        _ => 0,
    }
}

fn deletion_cost(p: &Pod) -> i32 {
    p.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(DELETION_COST))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// (most restarts of a regular container, most restarts of a sidecar init container).
fn max_restarts(p: &Pod) -> (i32, i32) {
    let Some(st) = p.status.as_ref() else {
        return (0, 0);
    };
    let regular = st
        .container_statuses
        .iter()
        .flatten()
        .map(|c| c.restart_count)
        .max()
        .unwrap_or(0);
    let sidecars: Vec<&str> = p
        .spec
        .iter()
        .flat_map(|s| s.init_containers.iter().flatten())
        .filter(|c| c.restart_policy.as_deref() == Some("Always"))
        .map(|c| c.name.as_str())
        .collect();
    let sidecar = st
        .init_container_statuses
        .iter()
        .flatten()
        .filter(|c| sidecars.contains(&c.name.as_str()))
        .map(|c| c.restart_count)
        .max()
        .unwrap_or(0);
    (regular, sidecar)
}

fn created(p: &Pod) -> Option<Timestamp> {
    p.metadata.creation_timestamp.as_ref().map(|t| t.0)
}

/// Base-2 logarithmic bucket of the age of `t` at `now` (-1 when not in the past).
fn log_bucket(t: Timestamp, now: Timestamp) -> i64 {
    let age = now.as_nanosecond() - t.as_nanosecond();
    if age > 0 {
        (age as f64).log2() as i64
    } else {
        -1
    }
}

/// Newer first, a missing time before any; times in the same logarithmic age bucket fall
/// back to UID order (upstream's `afterOrZero` and `logarithmicRankDiff`).
fn by_age(a: (&Pod, Option<Timestamp>), b: (&Pod, Option<Timestamp>), now: Timestamp) -> Ordering {
    match (a.1, b.1) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => match log_bucket(x, now).cmp(&log_bucket(y, now)) {
            Ordering::Equal => a.0.metadata.uid.cmp(&b.0.metadata.uid),
            o => o,
        },
    }
}

/// Upstream's `ActivePodsWithRanks.Less` as an ordering: the pod to delete first is Less.
/// `rank` is the number of related active pods on the pod's node (more goes first).
pub fn compare(a: (&Pod, usize), b: (&Pod, usize), now: Timestamp) -> Ordering {
    let ((pa, ra), (pb, rb)) = (a, b);
    if node(pa) != node(pb) && (node(pa).is_empty() || node(pb).is_empty()) {
        return node(pb).is_empty().cmp(&node(pa).is_empty());
    }
    let order = phase_ordinal(pa)
        .cmp(&phase_ordinal(pb))
        .then_with(|| is_ready(pa).cmp(&is_ready(pb)))
        .then_with(|| deletion_cost(pa).cmp(&deletion_cost(pb)))
        .then_with(|| rb.cmp(&ra));
    if order != Ordering::Equal {
        return order;
    }
    if is_ready(pa) && is_ready(pb) {
        let (ta, tb) = (ready_since(pa).flatten(), ready_since(pb).flatten());
        if ta != tb {
            return by_age((pa, ta), (pb, tb), now);
        }
    }
    let (restarts_a, restarts_b) = (max_restarts(pa), max_restarts(pb));
    if restarts_a != restarts_b {
        return restarts_b.cmp(&restarts_a);
    }
    if created(pa) != created(pb) {
        return by_age((pa, created(pa)), (pb, created(pb)), now);
    }
    Ordering::Equal
}

/// Active related pods (those of every ReplicaSet with the same controller) per node.
pub fn pods_per_node(related: &[&Pod]) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for p in related.iter().filter(|p| is_active(p)) {
        *m.entry(node(p).to_string()).or_insert(0) += 1;
    }
    m
}

/// The `n` pods to delete of `pods`, best candidates first (upstream's `getPodsToDelete`:
/// no ranking needed when all of them go).
pub fn pods_to_delete<'a>(
    pods: &[&'a Pod],
    related: &[&Pod],
    n: usize,
    now: Timestamp,
) -> Vec<&'a Pod> {
    let mut ranked: Vec<(&Pod, usize)> = {
        let per_node = pods_per_node(related);
        pods.iter()
            .map(|p| (*p, per_node.get(node(p)).copied().unwrap_or(0)))
            .collect()
    };
    if n < ranked.len() {
        ranked.sort_by(|a, b| compare(*a, *b, now));
    }
    ranked.into_iter().take(n).map(|(p, _)| p).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_700_000_000;

    fn at(secs_ago: Option<i64>) -> serde_json::Value {
        secs_ago.map_or(serde_json::Value::Null, |s| {
            json!(Timestamp::from_second(NOW - s).unwrap().to_string())
        })
    }

    /// Upstream's test helper: name, node, phase, ready (since), restarts, created, cost.
    fn pod(
        name: &str,
        node: &str,
        phase: &str,
        ready: Option<Option<i64>>,
        restarts: i32,
        created: Option<i64>,
        cost: Option<&str>,
    ) -> Pod {
        let conds = match ready {
            Some(since) => {
                json!([{"type": "Ready", "status": "True", "lastTransitionTime": at(since)}])
            }
            None => json!([]),
        };
        let ann = cost.map(|c| json!({DELETION_COST: c}));
        serde_json::from_value(json!({
            "metadata": {"name": name, "uid": name, "creationTimestamp": at(created), "annotations": ann},
            "spec": {"nodeName": node, "containers": []},
            "status": {"phase": phase, "conditions": conds,
                       "containerStatuses": [{"name": "c", "restartCount": restarts, "ready": true, "image": "", "imageID": ""}]}
        }))
        .unwrap()
    }

    type Ranked<'a> = (&'a Pod, usize);

    const MONTH: i64 = 30 * 24 * 3600;
    const HOUR: i64 = 3600;

    /// The inequality cases of upstream's TestSortingActivePodsWithRanks.
    #[test]
    fn ranked_order_table() {
        let now = Timestamp::from_second(NOW).unwrap();
        let unscheduled = pod("unscheduled", "", "Pending", None, 0, None, None);
        let pending = pod("pending", "node", "Pending", None, 0, None, None);
        let unknown = pod("unknown-phase", "node", "Unknown", None, 0, None, None);
        let not_ready = pod("not-ready", "node", "Running", None, 0, None, None);
        let ready_no_ltt = pod("ready-no-ltt", "node", "Running", Some(None), 0, None, None);
        let ready_now = pod(
            "ready-now",
            "node",
            "Running",
            Some(Some(0)),
            0,
            Some(0),
            None,
        );
        let ready_then = pod(
            "ready-then",
            "node",
            "Running",
            Some(Some(MONTH)),
            0,
            Some(MONTH),
            None,
        );
        let high_restarts = pod(
            "ready-high-restarts",
            "node",
            "Running",
            Some(Some(0)),
            9001,
            Some(0),
            None,
        );
        let created_then = pod(
            "ready-now-created-then",
            "node",
            "Running",
            Some(Some(0)),
            0,
            Some(MONTH),
            None,
        );
        let low_cost = pod(
            "low-cost",
            "node",
            "Running",
            Some(Some(0)),
            0,
            Some(MONTH),
            Some("10"),
        );
        let high_cost = pod(
            "high-cost",
            "node",
            "Running",
            Some(Some(0)),
            0,
            Some(MONTH),
            Some("100"),
        );
        let ready_2h = pod(
            "ready-2-hours",
            "",
            "Running",
            Some(Some(2 * HOUR)),
            0,
            Some(MONTH),
            None,
        );
        let ready_5h = pod(
            "ready-5-hours",
            "",
            "Running",
            Some(Some(5 * HOUR)),
            0,
            Some(MONTH),
            None,
        );
        let cases: [(Ranked, Ranked); 15] = [
            ((&unscheduled, 1), (&pending, 2)),
            ((&unscheduled, 2), (&pending, 1)),
            ((&pending, 1), (&unknown, 2)),
            ((&unknown, 1), (&not_ready, 2)),
            ((&not_ready, 1), (&ready_no_ltt, 1)),
            ((&ready_no_ltt, 1), (&ready_now, 1)),
            ((&ready_now, 2), (&ready_no_ltt, 1)),
            ((&ready_now, 1), (&ready_then, 1)),
            ((&ready_now, 2), (&ready_then, 1)),
            ((&high_restarts, 1), (&ready_now, 1)),
            ((&ready_now, 2), (&high_restarts, 1)),
            ((&ready_now, 1), (&created_then, 1)),
            ((&created_then, 2), (&ready_now, 1)),
            ((&low_cost, 2), (&high_cost, 1)),
            ((&ready_2h, 1), (&ready_5h, 1)),
        ];
        for (lesser, greater) in cases {
            let names = (&lesser.0.metadata.name, &greater.0.metadata.name);
            assert_eq!(compare(lesser, greater, now), Ordering::Less, "{names:?}");
            assert_eq!(
                compare(greater, lesser, now),
                Ordering::Greater,
                "{names:?}"
            );
        }
    }

    /// The equality cases: a pod equals itself; 5h and 8h old fall in one log2 bucket.
    #[test]
    fn ranked_equality_table() {
        let now = Timestamp::from_second(NOW).unwrap();
        let same_bucket = [
            (
                pod(
                    "unscheduled-5h",
                    "",
                    "Pending",
                    None,
                    0,
                    Some(5 * HOUR),
                    None,
                ),
                pod(
                    "unscheduled-8h",
                    "",
                    "Pending",
                    None,
                    0,
                    Some(8 * HOUR),
                    None,
                ),
            ),
            (
                pod(
                    "ready-5h",
                    "",
                    "Running",
                    Some(Some(5 * HOUR)),
                    0,
                    Some(MONTH),
                    None,
                ),
                pod(
                    "ready-8h",
                    "",
                    "Running",
                    Some(Some(8 * HOUR)),
                    0,
                    Some(MONTH),
                    None,
                ),
            ),
        ];
        for (a, b) in &same_bucket {
            // Same bucket: decided by UID only, so the order is consistent both ways.
            let (x, y) = (compare((a, 1), (b, 1), now), compare((b, 1), (a, 1), now));
            assert_eq!(x, y.reverse());
            assert_eq!(x, a.metadata.uid.cmp(&b.metadata.uid));
            assert_eq!(compare((a, 1), (a, 1), now), Ordering::Equal);
        }
    }

    #[test]
    fn doubled_up_pods_go_first() {
        let now = Timestamp::from_second(NOW).unwrap();
        let a = pod("a", "n1", "Running", Some(Some(HOUR)), 0, Some(HOUR), None);
        let b = pod("b", "n2", "Running", Some(Some(HOUR)), 0, Some(HOUR), None);
        let sibling = pod(
            "sibling",
            "n2",
            "Running",
            Some(Some(HOUR)),
            0,
            Some(HOUR),
            None,
        );
        let related = [&a, &b, &sibling];
        let order = pods_to_delete(&[&a, &b], &related, 1, now);
        assert_eq!(order[0].metadata.name.as_deref(), Some("b"));
        // Deleting all: no ranking, input order.
        let all = pods_to_delete(&[&a, &b], &related, 2, now);
        assert_eq!(all.len(), 2);
        assert_eq!(pods_per_node(&related).get("n2"), Some(&2));
    }
}
