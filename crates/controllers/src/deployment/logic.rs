//! One Deployment sync as a pure plan: from the Deployment, its new ReplicaSet (the one with
//! the current template) and its old ones, decide what to create, what to scale, and which
//! revision to record — per strategy, as upstream's `syncDeployment` picks: paused or
//! resized → proportional scaling, else a RollingUpdate or Recreate step.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;

use super::proportion::{is_scaling_event, scale, Sizes};
use super::rolling::{fenceposts, new_rs_replicas, scale_down_old, OldRs};
use super::template::{annotation, available, is_current, revision, spec_replicas};
use super::{DESIRED, MAX, REVISION};

/// What a sync reads: the Deployment and the ReplicaSets it owns.
#[derive(Debug, Clone)]
pub struct Rollout<'a> {
    /// The Deployment.
    pub d: &'a Deployment,
    /// The ReplicaSet with the current pod template, if it exists.
    pub new_rs: Option<&'a ReplicaSet>,
    /// The other owned ReplicaSets, oldest first.
    pub olds: Vec<&'a ReplicaSet>,
    /// Whether pods of the old ReplicaSets still run (Recreate waits for them).
    pub old_pods_running: bool,
}

/// The resolved strategy of a Deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Strategy {
    /// spec.replicas (default 1).
    pub want: i32,
    /// Resolved maxSurge (0 for Recreate).
    pub surge: i32,
    /// Resolved maxUnavailable (0 for Recreate).
    pub unavailable: i32,
    /// RollingUpdate (else Recreate).
    pub rolling: bool,
}

/// The Deployment's strategy with maxSurge/maxUnavailable resolved against its replicas.
pub fn strategy(d: &Deployment) -> Strategy {
    let spec = d.spec.as_ref();
    let want = spec.and_then(|s| s.replicas).unwrap_or(1);
    let st = spec.and_then(|s| s.strategy.as_ref());
    let rolling = st
        .and_then(|s| s.type_.as_deref())
        .unwrap_or("RollingUpdate")
        != "Recreate";
    let ru = st.and_then(|s| s.rolling_update.as_ref());
    let (surge, unavailable) = if rolling {
        fenceposts(
            ru.and_then(|r| r.max_surge.as_ref()),
            ru.and_then(|r| r.max_unavailable.as_ref()),
            want,
        )
    } else {
        (0, 0)
    };
    Strategy {
        want,
        surge,
        unavailable,
        rolling,
    }
}

/// Splits the owned ReplicaSets (oldest first) into the new one — the oldest with the
/// current template, as upstream's `FindNewReplicaSet` — and the old ones.
pub fn split<'a>(
    d: &Deployment,
    owned: &[&'a ReplicaSet],
) -> (Option<&'a ReplicaSet>, Vec<&'a ReplicaSet>) {
    let new_rs = owned.iter().copied().find(|r| is_current(d, r));
    let olds = owned
        .iter()
        .copied()
        .filter(|r| new_rs.is_none_or(|n| !std::ptr::eq(n, *r)))
        .collect();
    (new_rs, olds)
}

/// Create the new ReplicaSet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewRs {
    /// Its initial spec.replicas.
    pub replicas: i32,
    /// Its revision.
    pub revision: i64,
}

/// Set an existing ReplicaSet's spec.replicas and size annotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleOp {
    /// The ReplicaSet.
    pub name: String,
    /// Its spec.replicas now.
    pub from: i32,
    /// Its new spec.replicas.
    pub to: i32,
    /// The desired-replicas annotation (the Deployment's replicas).
    pub desired: i32,
    /// The max-replicas annotation (replicas + maxSurge).
    pub max: i32,
    /// A revision annotation to set too (the new ReplicaSet catching up).
    pub revision: Option<i64>,
}

/// What one sync does, in order: create, scale, then record the revision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Create the new ReplicaSet.
    pub create: Option<NewRs>,
    /// Scale (or re-annotate) existing ReplicaSets, in this order.
    pub scales: Vec<ScaleOp>,
    /// The revision the Deployment mirrors in its annotation.
    pub revision: Option<i64>,
}

