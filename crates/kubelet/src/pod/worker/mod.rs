//! The per-pod worker. One sync pass reads the pod's runtime state once,
//! computes the plan (`super::plan`, upstream's `computePodActions`),
//! executes it (`execute`), and reports the status; deletion tears the pod
//! down gracefully and deletes the object.

mod execute;
mod image;
mod probes;
mod start;
mod stop;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::{Container, Pod, PodStatus};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::config::ids;
use super::plan::{self, PlanInput, PodActions};
use super::probe::{Kind, Results};
use super::runtime::{fetch, from_lists, RuntimePod, Signature};
use super::status::{compute, is_terminal};
use super::volumes::{self, Prepared};
use super::Shared;
use skiff_client::events::{container_path, pod_ref, EventRecord};

/// One pod's worker state.
pub struct Worker {
    shared: Arc<Shared>,
    waiting: HashMap<String, (String, String)>,
    pull_failed: HashMap<String, (DateTime<Utc>, String)>,
    last_status: Option<PodStatus>,
    last_patch: Option<Instant>,
    probes: HashMap<(String, Kind), JoinHandle<()>>,
    volumes: Option<(Instant, BTreeMap<String, Prepared>)>,
    wake_at: Option<Instant>,
    kick_tx: mpsc::Sender<()>,
    /// Runtime signature at the end of the last complete sync, and when.
    synced: Option<(Signature, Instant)>,
    /// Set by every call that changes the runtime, so a pass that changed
    /// nothing does not read the runtime again.
    acted: AtomicBool,
    /// When the last pass that changed the runtime ended.
    last_acted: Option<Instant>,
}

/// Longest time a pod goes without a full sync when nothing changes
/// (upstream's `--sync-frequency` default).
const FULL_RESYNC: Duration = Duration::from_secs(60);

impl Worker {
    /// A worker for one pod; `kick_tx` wakes it.
    pub fn new(shared: Arc<Shared>, kick_tx: mpsc::Sender<()>) -> Self {
        Worker {
            shared,
            waiting: HashMap::new(),
            pull_failed: HashMap::new(),
            last_status: None,
            last_patch: None,
            probes: HashMap::new(),
            volumes: None,
            wake_at: None,
            kick_tx,
            synced: None,
            acted: AtomicBool::new(false),
            last_acted: None,
        }
    }

    /// Run until the pod is gone.
    pub async fn run(
        mut self,
        mut pod_rx: watch::Receiver<Option<Arc<Pod>>>,
        mut kick: mpsc::Receiver<()>,
    ) {
        let mut last_pod: Option<Arc<Pod>> = None;
        // The first pass, pod updates, kicks and requested wake-ups always sync;
        // a plain periodic wake-up syncs only when the runtime changed or the
        // last full sync is older than FULL_RESYNC.
        let mut periodic = false;
        loop {
            let Some(pod) = pod_rx.borrow_and_update().clone() else {
                break;
            };
            let same_pod = last_pod.as_ref().is_some_and(|p| Arc::ptr_eq(p, &pod));
            last_pod = Some(pod.clone());
            if !(periodic && same_pod && self.idle(&pod)) {
                self.wake_at = None;
                if self.sync(&pod).await {
                    last_pod = None;
                    break;
                }
            }
            let period = self.shared.cfg.sync_period.max(Duration::from_secs(1));
            let until = self
                .wake_at
                .map(|w| w.saturating_duration_since(Instant::now()))
                .unwrap_or(period)
                .min(period);
            periodic = false;
            tokio::select! {
                // an error means the manager dropped us: as if the pod were gone
                r = pod_rx.changed() => if r.is_err() { break },
                _ = kick.recv() => {}
                _ = tokio::time::sleep(until) => {
                    periodic = self.wake_at.is_none_or(|w| w > Instant::now());
                }
            }
        }
        if let Some(pod) = last_pod {
            // gone from the API without a graceful deletion: stop at once
            self.teardown(&pod).await;
        }
        self.abort_probes();
    }

    /// True when nothing changed since the last sync: the relist shows the
    /// same sandboxes and containers in the same states, and a full sync ran
    /// less than FULL_RESYNC ago.
    fn idle(&self, pod: &Pod) -> bool {
        let Some((sig, at)) = &self.synced else {
            return false;
        };
        if at.elapsed() >= FULL_RESYNC {
            return false;
        }
        let (_, _, uid) = ids(pod);
        self.shared.relist.get(&uid).as_ref() == Some(sig)
    }

    fn event(
        &self,
        pod: &Pod,
        c: Option<(&Container, bool)>,
        type_: &str,
        reason: &str,
        message: String,
    ) {
        let path = c.map(|(c, init)| container_path(init, &c.name));
        self.shared.events.record(EventRecord {
            object: pod_ref(pod, path),
            type_: type_.into(),
            reason: reason.into(),
            message,
        });
    }

    fn wake_in(&mut self, d: Duration) {
        let at = Instant::now() + d;
        self.wake_at = Some(self.wake_at.map_or(at, |w| w.min(at)));
    }

    /// Note a call that changes the runtime.
    fn touched(&self) {
        self.acted.store(true, Ordering::Relaxed);
    }

    fn abort_probes(&mut self) {
        for (_, h) in self.probes.drain() {
            h.abort();
        }
    }

