//! Deployment status and conditions (Available, Progressing) computed from its ReplicaSets.

use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use super::rolling::max_unavailable;

/// Sets (or replaces) a condition, keeping lastTransitionTime when the status is unchanged.
pub fn set_condition(conds: &mut Vec<DeploymentCondition>, mut c: DeploymentCondition) {
    if let Some(old) = conds.iter().find(|x| x.type_ == c.type_) {
        if old.status == c.status && old.reason == c.reason {
            c.last_transition_time = old.last_transition_time.clone();
            if old.message == c.message {
                c.last_update_time = old.last_update_time.clone();
            }
        } else if old.status == c.status {
            c.last_transition_time = old.last_transition_time.clone();
        }
    }
    conds.retain(|x| x.type_ != c.type_);
    conds.push(c);
}

/// A condition stamped `now`.
pub fn condition(
    type_: &str,
    status: &str,
    reason: &str,
    message: String,
    now: Timestamp,
) -> DeploymentCondition {
    DeploymentCondition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message),
        last_update_time: Some(Time(now)),
        last_transition_time: Some(Time(now)),
    }
}

fn rs_spec_replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0)
}

/// Counts over all ReplicaSets, with the new one's as updatedReplicas.
pub fn counts(
    d: &Deployment,
    all: &[&ReplicaSet],
    new_rs: Option<&ReplicaSet>,
) -> DeploymentStatus {
    let st = |rs: &ReplicaSet| rs.status.clone().unwrap_or_default();
    let replicas: i32 = all.iter().map(|r| st(r).replicas).sum();
    let available: i32 = all
        .iter()
        .map(|r| st(r).available_replicas.unwrap_or(0))
        .sum();
    let total_spec: i32 = all.iter().map(|r| rs_spec_replicas(r)).sum();
    let prev = d.status.clone().unwrap_or_default();
    DeploymentStatus {
        observed_generation: d.metadata.generation,
        replicas: Some(replicas),
        updated_replicas: Some(new_rs.map(|r| st(r).replicas).unwrap_or(0)),
        ready_replicas: Some(all.iter().map(|r| st(r).ready_replicas.unwrap_or(0)).sum()),
        available_replicas: Some(available),
        unavailable_replicas: Some((total_spec - available).max(0)),
        collision_count: prev.collision_count,
        conditions: prev.conditions,
        ..Default::default()
    }
}

/// Whether the rollout is complete (upstream's DeploymentComplete).
pub fn complete(d: &Deployment, st: &DeploymentStatus) -> bool {
    let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    st.updated_replicas == Some(want)
        && st.replicas == Some(want)
        && st.available_replicas == Some(want)
        && st.observed_generation >= d.metadata.generation
}

/// Whether the new status shows progress over the old one (upstream's DeploymentProgressing).
pub fn progressing(old: &DeploymentStatus, new: &DeploymentStatus) -> bool {
    let old_old = old.replicas.unwrap_or(0) - old.updated_replicas.unwrap_or(0);
    let new_old = new.replicas.unwrap_or(0) - new.updated_replicas.unwrap_or(0);
    let n = |v: Option<i32>| v.unwrap_or(0);
    n(new.updated_replicas) > n(old.updated_replicas)
        || new_old < old_old
        || n(new.ready_replicas) > n(old.ready_replicas)
        || n(new.available_replicas) > n(old.available_replicas)
}

/// The Available condition: at least replicas − maxUnavailable pods available.
fn availability(d: &Deployment, st: &DeploymentStatus, now: Timestamp) -> DeploymentCondition {
    let spec = d.spec.clone().unwrap_or_default();
    let want = spec.replicas.unwrap_or(1);
    let ru = spec
        .strategy
        .as_ref()
        .and_then(|s| s.rolling_update.as_ref());
    let is_rolling = spec
        .strategy
        .as_ref()
        .and_then(|s| s.type_.as_deref())
        .unwrap_or("RollingUpdate")
        == "RollingUpdate";
    let max_unav = if is_rolling {
        max_unavailable(
            ru.and_then(|r| r.max_surge.as_ref()),
            ru.and_then(|r| r.max_unavailable.as_ref()),
            want,
        )
    } else {
        0
    };
    if st.available_replicas.unwrap_or(0) >= want - max_unav {
        condition(
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.".into(),
            now,
        )
    } else {
        condition(
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.".into(),
            now,
        )
    }
}

