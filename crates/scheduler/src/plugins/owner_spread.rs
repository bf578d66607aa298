//! SelectorSpread: spreads pods of the same controlling owner (ReplicaSet, StatefulSet, …)
//! across nodes; nodes running fewer of the owner's pods score higher.

use crate::framework::{NodeInfo, PodToSchedule, ScorePlugin, MAX_NODE_SCORE};

/// Plugin name.
pub const NAME: &str = "SelectorSpread";

/// The plugin.
pub struct OwnerSpread;

impl ScorePlugin for OwnerSpread {
    fn name(&self) -> &'static str {
        NAME
    }

    fn weight(&self) -> i64 {
        2
    }

    fn score(&self, pod: &PodToSchedule<'_>, node: &NodeInfo) -> i64 {
        match &pod.summary.owner {
            Some(uid) => i64::from(node.owner_counts.get(uid).copied().unwrap_or(0)),
            None => 0,
        }
    }

    fn normalize(&self, scores: &mut [i64]) {
        let max = scores.iter().copied().max().unwrap_or(0);
        for s in scores.iter_mut() {
            *s = if max == 0 {
                MAX_NODE_SCORE
            } else {
                MAX_NODE_SCORE * (max - *s) / max
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::PodSummary;
    use crate::plugins::testutil::{node, pod};
    use serde_json::json;

    #[test]
    fn fewer_siblings_score_higher() {
        let owned = json!({"containers": [{"name": "c"}]});
        let mk = |uid: &str| {
            let mut p = pod(owned.clone());
            p.metadata.owner_references = Some(vec![serde_json::from_value(json!({
                "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": uid, "controller": true
            })).unwrap()]);
            p
        };
        let mut a = node("a", json!({}), json!({}));
        let mut b = node("b", json!({}), json!({}));
        let c = node("c", json!({}), json!({}));
        a.add_pod("default/1", PodSummary::of(&mk("u1")));
        a.add_pod("default/2", PodSummary::of(&mk("u1")));
        b.add_pod("default/3", PodSummary::of(&mk("u1")));
        b.add_pod("default/4", PodSummary::of(&mk("other")));
        let p = mk("u1");
        let pts = PodToSchedule::new(&p);
        let mut s: Vec<i64> = [&a, &b, &c]
            .iter()
            .map(|n| OwnerSpread.score(&pts, n))
            .collect();
        assert_eq!(s, vec![2, 1, 0]);
        OwnerSpread.normalize(&mut s);
        assert_eq!(s, vec![0, 50, 100]);
    }
}
