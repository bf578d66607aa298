//! The pod printer: READY, STATUS (init progress, waiting reasons, Terminating, Completed …), RESTARTS with last restart age.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::duration::{parse_time, since};
use super::{col, Column, AGE, NAME};
use crate::json::{arr_at, at, i64_at, str_at};

pub(super) fn columns() -> Vec<Column> {
    vec![
        NAME,
        col("Ready", "string", "The aggregate readiness state of this pod for accepting traffic.", 0),
        col("Status", "string", "The aggregate status of the containers in this pod.", 0),
        col("Restarts", "string", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.", 0),
        AGE,
        col("IP", "string", "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.", 1),
        col("Node", "string", "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for this node becomes responsible for the lifecycle of this pod. This field should not be used to express a desire for the pod to be scheduled on a specific node. https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename", 1),
        col("Nominated Node", "string", "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.", 1),
        col("Readiness Gates", "string", "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to \"True\" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates", 1),
    ]
}

/// Latest `lastState.terminated.finishedAt` tracker.
#[derive(Default)]
struct LastRestart(Option<DateTime<Utc>>);

impl LastRestart {
    fn observe(&mut self, status: &Value) {
        let Some(t) = at(status, &["lastState", "terminated", "finishedAt"])
            .and_then(Value::as_str)
            .and_then(parse_time)
        else {
            return;
        };
        if self.0.is_none_or(|cur| cur < t) {
            self.0 = Some(t);
        }
    }
}

fn is_restartable_init(spec_init: &[Value], name: &str) -> bool {
    spec_init
        .iter()
        .find(|c| str_at(c, &["name"]) == name)
        .is_some_and(|c| str_at(c, &["restartPolicy"]) == "Always")
}

fn condition_true(conds: &[Value], ty: &str) -> bool {
    conds
        .iter()
        .any(|c| str_at(c, &["type"]) == ty && str_at(c, &["status"]) == "True")
}

fn terminated_reason(term: &Value, prefix: &str) -> String {
    let reason = str_at(term, &["reason"]);
    if !reason.is_empty() {
        return format!("{prefix}{reason}");
    }
    let signal = i64_at(term, &["signal"]);
    if signal != 0 {
        format!("{prefix}Signal:{signal}")
    } else {
        format!("{prefix}ExitCode:{}", i64_at(term, &["exitCode"]))
    }
}

/// STATUS before the containers are looked at: the pod's reason, else its phase, or
/// SchedulingGated.
fn initial_reason(pod: &Value, conditions: &[Value]) -> String {
    let gated = conditions.iter().any(|c| {
        str_at(c, &["type"]) == "PodScheduled" && str_at(c, &["reason"]) == "SchedulingGated"
    });
    let status_reason = str_at(pod, &["status", "reason"]);
    if gated {
        "SchedulingGated".to_string()
    } else if status_reason.is_empty() {
        str_at(pod, &["status", "phase"]).to_string()
    } else {
        status_reason.to_string()
    }
}

/// What the printer accumulates over the container statuses (upstream's `printPod`).
struct Progress {
    ready: usize,
    restarts: i64,
    last: LastRestart,
    /// Restarts and last restart of sidecars only: they carry over to the app containers.
    restartable_restarts: i64,
    last_restartable: LastRestart,
    reason: String,
}

impl Progress {
    fn new(reason: String) -> Self {
        Progress {
            ready: 0,
            restarts: 0,
            last: LastRestart::default(),
            restartable_restarts: 0,
            last_restartable: LastRestart::default(),
            reason,
        }
    }

    /// Walks the init container statuses; true (with `Init:…` as the reason) when one of
    /// them is still in the way.
    fn init_containers(&mut self, pod: &Value, spec_init: &[Value]) -> bool {
        let statuses = arr_at(pod, &["status", "initContainerStatuses"]);
        for (i, cs) in statuses.iter().enumerate() {
            let restartable = is_restartable_init(spec_init, str_at(cs, &["name"]));
            self.restarts += i64_at(cs, &["restartCount"]);
            self.last.observe(cs);
            if restartable {
                self.restartable_restarts += i64_at(cs, &["restartCount"]);
                self.last_restartable.observe(cs);
            }
            let terminated = at(cs, &["state", "terminated"]).filter(|v| v.is_object());
            let waiting_reason = str_at(cs, &["state", "waiting", "reason"]);
            if terminated.is_some_and(|t| i64_at(t, &["exitCode"]) == 0) {
                continue;
            }
            if restartable && at(cs, &["started"]).and_then(Value::as_bool) == Some(true) {
                if at(cs, &["ready"]).and_then(Value::as_bool) == Some(true) {
                    self.ready += 1;
                }
                continue;
            }
            self.reason = if let Some(t) = terminated {
                terminated_reason(t, "Init:")
            } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
                format!("Init:{waiting_reason}")
            } else {
                format!("Init:{}/{}", i, spec_init.len())
            };
            return true;
        }
        false
    }

    /// Walks the app container statuses from the last; restarts count from the sidecars'.
    fn app_containers(&mut self, pod: &Value, conditions: &[Value]) {
        self.restarts = self.restartable_restarts;
        self.last = std::mem::take(&mut self.last_restartable);
        let mut has_running = false;
        for cs in arr_at(pod, &["status", "containerStatuses"]).iter().rev() {
            self.restarts += i64_at(cs, &["restartCount"]);
            self.last.observe(cs);
            let waiting = str_at(cs, &["state", "waiting", "reason"]);
            let terminated = at(cs, &["state", "terminated"]).filter(|v| v.is_object());
            if !waiting.is_empty() {
                self.reason = waiting.to_string();
            } else if let Some(t) = terminated {
                self.reason = terminated_reason(t, "");
            } else if at(cs, &["ready"]).and_then(Value::as_bool) == Some(true)
                && at(cs, &["state", "running"]).is_some_and(Value::is_object)
            {
                has_running = true;
                self.ready += 1;
            }
        }
        if self.reason == "Completed" && has_running {
            self.reason = if condition_true(conditions, "Ready") {
                "Running".to_string()
            } else {
                "NotReady".to_string()
            };
        }
    }

    /// RESTARTS: the count, with the age of the last restart when there was one.
    fn restarts_text(&self, now: DateTime<Utc>) -> String {
        match self.last.0 {
            Some(t) if self.restarts != 0 => {
                format!(
                    "{} ({} ago)",
                    self.restarts,
                    since(Some(&t.to_rfc3339()), now)
                )
            }
            _ => self.restarts.to_string(),
        }
    }
}

