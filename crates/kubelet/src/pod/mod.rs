//! Pods on this node: the watch on `spec.nodeName`, one worker per pod, a
//! relist of the runtime that wakes workers when their containers change,
//! and housekeeping of sandboxes whose pods are gone.

mod backoff;
mod config;
mod env;
mod handlers;
mod plan;
mod probe;
mod resources;
pub(crate) mod runtime;
mod status;
mod volumes;
mod worker;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::watcher;
use kube::{Api, Client};
use tokio::sync::{mpsc, watch};

pub use status::set_runtime_name;

use crate::api::PodApi;
use crate::config::KubeletConfig;
use crate::cri::Cri;
use backoff::BackOff;
use skiff_client::events::EventSink;
use worker::{ProbeResults, Worker};

/// State shared by every pod worker.
pub struct Shared {
    /// Configuration.
    pub cfg: Arc<KubeletConfig>,
    /// CRI client.
    pub cri: Arc<dyn Cri>,
    /// API seam.
    pub api: Arc<dyn PodApi>,
    /// Event sink.
    pub events: Arc<dyn EventSink>,
    /// Container restart back-off.
    pub backoff: BackOff,
    /// Image pull back-off.
    pub image_backoff: BackOff,
    /// Probe results.
    pub probes: ProbeResults,
    /// Node memory capacity, bytes.
    pub node_memory: i64,
    /// Node cpu capacity, millicores.
    pub node_cpu_milli: i128,
    /// Node IP text.
    pub host_ip: String,
    /// The latest runtime relist, by pod uid.
    pub relist: runtime::RelistIndex,
}

struct Handle {
    pod_tx: watch::Sender<Option<Arc<Pod>>>,
    kick: mpsc::Sender<()>,
}

/// The pods this node runs, as last seen from the API (for `/pods`).
#[derive(Clone, Default)]
pub struct PodCache(Arc<Mutex<HashMap<String, Arc<Pod>>>>);

impl PodCache {
    /// Every pod.
    pub fn all(&self) -> Vec<Arc<Pod>> {
        self.0
            .lock()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// A pod by namespace and name.
    pub fn find(&self, ns: &str, name: &str) -> Option<Arc<Pod>> {
        self.all().into_iter().find(|p| {
            p.metadata.namespace.as_deref() == Some(ns) && p.metadata.name.as_deref() == Some(name)
        })
    }

    fn set(&self, uid: &str, pod: Option<Arc<Pod>>) {
        if let Ok(mut m) = self.0.lock() {
            match pod {
                Some(p) => m.insert(uid.to_string(), p),
                None => m.remove(uid),
            };
        }
    }
}

/// Dispatches pod updates to workers.
pub struct Manager {
    shared: Arc<Shared>,
    workers: HashMap<String, Handle>,
    cache: PodCache,
}

impl Manager {
    /// A manager with no pods yet.
    pub fn new(shared: Arc<Shared>, cache: PodCache) -> Self {
        Manager {
            shared,
            workers: HashMap::new(),
            cache,
        }
    }

    /// Hand the latest version of a pod to its worker (starting one).
    pub fn update(&mut self, mut pod: Pod) {
        // nothing here reads managedFields; upstream's informers drop them too
        pod.metadata.managed_fields = None;
        let Some(uid) = pod.metadata.uid.clone() else {
            return;
        };
        let pod = Arc::new(pod);
        self.cache.set(&uid, Some(pod.clone()));
        if let Some(h) = self.workers.get(&uid) {
            // Our own status writes come back as new versions; like upstream's pod
            // config (a status-only change is a "reconcile", not a sync), they replace
            // the worker's copy without waking it, so a failing container is retried
            // on its back-off rather than once per status write.
            if !h.pod_tx.is_closed() {
                h.pod_tx.send_if_modified(|current| {
                    let wake = current
                        .as_ref()
                        .is_none_or(|old| !same_except_status(old, &pod));
                    *current = Some(pod.clone());
                    wake
                });
                return;
            }
        }
        let (pod_tx, pod_rx) = watch::channel(Some(pod));
        let (kick_tx, kick_rx) = mpsc::channel(4);
        let w = Worker::new(self.shared.clone(), kick_tx.clone());
        tokio::spawn(w.run(pod_rx, kick_rx));
        self.workers.insert(
            uid,
            Handle {
                pod_tx,
                kick: kick_tx,
            },
        );
    }

    /// The pod is gone from the API: stop its containers and forget it.
    pub fn remove(&mut self, uid: &str) {
        self.cache.set(uid, None);
        if let Some(h) = self.workers.remove(uid) {
            let _ = h.pod_tx.send(None);
        }
    }