    /// One sync pass; returns true when the pod is finished with for good.
    pub async fn sync(&mut self, pod: &Arc<Pod>) -> bool {
        self.synced = None;
        if pod.metadata.deletion_timestamp.is_some() {
            self.terminate(pod).await;
            return true;
        }
        let Some(rt) = self.read_runtime(pod).await else {
            self.wake_in(Duration::from_secs(2));
            return false;
        };
        let finished = self.last_status.as_ref().is_some_and(is_terminal);
        let actions = self.plan(pod, &rt, finished);
        let rt = self.apply(pod, rt, &actions, None).await;
        self.update_probes(pod, &rt);
        let status = compute(pod, &rt, &self.notes(&rt), Utc::now());
        self.report(pod, status).await;
        self.synced = Some((rt.signature(), Instant::now()));
        false
    }

    /// The one read of the pod's runtime state a pass makes: the relist's
    /// lists when taken after our last change (sparing the list calls), else
    /// a fresh listing.
    async fn read_runtime(&self, pod: &Pod) -> Option<RuntimePod> {
        let (_, _, uid) = ids(pod);
        let read = match self.shared.relist.lists_since(&uid, self.last_acted) {
            Some(lists) => from_lists(self.shared.cri.as_ref(), lists).await,
            None => fetch(self.shared.cri.as_ref(), &uid).await,
        };
        match read {
            Ok(rt) => Some(rt),
            Err(e) => {
                tracing::warn!(error = %e, pod = ?pod.metadata.name, "runtime unavailable");
                None
            }
        }
    }

    /// The plan for this pass, from the snapshot `rt`.
    fn plan(&self, pod: &Pod, rt: &RuntimePod, finished: bool) -> PodActions {
        let probes = &self.shared.probes;
        let actions = plan::compute(&PlanInput {
            pod,
            runtime: rt,
            probe: &|id, kind| probes.get(id, kind),
            backoff: &self.shared.backoff,
            now: Utc::now(),
            finished,
        });
        tracing::debug!(pod = ?pod.metadata.name, ?actions, "pod actions");
        actions
    }

    /// Execute `actions` and return the runtime state to report: `rt` when
    /// nothing changed, else what the runtime holds now.
    async fn apply(
        &mut self,
        pod: &Arc<Pod>,
        rt: RuntimePod,
        actions: &PodActions,
        grace_override: Option<i64>,
    ) -> RuntimePod {
        self.acted.store(false, Ordering::Relaxed);
        if let Err(retry) = self.execute(pod, &rt, actions, grace_override).await {
            self.wake_in(retry);
        }
        if !self.acted.swap(false, Ordering::Relaxed) {
            return rt;
        }
        self.last_acted = Some(Instant::now());
        let (_, _, uid) = ids(pod);
        fetch(self.shared.cri.as_ref(), &uid).await.unwrap_or(rt)
    }

    async fn report(&mut self, pod: &Pod, status: PodStatus) {
        let stale = self
            .last_patch
            .is_none_or(|t| t.elapsed() > Duration::from_secs(300));
        if self.last_status.as_ref() == Some(&status) && !stale {
            return;
        }
        let (name, ns, _) = ids(pod);
        match self.shared.api.patch_status(&ns, &name, &status).await {
            Ok(()) => {
                self.last_status = Some(status);
                self.last_patch = Some(Instant::now());
            }
            Err(e) => {
                tracing::warn!(error = %e, pod = %name, "status update failed");
                self.wake_in(Duration::from_secs(1));
            }
        }
    }

    /// Graceful deletion: the plan kills the pod (preStop, stop with the
    /// remaining grace), then the final status, cleanup, and the pod object
    /// is deleted (grace 0, uid precondition).
    async fn terminate(&mut self, pod: &Arc<Pod>) {
        self.abort_probes();
        let (name, ns, uid) = ids(pod);
        if let Some(rt) = self.read_runtime(pod).await {
            let actions = self.plan(pod, &rt, true);
            let rt = self.apply(pod, rt, &actions, None).await;
            let status = compute(pod, &rt, &self.notes(&rt), Utc::now());
            self.report(pod, status).await;
            self.cleanup(pod, Some(&rt)).await;
        } else {
            self.cleanup(pod, None).await;
        }
        if let Err(e) = self.shared.api.delete_pod(&ns, &name, &uid).await {
            tracing::warn!(error = %e, pod = %name, "could not delete pod object");
        }
    }

    /// The pod is gone from the API: kill it at once and clean up.
    async fn teardown(&mut self, pod: &Arc<Pod>) {
        self.abort_probes();
        match self.read_runtime(pod).await {
            Some(rt) => {
                let actions = self.plan(pod, &rt, true);
                let rt = self.apply(pod, rt, &actions, Some(0)).await;
                self.cleanup(pod, Some(&rt)).await;
            }
            None => self.cleanup(pod, None).await,
        }
    }

    /// Remove every container and sandbox of `rt`, the volumes and the back-off.
    async fn cleanup(&mut self, pod: &Pod, rt: Option<&RuntimePod>) {
        let (_, _, uid) = ids(pod);
        self.abort_probes();
        for c in rt.iter().flat_map(|rt| &rt.containers) {
            self.shared.probes.remove(&c.id);
            let _ = self.shared.cri.remove_container(&c.id).await;
        }
        for sb in rt.iter().flat_map(|rt| &rt.sandboxes) {
            let _ = self.shared.cri.stop_pod_sandbox(&sb.id).await;
            let _ = self.shared.cri.remove_pod_sandbox(&sb.id).await;
        }
        volumes::cleanup(&self.shared.cfg.pod_volumes_dir(&uid));
        self.shared.backoff.forget_pod(&uid);
    }
}

/// Probe results shared by all workers.
pub type ProbeResults = Results;
