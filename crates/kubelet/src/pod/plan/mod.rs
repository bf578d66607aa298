//! The decision half of a sync pass, upstream's `computePodActions`: from the
//! pod spec and one snapshot of the runtime (sandboxes, container instances
//! with their states, exit codes, restart counts and spec hashes), the probe
//! verdicts and the restart back-off, the actions that bring the runtime in
//! line with the spec. Pure: no I/O and no clock of its own; the worker
//! executes what it returns.

mod containers;

#[cfg(test)]
mod tests;

use chrono::{DateTime, Duration, Utc};
use k8s_openapi::api::core::v1::{Container, Pod};

use super::backoff::BackOff;
use super::config::container_hash;
use super::probe::Kind;
use super::runtime::RuntimePod;
use super::status::restart_policy;
use containers::{
    init_progress, plan_app_containers, plan_init, start_of, succeeded, InitProgress,
};

/// What a plan is computed from.
pub struct PlanInput<'a> {
    /// The pod as the API has it.
    pub pod: &'a Pod,
    /// One snapshot of the pod's sandboxes and containers.
    pub runtime: &'a RuntimePod,
    /// The decided verdict of a probe of a container instance, by runtime id.
    pub probe: &'a dyn Fn(&str, Kind) -> Option<bool>,
    /// Container restart back-off.
    pub backoff: &'a BackOff,
    /// The time back-off is measured against.
    pub now: DateTime<Utc>,
    /// The pod reached Succeeded or Failed, or is gone from the API: nothing
    /// may start again.
    pub finished: bool,
}

/// What one sync pass does to the runtime (upstream's `podActions`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PodActions {
    /// Stop every container and the sandbox of the pod.
    pub kill_pod: bool,
    /// Create a new sandbox (after killing the pod).
    pub create_sandbox: bool,
    /// The newest sandbox: where containers start, or the one replaced.
    pub sandbox_id: Option<String>,
    /// Attempt number of the sandbox containers start in.
    pub attempt: u32,
    /// Single containers to stop (when the whole pod is not killed).
    pub kill: Vec<Kill>,
    /// Container instances to remove before anything starts (the init
    /// containers of a sandbox being replaced).
    pub remove: Vec<String>,
    /// The init container to start next.
    pub next_init: Option<Start>,
    /// App containers to start, in spec order.
    pub start: Vec<Start>,
}

/// One container instance to stop, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Kill {
    /// Runtime id of the instance.
    pub id: String,
    /// Container name.
    pub name: String,
    /// Whether it is an init container.
    pub init: bool,
    /// Why it is stopped.
    pub reason: KillReason,
    /// The `Killing` event's message.
    pub message: String,
}

/// Why a single container is stopped (upstream's `containerKillReason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KillReason {
    /// Its spec no longer matches the hash it was created from.
    SpecChanged,
    /// Its liveness probe failed.
    Liveness,
    /// Its startup probe failed.
    Startup,
    /// The runtime does not know its state.
    Unknown,
}

/// One container to start.
#[derive(Clone, Debug, PartialEq)]
pub struct Start {
    /// Index in `spec.initContainers` (for `next_init`) or `spec.containers`.
    pub index: usize,
    /// Container name.
    pub name: String,
    /// Restart count of the new instance.
    pub restart_count: i32,
    /// A created but never started instance the new one replaces.
    pub replaces: Option<String>,
    /// When the newest exited instance finished (the start is then a restart
    /// that counts in the back-off).
    pub last_exit: Option<DateTime<Utc>>,
    /// Set when the back-off holds the restart back.
    pub hold: Option<Hold>,
}

/// A restart held back by the back-off.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hold {
    /// The current back-off delay.
    pub delay: Duration,
    /// When the restart may happen.
    pub until: DateTime<Utc>,
}

/// The back-off key of a container (upstream's stable key: a changed spec
/// starts a fresh back-off).
pub fn restart_key(pod: &Pod, c: &Container) -> String {
    let uid = pod.metadata.uid.as_deref().unwrap_or_default();
    BackOff::key(uid, &format!("{}_{}", c.name, container_hash(c)))
}

/// Compute the actions of one sync pass.
pub fn compute(input: &PlanInput<'_>) -> PodActions {
    let pod = input.pod;
    let (create, attempt, sandbox_id) = sandbox_changed(pod, input.runtime);
    let mut plan = PodActions {
        kill_pod: create,
        create_sandbox: create,
        sandbox_id,
        attempt,
        ..Default::default()
    };
    if input.finished || pod.metadata.deletion_timestamp.is_some() {
        plan.kill_pod = true;
        plan.create_sandbox = false;
        return plan;
    }
    if plan.create_sandbox {
        plan_new_sandbox(input, &mut plan);
        return plan;
    }
    if plan_init(input, &mut plan) {
        plan_app_containers(input, &mut plan);
    }
    plan
}

/// The pod's init and app container specs.
fn specs(pod: &Pod) -> (&[Container], &[Container]) {
    match pod.spec.as_ref() {
        Some(s) => (
            s.init_containers.as_deref().unwrap_or_default(),
            &s.containers,
        ),
        None => (&[], &[]),
    }
}

/// Whether the pod needs a new sandbox, the attempt number of the sandbox
/// its containers run in, and the newest sandbox's id (upstream's
/// `PodSandboxChanged`): none yet, the newest not ready, more than one
/// ready, or a pod-network sandbox without an IP.
fn sandbox_changed(pod: &Pod, rt: &RuntimePod) -> (bool, u32, Option<String>) {
    let Some(newest) = rt.sandbox() else {
        return (true, 0, None);
    };
    let max_attempt = rt.sandboxes.iter().map(|s| s.attempt).max().unwrap_or(0);
    let ready = rt.sandboxes.iter().filter(|s| s.ready).count();
    let host_network = pod.spec.as_ref().and_then(|s| s.host_network) == Some(true);
    let changed = ready > 1 || !newest.ready || (!host_network && newest.no_ip);
    let attempt = if changed {
        max_attempt + 1
    } else {
        max_attempt
    };
    (changed, attempt, Some(newest.id.clone()))
}

/// The sandbox has to be (re)created: everything restarts from the first
/// init container, except what must not run again.
fn plan_new_sandbox(input: &PlanInput<'_>, plan: &mut PodActions) {
    let (pod, rt) = (input.pod, input.runtime);
    let policy = restart_policy(pod);
    if policy == "Never" && plan.attempt != 0 && !rt.containers.is_empty() {
        // it ran before and must not run again: only stop what is left
        plan.create_sandbox = false;
        return;
    }
    let (inits, containers) = specs(pod);
    let to_start: Vec<usize> = containers
        .iter()
        .enumerate()
        .filter(|(_, c)| !(policy == "OnFailure" && succeeded(rt.latest(&c.name))))
        .map(|(i, _)| i)
        .collect();
    if to_start.is_empty() && init_progress(pod, rt) == InitProgress::Done {
        plan.create_sandbox = false;
        return;
    }
    plan.remove = rt
        .containers
        .iter()
        .filter(|i| inits.iter().any(|c| c.name == i.name))
        .map(|i| i.id.clone())
        .collect();
    if let Some(first) = inits.first() {
        let mut start = start_of(input, first, 0);
        start.replaces = None;
        plan.next_init = Some(start);
        return;
    }
    plan.start = to_start
        .into_iter()
        .map(|i| start_of(input, &containers[i], i))
        .collect();
}
