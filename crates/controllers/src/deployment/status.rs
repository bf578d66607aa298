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

/// Fills in the Available and Progressing conditions; returns when to look again (the
/// progress deadline) if the rollout is still under way.
pub fn update_conditions(
    d: &Deployment,
    st: &mut DeploymentStatus,
    new_rs: Option<&str>,
    now: Timestamp,
) -> Option<i64> {
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
    let mut conds = st.conditions.take().unwrap_or_default();
    if st.available_replicas.unwrap_or(0) >= want - max_unav {
        set_condition(
            &mut conds,
            condition(
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.".into(),
                now,
            ),
        );
    } else {
        set_condition(
            &mut conds,
            condition(
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.".into(),
                now,
            ),
        );
    }
    let old = d.status.clone().unwrap_or_default();
    let mut recheck = None;
    if let Some(deadline) = spec
        .progress_deadline_seconds
        .filter(|_| spec.paused != Some(true))
    {
        let rs_name = new_rs.unwrap_or("");
        let current = conds.iter().find(|c| c.type_ == "Progressing").cloned();
        let timed_out_already = current
            .as_ref()
            .is_some_and(|c| c.reason.as_deref() == Some("ProgressDeadlineExceeded"));
        let mut probe = st.clone();
        probe.conditions = None;
        if complete(d, &probe) {
            set_condition(
                &mut conds,
                condition(
                    "Progressing",
                    "True",
                    "NewReplicaSetAvailable",
                    format!("ReplicaSet \"{rs_name}\" has successfully progressed."),
                    now,
                ),
            );
        } else if progressing(&old, st) {
            let mut c = condition(
                "Progressing",
                "True",
                "ReplicaSetUpdated",
                format!("ReplicaSet \"{rs_name}\" is progressing."),
                now,
            );
            if let Some(cur) = current.as_ref().filter(|c| c.status == "True") {
                c.last_transition_time = cur.last_transition_time.clone();
            }
            conds.retain(|x| x.type_ != "Progressing");
            conds.push(c);
            recheck = Some(i64::from(deadline));
        } else if !timed_out_already {
            let last = current
                .as_ref()
                .and_then(|c| c.last_update_time.as_ref())
                .map(|t| t.0.as_second());
            match last {
                Some(t) if t + i64::from(deadline) <= now.as_second() => {
                    set_condition(
                        &mut conds,
                        condition(
                            "Progressing",
                            "False",
                            "ProgressDeadlineExceeded",
                            format!("ReplicaSet \"{rs_name}\" has timed out progressing."),
                            now,
                        ),
                    );
                }
                Some(t) => recheck = Some(t + i64::from(deadline) - now.as_second()),
                None => recheck = Some(i64::from(deadline)),
            }
        }
    }
    st.conditions = Some(conds);
    recheck
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
}
