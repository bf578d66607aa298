//! The FailedScheduling message: per-node statuses folded into upstream's histogram text.

use std::collections::BTreeMap;

use crate::framework::{Code, Status};

/// Message when the cluster has no nodes at all.
pub const NO_NODES: &str = "no nodes available to schedule pods";

/// Why a pod fits no node: the number of nodes and each rejected node's status.
#[derive(Debug, Clone, Default)]
pub struct FitError {
    /// Nodes considered (all nodes in the cache).
    pub num_all_nodes: usize,
    /// One status per rejected node.
    pub statuses: Vec<Status>,
}

fn histogram<'a>(reasons: impl Iterator<Item = &'a str>) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in reasons {
        *counts.entry(r).or_default() += 1;
    }
    let mut parts: Vec<String> = counts
        .into_iter()
        .map(|(r, n)| format!("{n} {r}"))
        .collect();
    parts.sort();
    parts.join(", ")
}

impl FitError {
    /// The preemption post-filter's message: nothing is preempted, so nodes rejected for a
    /// resolvable reason have no victims (all pods share a priority here) and the others
    /// are not helped by preemption.
    pub fn preemption_message(&self) -> String {
        let reasons = self.statuses.iter().map(|s| match s.code {
            Code::Unschedulable => "No preemption victims found for incoming pod",
            _ => "Preemption is not helpful for scheduling",
        });
        format!(
            "0/{} nodes are available: {}.",
            self.num_all_nodes,
            histogram(reasons)
        )
    }

    /// The full message, e.g. `0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3
    /// nodes are available: 3 No preemption victims found for incoming pod.`
    pub fn message(&self) -> String {
        if self.num_all_nodes == 0 {
            return NO_NODES.to_string();
        }
        let mut msg = format!("0/{} nodes are available:", self.num_all_nodes);
        let filter = histogram(
            self.statuses
                .iter()
                .flat_map(|s| s.reasons.iter().map(String::as_str)),
        );
        if !filter.is_empty() {
            msg.push_str(&format!(" {filter}."));
        }
        msg.push_str(&format!(" preemption: {}", self.preemption_message()));
        msg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(code: Code, reasons: &[&str]) -> Status {
        Status::with_reasons(code, reasons.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn table() {
        let taint = "node(s) had untolerated taint {node.kubernetes.io/unreachable: }";
        let cases = [
            (0, vec![], NO_NODES.to_string()),
            (
                3,
                vec![st(Code::Unschedulable, &["Insufficient cpu"]); 3],
                "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.".to_string(),
            ),
            (
                3,
                vec![
                    st(Code::Unschedulable, &["Insufficient cpu"]),
                    st(Code::Unschedulable, &["Insufficient cpu"]),
                    st(Code::UnschedulableAndUnresolvable, &[taint]),
                ],
                format!("0/3 nodes are available: 1 {taint}, 2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod."),
            ),
            (
                2,
                vec![
                    st(Code::Unschedulable, &["Insufficient cpu", "Insufficient memory"]),
                    st(Code::UnschedulableAndUnresolvable, &["node(s) didn't match Pod's node affinity/selector"]),
                ],
                "0/2 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.".to_string(),
            ),
            (
                1,
                vec![st(Code::UnschedulableAndUnresolvable, &["node(s) were unschedulable"])],
                "0/1 nodes are available: 1 node(s) were unschedulable. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.".to_string(),
            ),
        ];
        for (n, statuses, want) in cases {
            assert_eq!(
                FitError {
                    num_all_nodes: n,
                    statuses
                }
                .message(),
                want
            );
        }
    }
}
