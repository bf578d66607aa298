//! App containers by restart policy, sandbox state, spec hash and probe
//! verdicts.

use super::*;

#[test]
fn app_containers_by_restart_policy_and_sandbox_state() {
    type Mutate = fn(&mut Pod, &mut RuntimePod);
    let cases: Vec<(&str, &str, Mutate, Shape)> =
        vec![
        ("everything is good; do nothing", "Always", |_, _| {},
            (false, false, 0, vec![], vec![], None, vec![])),
        ("start pod sandbox and all containers for a new pod", "Always",
            |_, rt| *rt = RuntimePod::default(),
            (true, true, 0, vec![], vec![], None, vec![0, 1, 2])),
        ("restart exited containers if RestartPolicy == Always", "Always", |_, rt| {
            set(rt, "foo1", State::Exited, 0);
            set(rt, "foo2", State::Exited, 111);
        }, (false, false, 0, vec![], vec![], None, vec![0, 1])),
        ("restart failed containers if RestartPolicy == OnFailure", "OnFailure", |_, rt| {
            set(rt, "foo1", State::Exited, 0);
            set(rt, "foo2", State::Exited, 111);
        }, (false, false, 0, vec![], vec![], None, vec![1])),
        ("don't restart containers if RestartPolicy == Never", "Never", |_, rt| {
            set(rt, "foo1", State::Exited, 0);
            set(rt, "foo2", State::Exited, 111);
        }, (false, false, 0, vec![], vec![], None, vec![])),
        ("kill pod and recreate everything if the sandbox is dead (Always)", "Always",
            |_, rt| rt.sandboxes[0].ready = false,
            (true, true, 1, vec![], vec![], None, vec![0, 1, 2])),
        ("kill pod and recreate all but the succeeded one if the sandbox is dead (OnFailure)",
            "OnFailure", |_, rt| {
                rt.sandboxes[0].ready = false;
                set(rt, "foo2", State::Exited, 0);
            }, (true, true, 1, vec![], vec![], None, vec![0, 2])),
        ("kill pod and recreate all containers if the sandbox has no IP", "Always",
            |_, rt| rt.sandboxes[0].no_ip = true,
            (true, true, 1, vec![], vec![], None, vec![0, 1, 2])),
        ("a host-network sandbox needs no IP", "Always", |p, rt| {
            if let Some(s) = p.spec.as_mut() {
                s.host_network = Some(true);
            }
            rt.sandboxes[0].no_ip = true;
        }, (false, false, 0, vec![], vec![], None, vec![])),
        ("two ready sandboxes: kill pod and recreate", "Always", |_, rt| {
            let mut older = rt.sandboxes[0].clone();
            older.id = "older".into();
            rt.sandboxes.push(older);
        }, (true, true, 1, vec![], vec![], None, vec![0, 1, 2])),
        ("kill and recreate the container if the container's spec changed", "Always",
            |_, rt| rt.containers[1].hash = "432423432".into(),
            (false, false, 0, ids(&["id2"]), vec![], None, vec![1])),
        ("an instance without a recorded hash is kept", "Always",
            |_, rt| rt.containers[1].hash = String::new(),
            (false, false, 0, vec![], vec![], None, vec![])),
        ("no new sandbox for a Never pod whose containers all exited", "Never", |_, rt| {
            rt.sandboxes[0].ready = false;
            rt.sandboxes[0].attempt = 1;
            for c in ["foo1", "foo2", "foo3"] {
                set(rt, c, State::Exited, 0);
            }
        }, (true, false, 2, vec![], vec![], None, vec![])),
        ("no new sandbox for an OnFailure pod whose containers all succeeded", "OnFailure",
            |_, rt| {
                rt.sandboxes[0].ready = false;
                rt.sandboxes[0].attempt = 1;
                for c in ["foo1", "foo2", "foo3"] {
                    set(rt, c, State::Exited, 0);
                }
            }, (true, false, 2, vec![], vec![], None, vec![])),
        ("new sandbox for a Never pod whose containers were never created", "Never", |_, rt| {
            rt.sandboxes[0].ready = false;
            rt.sandboxes[0].attempt = 2;
            rt.containers.clear();
        }, (true, true, 3, vec![], vec![], None, vec![0, 1, 2])),
        ("kill and recreate the container if it is in unknown state", "Never",
            |_, rt| set(rt, "foo2", State::Unknown, 0),
            (false, false, 0, ids(&["id2"]), vec![], None, vec![1])),
        ("kill the pod when every container exited and none restarts", "Never", |_, rt| {
            for c in ["foo1", "foo2", "foo3"] {
                set(rt, c, State::Exited, 1);
            }
        }, (true, false, 0, vec![], vec![], None, vec![])),
        ("a created, never started container is started again", "Never",
            |_, rt| set(rt, "foo3", State::Created, 0),
            (false, false, 0, vec![], vec![], None, vec![2])),
    ];
    for (desc, policy, mutate, want) in cases {
        let mut p = pod(policy, false);
        let mut rt = runtime(&p, false);
        mutate(&mut p, &mut rt);
        assert_eq!(shape(&plan(&p, &rt)), want, "{desc}");
    }
}

#[test]
fn probe_failures_kill_and_restart_unless_never() {
    let cases = [
        (
            "Always",
            Kind::Liveness,
            true,
            "Container foo2 failed liveness probe, will be restarted",
        ),
        (
            "Always",
            Kind::Startup,
            true,
            "Container foo2 failed startup probe, will be restarted",
        ),
        (
            "OnFailure",
            Kind::Liveness,
            true,
            "Container foo2 failed liveness probe, will be restarted",
        ),
        (
            "Never",
            Kind::Liveness,
            false,
            "Container foo2 failed liveness probe",
        ),
    ];
    for (policy, kind, restarts, message) in cases {
        let p = pod(policy, false);
        let rt = runtime(&p, false);
        let got = plan_with(&p, &rt, &[("id2", kind)], &BackOff::default());
        assert_eq!(got.kill.len(), 1, "{policy} {kind:?}");
        assert_eq!(got.kill[0].message, message);
        assert_eq!(
            got.start.iter().map(|s| s.index).collect::<Vec<_>>(),
            if restarts { vec![1] } else { vec![] },
            "{policy} {kind:?}"
        );
        assert!(!got.kill_pod);
    }
    // a readiness failure kills nothing
    let p = pod("Always", false);
    let rt = runtime(&p, false);
    let got = plan_with(&p, &rt, &[("id2", Kind::Readiness)], &BackOff::default());
    assert_eq!(got, plan(&p, &rt));
    assert!(got.kill.is_empty());
}
