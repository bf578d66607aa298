//! The decisions about single containers: where initialisation stands
//! (upstream's `findNextInitContainerToRun`: init containers run one at a
//! time, in order, each to success), which app containers start or stop
//! (`ShouldContainerBeRestarted`, spec hash, probe verdicts), and how each
//! start counts against the restart back-off.

use chrono::DateTime;
use k8s_openapi::api::core::v1::{Container, Pod};

use super::{restart_key, specs, Hold, Kill, KillReason, PlanInput, PodActions, Start};
use crate::pod::config::container_hash;
use crate::pod::probe::Kind;
use crate::pod::runtime::{ContainerInfo, RuntimePod, State};
use crate::pod::status::restart_policy;

/// How far initialisation got.
#[derive(Debug, PartialEq)]
pub enum InitProgress<'a> {
    /// Every init container succeeded (or an app container already runs).
    Done,
    /// An init container is running: wait for it.
    InProgress,
    /// Start init container `index`; `failed` is its newest instance when
    /// that one failed.
    Next {
        /// Index in `spec.initContainers`.
        index: usize,
        /// The failed instance, if the start is a restart after failure.
        failed: Option<&'a ContainerInfo>,
    },
}

/// An init container instance that failed: exited non-zero, killed for
/// memory, or in an unknown state.
fn failed(i: &ContainerInfo) -> bool {
    i.reason == "OOMKilled"
        || (i.state == State::Exited && i.exit_code != 0)
        || i.state == State::Unknown
}

/// Where the pod's initialisation stands, judged by the newest instance of
/// each container.
pub fn init_progress<'a>(pod: &Pod, rt: &'a RuntimePod) -> InitProgress<'a> {
    let (inits, containers) = specs(pod);
    if inits.is_empty() {
        return InitProgress::Done;
    }
    // A running app container means initialisation finished some time ago,
    // even when the init containers' instances are gone since.
    let app_running = containers.iter().any(|c| {
        rt.latest(&c.name)
            .is_some_and(|i| i.state == State::Running)
    });
    if app_running {
        return InitProgress::Done;
    }
    for (index, c) in inits.iter().enumerate().rev() {
        if let Some(i) = rt.latest(&c.name).filter(|i| failed(i)) {
            return InitProgress::Next {
                index,
                failed: Some(i),
            };
        }
    }
    for (index, c) in inits.iter().enumerate().rev() {
        match rt.latest(&c.name).map(|i| i.state) {
            Some(State::Running) => return InitProgress::InProgress,
            Some(State::Exited) if index + 1 == inits.len() => return InitProgress::Done,
            Some(State::Exited) => {
                return InitProgress::Next {
                    index: index + 1,
                    failed: None,
                }
            }
            // never started, or created but not started: look further back
            _ => continue,
        }
    }
    InitProgress::Next {
        index: 0,
        failed: None,
    }
}

/// Initialisation is not done: start the next init container (stopping
/// one in an unknown state first), or kill the pod when one failed and the
/// policy is Never. True when it is done and app containers are next.
pub(super) fn plan_init(input: &PlanInput<'_>, plan: &mut PodActions) -> bool {
    let pod = input.pod;
    let (index, failed) = match init_progress(pod, input.runtime) {
        InitProgress::Done => return true,
        InitProgress::InProgress => return false,
        InitProgress::Next { index, failed } => (index, failed),
    };
    if failed.is_some() && restart_policy(pod) == "Never" {
        plan.kill_pod = true;
        return false;
    }
    if let Some(f) = failed.filter(|f| f.state == State::Unknown) {
        plan.kill.push(Kill {
            id: f.id.clone(),
            name: f.name.clone(),
            init: true,
            reason: KillReason::Unknown,
            message: "Init container is in \"unknown\" state, try killing it before restart".into(),
        });
    }
    let (inits, _) = specs(pod);
    plan.next_init = Some(start_of(input, &inits[index], index));
    false
}