    /// Wake the worker of `uid`.
    pub fn kick(&self, uid: &str) {
        if let Some(h) = self.workers.get(uid) {
            let _ = h.kick.try_send(());
        }
    }

    /// Pod uids with a worker.
    pub fn known(&self) -> Vec<String> {
        self.workers.keys().cloned().collect()
    }

    /// Drop handles of finished workers.
    fn reap(&mut self) {
        self.workers.retain(|_, h| !h.pod_tx.is_closed());
    }
}

/// Watch this node's pods and run them until `shutdown` fires.
pub async fn run(
    client: Client,
    shared: Arc<Shared>,
    cache: PodCache,
    mut shutdown: watch::Receiver<bool>,
) {
    let node = shared.cfg.node_name.clone();
    let api: Api<Pod> = Api::all(client);
    let cfg = watcher::Config::default().fields(&format!("spec.nodeName={node}"));
    let mut stream = watcher(api, cfg).boxed();
    let mut mgr = Manager::new(shared.clone(), cache);
    let mut relist = tokio::time::interval(Duration::from_secs(1));
    relist.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last: HashMap<String, runtime::Signature> = HashMap::new();
    let mut synced = false;
    let mut init_seen: Vec<String> = vec![];
    let mut housekeeping = 0u32;
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            ev = stream.next() => match ev {
                Some(Ok(watcher::Event::Apply(p))) => mgr.update(p),
                Some(Ok(watcher::Event::Delete(p))) => {
                    if let Some(uid) = p.metadata.uid.as_deref() {
                        mgr.remove(uid);
                    }
                }
                Some(Ok(watcher::Event::Init)) => init_seen.clear(),
                Some(Ok(watcher::Event::InitApply(p))) => {
                    if let Some(uid) = p.metadata.uid.clone() {
                        init_seen.push(uid);
                    }
                    mgr.update(p);
                }
                Some(Ok(watcher::Event::InitDone)) => {
                    for uid in mgr.known() {
                        if !init_seen.contains(&uid) {
                            mgr.remove(&uid);
                        }
                    }
                    synced = true;
                }
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "pod watch failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                None => break,
            },
            _ = relist.tick() => {
                mgr.reap();
                let taken = std::time::Instant::now();
                let Ok(lists) = runtime::snapshot(shared.cri.as_ref()).await else { continue };
                let now: HashMap<String, runtime::Signature> =
                    lists.iter().map(|(uid, l)| (uid.clone(), l.signature())).collect();
                shared.relist.set(taken, lists);
                for (uid, state) in &now {
                    if last.get(uid) != Some(state) {
                        mgr.kick(uid);
                    }
                }
                // a pod whose last sandbox and containers were removed changed too
                for uid in last.keys().filter(|u| !now.contains_key(*u)) {
                    mgr.kick(uid);
                }
                housekeeping += 1;
                if synced && housekeeping.is_multiple_of(10) {
                    let known = mgr.known();
                    for uid in now.keys().filter(|u| !known.contains(u)) {
                        remove_orphan(shared.cri.as_ref(), uid).await;
                    }
                }
                last = now;
            }
        }
    }
}

/// Stop and remove the containers and sandboxes of a pod the API no longer has.
async fn remove_orphan(cri: &dyn Cri, uid: &str) {
    tracing::info!(pod_uid = %uid, "removing containers of a pod that no longer exists");
    let Ok(rt) = runtime::fetch(cri, uid).await else {
        return;
    };
    for c in &rt.containers {
        let _ = cri.stop_container(&c.id, 2).await;
        let _ = cri.remove_container(&c.id).await;
    }
    for sb in &rt.sandboxes {
        let _ = cri.stop_pod_sandbox(&sb.id).await;
        let _ = cri.remove_pod_sandbox(&sb.id).await;
    }
}

/// Log directory of a pod (`<ns>_<name>_<uid>` under the logs root).
pub fn log_dir_of(cfg: &KubeletConfig, pod: &Pod) -> String {
    config::log_dir(cfg, pod)
}

/// Whether two versions of a pod differ only in status and bookkeeping metadata.
fn same_except_status(a: &Pod, b: &Pod) -> bool {
    // Runs on every watch event: compare the spec in place, copy only the metadata.
    let meta = |p: &Pod| {
        let mut m = p.metadata.clone();
        m.resource_version = None;
        m.managed_fields = None;
        m
    };
    a.spec == b.spec && meta(a) == meta(b)
}