/// STATUS of a pod being deleted, which overrides the containers' story.
fn deleting_reason(pod: &Value) -> Option<&'static str> {
    let deleting = at(pod, &["metadata", "deletionTimestamp"]).is_some_and(|v| !v.is_null());
    let phase = str_at(pod, &["status", "phase"]);
    if !deleting {
        None
    } else if str_at(pod, &["status", "reason"]) == "NodeLost" {
        Some("Unknown")
    } else if phase != "Succeeded" && phase != "Failed" {
        Some("Terminating")
    } else {
        None
    }
}

/// The first of `status.podIPs`, else `status.podIP`.
fn pod_ip(pod: &Value) -> String {
    arr_at(pod, &["status", "podIPs"])
        .first()
        .map(|p| str_at(p, &["ip"]))
        .filter(|ip| !ip.is_empty())
        .unwrap_or_else(|| str_at(pod, &["status", "podIP"]))
        .to_string()
}

/// READINESS GATES: satisfied/total, or `<none>`.
fn readiness_gates(pod: &Value, conditions: &[Value]) -> String {
    let gates = arr_at(pod, &["spec", "readinessGates"]);
    if gates.is_empty() {
        return "<none>".to_string();
    }
    let ok = gates
        .iter()
        .filter(|g| {
            let ty = str_at(g, &["conditionType"]);
            conditions
                .iter()
                .find(|c| str_at(c, &["type"]) == ty)
                .is_some_and(|c| str_at(c, &["status"]) == "True")
        })
        .count();
    format!("{ok}/{}", gates.len())
}

pub(super) fn cells(pod: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let spec_init = arr_at(pod, &["spec", "initContainers"]);
    let conditions = arr_at(pod, &["status", "conditions"]);
    let sidecars = spec_init
        .iter()
        .filter(|c| str_at(c, &["restartPolicy"]) == "Always")
        .count();
    let total = arr_at(pod, &["spec", "containers"]).len() + sidecars;
    let mut progress = Progress::new(initial_reason(pod, conditions));
    let initializing = progress.init_containers(pod, spec_init);
    if !initializing || condition_true(conditions, "Initialized") {
        progress.app_containers(pod, conditions);
    }
    let reason = match deleting_reason(pod) {
        Some(r) => r.to_string(),
        None => progress.reason.clone(),
    };
    let or_none = |s: &str| {
        if s.is_empty() {
            "<none>".to_string()
        } else {
            s.to_string()
        }
    };
    vec![
        json!(str_at(pod, &["metadata", "name"])),
        json!(format!("{}/{total}", progress.ready)),
        json!(reason),
        json!(progress.restarts_text(now)),
        json!(super::age(pod, now)),
        json!(or_none(&pod_ip(pod))),
        json!(or_none(str_at(pod, &["spec", "nodeName"]))),
        json!(or_none(str_at(pod, &["status", "nominatedNodeName"]))),
        json!(readiness_gates(pod, conditions)),
    ]
}
