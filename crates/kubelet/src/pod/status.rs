//! Computing a pod's status (phase, conditions, container statuses) from its
//! spec, the runtime's view and the worker's own notes, as upstream does.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateRunning, ContainerStateTerminated,
    ContainerStateWaiting, ContainerStatus, HostIP, Pod, PodCondition, PodIP, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::resources::qos_class;
use super::runtime::{ContainerInfo, RuntimePod, State};

/// Inputs besides the pod and the runtime view.
#[derive(Default)]
pub struct Notes {
    /// Waiting reasons the worker set (ErrImagePull, CrashLoopBackOff …) by container name.
    pub waiting: HashMap<String, (String, String)>,
    /// Readiness probe results by container id.
    pub readiness: HashMap<String, bool>,
    /// Startup probe results by container id.
    pub startup: HashMap<String, bool>,
    /// Host IP.
    pub host_ip: String,
}

fn ns_time(ns: i64) -> Option<Time> {
    (ns > 0).then(|| crate::time::time(DateTime::from_timestamp_nanos(ns)))
}

fn terminated_reason(c: &ContainerInfo) -> String {
    if !c.reason.is_empty() {
        c.reason.clone()
    } else if c.exit_code == 0 {
        "Completed".into()
    } else {
        "Error".into()
    }
}

fn state_of(c: &ContainerInfo) -> ContainerState {
    match c.state {
        State::Running => ContainerState {
            running: Some(ContainerStateRunning {
                started_at: ns_time(c.started_at),
            }),
            ..Default::default()
        },
        State::Exited | State::Unknown => ContainerState {
            terminated: Some(ContainerStateTerminated {
                exit_code: c.exit_code,
                reason: Some(terminated_reason(c)),
                message: (!c.message.is_empty()).then(|| c.message.clone()),
                started_at: ns_time(c.started_at),
                finished_at: ns_time(c.finished_at),
                container_id: Some(container_id(c)),
                signal: None,
            }),
            ..Default::default()
        },
        State::Created => waiting("ContainerCreating", ""),
    }
}

fn waiting(reason: &str, message: &str) -> ContainerState {
    ContainerState {
        waiting: Some(ContainerStateWaiting {
            reason: Some(reason.into()),
            message: (!message.is_empty()).then(|| message.into()),
        }),
        ..Default::default()
    }
}

/// `<runtime>://<id>`; the runtime name is taken from the image ref scheme
/// the runtime reports, defaulting to the configured runtime name.
pub fn container_id(c: &ContainerInfo) -> String {
    format!("{}://{}", runtime_name(), c.id)
}

static RUNTIME_NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Set once from CRI Version (`skiff`, `containerd`).
pub fn set_runtime_name(name: &str) {
    let _ = RUNTIME_NAME.set(name.to_string());
}

fn runtime_name() -> &'static str {
    RUNTIME_NAME.get().map(String::as_str).unwrap_or("skiff")
}

fn container_status(
    spec: &Container,
    rt: &RuntimePod,
    notes: &Notes,
    default_waiting: &str,
    init: bool,
) -> ContainerStatus {
    let latest = rt.latest(&spec.name);
    let mut st = ContainerStatus {
        name: spec.name.clone(),
        image: spec.image.clone().unwrap_or_default(),
        image_id: String::new(),
        ready: false,
        restart_count: latest.map(|c| c.restart_count).unwrap_or(0),
        started: Some(false),
        state: Some(waiting(default_waiting, "")),
        ..Default::default()
    };
    if let Some(c) = latest {
        st.container_id = Some(container_id(c));
        st.image_id = c.image_ref.clone();
        st.state = Some(state_of(c));
        if c.state == State::Running {
            let started = match spec.startup_probe {
                Some(_) => notes.startup.get(&c.id).copied().unwrap_or(false),
                None => true,
            };
            st.started = Some(started);
            st.ready = started
                && match spec.readiness_probe {
                    Some(_) => notes.readiness.get(&c.id).copied().unwrap_or(false),
                    None => true,
                };
            if init {
                st.ready = false;
            }
        } else if c.state == State::Exited && init && c.exit_code == 0 {
            st.ready = true;
        }
        if let Some(prev) = rt.previous(&spec.name) {
            st.last_state = Some(state_of(prev));
        }
    }
    if let Some((reason, message)) = notes.waiting.get(&spec.name) {
        if latest.is_none_or(|c| c.state != State::Running) {
            if let Some(c) = latest.filter(|c| c.state == State::Exited) {
                st.last_state = Some(state_of(c));
            }
            st.state = Some(waiting(reason, message));
        }
    }
    st
}

fn succeeded(s: &ContainerStatus) -> bool {
    s.state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .is_some_and(|t| t.exit_code == 0)
}

fn terminated(s: &ContainerStatus) -> bool {
    s.state.as_ref().is_some_and(|s| s.terminated.is_some())
}

fn running(s: &ContainerStatus) -> bool {
    s.state.as_ref().is_some_and(|s| s.running.is_some())
}

