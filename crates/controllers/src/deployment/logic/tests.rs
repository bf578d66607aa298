//! Plan tables after upstream's rolling_test.go, recreate_test.go and sync_test.go.

use super::*;
use serde_json::{json, Value};

fn template(image: &str, hash: Option<&str>) -> Value {
    let mut labels = json!({"app": "web"});
    if let Some(h) = hash {
        labels["pod-template-hash"] = json!(h);
    }
    json!({"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": image}]}})
}

/// A Deployment running `image`, with `strategy` (JSON) and `extra` spec fields.
fn dep(replicas: i32, strategy: Value, extra: Value) -> Deployment {
    let mut spec = json!({"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
        "template": template("new", None), "strategy": strategy});
    if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        s.extend(e.clone());
    }
    serde_json::from_value(
        json!({"metadata": {"name": "web", "namespace": "default", "uid": "d"}, "spec": spec}),
    )
    .unwrap()
}

fn rolling_strategy(surge: i32, unavailable: i32) -> Value {
    json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}})
}

/// An RS of `image` created at `hour`, sized `replicas` with `available` of them, annotated
/// with `rev` and sized for a Deployment of `desired` (+`surge`).
#[allow(clippy::too_many_arguments)]
fn rs(
    name: &str,
    image: &str,
    hour: u32,
    replicas: i32,
    available: i32,
    rev: i64,
    desired: i32,
    surge: i32,
) -> ReplicaSet {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "default", "uid": name,
            "creationTimestamp": format!("2024-01-01T0{hour}:00:00Z"),
            "annotations": {REVISION: rev.to_string(), DESIRED: desired.to_string(), MAX: (desired + surge).to_string()}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web", "pod-template-hash": name}},
                 "template": template(image, Some(name))},
        "status": {"replicas": replicas, "availableReplicas": available}}))
    .unwrap()
}

