//! Container statuses as upstream reports them: state (waiting, running,
//! terminated) from the newest instance, lastState from the one before,
//! readiness and started from the probe verdicts, and the worker's waiting
//! reasons.

use chrono::DateTime;
use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateRunning, ContainerStateTerminated,
    ContainerStateWaiting, ContainerStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::Notes;
use crate::pod::runtime::{ContainerInfo, RuntimePod, State};

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

/// The status of container `spec`; `default_waiting` when it has no instance.
pub fn container_status(
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

/// Terminated with exit code 0.
pub fn succeeded(s: &ContainerStatus) -> bool {
    s.state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .is_some_and(|t| t.exit_code == 0)
}

/// Terminated.
pub fn terminated(s: &ContainerStatus) -> bool {
    s.state.as_ref().is_some_and(|s| s.terminated.is_some())
}

/// Running.
pub fn running(s: &ContainerStatus) -> bool {
    s.state.as_ref().is_some_and(|s| s.running.is_some())
}
