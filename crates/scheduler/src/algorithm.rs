//! One scheduling decision: filter the nodes, score the feasible ones, pick the best.

use std::sync::Arc;

use crate::fit_error::FitError;
use crate::framework::{FilterPlugin, NodeInfo, PodToSchedule, ScorePlugin, Status};

/// The outcome of scheduling one pod.
#[derive(Debug, Clone)]
pub enum Decision {
    /// Bind the pod to this node.
    Bind(String),
    /// No node fits.
    Unschedulable(FitError),
}

/// Filter and score plugins of a profile.
pub struct Profile {
    /// Filters, in pipeline order.
    pub filters: Vec<Arc<dyn FilterPlugin>>,
    /// Scores.
    pub scores: Vec<Arc<dyn ScorePlugin>>,
}

/// How many feasible nodes to look for before scoring (upstream's adaptive percentage:
/// 50% minus 1% per 125 nodes, at least 5%, at least 100 nodes).
pub fn num_feasible_nodes_to_find(num_all: usize) -> usize {
    const MIN_NODES: usize = 100;
    if num_all < MIN_NODES {
        return num_all;
    }
    let pct = (50i64 - (num_all as i64) / 125).max(5) as usize;
    (num_all * pct / 100).max(MIN_NODES)
}

/// Runs the filters on one node; the first failure wins (tagged with its plugin).
pub fn run_filters(profile: &Profile, pod: &PodToSchedule<'_>, node: &NodeInfo) -> Status {
    for f in &profile.filters {
        let mut st = f.filter(pod, node);
        if !st.is_success() {
            st.plugin = f.name();
            return st;
        }
    }
    Status::success()
}

/// Weighted, normalised total score per feasible node.
pub fn score_nodes(profile: &Profile, pod: &PodToSchedule<'_>, nodes: &[&NodeInfo]) -> Vec<i64> {
    let mut total = vec![0i64; nodes.len()];
    for p in &profile.scores {
        let mut s: Vec<i64> = nodes.iter().map(|n| p.score(pod, n)).collect();
        p.normalize(&mut s);
        for (t, v) in total.iter_mut().zip(s) {
            *t += v * p.weight();
        }
    }
    total
}

/// Schedules one pod against `nodes` (in cache order), starting the search at `start` so
/// successive pods look at different nodes first. `tie` breaks equal scores.
pub fn schedule(
    profile: &Profile,
    pod: &PodToSchedule<'_>,
    nodes: &[&NodeInfo],
    start: usize,
    tie: u64,
) -> Decision {
    let n = nodes.len();
    if n == 0 {
        return Decision::Unschedulable(FitError::default());
    }
    let want = num_feasible_nodes_to_find(n);
    let mut feasible: Vec<&NodeInfo> = Vec::with_capacity(want.min(n));
    let mut statuses = Vec::new();
    for i in 0..n {
        let node = nodes[(start + i) % n];
        let st = run_filters(profile, pod, node);
        if st.is_success() {
            feasible.push(node);
            if feasible.len() >= want {
                break;
            }
        } else {
            statuses.push(st);
        }
    }
    if feasible.is_empty() {
        return Decision::Unschedulable(FitError {
            num_all_nodes: n,
            statuses,
        });
    }
    if feasible.len() == 1 {
        return Decision::Bind(feasible[0].name().to_string());
    }
    let scores = score_nodes(profile, pod, &feasible);
    let best = scores.iter().copied().max().unwrap_or(0);
    let winners: Vec<usize> = (0..feasible.len()).filter(|i| scores[*i] == best).collect();
    let pick = winners[(tie as usize) % winners.len()];
    Decision::Bind(feasible[pick].name().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::PodSummary;
    use crate::plugins::default_profile;
    use crate::plugins::testutil::{capacity_node, node, pod, request_pod};
    use serde_json::json;

    fn profile() -> Profile {
        default_profile()
    }

    #[test]
    fn feasible_count() {
        assert_eq!(num_feasible_nodes_to_find(10), 10);
        assert_eq!(num_feasible_nodes_to_find(1000), 420);
        assert_eq!(num_feasible_nodes_to_find(5000), 500);
        assert_eq!(num_feasible_nodes_to_find(200), 100);
    }

    #[test]
    fn picks_least_loaded_fitting_node() {
        let mut full = capacity_node("full", "1", "1Gi", "10");
        full.add_pod(
            "default/x",
            PodSummary::of(&pod(request_pod("900m", "100Mi"))),
        );
        let mut half = capacity_node("half", "2", "2Gi", "10");
        half.add_pod("default/y", PodSummary::of(&pod(request_pod("1", "1Gi"))));
        let empty = capacity_node("empty", "2", "2Gi", "10");
        let p = pod(request_pod("500m", "100Mi"));
        let d = schedule(
            &profile(),
            &PodToSchedule::new(&p),
            &[&full, &half, &empty],
            0,
            0,
        );
        assert!(matches!(d, Decision::Bind(ref n) if n == "empty"), "{d:?}");
    }

    #[test]
    fn fit_error_collects_every_node() {
        let a = capacity_node("a", "1", "1Gi", "10");
        let b = node(
            "b",
            json!({"taints": [{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}]}),
            json!({}),
        );
        let c = node("c", json!({"unschedulable": true}), json!({}));
        let p = pod(request_pod("2", "100Mi"));
        match schedule(&profile(), &PodToSchedule::new(&p), &[&a, &b, &c], 1, 0) {
            Decision::Unschedulable(e) => assert_eq!(
                e.message(),
                "0/3 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 1 node(s) were unschedulable. preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling."
            ),
            d => panic!("{d:?}"),
        }
    }
}
