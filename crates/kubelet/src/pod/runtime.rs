//! What the runtime holds for one pod: its sandboxes and container
//! instances, read through CRI and keyed by the labels the kubelet sets.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_cri::v1 as cri;

use crate::cri::labels;
use crate::cri::{Cri, CriError};

/// State of a container instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Created, not started.
    Created,
    /// Running.
    Running,
    /// Exited.
    Exited,
    /// The runtime does not know.
    Unknown,
}

impl State {
    fn from_cri(s: i32) -> State {
        match cri::ContainerState::try_from(s) {
            Ok(cri::ContainerState::ContainerCreated) => State::Created,
            Ok(cri::ContainerState::ContainerRunning) => State::Running,
            Ok(cri::ContainerState::ContainerExited) => State::Exited,
            _ => State::Unknown,
        }
    }
}

/// One sandbox of the pod.
#[derive(Clone, Debug, PartialEq)]
pub struct SandboxInfo {
    /// Runtime id.
    pub id: String,
    /// Attempt number from its metadata.
    pub attempt: u32,
    /// Ready (running with network).
    pub ready: bool,
    /// Creation time, ns.
    pub created_at: i64,
    /// Pod IPs, first primary.
    pub ips: Vec<String>,
    /// The runtime reported the ready sandbox's network without an IP.
    pub no_ip: bool,
}

/// One container instance of the pod.
#[derive(Clone, Debug, PartialEq)]
pub struct ContainerInfo {
    /// Runtime id.
    pub id: String,
    /// Container name in the pod spec.
    pub name: String,
    /// Restart count this instance was created with.
    pub restart_count: i32,
    /// Current state.
    pub state: State,
    /// Times, ns since the epoch (0 = unset).
    pub created_at: i64,
    /// Start time, ns.
    pub started_at: i64,
    /// Exit time, ns.
    pub finished_at: i64,
    /// Exit code when exited.
    pub exit_code: i32,
    /// Runtime reason (Completed, Error, OOMKilled).
    pub reason: String,
    /// Runtime message (termination message).
    pub message: String,
    /// Image as requested.
    pub image: String,
    /// Image reference (digest) the runtime resolved.
    pub image_ref: String,
    /// Sandbox holding it.
    pub sandbox_id: String,
    /// Hash of the spec it was created from.
    pub hash: String,
    /// CRI log path.
    pub log_path: String,
}

/// The runtime view of one pod.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RuntimePod {
    /// Sandboxes, newest first.
    pub sandboxes: Vec<SandboxInfo>,
    /// Container instances, newest first.
    pub containers: Vec<ContainerInfo>,
}

impl RuntimePod {
    /// The newest sandbox.
    pub fn sandbox(&self) -> Option<&SandboxInfo> {
        self.sandboxes.first()
    }

    /// The newest instance of a container.
    pub fn latest(&self, name: &str) -> Option<&ContainerInfo> {
        self.containers.iter().find(|c| c.name == name)
    }

    /// The instance before the newest one (for `lastState` and previous logs).
    pub fn previous(&self, name: &str) -> Option<&ContainerInfo> {
        self.containers.iter().filter(|c| c.name == name).nth(1)
    }
}

/// The sandboxes and containers of one pod as the runtime lists them.
#[derive(Clone, Debug, Default)]
pub struct PodLists {
    /// ListPodSandbox items.
    pub sandboxes: Vec<cri::PodSandbox>,
    /// ListContainers items.
    pub containers: Vec<cri::Container>,
}

impl PodLists {
    /// `(id, state)` of every sandbox (state offset by 100) and container, sorted.
    pub fn signature(&self) -> Signature {
        let mut out: Signature = self
            .sandboxes
            .iter()
            .map(|s| (s.id.clone(), 100 + s.state))
            .chain(self.containers.iter().map(|c| (c.id.clone(), c.state)))
            .collect();
        out.sort();
        out
    }
}

/// Read the runtime state of pod `uid`.
pub async fn fetch(cri: &dyn Cri, uid: &str) -> Result<RuntimePod, CriError> {
    let lists = PodLists {
        sandboxes: cri.pod_sandboxes_of(uid).await?,
        containers: cri.containers_of(uid).await?,
    };
    from_lists(cri, lists).await
}

/// The runtime state of a pod from its list items plus a status call per
/// ready sandbox and per container (lookups by id, cheap for any runtime).
pub async fn from_lists(cri: &dyn Cri, lists: PodLists) -> Result<RuntimePod, CriError> {
    let mut pod = RuntimePod::default();
    for sb in lists.sandboxes {
        let ready = sb.state == cri::PodSandboxState::SandboxReady as i32;
        let mut ips = vec![];
        let mut no_ip = false;
        if ready {
            if let Ok(st) = cri.pod_sandbox_status(&sb.id).await {
                if let Some(net) = st.network {
                    no_ip = net.ip.is_empty();
                    if !net.ip.is_empty() {
                        ips.push(net.ip);
                    }
                    ips.extend(net.additional_ips.into_iter().map(|i| i.ip));
                }
            }
        }
        pod.sandboxes.push(SandboxInfo {
            id: sb.id,
            attempt: sb.metadata.map(|m| m.attempt).unwrap_or(0),
            ready,
            created_at: sb.created_at,
            ips,
            no_ip,
        });
    }
    pod.sandboxes
        .sort_by_key(|s| std::cmp::Reverse((s.attempt, s.created_at)));
    for c in lists.containers {
        let st = match cri.container_status(&c.id).await {
            Ok(s) => s,
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(e),
        };
        pod.containers.push(info_from_status(st, c.pod_sandbox_id));
    }
    pod.containers
        .sort_by_key(|c| std::cmp::Reverse((c.restart_count, c.created_at)));
    Ok(pod)
}