/// Upstream's phase rules.
fn phase(pod: &Pod, init: &[ContainerStatus], main: &[ContainerStatus]) -> &'static str {
    let policy = restart_policy(pod);
    let init_failed = init.iter().any(|s| terminated(s) && !succeeded(s));
    if init_failed && policy == "Never" {
        return "Failed";
    }
    if !init.iter().all(succeeded) {
        return "Pending";
    }
    let (mut run, mut wait, mut stopped, mut ok) = (0, 0, 0, 0);
    for s in main {
        if running(s) {
            run += 1;
        } else if terminated(s) {
            stopped += 1;
            if succeeded(s) {
                ok += 1;
            }
        } else if s
            .last_state
            .as_ref()
            .and_then(|l| l.terminated.as_ref())
            .is_some()
        {
            stopped += 1;
        } else {
            wait += 1;
        }
    }
    if wait > 0 {
        "Pending"
    } else if run > 0 {
        "Running"
    } else if stopped > 0 {
        if policy == "Always" {
            "Running"
        } else if stopped == ok {
            "Succeeded"
        } else if policy == "OnFailure" {
            "Running"
        } else {
            "Failed"
        }
    } else {
        "Pending"
    }
}

/// The pod's restart policy (Always by default).
pub fn restart_policy(pod: &Pod) -> &str {
    pod.spec
        .as_ref()
        .and_then(|s| s.restart_policy.as_deref())
        .unwrap_or("Always")
}

fn condition(
    old: &Option<PodStatus>,
    type_: &str,
    ok: bool,
    reason: Option<String>,
    message: Option<String>,
    now: &Time,
) -> PodCondition {
    let status = if ok { "True" } else { "False" };
    let prev = old
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == type_));
    let last_transition = match prev {
        Some(p) if p.status == status => p.last_transition_time.clone(),
        _ => Some(now.clone()),
    };
    PodCondition {
        type_: type_.into(),
        status: status.into(),
        reason,
        message,
        last_transition_time: last_transition,
        last_probe_time: None,
        observed_generation: None,
    }
}

/// The status to report for `pod`.
pub fn compute(pod: &Pod, rt: &RuntimePod, notes: &Notes, now: DateTime<Utc>) -> PodStatus {
    let now_t = crate::time::time(now);
    let spec = pod.spec.clone().unwrap_or_default();
    let old = pod.status.clone();
    let init_specs = spec.init_containers.clone().unwrap_or_default();
    let init: Vec<ContainerStatus> = init_specs
        .iter()
        .map(|c| container_status(c, rt, notes, "PodInitializing", true))
        .collect();
    let init_done = init.iter().all(succeeded);
    let main_wait = if init_done {
        "ContainerCreating"
    } else {
        "PodInitializing"
    };
    let main: Vec<ContainerStatus> = spec
        .containers
        .iter()
        .map(|c| container_status(c, rt, notes, main_wait, false))
        .collect();
    let phase = phase(pod, &init, &main);
    let sandbox = rt.sandbox();
    let sandbox_ready = sandbox.is_some_and(|s| s.ready);
    let ips: Vec<String> = if spec.host_network == Some(true) {
        vec![notes.host_ip.clone()]
    } else {
        sandbox
            .filter(|s| s.ready)
            .map(|s| s.ips.clone())
            .unwrap_or_default()
    };
    let unready: Vec<String> = main
        .iter()
        .filter(|s| !s.ready)
        .map(|s| s.name.clone())
        .collect();
    let incomplete: Vec<String> = init
        .iter()
        .filter(|s| !succeeded(s))
        .map(|s| s.name.clone())
        .collect();
    let terminal = phase == "Succeeded" || phase == "Failed";
    let (ready_reason, ready_msg) = if terminal {
        (Some("PodCompleted".to_string()), None)
    } else if !unready.is_empty() {
        (
            Some("ContainersNotReady".to_string()),
            Some(format!(
                "containers with unready status: [{}]",
                unready.join(" ")
            )),
        )
    } else {
        (None, None)
    };
    let all_ready = unready.is_empty() && !terminal;
    let (init_reason, init_msg) = if incomplete.is_empty() {
        if terminal && !init_specs.is_empty() {
            (Some("PodCompleted".to_string()), None)
        } else {
            (None, None)
        }
    } else {
        (
            Some("ContainersNotInitialized".to_string()),
            Some(format!(
                "containers with incomplete status: [{}]",
                incomplete.join(" ")
            )),
        )
    };
    let scheduled = old
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "PodScheduled").cloned())
        .unwrap_or_else(|| condition(&old, "PodScheduled", true, None, None, &now_t));
    let conditions = vec![
        condition(
            &old,
            "PodReadyToStartContainers",
            sandbox_ready,
            None,
            None,
            &now_t,
        ),
        condition(
            &old,
            "Initialized",
            incomplete.is_empty(),
            init_reason,
            init_msg,
            &now_t,
        ),
        condition(
            &old,
            "Ready",
            all_ready,
            ready_reason.clone(),
            ready_msg.clone(),
            &now_t,
        ),
        condition(
            &old,
            "ContainersReady",
            all_ready,
            ready_reason,
            ready_msg,
            &now_t,
        ),
        scheduled,
    ];
    let start_time = old
        .as_ref()
        .and_then(|s| s.start_time.clone())
        .or(Some(now_t));
    PodStatus {
        phase: Some(phase.into()),
        conditions: Some(conditions),
        host_ip: Some(notes.host_ip.clone()),
        host_ips: Some(vec![HostIP {
            ip: notes.host_ip.clone(),
        }]),
        pod_ip: ips.first().cloned(),
        pod_ips: (!ips.is_empty()).then(|| ips.iter().map(|ip| PodIP { ip: ip.clone() }).collect()),
        start_time,
        qos_class: Some(qos_class(pod).into()),
        init_container_statuses: (!init.is_empty()).then_some(init),
        container_statuses: Some(main),
        ..Default::default()
    }
}

/// True when the status means the pod will not run again.
pub fn is_terminal(status: &PodStatus) -> bool {
    matches!(status.phase.as_deref(), Some("Succeeded") | Some("Failed"))
}
