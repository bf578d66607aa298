//! NodeResourcesFit: the pod's requests must fit the node's allocatable minus what its pods
//! request, pod slots included (filter); least-allocated nodes score higher (score).

use crate::framework::{
    Code, FilterPlugin, NodeInfo, PodToSchedule, ScorePlugin, Status, MAX_NODE_SCORE,
};

/// Plugin name.
pub const NAME: &str = "NodeResourcesFit";

/// The plugin (filter, and score with the LeastAllocated strategy, cpu and memory weight 1).
pub struct NodeResourcesFit;

/// The reasons a pod does not fit (empty when it fits), in upstream's order and wording.
pub fn insufficient(pod: &PodToSchedule<'_>, node: &NodeInfo) -> Vec<String> {
    let mut out = Vec::new();
    if node.pods.len() as i64 + 1 > node.allocatable.pods {
        out.push("Too many pods".to_string());
    }
    let req = &pod.summary.requests;
    if req.is_zero() {
        return out;
    }
    let (alloc, used) = (&node.allocatable, &node.requested);
    if req.milli_cpu > 0 && req.milli_cpu > alloc.milli_cpu - used.milli_cpu {
        out.push("Insufficient cpu".into());
    }
    if req.memory > 0 && req.memory > alloc.memory - used.memory {
        out.push("Insufficient memory".into());
    }
    if req.ephemeral_storage > 0
        && req.ephemeral_storage > alloc.ephemeral_storage - used.ephemeral_storage
    {
        out.push("Insufficient ephemeral-storage".into());
    }
    for (name, want) in &req.scalar {
        let have = alloc.scalar.get(name).copied().unwrap_or(0)
            - used.scalar.get(name).copied().unwrap_or(0);
        if *want > 0 && *want > have {
            out.push(format!("Insufficient {name}"));
        }
    }
    out
}

impl FilterPlugin for NodeResourcesFit {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self, pod: &PodToSchedule<'_>, node: &NodeInfo) -> Status {
        let reasons = insufficient(pod, node);
        if reasons.is_empty() {
            Status::success()
        } else {
            Status::with_reasons(Code::Unschedulable, reasons)
        }
    }
}

/// `(capacity - requested) * 100 / capacity`, 0 when over capacity or capacity is zero.
pub fn least_requested(requested: i64, capacity: i64) -> i64 {
    if capacity <= 0 || requested > capacity {
        return 0;
    }
    (capacity - requested) * MAX_NODE_SCORE / capacity
}

impl ScorePlugin for NodeResourcesFit {
    fn name(&self) -> &'static str {
        NAME
    }

    fn weight(&self) -> i64 {
        1
    }

    fn score(&self, pod: &PodToSchedule<'_>, node: &NodeInfo) -> i64 {
        let cpu = least_requested(
            node.non_zero_requested.0 + pod.summary.non_zero.0,
            node.allocatable.milli_cpu,
        );
        let mem = least_requested(
            node.non_zero_requested.1 + pod.summary.non_zero.1,
            node.allocatable.memory,
        );
        (cpu + mem) / 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::PodSummary;
    use crate::plugins::testutil::{capacity_node, pod, request_pod};
    use serde_json::json;

    #[test]
    fn filter_table() {
        // node: 2 cpu, 4Gi, 3 pods; existing pod requests 1500m / 1Gi.
        let cases: &[(serde_json::Value, &[&str])] = &[
            (request_pod("500m", "1Gi"), &[]),
            (request_pod("600m", "1Gi"), &["Insufficient cpu"]),
            (request_pod("100m", "4Gi"), &["Insufficient memory"]),
            (
                request_pod("1", "4Gi"),
                &["Insufficient cpu", "Insufficient memory"],
            ),
            (json!({"containers": [{"name": "c"}]}), &[]),
            (
                json!({"containers": [{"name": "c", "resources": {"requests": {"example.com/gpu": "1"}}}]}),
                &["Insufficient example.com/gpu"],
            ),
        ];
        for (spec, want) in cases {
            let mut n = capacity_node("n", "2", "4Gi", "3");
            n.add_pod(
                "default/a",
                PodSummary::of(&pod(request_pod("1500m", "1Gi"))),
            );
            let p = pod(spec.clone());
            let st = NodeResourcesFit.filter(&PodToSchedule::new(&p), &n);
            let want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
            assert_eq!(st.reasons, want, "{spec}");
            assert_eq!(st.is_success(), want.is_empty());
        }
    }

    #[test]
    fn too_many_pods() {
        let mut n = capacity_node("n", "2", "4Gi", "1");
        n.add_pod(
            "default/a",
            PodSummary::of(&pod(json!({"containers": [{"name": "c"}]}))),
        );
        let p = pod(request_pod("100m", "1Mi"));
        assert_eq!(
            NodeResourcesFit.filter(&PodToSchedule::new(&p), &n).reasons,
            vec!["Too many pods".to_string()]
        );
    }

    #[test]
    fn least_allocated_scores() {
        assert_eq!(least_requested(0, 1000), 100);
        assert_eq!(least_requested(250, 1000), 75);
        assert_eq!(least_requested(2000, 1000), 0);
        assert_eq!(least_requested(5, 0), 0);
        let empty = capacity_node("e", "4", "8Gi", "110");
        let mut busy = capacity_node("b", "4", "8Gi", "110");
        busy.add_pod("default/a", PodSummary::of(&pod(request_pod("2", "4Gi"))));
        let p = pod(request_pod("1", "2Gi"));
        let pts = PodToSchedule::new(&p);
        assert_eq!(ScorePlugin::score(&NodeResourcesFit, &pts, &empty), 75);
        assert_eq!(ScorePlugin::score(&NodeResourcesFit, &pts, &busy), 25);
    }
}