/// Initialisation is done: start what should run, stop what must not run
/// on, and kill the pod when nothing is left running or to start.
pub(super) fn plan_app_containers(input: &PlanInput<'_>, plan: &mut PodActions) {
    let (pod, rt) = (input.pod, input.runtime);
    let never = restart_policy(pod) == "Never";
    let (_, containers) = specs(pod);
    let mut keep = 0;
    for (index, c) in containers.iter().enumerate() {
        let latest = rt.latest(&c.name);
        let Some(running) = latest.filter(|i| i.state == State::Running) else {
            if should_restart(restart_policy(pod), latest) {
                plan.start.push(start_of(input, c, index));
                if let Some(i) = latest.filter(|i| i.state == State::Unknown) {
                    plan.kill.push(Kill {
                        id: i.id.clone(),
                        name: c.name.clone(),
                        init: false,
                        reason: KillReason::Unknown,
                        message: "Container is in \"unknown\" state, try killing it before restart"
                            .into(),
                    });
                }
            }
            continue;
        };
        let Some((reason, why)) = kill_reason(input, c, running) else {
            keep += 1;
            continue;
        };
        let restart = reason == KillReason::SpecChanged || !never;
        let message = if restart {
            plan.start.push(start_of(input, c, index));
            format!("{why}, will be restarted")
        } else {
            why
        };
        plan.kill.push(Kill {
            id: running.id.clone(),
            name: c.name.clone(),
            init: false,
            reason,
            message,
        });
    }
    if keep == 0 && plan.start.is_empty() {
        plan.kill_pod = true;
    }
}

/// Why a running container must be stopped, if it must.
fn kill_reason(
    input: &PlanInput<'_>,
    c: &Container,
    running: &ContainerInfo,
) -> Option<(KillReason, String)> {
    if !running.hash.is_empty() && running.hash != container_hash(c) {
        let why = format!("Container {} definition changed", c.name);
        return Some((KillReason::SpecChanged, why));
    }
    if (input.probe)(&running.id, Kind::Liveness) == Some(false) {
        let why = format!("Container {} failed liveness probe", c.name);
        return Some((KillReason::Liveness, why));
    }
    if (input.probe)(&running.id, Kind::Startup) == Some(false) {
        let why = format!("Container {} failed startup probe", c.name);
        return Some((KillReason::Startup, why));
    }
    None
}

/// Upstream's `ShouldContainerBeRestarted` for a container that is not
/// running: never started, unknown or only created always; an exited one by
/// the restart policy.
fn should_restart(policy: &str, latest: Option<&ContainerInfo>) -> bool {
    let Some(i) = latest else {
        return true;
    };
    match i.state {
        State::Running => false,
        State::Unknown | State::Created => true,
        State::Exited => match policy {
            "Never" => false,
            "OnFailure" => i.exit_code != 0,
            _ => true,
        },
    }
}

/// The newest instance exited with 0.
pub(super) fn succeeded(latest: Option<&ContainerInfo>) -> bool {
    latest.is_some_and(|i| i.state == State::Exited && i.exit_code == 0)
}

/// How container `c` (at `index`) starts: its restart count, the created
/// instance it replaces, and whether the back-off holds it.
pub(super) fn start_of(input: &PlanInput<'_>, c: &Container, index: usize) -> Start {
    let rt = input.runtime;
    let (restart_count, replaces) = match rt.latest(&c.name) {
        // a created, never started instance is replaced without counting a restart
        Some(i) if i.state == State::Created => (i.restart_count, Some(i.id.clone())),
        Some(i) => (i.restart_count + 1, None),
        None => (0, None),
    };
    let last_exit = rt
        .containers
        .iter()
        .find(|i| i.name == c.name && i.state == State::Exited)
        .map(|i| match i.finished_at {
            0 => input.now,
            ns => DateTime::from_timestamp_nanos(ns),
        });
    let hold = last_exit.and_then(|at| {
        let key = restart_key(input.pod, c);
        let (delay, until) = input.backoff.in_backoff(&key, at, input.now)?;
        Some(Hold { delay, until })
    });
    Start {
        index,
        name: c.name.clone(),
        restart_count,
        replaces,
        last_exit,
        hold,
    }
}