/// One target size, before it is checked against what the ReplicaSet already has.
type Target<'a> = (&'a ReplicaSet, i32, Option<i64>);

/// The plan for one sync.
pub fn plan(r: &Rollout<'_>) -> Plan {
    let s = strategy(r.d);
    let paused = r.d.spec.as_ref().and_then(|s| s.paused) == Some(true);
    let max_old = r.olds.iter().map(|o| revision(o)).max().unwrap_or(0);
    // The new RS's revision catches up past every old one (upstream's getNewReplicaSet).
    let new_rev = match r.new_rs {
        Some(n) if revision(n) > max_old => None,
        _ => Some(max_old + 1),
    };
    let all: Vec<&ReplicaSet> = r.olds.iter().copied().chain(r.new_rs).collect();
    let (create, targets) = if paused {
        (None, proportional(r, &s, None))
    } else if is_scaling_event(&all, s.want) {
        (None, proportional(r, &s, new_rev))
    } else if s.rolling {
        rolling(r, &s, new_rev)
    } else {
        recreate(r, &s, new_rev)
    };
    let revision = match (r.new_rs, create) {
        (Some(n), _) if paused => Some(revision(n)),
        (Some(n), _) => Some(new_rev.unwrap_or_else(|| revision(n))),
        (None, Some(_)) => Some(max_old + 1),
        (None, None) => None,
    };
    let create = create.map(|replicas| NewRs {
        replicas,
        revision: max_old + 1,
    });
    let scales = targets
        .into_iter()
        .filter_map(|(rs, to, rev)| scale_op(rs, to, rev, &s))
        .collect();
    Plan {
        create,
        scales,
        revision,
    }
}

/// The operation bringing `rs` to `to` replicas with current annotations; `None` when it
/// already is.
fn scale_op(rs: &ReplicaSet, to: i32, rev: Option<i64>, s: &Strategy) -> Option<ScaleOp> {
    let (desired, max) = (s.want, s.want + s.surge);
    let from = spec_replicas(rs);
    let current = annotation(rs, DESIRED) == Some(i64::from(desired))
        && annotation(rs, MAX) == Some(i64::from(max))
        && rev.is_none_or(|r| annotation(rs, REVISION) == Some(r));
    (from != to || !current).then(|| ScaleOp {
        name: rs.metadata.name.clone().unwrap_or_default(),
        from,
        to,
        desired,
        max,
        revision: rev,
    })
}

/// Paused or resized: upstream's proportional `scale`; the new RS also catches up its
/// revision (`rev`) when not paused.
fn proportional<'a>(r: &Rollout<'a>, s: &Strategy, rev: Option<i64>) -> Vec<Target<'a>> {
    let sizes = Sizes {
        want: s.want,
        surge: s.surge,
        rolling: s.rolling,
        status_replicas: r.d.status.as_ref().and_then(|st| st.replicas).unwrap_or(0),
    };
    let is_new = |rs: &ReplicaSet| r.new_rs.is_some_and(|n| std::ptr::eq(n, rs));
    let mut targets: Vec<Target<'a>> = scale(r.new_rs, &r.olds, &sizes)
        .into_iter()
        .map(|(rs, to)| (rs, to, rev.filter(|_| is_new(rs))))
        .collect();
    if let (Some(n), Some(_)) = (r.new_rs, rev) {
        if !targets.iter().any(|t| is_new(t.0)) {
            targets.push((n, spec_replicas(n), rev));
        }
    }
    targets
}

