//! Table tests of the plan, cases taken from upstream's
//! `TestComputePodActions` and `TestComputePodActionsWithInitContainers`.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use k8s_openapi::api::core::v1::Pod;

use super::*;
use crate::pod::runtime::{ContainerInfo, RuntimePod, SandboxInfo, State};

const SANDBOX: &str = "sandboxID";

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default()
}

/// Three app containers (and three init containers with `init`), restart
/// policy `policy`.
fn pod(policy: &str, init: bool) -> Pod {
    let c = |n: &str| serde_json::json!({"name": n, "image": "busybox"});
    let mut spec = serde_json::json!({
        "restartPolicy": policy,
        "containers": [c("foo1"), c("foo2"), c("foo3")],
    });
    if init {
        spec["initContainers"] = serde_json::json!([c("init1"), c("init2"), c("init3")]);
    }
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": "foo", "namespace": "foo-ns", "uid": "12345678"},
        "spec": spec,
    }))
    .unwrap_or_else(|e| panic!("{e}"))
}

fn instance(pod: &Pod, name: &str, id: &str, state: State, exit_code: i32) -> ContainerInfo {
    let spec = pod.spec.as_ref().unwrap_or_else(|| panic!("no spec"));
    let c = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no container {name}"));
    ContainerInfo {
        id: id.into(),
        name: name.into(),
        restart_count: 0,
        state,
        created_at: 0,
        started_at: 0,
        finished_at: 0,
        exit_code,
        reason: String::new(),
        message: String::new(),
        image: "busybox".into(),
        image_ref: String::new(),
        sandbox_id: SANDBOX.into(),
        hash: container_hash(c),
        log_path: String::new(),
    }
}

/// A ready sandbox with every app container running (upstream's
/// `makeBasePodAndStatus`), or every init container exited 0 with `init`.
fn runtime(pod: &Pod, init: bool) -> RuntimePod {
    let containers = if init {
        ["init1", "init2", "init3"]
            .iter()
            .map(|n| instance(pod, n, &format!("{n}-id"), State::Exited, 0))
            .collect()
    } else {
        ["foo1", "foo2", "foo3"]
            .iter()
            .enumerate()
            .map(|(i, n)| instance(pod, n, &format!("id{}", i + 1), State::Running, 0))
            .collect()
    };
    RuntimePod {
        sandboxes: vec![SandboxInfo {
            id: SANDBOX.into(),
            attempt: 0,
            ready: true,
            created_at: 0,
            ips: vec!["10.0.0.1".into()],
            no_ip: false,
        }],
        containers,
    }
}

fn set(rt: &mut RuntimePod, name: &str, state: State, exit_code: i32) {
    for c in rt.containers.iter_mut().filter(|c| c.name == name) {
        c.state = state;
        c.exit_code = exit_code;
    }
}

fn plan_with(pod: &Pod, rt: &RuntimePod, failed: &[(&str, Kind)], backoff: &BackOff) -> PodActions {
    let verdicts: HashMap<(String, Kind), bool> = failed
        .iter()
        .map(|(id, k)| ((id.to_string(), *k), false))
        .collect();
    let probe = |id: &str, k: Kind| verdicts.get(&(id.to_string(), k)).copied();
    compute(&PlanInput {
        pod,
        runtime: rt,
        probe: &probe,
        backoff,
        now: now(),
        finished: false,
    })
}

fn plan(pod: &Pod, rt: &RuntimePod) -> PodActions {
    plan_with(pod, rt, &[], &BackOff::default())
}

/// The compared shape of a plan: kill pod, create sandbox, attempt, the
/// killed ids, the removed ids, the next init container and the started
/// app containers by index.
type Shape = (
    bool,
    bool,
    u32,
    Vec<String>,
    Vec<String>,
    Option<usize>,
    Vec<usize>,
);

fn shape(p: &PodActions) -> Shape {
    (
        p.kill_pod,
        p.create_sandbox,
        p.attempt,
        p.kill.iter().map(|k| k.id.clone()).collect(),
        p.remove.clone(),
        p.next_init.as_ref().map(|s| s.index),
        p.start.iter().map(|s| s.index).collect(),
    )
}

