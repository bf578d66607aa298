//! The scheduler's event loop: watches feed the cache and the queue; pods are popped,
//! decided against the cache, assumed, and bound concurrently.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::Api;
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use skiff_client::events::Recorder;
use skiff_client::leader::{run_elected, LeaseLock};
use tokio::sync::{mpsc, Semaphore};
use tracing::{debug, info, warn};

use crate::algorithm::{schedule, Decision, Profile};
use crate::binder::{bind, record_scheduled, report_unschedulable, BindOutcome};
use crate::cache::{is_terminal, pod_key, Cache};
use crate::config::{SchedulerConfig, SchedulerError};
use crate::framework::{PodSummary, PodToSchedule};
use crate::metrics::{AttemptResult, Metrics};
use crate::plugins::default_profile;
use crate::queue::SchedulingQueue;

/// Concurrent binding requests in flight.
const MAX_BINDS_IN_FLIGHT: usize = 64;
/// Pods decided per loop turn before watch events are looked at again.
const BATCH: usize = 256;

/// Runs the scheduler until `shutdown` (holding the `kube-system/kube-scheduler` Lease
/// first when `cfg.leader_elect`).
pub async fn run(
    client: kube::Client,
    cfg: SchedulerConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), SchedulerError> {
    let lock = LeaseLock::new("kube-system", "kube-scheduler", &cfg.identity);
    let work = Scheduler::new(client.clone(), cfg.clone()).run();
    run_elected(client, cfg.leader_elect, lock, work, shutdown).await?;
    Ok(())
}

struct Scheduler {
    client: kube::Client,
    cfg: SchedulerConfig,
    cache: Cache,
    queue: SchedulingQueue,
    profile: Profile,
    recorder: Recorder,
    metrics: Metrics,
    start: usize,
    tie: u64,
    nodes_synced: bool,
    pods_synced: bool,
    relist_nodes: Option<HashSet<String>>,
    relist_pods: Option<HashSet<String>>,
}

fn node_changed_meaningfully(old: &Node, new: &Node) -> bool {
    let ready = |n: &Node| {
        n.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
            .map(|c| c.status.clone())
    };
    old.spec != new.spec
        || old.metadata.labels != new.metadata.labels
        || old.status.as_ref().and_then(|s| s.allocatable.clone())
            != new.status.as_ref().and_then(|s| s.allocatable.clone())
        || ready(old) != ready(new)
}

impl Scheduler {
    fn new(client: kube::Client, cfg: SchedulerConfig) -> Self {
        Scheduler {
            recorder: Recorder::new(client.clone(), &cfg.scheduler_name, &cfg.identity),
            metrics: Metrics::new(&cfg.scheduler_name),
            client,
            cfg,
            cache: Cache::default(),
            queue: SchedulingQueue::default(),
            profile: default_profile(),
            start: 0,
            tie: 0,
            nodes_synced: false,
            pods_synced: false,
            relist_nodes: None,
            relist_pods: None,
        }
    }

    fn on_node(&mut self, ev: Event<Node>) {
        let now = Instant::now();
        match ev {
            Event::Init => self.relist_nodes = Some(HashSet::new()),
            Event::InitApply(n) | Event::Apply(n) => {
                let name = n.metadata.name.clone().unwrap_or_default();
                if let Some(seen) = self.relist_nodes.as_mut() {
                    seen.insert(name.clone());
                }
                let changed = self
                    .cache
                    .node(&name)
                    .is_none_or(|old| node_changed_meaningfully(&old.node, &n));
                self.cache.upsert_node(n);
                if changed {
                    self.queue.move_all(now);
                }
            }
            Event::Delete(n) => self
                .cache
                .remove_node(n.metadata.name.as_deref().unwrap_or("")),
            Event::InitDone => {
                if let Some(seen) = self.relist_nodes.take() {
                    self.cache.retain_nodes(&seen);
                }
                self.nodes_synced = true;
                self.queue.move_all(now);
            }
        }
    }

    fn on_pod(&mut self, ev: Event<Pod>) {
        let now = Instant::now();
        match ev {
            Event::Init => self.relist_pods = Some(HashSet::new()),
            Event::InitApply(p) | Event::Apply(p) => {
                if let Some(seen) = self.relist_pods.as_mut() {
                    seen.insert(pod_key(&p));
                }
                self.apply_pod(p, now);
            }
            Event::Delete(p) => {
                let key = pod_key(&p);
                self.queue.remove(&key);
                if self.cache.is_placed(&key) {
                    self.cache.remove_pod(&key);
                    self.queue.move_all(now);
                }
            }
            Event::InitDone => {
                if let Some(seen) = self.relist_pods.take() {
                    for key in self.cache.placed_keys() {
                        if !seen.contains(&key) {
                            self.cache.remove_pod(&key);
                            self.queue.remove(&key);
                        }
                    }
                }
                self.pods_synced = true;
            }
        }
    }