fn info_from_status(st: cri::ContainerStatus, sandbox_id: String) -> ContainerInfo {
    let ann = |k: &str| st.annotations.get(k).cloned().unwrap_or_default();
    let name = st
        .labels
        .get(labels::CONTAINER_NAME)
        .cloned()
        .or_else(|| st.metadata.as_ref().map(|m| m.name.clone()))
        .unwrap_or_default();
    ContainerInfo {
        restart_count: ann(labels::RESTART_COUNT)
            .parse()
            .unwrap_or_else(|_| st.metadata.as_ref().map(|m| m.attempt as i32).unwrap_or(0)),
        hash: ann(labels::CONTAINER_HASH),
        id: st.id,
        name,
        state: State::from_cri(st.state),
        created_at: st.created_at,
        started_at: st.started_at,
        finished_at: st.finished_at,
        exit_code: st.exit_code,
        reason: st.reason,
        message: st.message,
        image: st.image.map(|i| i.image).unwrap_or_default(),
        image_ref: st.image_ref,
        sandbox_id,
        log_path: st.log_path,
    }
}

/// What the relist sees of one pod: `(id, state)` of every sandbox (state
/// offset by 100) and container, sorted. Equal signatures mean nothing a
/// worker acts on has changed.
pub type Signature = Vec<(String, i32)>;

impl RuntimePod {
    /// The relist signature of this view.
    pub fn signature(&self) -> Signature {
        let mut out: Signature = self
            .sandboxes
            .iter()
            .map(|s| {
                let st = if s.ready {
                    cri::PodSandboxState::SandboxReady
                } else {
                    cri::PodSandboxState::SandboxNotready
                };
                (s.id.clone(), 100 + st as i32)
            })
            .chain(self.containers.iter().map(|c| {
                let st = match c.state {
                    State::Created => cri::ContainerState::ContainerCreated,
                    State::Running => cri::ContainerState::ContainerRunning,
                    State::Exited => cri::ContainerState::ContainerExited,
                    State::Unknown => cri::ContainerState::ContainerUnknown,
                };
                (c.id.clone(), st as i32)
            }))
            .collect();
        out.sort();
        out
    }
}

/// The latest relist, shared with the workers: an idle periodic sync sees
/// that nothing changed without asking the runtime, and a full sync reads
/// the pod's list items from here instead of listing again.
#[derive(Clone, Default)]
pub struct RelistIndex(Arc<Mutex<Option<Relist>>>);

struct Relist {
    taken_at: Instant,
    pods: HashMap<String, PodLists>,
}

/// Relist data older than this is not used instead of listing.
const FRESH: Duration = Duration::from_secs(3);

impl RelistIndex {
    /// The signature of pod `uid` in the latest relist (empty when absent),
    /// None before the first relist.
    pub fn get(&self, uid: &str) -> Option<Signature> {
        let m = self.0.lock().ok()?;
        let r = m.as_ref()?;
        Some(r.pods.get(uid).map(PodLists::signature).unwrap_or_default())
    }

    /// The list items of pod `uid` from a relist that started after `after`
    /// (the end of the caller's last change to the runtime) and is fresh.
    pub fn lists_since(&self, uid: &str, after: Option<Instant>) -> Option<PodLists> {
        let m = self.0.lock().ok()?;
        let r = m.as_ref()?;
        if r.taken_at.elapsed() > FRESH || after.is_some_and(|a| r.taken_at <= a) {
            return None;
        }
        Some(r.pods.get(uid).cloned().unwrap_or_default())
    }

    /// Replace the index with a relist that started at `taken_at`.
    pub fn set(&self, taken_at: Instant, pods: HashMap<String, PodLists>) {
        if let Ok(mut m) = self.0.lock() {
            *m = Some(Relist { taken_at, pods });
        }
    }
}

/// Group every sandbox and container of the runtime by pod uid (for
/// housekeeping, change detection and the workers' full syncs).
pub async fn snapshot(cri: &dyn Cri) -> Result<HashMap<String, PodLists>, CriError> {
    let mut out: HashMap<String, PodLists> = HashMap::new();
    for sb in cri.list_pod_sandbox().await? {
        if let Some(uid) = sb.labels.get(labels::POD_UID) {
            out.entry(uid.clone()).or_default().sandboxes.push(sb);
        }
    }
    for c in cri.list_containers().await? {
        if let Some(uid) = c.labels.get(labels::POD_UID) {
            out.entry(uid.clone()).or_default().containers.push(c);
        }
    }
    Ok(out)
}
