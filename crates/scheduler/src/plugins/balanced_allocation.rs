//! NodeResourcesBalancedAllocation: prefers nodes whose CPU and memory use stay in proportion.

use crate::framework::{NodeInfo, PodToSchedule, ScorePlugin, MAX_NODE_SCORE};

/// Plugin name.
pub const NAME: &str = "NodeResourcesBalancedAllocation";

/// The plugin.
pub struct BalancedAllocation;

/// `(1 - |cpuFraction - memFraction| / 2) * 100` with fractions capped at 1.
pub fn balanced_score(cpu_req: i64, cpu_cap: i64, mem_req: i64, mem_cap: i64) -> i64 {
    let frac = |r: i64, c: i64| {
        if c <= 0 {
            0.0
        } else {
            (r as f64 / c as f64).min(1.0)
        }
    };
    let (c, m) = (frac(cpu_req, cpu_cap), frac(mem_req, mem_cap));
    let std = (c - m).abs() / 2.0;
    ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
}

impl ScorePlugin for BalancedAllocation {
    fn name(&self) -> &'static str {
        NAME
    }

    fn weight(&self) -> i64 {
        1
    }

    fn score(&self, pod: &PodToSchedule<'_>, node: &NodeInfo) -> i64 {
        let r = &pod.summary.requests;
        balanced_score(
            node.requested.milli_cpu + r.milli_cpu,
            node.allocatable.milli_cpu,
            node.requested.memory + r.memory,
            node.allocatable.memory,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases = [
            ((0, 1000, 0, 1000), 100),
            ((500, 1000, 500, 1000), 100),
            ((1000, 1000, 0, 1000), 50),
            ((3000, 4000, 5000, 10000), 87),
            ((5000, 1000, 0, 1000), 50),
        ];
        for ((a, b, c, d), want) in cases {
            assert_eq!(balanced_score(a, b, c, d), want, "{a} {b} {c} {d}");
        }
    }
}