/// A RollingUpdate step: scale the new RS up within maxSurge, then the old ones down within
/// maxUnavailable (unhealthy replicas first), both from the state read at the start.
fn rolling<'a>(r: &Rollout<'a>, s: &Strategy, rev: Option<i64>) -> (Option<i32>, Vec<Target<'a>>) {
    let old_total: i32 = r.olds.iter().map(|o| spec_replicas(o)).sum();
    let mut targets = Vec::new();
    let (create, new_spec, new_available) = match r.new_rs {
        None => {
            let initial = new_rs_replicas(s.want, s.surge, old_total, 0);
            (Some(initial), initial, 0)
        }
        Some(n) => {
            let cur = spec_replicas(n);
            let to = if cur > s.want {
                s.want
            } else {
                new_rs_replicas(s.want, s.surge, old_total + cur, cur)
            };
            targets.push((n, to, rev));
            (None, cur, available(n))
        }
    };
    let active: Vec<&ReplicaSet> = r
        .olds
        .iter()
        .copied()
        .filter(|o| spec_replicas(o) > 0)
        .collect();
    if !active.is_empty() {
        let input: Vec<OldRs> = active
            .iter()
            .map(|o| OldRs {
                name: o.metadata.name.clone().unwrap_or_default(),
                replicas: spec_replicas(o),
                available: available(o),
            })
            .collect();
        let cap = if s.want == 0 {
            0
        } else {
            s.unavailable.min(s.want)
        };
        let total = old_total + new_spec;
        let downs = scale_down_old(s.want, cap, total, new_spec, new_available, &input);
        targets.extend(
            active
                .into_iter()
                .zip(downs)
                .map(|(o, (_, to))| (o, to, None)),
        );
    }
    (create, targets)
}

/// A Recreate step: the new RS stays at its size (created at 0) until no old pod runs,
/// then takes the whole count; the old ones go to 0.
fn recreate<'a>(r: &Rollout<'a>, s: &Strategy, rev: Option<i64>) -> (Option<i32>, Vec<Target<'a>>) {
    let old_total: i32 = r.olds.iter().map(|o| spec_replicas(o)).sum();
    let clear = old_total == 0 && !r.old_pods_running;
    let mut targets = Vec::new();
    let create = match r.new_rs {
        None => Some(if clear { s.want } else { 0 }),
        Some(n) => {
            targets.push((n, if clear { s.want } else { spec_replicas(n) }, rev));
            None
        }
    };
    targets.extend(
        r.olds
            .iter()
            .filter(|o| spec_replicas(o) > 0)
            .map(|o| (*o, 0, None)),
    );
    (create, targets)
}

/// Whether old pods still run (upstream's `oldPodsRunning`): an old RS reports replicas,
/// or one of its pods is not Succeeded/Failed.
pub fn old_pods_running(olds: &[&ReplicaSet], old_pods: &[&Pod]) -> bool {
    olds.iter()
        .any(|o| o.status.as_ref().is_some_and(|s| s.replicas > 0))
        || old_pods.iter().any(|p| {
            let phase = p.status.as_ref().and_then(|s| s.phase.as_deref());
            !matches!(phase, Some("Succeeded") | Some("Failed"))
        })
}

/// Old ReplicaSets to delete beyond `revisionHistoryLimit` (default 10): scaled to 0 with no
/// pods left and not already going, lowest revisions first.
pub fn history_to_delete(d: &Deployment, olds: &[&ReplicaSet]) -> Vec<String> {
    let limit = d
        .spec
        .as_ref()
        .and_then(|s| s.revision_history_limit)
        .unwrap_or(10)
        .max(0) as usize;
    let mut dead: Vec<&ReplicaSet> = olds
        .iter()
        .copied()
        .filter(|r| {
            spec_replicas(r) == 0
                && r.status.as_ref().is_none_or(|s| s.replicas == 0)
                && r.metadata.deletion_timestamp.is_none()
        })
        .collect();
    if dead.len() <= limit {
        return Vec::new();
    }
    dead.sort_by_key(|r| revision(r));
    dead[..dead.len() - limit]
        .iter()
        .filter_map(|r| r.metadata.name.clone())
        .collect()
}

#[cfg(test)]
mod tests;
