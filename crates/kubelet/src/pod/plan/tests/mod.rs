//! Table tests of the plan, cases taken from upstream's
//! `TestComputePodActions` and `TestComputePodActionsWithInitContainers`:
//! the fixtures (upstream's `makeBasePodAndStatus`), then deletion and
//! back-off here, app containers and init containers in their own files.

mod app;
mod init;

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