/// The Progressing condition against the progress deadline (upstream's
/// `syncRolloutStatus`); returns when to look again while the rollout is under way.
fn progress(
    d: &Deployment,
    st: &DeploymentStatus,
    conds: &mut Vec<DeploymentCondition>,
    rs_name: &str,
    deadline: i32,
    now: Timestamp,
) -> Option<i64> {
    let old = d.status.clone().unwrap_or_default();
    let current = conds.iter().find(|c| c.type_ == "Progressing").cloned();
    let timed_out_already = current
        .as_ref()
        .is_some_and(|c| c.reason.as_deref() == Some("ProgressDeadlineExceeded"));
    let mut probe = st.clone();
    probe.conditions = None;
    if complete(d, &probe) {
        let msg = format!("ReplicaSet \"{rs_name}\" has successfully progressed.");
        let c = condition("Progressing", "True", "NewReplicaSetAvailable", msg, now);
        set_condition(conds, c);
        None
    } else if progressing(&old, st) {
        let msg = format!("ReplicaSet \"{rs_name}\" is progressing.");
        let mut c = condition("Progressing", "True", "ReplicaSetUpdated", msg, now);
        if let Some(cur) = current.as_ref().filter(|c| c.status == "True") {
            c.last_transition_time = cur.last_transition_time.clone();
        }
        conds.retain(|x| x.type_ != "Progressing");
        conds.push(c);
        Some(i64::from(deadline))
    } else if timed_out_already {
        None
    } else {
        let last = current
            .as_ref()
            .and_then(|c| c.last_update_time.as_ref())
            .map(|t| t.0.as_second());
        match last {
            Some(t) if t + i64::from(deadline) <= now.as_second() => {
                let msg = format!("ReplicaSet \"{rs_name}\" has timed out progressing.");
                let c = condition("Progressing", "False", "ProgressDeadlineExceeded", msg, now);
                set_condition(conds, c);
                None
            }
            Some(t) => Some(t + i64::from(deadline) - now.as_second()),
            None => Some(i64::from(deadline)),
        }
    }
}

/// Fills in the Available and Progressing conditions; returns when to look again (the
/// progress deadline) if the rollout is still under way.
pub fn update_conditions(
    d: &Deployment,
    st: &mut DeploymentStatus,
    new_rs: Option<&str>,
    now: Timestamp,
) -> Option<i64> {
    let mut conds = st.conditions.take().unwrap_or_default();
    set_condition(&mut conds, availability(d, st, now));
    let spec = d.spec.as_ref();
    let deadline = spec
        .and_then(|s| s.progress_deadline_seconds)
        .filter(|_| spec.and_then(|s| s.paused) != Some(true));
    let recheck =
        deadline.and_then(|dl| progress(d, st, &mut conds, new_rs.unwrap_or(""), dl, now));
    st.conditions = Some(conds);
    recheck
}

/// The Progressing condition a sync sets itself: paused, a new ReplicaSet created, resumed,
/// or the new ReplicaSet found (when no Progressing condition exists yet).
pub fn rollout_condition(
    conds: &mut Vec<DeploymentCondition>,
    paused: bool,
    created: Option<&str>,
    rs_name: Option<&str>,
    now: Timestamp,
) {
    let was_paused = conds
        .iter()
        .any(|c| c.reason.as_deref() == Some("DeploymentPaused"));
    let c = if paused {
        let msg = "Deployment is paused".to_string();
        condition("Progressing", "Unknown", "DeploymentPaused", msg, now)
    } else if let Some(n) = created {
        let msg = format!("Created new replica set \"{n}\"");
        condition("Progressing", "True", "NewReplicaSetCreated", msg, now)
    } else if was_paused {
        let msg = "Deployment is resumed".to_string();
        condition("Progressing", "Unknown", "DeploymentResumed", msg, now)
    } else if !conds.iter().any(|c| c.type_ == "Progressing") {
        let msg = format!("Found new replica set \"{}\"", rs_name.unwrap_or_default());
        condition("Progressing", "True", "FoundNewReplicaSet", msg, now)
    } else {
        return;
    };
    set_condition(conds, c);
}