fn ids(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

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

#[test]
fn init_containers_run_one_at_a_time_in_order() {
    type Mutate = fn(&mut RuntimePod);
    let cases: Vec<(&str, &str, Mutate, Shape)> = vec![
        (
            "initialization completed; start all containers",
            "Always",
            |_| {},
            (false, false, 0, vec![], vec![], None, vec![0, 1, 2]),
        ),
        (
            "no init containers have been started; start the first one",
            "Always",
            |rt| rt.containers.clear(),
            (false, false, 0, vec![], vec![], Some(0), vec![]),
        ),
        (
            "initialization in progress; do nothing",
            "Always",
            |rt| set(rt, "init3", State::Running, 0),
            (false, false, 0, vec![], vec![], None, vec![]),
        ),
        (
            "the first one succeeded; start the second",
            "Always",
            |rt| rt.containers.retain(|c| c.name == "init1"),
            (false, false, 0, vec![], vec![], Some(1), vec![]),
        ),
        (
            "kill pod and restart the first init container if the sandbox is dead",
            "Always",
            |rt| rt.sandboxes[0].ready = false,
            (
                true,
                true,
                1,
                vec![],
                ids(&["init1-id", "init2-id", "init3-id"]),
                Some(0),
                vec![],
            ),
        ),
        (
            "initialization failed; restart the last init container (Always)",
            "Always",
            |rt| set(rt, "init3", State::Exited, 137),
            (false, false, 0, vec![], vec![], Some(2), vec![]),
        ),
        (
            "initialization failed; restart the last init container (OnFailure)",
            "OnFailure",
            |rt| set(rt, "init3", State::Exited, 137),
            (false, false, 0, vec![], vec![], Some(2), vec![]),
        ),
        (
            "initialization failed; kill pod (Never)",
            "Never",
            |rt| set(rt, "init3", State::Exited, 137),
            (true, false, 0, vec![], vec![], None, vec![]),
        ),
        (
            "init container state unknown; kill and recreate it (Always)",
            "Always",
            |rt| set(rt, "init3", State::Unknown, 0),
            (false, false, 0, ids(&["init3-id"]), vec![], Some(2), vec![]),
        ),
        (
            "init container state unknown; kill pod (Never)",
            "Never",
            |rt| set(rt, "init3", State::Unknown, 0),
            (true, false, 0, vec![], vec![], None, vec![]),
        ),
        (
            "an OOM-killed init container failed even with exit code 0",
            "Never",
            |rt| {
                rt.containers[2].reason = "OOMKilled".into();
            },
            (true, false, 0, vec![], vec![], None, vec![]),
        ),
        (
            "sandbox not ready, init failed, Never; kill pod only",
            "Never",
            |rt| rt.sandboxes[0].ready = false,
            (true, false, 1, vec![], vec![], None, vec![]),
        ),
        (
            "sandbox not ready, Never, no visible init containers; new sandbox",
            "Never",
            |rt| {
                rt.sandboxes[0].ready = false;
                rt.containers.clear();
            },
            (true, true, 1, vec![], vec![], Some(0), vec![]),
        ),
        (
            "sandbox not ready, init failed, OnFailure; new sandbox",
            "OnFailure",
            |rt| {
                rt.sandboxes[0].ready = false;
                set(rt, "init3", State::Exited, 137);
            },
            (
                true,
                true,
                1,
                vec![],
                ids(&["init1-id", "init2-id", "init3-id"]),
                Some(0),
                vec![],
            ),
        ),
        (
            "earlier statuses missing but the last init container runs; wait",
            "Always",
            |rt| {
                rt.containers.retain(|c| c.name == "init3");
                set(rt, "init3", State::Running, 0);
            },
            (false, false, 0, vec![], vec![], None, vec![]),
        ),
        (
            "a created, never started init container is started again",
            "Always",
            |rt| {
                rt.containers.retain(|c| c.name != "init3");
                set(rt, "init2", State::Created, 0);
            },
            (false, false, 0, vec![], vec![], Some(1), vec![]),
        ),
    ];
    for (desc, policy, mutate, want) in cases {
        let p = pod(policy, true);
        let mut rt = runtime(&p, true);
        mutate(&mut rt);
        assert_eq!(shape(&plan(&p, &rt)), want, "{desc}");
    }
}

#[test]
fn a_running_app_container_means_initialisation_is_done() {
    // the init containers' instances were removed since
    let p = pod("Always", true);
    let mut rt = runtime(&p, false);
    set(&mut rt, "foo3", State::Exited, 1);
    assert_eq!(
        shape(&plan(&p, &rt)),
        (false, false, 0, vec![], vec![], None, vec![2])
    );
}

#[test]
fn deleted_or_finished_pods_are_only_killed() {
    let mut p = pod("Always", false);
    let mut rt = runtime(&p, false);
    set(&mut rt, "foo1", State::Exited, 1);
    p.metadata.deletion_timestamp = Some(crate::time::time(now()));
    let want = (true, false, 0, vec![], vec![], None, vec![]);
    assert_eq!(shape(&plan(&p, &rt)), want);

    let p = pod("OnFailure", false);
    rt.sandboxes[0].ready = false;
    let probe = |_: &str, _: Kind| None;
    let finished = compute(&PlanInput {
        pod: &p,
        runtime: &rt,
        probe: &probe,
        backoff: &BackOff::default(),
        now: now(),
        finished: true,
    });
    assert_eq!(
        shape(&finished),
        (true, false, 1, vec![], vec![], None, vec![])
    );
}

#[test]
fn restarts_count_and_wait_out_the_back_off() {
    let p = pod("Always", false);
    let mut rt = runtime(&p, false);
    rt.containers[0].restart_count = 2;
    set(&mut rt, "foo1", State::Exited, 1);
    let exited = now() - Duration::seconds(3);
    rt.containers[0].finished_at = exited.timestamp_nanos_opt().unwrap_or_default();

    // no back-off recorded yet: restart now, counting the exit
    let got = plan(&p, &rt);
    assert_eq!(got.start.len(), 1);
    assert_eq!(got.start[0].restart_count, 3);
    assert_eq!(got.start[0].last_exit, Some(exited));
    assert_eq!(got.start[0].hold, None);

    // a restart 10 s back-off ago that is not over: held until exit + 10 s
    let backoff = BackOff::default();
    let spec = &p.spec.as_ref().unwrap_or_else(|| panic!("spec")).containers[0];
    backoff.next(&restart_key(&p, spec), exited - Duration::seconds(1));
    let got = plan_with(&p, &rt, &[], &backoff);
    assert_eq!(
        got.start[0].hold,
        Some(Hold {
            delay: Duration::seconds(10),
            until: exited + Duration::seconds(10)
        })
    );

    // a created instance is replaced without counting a restart
    set(&mut rt, "foo1", State::Created, 0);
    let got = plan(&p, &rt);
    assert_eq!(got.start[0].restart_count, 2);
    assert_eq!(got.start[0].replaces.as_deref(), Some("id1"));
}
