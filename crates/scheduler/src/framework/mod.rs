//! The scheduling framework: one small trait per extension point, and the per-cycle pod facts.

mod node_info;
mod status;

pub use node_info::{controller_uid, host_ports, HostPort, NodeInfo, PodSummary};
pub use status::{Code, Status};

use k8s_openapi::api::core::v1::Pod;

/// Highest score a plugin may give a node.
pub const MAX_NODE_SCORE: i64 = 100;

/// The pod being scheduled with its precomputed facts (upstream's PreFilter state).
#[derive(Debug, Clone)]
pub struct PodToSchedule<'a> {
    /// The pod object.
    pub pod: &'a Pod,
    /// Precomputed requests, ports and owner.
    pub summary: PodSummary,
}

impl<'a> PodToSchedule<'a> {
    /// Precomputes the facts of `pod`.
    pub fn new(pod: &'a Pod) -> Self {
        PodToSchedule {
            pod,
            summary: PodSummary::of(pod),
        }
    }
}

/// A Filter plugin: may the pod run on this node?
pub trait FilterPlugin: Send + Sync {
    /// Plugin name (as in upstream's configuration).
    fn name(&self) -> &'static str;
    /// The decision for one node.
    fn filter(&self, pod: &PodToSchedule<'_>, node: &NodeInfo) -> Status;
}

/// A Score plugin: how good is this (feasible) node for the pod?
pub trait ScorePlugin: Send + Sync {
    /// Plugin name.
    fn name(&self) -> &'static str;
    /// Weight of this plugin's normalised score.
    fn weight(&self) -> i64;
    /// Raw score of one node.
    fn score(&self, pod: &PodToSchedule<'_>, node: &NodeInfo) -> i64;
    /// Maps the raw scores of all feasible nodes to 0..=MAX_NODE_SCORE (default: none).
    fn normalize(&self, _scores: &mut [i64]) {}
}

/// Scales `scores` to 0..=MAX_NODE_SCORE by the maximum; `reverse` makes low raw scores best.
pub fn default_normalize(scores: &mut [i64], reverse: bool) {
    let max = scores.iter().copied().max().unwrap_or(0);
    if max == 0 {
        if reverse {
            scores.iter_mut().for_each(|s| *s = MAX_NODE_SCORE);
        }
        return;
    }
    for s in scores.iter_mut() {
        let v = MAX_NODE_SCORE * *s / max;
        *s = if reverse { MAX_NODE_SCORE - v } else { v };
    }
}