/// The status one sync writes: counts over `all` ReplicaSets, the conditions, and when to
/// look again (progress deadline, or `minReadySeconds` while the rollout is incomplete).
pub fn next_status(
    d: &Deployment,
    all: &[&ReplicaSet],
    new_rs: Option<&ReplicaSet>,
    created: Option<&str>,
    now: Timestamp,
) -> (DeploymentStatus, Option<i64>) {
    let spec = d.spec.as_ref();
    let paused = spec.and_then(|s| s.paused) == Some(true);
    let mut st = counts(d, all, new_rs);
    let rs_name = new_rs.and_then(|r| r.metadata.name.as_deref());
    let mut recheck = update_conditions(d, &mut st, rs_name, now);
    let mut conds = st.conditions.take().unwrap_or_default();
    rollout_condition(&mut conds, paused, created, rs_name, now);
    st.conditions = Some(conds);
    let min_ready = spec.and_then(|s| s.min_ready_seconds).unwrap_or(0);
    if min_ready > 0 && !complete(d, &st) {
        recheck = Some(recheck.unwrap_or(i64::MAX).min(i64::from(min_ready)));
    }
    (st, recheck)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dep(replicas: i32, status: serde_json::Value) -> Deployment {
        serde_json::from_value(json!({"metadata": {"name": "d", "generation": 2},
            "spec": {"replicas": replicas, "progressDeadlineSeconds": 600, "selector": {}, "template": {}},
            "status": status}))
        .unwrap()
    }

    fn st(replicas: i32, updated: i32, available: i32) -> DeploymentStatus {
        DeploymentStatus {
            observed_generation: Some(2),
            replicas: Some(replicas),
            updated_replicas: Some(updated),
            ready_replicas: Some(available),
            available_replicas: Some(available),
            ..Default::default()
        }
    }

    fn reason(s: &DeploymentStatus, t: &str) -> String {
        s.conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == t)
            .and_then(|c| c.reason.clone())
            .unwrap_or_default()
    }

    #[test]
    fn conditions_table() {
        let now = Timestamp::from_second(10_000).unwrap();
        // complete
        let mut s = st(3, 3, 3);
        update_conditions(&dep(3, json!({})), &mut s, Some("d-1"), now);
        assert_eq!(reason(&s, "Progressing"), "NewReplicaSetAvailable");
        assert_eq!(reason(&s, "Available"), "MinimumReplicasAvailable");
        // progressing
        let mut s = st(4, 1, 2);
        let r = update_conditions(
            &dep(
                3,
                json!({"replicas": 3, "updatedReplicas": 0, "availableReplicas": 2}),
            ),
            &mut s,
            Some("d-1"),
            now,
        );
        assert_eq!(reason(&s, "Progressing"), "ReplicaSetUpdated");
        assert_eq!(r, Some(600));
        // stalled past the deadline
        let old = json!({"replicas": 4, "updatedReplicas": 1, "availableReplicas": 0, "conditions": [
            {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated", "lastUpdateTime": "1970-01-01T00:00:00Z", "lastTransitionTime": "1970-01-01T00:00:00Z"}]});
        let d = dep(3, old);
        let mut s = st(4, 1, 0);
        s.conditions = d.status.as_ref().unwrap().conditions.clone();
        update_conditions(&d, &mut s, Some("d-1"), now);
        assert_eq!(reason(&s, "Progressing"), "ProgressDeadlineExceeded");
        assert_eq!(reason(&s, "Available"), "MinimumReplicasUnavailable");
    }

    /// The Progressing condition a sync sets itself (upstream's paused/resumed handling in
    /// `checkPausedConditions`, and getNewReplicaSet's created/found conditions).
    #[test]
    fn rollout_condition_table() {
        let now = Timestamp::from_second(10_000).unwrap();
        let c = |reason: &str| condition("Progressing", "True", reason, String::new(), now);
        let cases = [
            (vec![], true, None, "DeploymentPaused"),
            (
                vec![c("ReplicaSetUpdated")],
                false,
                Some("web-1"),
                "NewReplicaSetCreated",
            ),
            (
                vec![c("DeploymentPaused")],
                false,
                None,
                "DeploymentResumed",
            ),
            (vec![], false, None, "FoundNewReplicaSet"),
            (
                vec![c("ReplicaSetUpdated")],
                false,
                None,
                "ReplicaSetUpdated",
            ),
        ];
        for (mut conds, paused, created, want) in cases {
            rollout_condition(&mut conds, paused, created, Some("web-1"), now);
            let st = DeploymentStatus {
                conditions: Some(conds),
                ..Default::default()
            };
            assert_eq!(reason(&st, "Progressing"), want);
        }
    }

    #[test]
    fn next_status_asks_again_after_min_ready_seconds() {
        let now = Timestamp::from_second(10_000).unwrap();
        let mut d = dep(3, json!({}));
        d.spec.as_mut().unwrap().min_ready_seconds = Some(5);
        let rs: ReplicaSet = serde_json::from_value(json!({"metadata": {"name": "d-1"},
            "spec": {"replicas": 3, "selector": {}}, "status": {"replicas": 3, "availableReplicas": 1, "readyReplicas": 3}}))
        .unwrap();
        let (st, recheck) = next_status(&d, &[&rs], Some(&rs), None, now);
        assert_eq!(
            (st.replicas, st.updated_replicas, st.available_replicas),
            (Some(3), Some(3), Some(1))
        );
        assert_eq!(recheck, Some(5));
        assert_eq!(reason(&st, "Progressing"), "ReplicaSetUpdated");
    }
}
