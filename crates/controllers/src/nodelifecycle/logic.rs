//! Node lifecycle decisions as data: which condition taints a node should carry, when a
//! pod on a NoExecute-tainted node must go, and pod CIDR allocation.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use k8s_openapi::api::core::v1::{Taint, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use skiff_api::taints::{tolerates, NO_EXECUTE};

/// Taint for Ready=False.
pub const NOT_READY: &str = "node.kubernetes.io/not-ready";
/// Taint for Ready=Unknown.
pub const UNREACHABLE: &str = "node.kubernetes.io/unreachable";
/// Taint for cordoned nodes.
pub const UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";

/// The (key, effect) taints the node's state calls for.
pub fn wanted_taints(
    ready: Option<&str>,
    unschedulable: bool,
) -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    match ready {
        Some("False") => out.extend([(NOT_READY, "NoSchedule"), (NOT_READY, "NoExecute")]),
        Some("Unknown") => out.extend([(UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")]),
        _ => {}
    }
    if unschedulable {
        out.push((UNSCHEDULABLE, "NoSchedule"));
    }
    out
}

/// The node's taints with the managed ones brought in line; `None` when nothing changes.
pub fn reconcile_taints(
    current: &[Taint],
    wanted: &[(&str, &str)],
    now: Timestamp,
) -> Option<Vec<Taint>> {
    let managed = [NOT_READY, UNREACHABLE, UNSCHEDULABLE];
    let mut out: Vec<Taint> = current
        .iter()
        .filter(|t| {
            !managed.contains(&t.key.as_str())
                || wanted.contains(&(t.key.as_str(), t.effect.as_str()))
        })
        .cloned()
        .collect();
    for (k, e) in wanted {
        if !out.iter().any(|t| t.key == *k && t.effect == *e) {
            let time_added = (*e == "NoExecute").then_some(Time(now));
            out.push(Taint {
                key: (*k).into(),
                effect: (*e).into(),
                value: None,
                time_added,
            });
        }
    }
    let same = out.len() == current.len() && out.iter().all(|t| current.contains(t));
    (!same).then_some(out)
}

/// What happens to a pod on a node with NoExecute taints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eviction {
    /// Some taint is not tolerated: evict now.
    Now,
    /// Tolerated for a while: evict at this second (unix).
    At(i64),
    /// Tolerated forever (or no NoExecute taints).
    Never,
}

/// Upstream's taint manager rule: evict now if any NoExecute taint is untolerated, else at
/// the earliest (taint added + the smallest tolerationSeconds among matching tolerations).
pub fn eviction(taints: &[Taint], tolerations: &[Toleration], now: Timestamp) -> Eviction {
    let mut at: Option<i64> = None;
    for taint in taints.iter().filter(|t| t.effect == NO_EXECUTE) {
        let matching: Vec<&Toleration> =
            tolerations.iter().filter(|t| tolerates(t, taint)).collect();
        if matching.is_empty() {
            return Eviction::Now;
        }
        let secs = matching.iter().filter_map(|t| t.toleration_seconds).min();
        if let Some(s) = secs {
            let added = taint
                .time_added
                .as_ref()
                .map(|t| t.0.as_second())
                .unwrap_or(now.as_second());
            let when = added + s.max(0);
            at = Some(at.map_or(when, |a| a.min(when)));
        }
    }
    match at {
        Some(t) if t <= now.as_second() => Eviction::Now,
        Some(t) => Eviction::At(t),
        None => Eviction::Never,
    }
}

/// The first free /24 of `cluster_cidr` not in `used`.
pub fn allocate_cidr(cluster_cidr: &str, used: &HashSet<String>) -> Option<String> {
    let (ip, len) = cluster_cidr.split_once('/')?;
    let base: u32 = u32::from(ip.parse::<Ipv4Addr>().ok()?);
    let len: u32 = len.parse().ok()?;
    if len > 24 {
        return None;
    }
    let count = 1u32 << (24 - len);
    let base = base & (u32::MAX.checked_shl(32 - len).unwrap_or(0));
    (0..count)
        .map(|i| format!("{}/24", Ipv4Addr::from(base + (i << 8))))
        .find(|c| !used.contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> Timestamp {
        Timestamp::from_second(1000).unwrap()
    }

    #[test]
    fn taints_follow_condition() {
        assert!(wanted_taints(Some("True"), false).is_empty());
        assert_eq!(
            wanted_taints(Some("Unknown"), false),
            vec![(UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")]
        );
        assert_eq!(wanted_taints(Some("False"), true).len(), 3);
        let custom = Taint {
            key: "x".into(),
            effect: "NoSchedule".into(),
            ..Default::default()
        };
        let got = reconcile_taints(
            std::slice::from_ref(&custom),
            &wanted_taints(Some("Unknown"), false),
            now(),
        )
        .unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[2].time_added.as_ref().unwrap().0, now());
        assert!(reconcile_taints(&got, &wanted_taints(Some("Unknown"), false), now()).is_none());
        assert_eq!(
            reconcile_taints(&got, &wanted_taints(Some("True"), false), now()).unwrap(),
            vec![custom]
        );
    }

    #[test]
    fn eviction_table() {
        let taint = Taint {
            key: UNREACHABLE.into(),
            effect: "NoExecute".into(),
            value: None,
            time_added: Some(Time(Timestamp::from_second(900).unwrap())),
        };
        let tol = |v: serde_json::Value| -> Vec<Toleration> { serde_json::from_value(v).unwrap() };
        let cases = [
            (json!([]), Eviction::Now),
            (
                json!([{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}]),
                Eviction::At(1200),
            ),
            (
                json!([{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 50}]),
                Eviction::Now,
            ),
            (
                json!([{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute"}]),
                Eviction::Never,
            ),
            (json!([{"operator": "Exists"}]), Eviction::Never),
            // an unknown operator tolerates nothing (upstream; it used to count as Equal)
            (
                json!([{"key": UNREACHABLE, "operator": "Bogus", "effect": "NoExecute"}]),
                Eviction::Now,
            ),
            (
                json!([{"key": NOT_READY, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}]),
                Eviction::Now,
            ),
        ];
        for (t, want) in cases {
            assert_eq!(
                eviction(std::slice::from_ref(&taint), &tol(t.clone()), now()),
                want,
                "{t}"
            );
        }
        assert_eq!(eviction(&[], &[], now()), Eviction::Never);
    }

    #[test]
    fn cidrs() {
        let mut used = HashSet::new();
        assert_eq!(
            allocate_cidr("10.42.0.0/16", &used).as_deref(),
            Some("10.42.0.0/24")
        );
        used.insert("10.42.0.0/24".to_string());
        assert_eq!(
            allocate_cidr("10.42.0.0/16", &used).as_deref(),
            Some("10.42.1.0/24")
        );
        assert_eq!(allocate_cidr("10.42.0.0/24", &used), None);
        assert_eq!(allocate_cidr("bogus", &used), None);
    }
}