    fn apply_pod(&mut self, pod: Pod, now: Instant) {
        let key = pod_key(&pod);
        let bound = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .is_some_and(|n| !n.is_empty());
        if bound {
            self.queue.remove(&key);
            let was_placed = self.cache.is_placed(&key);
            self.cache.upsert_pod(&pod);
            if was_placed && is_terminal(&pod) {
                self.queue.move_all(now);
            }
            return;
        }
        let ours = pod
            .spec
            .as_ref()
            .and_then(|s| s.scheduler_name.as_deref())
            .unwrap_or("default-scheduler")
            == self.cfg.scheduler_name;
        if !ours || is_terminal(&pod) || pod.metadata.deletion_timestamp.is_some() {
            self.queue.remove(&key);
            if pod.metadata.deletion_timestamp.is_some() || is_terminal(&pod) {
                self.cache.remove_pod(&key);
            }
            return;
        }
        if self.cache.is_placed(&key) {
            return; // assumed; binding in flight
        }
        self.queue.add_or_update(Arc::new(pod), now);
    }

    /// Decides up to BATCH pods; returns how many were popped.
    fn schedule_batch(
        &mut self,
        binds: &Arc<Semaphore>,
        tx: &mpsc::UnboundedSender<(String, BindOutcome)>,
    ) -> usize {
        let mut n = 0;
        while n < BATCH {
            let Ok(permit) = binds.clone().try_acquire_owned() else {
                break;
            };
            let now = Instant::now();
            let Some(pod) = self.queue.pop(now) else {
                break;
            };
            n += 1;
            let key = pod_key(&pod);
            let pts = PodToSchedule::new(&pod);
            let nodes = self.cache.nodes();
            let count = nodes.len();
            self.tie = self
                .tie
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let decision = schedule(&self.profile, &pts, &nodes, self.start, self.tie >> 33);
            if count > 0 {
                self.start = (self.start + 1) % count;
            }
            match decision {
                Decision::Bind(node) => {
                    let summary: PodSummary = pts.summary.clone();
                    drop(pts);
                    self.cache.assume(&key, &node, summary);
                    self.queue.done(&key);
                    let (client, rec, tx) =
                        (self.client.clone(), self.recorder.clone(), tx.clone());
                    let metrics = self.metrics.clone();
                    tokio::spawn(async move {
                        let out = bind(client, &pod, &node).await;
                        drop(permit);
                        metrics.attempt(AttemptResult::of_binding(&out), now);
                        let bound = matches!(out, BindOutcome::Bound);
                        let _ = tx.send((key, out));
                        // The recorder only queues: its background sender bounds the writes.
                        if bound {
                            record_scheduled(&rec, &pod, &node).await;
                        }
                    });
                }
                Decision::Unschedulable(err) => {
                    drop(permit);
                    let msg = err.message();
                    debug!(pod = %key, %msg, "unschedulable");
                    self.metrics.attempt(AttemptResult::Unschedulable, now);
                    self.queue.failed(&key, now);
                    tokio::spawn(report_unschedulable(
                        self.client.clone(),
                        self.recorder.clone(),
                        pod.clone(),
                        msg,
                    ));
                }
            }
        }
        n
    }

    fn on_bound(&mut self, key: String, out: BindOutcome) {
        match out {
            BindOutcome::Bound => {}
            BindOutcome::Gone => self.cache.remove_pod(&key),
            BindOutcome::Failed(e) => {
                warn!(pod = %key, error = %e, "binding failed");
                self.cache.remove_pod(&key);
                // The pod's next watch event (or re-list) puts it back in the queue.
                self.queue.move_all(Instant::now());
            }
        }
    }

    async fn run(mut self) {
        info!(name = %self.cfg.scheduler_name, "scheduler starting");
        // managedFields are dropped as upstream's informers do: never read, and large.
        let nodes = watcher::watcher(
            Api::<Node>::all(self.client.clone()),
            watcher::Config::default(),
        )
        .modify(|n: &mut Node| n.metadata.managed_fields = None)
        .default_backoff();
        let pods = watcher::watcher(
            Api::<Pod>::all(self.client.clone()),
            watcher::Config::default(),
        )
        .modify(|p: &mut Pod| p.metadata.managed_fields = None)
        .default_backoff();
        tokio::pin!(nodes, pods);
        let binds = Arc::new(Semaphore::new(MAX_BINDS_IN_FLIGHT));
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut last_flush = Instant::now();
        loop {
            let ready = self.nodes_synced && self.pods_synced;
            self.metrics.pending(&self.queue);
            let mut busy = false;
            if ready {
                busy = self.schedule_batch(&binds, &tx) > 0;
                if last_flush.elapsed() > Duration::from_secs(30) {
                    self.queue.flush_unschedulable(Instant::now());
                    last_flush = Instant::now();
                }
            }
            let wake = if busy {
                Duration::ZERO
            } else {
                self.queue
                    .next_backoff()
                    .map(|t| t.saturating_duration_since(Instant::now()))
                    .unwrap_or(Duration::from_secs(1))
            };
            tokio::select! {
                biased;
                ev = nodes.next() => match ev {
                    Some(Ok(ev)) => self.on_node(ev),
                    Some(Err(e)) => warn!(error = %e, "node watch"),
                    None => return,
                },
                ev = pods.next() => match ev {
                    Some(Ok(ev)) => self.on_pod(ev),
                    Some(Err(e)) => warn!(error = %e, "pod watch"),
                    None => return,
                },
                Some((key, out)) = rx.recv() => self.on_bound(key, out),
                _ = tokio::time::sleep(wake) => {},
            }
        }
    }
}