fn rollout<'a>(d: &'a Deployment, owned: &[&'a ReplicaSet]) -> Rollout<'a> {
    let (new_rs, olds) = split(d, owned);
    Rollout {
        d,
        new_rs,
        olds,
        old_pods_running: false,
    }
}

fn size_of(p: &Plan, name: &str) -> Option<i32> {
    p.scales.iter().find(|o| o.name == name).map(|o| o.to)
}

/// Upstream's TestDeploymentController_reconcileNewReplicaSet (maxUnavailable 0): where the
/// new ReplicaSet goes.
#[test]
fn rolling_new_replica_set_table() {
    // (replicas, maxSurge, old replicas, new replicas, new size or None for unchanged)
    let cases = [
        (10, 0, 10, 0, None),
        (10, 2, 10, 0, Some(2)),
        (10, 2, 5, 0, Some(7)),
        (10, 2, 10, 2, None),
        (10, 2, 2, 11, Some(10)),
    ];
    for (want, surge, old, new, expect) in cases {
        let d = dep(want, rolling_strategy(surge, 0), json!({}));
        let (o, n) = (
            rs("old", "old", 1, old, old, 1, want, surge),
            rs("new", "new", 2, new, new, 2, want, surge),
        );
        let p = plan(&rollout(&d, &[&o, &n]));
        assert_eq!(size_of(&p, "new"), expect, "{want} {surge} {old} {new}");
        assert_eq!(p.create, None);
    }
}

/// Upstream's TestDeploymentController_reconcileOldReplicaSets (maxSurge 0): where the old
/// ReplicaSet goes, unhealthy replicas first, never below availability.
#[test]
fn rolling_old_replica_sets_table() {
    // (maxUnavailable, old replicas, new replicas, old available, new available, old size)
    let cases = [
        (0, 10, 0, 10, 0, Some(9)),
        (2, 10, 0, 10, 0, Some(8)),
        (2, 10, 0, 8, 0, Some(8)),
        (2, 10, 0, 9, 0, Some(8)),
        (2, 8, 2, 8, 0, None),
    ];
    for (unav, old, new, old_av, new_av, expect) in cases {
        let d = dep(10, rolling_strategy(0, unav), json!({}));
        let (o, n) = (
            rs("old", "old", 1, old, old_av, 1, 10, 0),
            rs("new", "new", 2, new, new_av, 2, 10, 0),
        );
        let p = plan(&rollout(&d, &[&o, &n]));
        assert_eq!(
            size_of(&p, "old"),
            expect,
            "{unav} {old} {new} {old_av} {new_av}"
        );
    }
}

#[test]
fn rolling_creates_the_new_replica_set_with_the_next_revision() {
    let d = dep(4, rolling_strategy(1, 1), json!({}));
    let o = rs("old", "old", 1, 4, 4, 7, 4, 1);
    let p = plan(&rollout(&d, &[&o]));
    assert_eq!(
        p.create,
        Some(NewRs {
            replicas: 1,
            revision: 8
        })
    );
    assert_eq!(p.revision, Some(8));
    // Scaling down the old one counts the new pods as unavailable: 4 - 3 = 1 may go.
    assert_eq!(size_of(&p, "old"), Some(3));
    // A brand-new Deployment: revision 1 at full size.
    let p = plan(&rollout(&d, &[]));
    assert_eq!(
        (p.create, p.revision, p.scales.len()),
        (
            Some(NewRs {
                replicas: 4,
                revision: 1
            }),
            Some(1),
            0
        )
    );
}

/// `rollout undo`: the template of an old ReplicaSet is current again; it becomes the new
/// one and takes the next revision, as does the Deployment.
#[test]
fn undo_reuses_the_old_replica_set_with_a_new_revision() {
    let d = dep(4, rolling_strategy(1, 1), json!({}));
    let (back, cur) = (
        rs("back", "new", 1, 0, 0, 1, 4, 1),
        rs("cur", "other", 2, 4, 4, 2, 4, 1),
    );
    let r = rollout(&d, &[&back, &cur]);
    assert!(std::ptr::eq(r.new_rs.unwrap(), &back));
    let p = plan(&r);
    let op = p.scales.iter().find(|o| o.name == "back").unwrap();
    assert_eq!((op.to, op.revision), (1, Some(3)));
    assert_eq!(p.revision, Some(3));
}

#[test]
fn nothing_to_do_when_sizes_and_annotations_are_current() {
    let d = dep(4, rolling_strategy(1, 1), json!({}));
    let n = rs("new", "new", 1, 4, 4, 1, 4, 1);
    let p = plan(&rollout(&d, &[&n]));
    assert_eq!((p.create, p.scales.len(), p.revision), (None, 0, Some(1)));
    // A stale max-replicas annotation is rewritten at the same size.
    let stale = rs("new", "new", 1, 4, 4, 1, 4, 2);
    let p = plan(&rollout(&d, &[&stale]));
    assert_eq!(p.scales[0].to, 4);
    assert_eq!((p.scales[0].desired, p.scales[0].max), (4, 5));
}

/// Upstream's TestScaleDownOldReplicaSets and the Recreate order: old ones to 0 first, the
/// new one scaled up only when no old pod runs.
#[test]
fn recreate_table() {
    let d = dep(3, json!({"type": "Recreate"}), json!({}));
    let o = rs("old", "old", 1, 3, 3, 1, 3, 0);
    let p = plan(&rollout(&d, &[&o]));
    assert_eq!(
        p.create,
        Some(NewRs {
            replicas: 0,
            revision: 2
        })
    );
    assert_eq!(size_of(&p, "old"), Some(0));
    let (o, n) = (
        rs("old", "old", 1, 0, 0, 1, 3, 0),
        rs("new", "new", 2, 0, 0, 2, 3, 0),
    );
    let mut r = rollout(&d, &[&o, &n]);
    r.old_pods_running = true;
    assert_eq!(size_of(&plan(&r), "new"), None, "waits for old pods");
    r.old_pods_running = false;
    assert_eq!(size_of(&plan(&r), "new"), Some(3));
    assert_eq!(
        plan(&rollout(&d, &[])).create,
        Some(NewRs {
            replicas: 3,
            revision: 1
        })
    );
}

/// Upstream's TestOldPodsRunning.
#[test]
fn old_pods_running_table() {
    let old = |status_replicas: i32| -> ReplicaSet {
        serde_json::from_value(
            json!({"metadata": {"name": "rs-1"}, "spec": {"replicas": 0, "selector": {}},
            "status": {"replicas": status_replicas}}),
        )
        .unwrap()
    };
    let pod = |phase: &str| -> Pod {
        serde_json::from_value(json!({"status": {"phase": phase}})).unwrap()
    };
    let (zero, one) = (old(0), old(1));
    let (failed, succeeded, unknown, pending, running) = (
        pod("Failed"),
        pod("Succeeded"),
        pod("Unknown"),
        pod("Pending"),
        pod("Running"),
    );
    let cases: [(&str, Vec<&ReplicaSet>, Vec<&Pod>, bool); 8] = [
        ("no old RSs", vec![], vec![], false),
        (
            "old RSs with running pods",
            vec![&zero],
            vec![&running, &running],
            true,
        ),
        ("non-zero status replicas", vec![&one], vec![], true),
        ("no pods, zero status replicas", vec![&zero], vec![], false),
        (
            "only terminal pods",
            vec![&zero],
            vec![&failed, &succeeded],
            false,
        ),
        ("unknown phase counts", vec![&zero], vec![&unknown], true),
        ("pending counts", vec![&zero], vec![&pending], true),
        (
            "terminal and pending",
            vec![&zero],
            vec![&failed, &succeeded, &pending],
            true,
        ),
    ];
    for (name, olds, pods, want) in cases {
        assert_eq!(old_pods_running(&olds, &pods), want, "{name}");
    }
}

/// Paused: no new ReplicaSet, no rollout step, but a resize is spread proportionally.
#[test]
fn paused_only_scales() {
    let d = dep(10, rolling_strategy(0, 1), json!({"paused": true}));
    let (o, n) = (
        rs("old", "old", 1, 3, 3, 1, 5, 0),
        rs("new", "new", 2, 2, 2, 2, 5, 0),
    );
    let p = plan(&rollout(&d, &[&o, &n]));
    assert_eq!((size_of(&p, "old"), size_of(&p, "new")), (Some(6), Some(4)));
    assert!(p.scales.iter().all(|o| o.revision.is_none()));
    assert_eq!(p.revision, Some(2));
    let o = rs("old", "other", 1, 4, 4, 1, 4, 0);
    let p = plan(&rollout(&d, &[&o]));
    assert_eq!(
        (p.create, size_of(&p, "old"), p.revision),
        (None, Some(10), None)
    );
}

/// A resize during a rollout is a scaling event: proportional, not a rollout step.
#[test]
fn resize_during_rollout_scales_proportionally() {
    let d = dep(10, rolling_strategy(0, 1), json!({}));
    let (o, n) = (
        rs("old", "old", 1, 3, 3, 1, 5, 0),
        rs("new", "new", 2, 2, 2, 1, 5, 0),
    );
    let p = plan(&rollout(&d, &[&o, &n]));
    assert_eq!((size_of(&p, "old"), size_of(&p, "new")), (Some(6), Some(4)));
    let new_op = p.scales.iter().find(|o| o.name == "new").unwrap();
    assert_eq!((new_op.revision, new_op.desired), (Some(2), 10));
}

/// Upstream's TestDeploymentController_cleanupDeployment.
#[test]
fn history_table() {
    let old = |name: &str, spec: i32, status: i32, rev: i64| -> ReplicaSet {
        let mut r = rs(name, "old", 1, spec, 0, rev, 1, 0);
        r.status.as_mut().unwrap().replicas = status;
        r
    };
    let mut deleted = old("foo-1", 0, 0, 1);
    deleted.metadata.deletion_timestamp =
        Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
        ));
    let three = [
        old("foo-1", 0, 0, 1),
        old("foo-2", 0, 0, 2),
        old("foo-3", 0, 0, 3),
    ];
    let mixed = [
        old("foo-1", 0, 0, 1),
        old("foo-2", 0, 1, 2),
        old("foo-3", 1, 0, 3),
        old("foo-4", 1, 1, 4),
    ];
    let two = [old("foo-1", 0, 0, 1), old("foo-2", 0, 0, 2)];
    let busy = [old("foo-1", 1, 1, 1), old("foo-2", 1, 1, 2)];
    let cases: [(&[ReplicaSet], i32, Vec<&str>); 6] = [
        (&three, 1, vec!["foo-1", "foo-2"]),
        (&mixed, 0, vec!["foo-1"]),
        (&two, 0, vec!["foo-1", "foo-2"]),
        (&busy, 0, vec![]),
        (std::slice::from_ref(&deleted), 0, vec![]),
        (&three, i32::MAX, vec![]),
    ];
    for (olds, limit, want) in cases {
        let d = dep(
            1,
            rolling_strategy(1, 0),
            json!({"revisionHistoryLimit": limit}),
        );
        let refs: Vec<&ReplicaSet> = olds.iter().collect();
        assert_eq!(history_to_delete(&d, &refs), want, "limit {limit}");
    }
}

#[test]
fn strategies_resolve() {
    let d = dep(
        10,
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}),
        json!({}),
    );
    assert_eq!(
        strategy(&d),
        Strategy {
            want: 10,
            surge: 3,
            unavailable: 2,
            rolling: true
        }
    );
    let d = dep(10, json!({"type": "Recreate"}), json!({}));
    assert_eq!(
        strategy(&d),
        Strategy {
            want: 10,
            surge: 0,
            unavailable: 0,
            rolling: false
        }
    );
}
