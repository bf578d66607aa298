//! Computing a pod's status (phase, conditions, container statuses) from its
//! spec, the runtime's view and the worker's own notes, as upstream does.

mod containers;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::{ContainerStatus, HostIP, Pod, PodCondition, PodIP, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::resources::qos_class;
use super::runtime::RuntimePod;
pub use containers::set_runtime_name;
use containers::{container_status, running, succeeded, terminated};

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
    let main_wait = if init.iter().all(succeeded) {
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
    let terminal = phase == "Succeeded" || phase == "Failed";
    let sandbox_ready = rt.sandbox().is_some_and(|s| s.ready);
    let conditions = Conditions {
        old: &old,
        now: &now_t,
        terminal,
        has_init: !init_specs.is_empty(),
    }
    .all(sandbox_ready, &init, &main);
    let ips = pod_ips(spec.host_network == Some(true), rt, notes);
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

/// The pod's IPs: the node's for a host-network pod, else the ready sandbox's.
fn pod_ips(host_network: bool, rt: &RuntimePod, notes: &Notes) -> Vec<String> {
    if host_network {
        return vec![notes.host_ip.clone()];
    }
    rt.sandbox()
        .filter(|s| s.ready)
        .map(|s| s.ips.clone())
        .unwrap_or_default()
}

/// What the pod conditions are computed with.
struct Conditions<'a> {
    old: &'a Option<PodStatus>,
    now: &'a Time,
    terminal: bool,
    has_init: bool,
}

impl Conditions<'_> {
    /// PodReadyToStartContainers, Initialized, Ready, ContainersReady and
    /// PodScheduled (kept as the scheduler wrote it).
    fn all(
        &self,
        sandbox_ready: bool,
        init: &[ContainerStatus],
        main: &[ContainerStatus],
    ) -> Vec<PodCondition> {
        let (old, now) = (self.old, self.now);
        let unready: Vec<&str> = main
            .iter()
            .filter(|s| !s.ready)
            .map(|s| s.name.as_str())
            .collect();
        let incomplete: Vec<&str> = init
            .iter()
            .filter(|s| !succeeded(s))
            .map(|s| s.name.as_str())
            .collect();
        let (ready_reason, ready_msg) = self.ready_reason(&unready);
        let (init_reason, init_msg) = self.init_reason(&incomplete);
        let all_ready = unready.is_empty() && !self.terminal;
        let scheduled = old
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.type_ == "PodScheduled").cloned())
            .unwrap_or_else(|| condition(old, "PodScheduled", true, None, None, now));
        vec![
            condition(
                old,
                "PodReadyToStartContainers",
                sandbox_ready,
                None,
                None,
                now,
            ),
            condition(
                old,
                "Initialized",
                incomplete.is_empty(),
                init_reason,
                init_msg,
                now,
            ),
            condition(
                old,
                "Ready",
                all_ready,
                ready_reason.clone(),
                ready_msg.clone(),
                now,
            ),
            condition(
                old,
                "ContainersReady",
                all_ready,
                ready_reason,
                ready_msg,
                now,
            ),
            scheduled,
        ]
    }

    /// Reason and message of Ready and ContainersReady.
    fn ready_reason(&self, unready: &[&str]) -> (Option<String>, Option<String>) {
        if self.terminal {
            (Some("PodCompleted".to_string()), None)
        } else if !unready.is_empty() {
            let msg = format!("containers with unready status: [{}]", unready.join(" "));
            (Some("ContainersNotReady".to_string()), Some(msg))
        } else {
            (None, None)
        }
    }

    /// Reason and message of Initialized.
    fn init_reason(&self, incomplete: &[&str]) -> (Option<String>, Option<String>) {
        if !incomplete.is_empty() {
            let msg = format!(
                "containers with incomplete status: [{}]",
                incomplete.join(" ")
            );
            (Some("ContainersNotInitialized".to_string()), Some(msg))
        } else if self.terminal && self.has_init {
            (Some("PodCompleted".to_string()), None)
        } else {
            (None, None)
        }
    }
}

/// True when the status means the pod will not run again.
pub fn is_terminal(status: &PodStatus) -> bool {
    matches!(status.phase.as_deref(), Some("Succeeded") | Some("Failed"))
}
