//! Liveness, readiness and startup probes: one task per probe of a running
//! container, honouring initialDelay/period/timeout/success/failure
//! thresholds, recording results and Unhealthy events, and waking the worker.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Pod, Probe};
use tokio::sync::mpsc;

use super::handlers;
use crate::cri::Cri;
use skiff_client::events::{container_path, pod_ref, EventRecord, EventSink, WARNING};

/// Which probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// livenessProbe.
    Liveness,
    /// readinessProbe.
    Readiness,
    /// startupProbe.
    Startup,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Liveness => "Liveness",
            Kind::Readiness => "Readiness",
            Kind::Startup => "Startup",
        }
    }
}

/// Latest probe results by (container id, kind).
#[derive(Clone, Default)]
pub struct Results(Arc<Mutex<HashMap<(String, Kind), bool>>>);

impl Results {
    /// The result, if the probe has decided.
    pub fn get(&self, id: &str, kind: Kind) -> Option<bool> {
        self.0.lock().ok()?.get(&(id.to_string(), kind)).copied()
    }

    fn set(&self, id: &str, kind: Kind, ok: bool) -> bool {
        match self.0.lock() {
            Ok(mut m) => m.insert((id.to_string(), kind), ok) != Some(ok),
            Err(_) => false,
        }
    }

    /// Forget a container.
    pub fn remove(&self, id: &str) {
        if let Ok(mut m) = self.0.lock() {
            m.retain(|(cid, _), _| cid != id);
        }
    }
}

/// Everything a probe task needs.
pub struct ProbeTask {
    /// The pod (for events).
    pub pod: Arc<Pod>,
    /// The container spec.
    pub container: Container,
    /// Whether it is an init (sidecar) container.
    pub init: bool,
    /// Runtime id of the instance.
    pub container_id: String,
    /// Pod IP.
    pub pod_ip: String,
    /// Which probe.
    pub kind: Kind,
    /// Its spec.
    pub probe: Probe,
}

async fn run_once(cri: &dyn Cri, t: &ProbeTask, timeout: Duration) -> Result<(), String> {
    let named: Vec<(String, i32)> = t
        .container
        .ports
        .iter()
        .flatten()
        .filter_map(|p| p.name.clone().map(|n| (n, p.container_port)))
        .collect();
    let p = &t.probe;
    if let Some(a) = &p.exec {
        handlers::exec(cri, &t.container_id, a, timeout).await
    } else if let Some(a) = &p.http_get {
        handlers::http_get(a, &t.pod_ip, &named, timeout).await
    } else if let Some(a) = &p.tcp_socket {
        handlers::tcp(a, &t.pod_ip, &named, timeout).await
    } else if let Some(a) = &p.grpc {
        handlers::grpc(a, &t.pod_ip, timeout).await
    } else {
        Ok(())
    }
}

/// Run one probe until the task is aborted. `startup_done` gates liveness
/// and readiness behind the startup probe.
pub async fn run(
    t: ProbeTask,
    cri: Arc<dyn Cri>,
    results: Results,
    events: Arc<dyn EventSink>,
    kick: mpsc::Sender<()>,
    gated_by_startup: bool,
) {
    let p = t.probe.clone();
    let period = Duration::from_secs(p.period_seconds.unwrap_or(10).max(1) as u64);
    let timeout = Duration::from_secs(p.timeout_seconds.unwrap_or(1).max(1) as u64);
    let success_threshold = p.success_threshold.unwrap_or(1).max(1);
    let failure_threshold = p.failure_threshold.unwrap_or(3).max(1);
    tokio::time::sleep(Duration::from_secs(
        p.initial_delay_seconds.unwrap_or(0).max(0) as u64,
    ))
    .await;
    let (mut ok_run, mut fail_run) = (0, 0);
    loop {
        if gated_by_startup && results.get(&t.container_id, Kind::Startup) != Some(true) {
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        }
        if t.kind == Kind::Startup && results.get(&t.container_id, Kind::Startup) == Some(true) {
            return;
        }
        match run_once(cri.as_ref(), &t, timeout).await {
            Ok(()) => {
                ok_run += 1;
                fail_run = 0;
                if ok_run >= success_threshold && results.set(&t.container_id, t.kind, true) {
                    let _ = kick.try_send(());
                }
            }
            Err(msg) => {
                fail_run += 1;
                ok_run = 0;
                events.record(EventRecord {
                    object: pod_ref(&t.pod, Some(container_path(t.init, &t.container.name))),
                    type_: WARNING.into(),
                    reason: "Unhealthy".into(),
                    message: format!("{} probe failed: {}", t.kind.label(), msg.trim_end()),
                });
                if fail_run >= failure_threshold && results.set(&t.container_id, t.kind, false) {
                    let _ = kick.try_send(());
                }
                if fail_run >= failure_threshold && t.kind != Kind::Readiness {
                    // the worker kills the container; stop probing this instance
                    let _ = kick.try_send(());
                    return;
                }
            }
        }
        tokio::time::sleep(period).await;
    }
}
