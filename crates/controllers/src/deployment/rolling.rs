//! Deployment arithmetic as pure functions: maxSurge/maxUnavailable resolution and the
//! rolling-update scale-up/scale-down steps, following upstream's rounding rules.

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// Resolves an int-or-percent against `total` (percentages round up or down).
pub fn resolve(v: Option<&IntOrString>, default: &str, total: i32, round_up: bool) -> i32 {
    let pct = |s: &str| -> Option<i32> {
        let p: i64 = s.strip_suffix('%')?.trim().parse().ok()?;
        let x = p * i64::from(total);
        Some(if round_up {
            (x + 99).div_euclid(100)
        } else {
            x.div_euclid(100)
        } as i32)
    };
    match v {
        Some(IntOrString::Int(i)) => *i,
        Some(IntOrString::String(s)) => pct(s).or_else(|| s.parse().ok()).unwrap_or(0),
        None => pct(default).unwrap_or(0),
    }
}

/// (maxSurge, maxUnavailable) for `replicas`: surge rounds up, unavailable rounds down, and
/// both zero becomes unavailable = 1 (upstream's ResolveFenceposts).
pub fn fenceposts(
    max_surge: Option<&IntOrString>,
    max_unavailable: Option<&IntOrString>,
    replicas: i32,
) -> (i32, i32) {
    let surge = resolve(max_surge, "25%", replicas, true);
    let mut unavailable = resolve(max_unavailable, "25%", replicas, false);
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    (surge, unavailable)
}

/// Upstream's MaxUnavailable: the resolved value capped at replicas (0 when replicas is 0).
pub fn max_unavailable(
    max_surge: Option<&IntOrString>,
    max_unavail: Option<&IntOrString>,
    replicas: i32,
) -> i32 {
    if replicas == 0 {
        return 0;
    }
    fenceposts(max_surge, max_unavail, replicas).1.min(replicas)
}

/// Target size of the new ReplicaSet during a rolling update.
pub fn new_rs_replicas(replicas: i32, surge: i32, current_total: i32, new_rs: i32) -> i32 {
    let max_total = replicas + surge;
    if current_total >= max_total {
        return new_rs;
    }
    let scale_up = (max_total - current_total).min(replicas - new_rs);
    new_rs + scale_up.max(0)
}

/// One old ReplicaSet as the scale-down step sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OldRs {
    /// Name (for the result).
    pub name: String,
    /// spec.replicas.
    pub replicas: i32,
    /// status.availableReplicas.
    pub available: i32,
}

/// New spec.replicas of old ReplicaSets (oldest first) for one rolling step: first drop
/// unhealthy replicas, then scale down as far as availability allows.
pub fn scale_down_old(
    replicas: i32,
    max_unavail: i32,
    all_total: i32,
    new_rs_replicas: i32,
    new_rs_available: i32,
    olds: &[OldRs],
) -> Vec<(String, i32)> {
    let min_available = replicas - max_unavail;
    let new_unavailable = (new_rs_replicas - new_rs_available).max(0);
    let max_scaled_down = all_total - min_available - new_unavailable;
    let mut out: Vec<(String, i32)> = olds.iter().map(|o| (o.name.clone(), o.replicas)).collect();
    if max_scaled_down <= 0 {
        return out;
    }
    // 1. Unhealthy replicas go first.
    let mut budget = max_scaled_down;
    let mut cleaned = 0;
    for (i, o) in olds.iter().enumerate() {
        if budget <= 0 {
            break;
        }
        let unhealthy = (o.replicas - o.available).max(0);
        let cut = unhealthy.min(budget);
        out[i].1 -= cut;
        budget -= cut;
        cleaned += cut;
    }
    // 2. Then healthy ones, keeping minAvailable available.
    let available_total: i32 = olds.iter().map(|o| o.available).sum::<i32>() + new_rs_available;
    let mut total_down = (available_total - min_available).min(max_scaled_down - cleaned);
    for entry in out.iter_mut() {
        if total_down <= 0 {
            break;
        }
        let cut = entry.1.min(total_down);
        entry.1 -= cut;
        total_down -= cut;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> IntOrString {
        IntOrString::String(v.into())
    }

    #[test]
    fn fencepost_table() {
        let cases = [
            (None, None, 10, (3, 2)),
            (None, None, 4, (1, 1)),
            (None, None, 1, (1, 0)),
            (
                Some(IntOrString::Int(0)),
                Some(IntOrString::Int(0)),
                3,
                (0, 1),
            ),
            (Some(s("50%")), Some(s("50%")), 5, (3, 2)),
            (Some(IntOrString::Int(2)), Some(s("10%")), 9, (2, 0)),
            (Some(s("0%")), Some(s("34%")), 3, (0, 1)),
        ];
        for (surge, unav, n, want) in cases {
            assert_eq!(
                fenceposts(surge.as_ref(), unav.as_ref(), n),
                want,
                "{surge:?} {unav:?} {n}"
            );
        }
        assert_eq!(max_unavailable(None, Some(&IntOrString::Int(5)), 3), 3);
        assert_eq!(max_unavailable(None, None, 0), 0);
    }

    #[test]
    fn new_rs_table() {
        // replicas, surge, current total, new rs → new size
        assert_eq!(new_rs_replicas(10, 3, 10, 0), 3);
        assert_eq!(new_rs_replicas(10, 3, 13, 3), 3);
        assert_eq!(new_rs_replicas(10, 3, 11, 3), 5);
        assert_eq!(new_rs_replicas(3, 1, 3, 2), 3);
        assert_eq!(new_rs_replicas(3, 0, 2, 1), 2);
    }

    #[test]
    fn scale_down_table() {
        let old = |n: &str, r, a| OldRs {
            name: n.into(),
            replicas: r,
            available: a,
        };
        // 10 replicas, maxUnavailable 2; old 10 all available, new 3 not yet available.
        assert_eq!(
            scale_down_old(10, 2, 13, 3, 0, &[old("o", 10, 10)]),
            vec![("o".into(), 8)]
        );
        // new RS pods became available: scale old down further.
        assert_eq!(
            scale_down_old(10, 2, 13, 3, 3, &[old("o", 10, 10)]),
            vec![("o".into(), 5)]
        );
        // unhealthy old replicas are removed first, oldest RS first.
        assert_eq!(
            scale_down_old(4, 1, 6, 2, 0, &[old("a", 2, 0), old("b", 2, 2)]),
            vec![("a".into(), 1), ("b".into(), 2)]
        );
        // no room: nothing changes.
        assert_eq!(
            scale_down_old(3, 0, 3, 0, 0, &[old("o", 3, 3)]),
            vec![("o".into(), 3)]
        );
    }
}
