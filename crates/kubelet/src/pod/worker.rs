//! The per-pod worker: brings the runtime in line with the pod spec (sandbox,
//! image pulls, init containers in order, containers, restarts with
//! back-off, probes, hooks), reports status and events, and tears the pod
//! down gracefully when it is deleted.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::{Container, Pod, PodStatus};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::backoff::{go_duration, BackOff};
use super::config::{container_config, container_hash, ids, sandbox_config, ContainerInputs};
use super::env::{container_env, expand_all, EnvContext};
use super::probe::{self, Kind, ProbeTask, Results};
use super::runtime::{fetch, from_lists, ContainerInfo, RuntimePod, Signature, State};
use super::status::{compute, is_terminal, restart_policy, Notes};
use super::volumes::{self, Prepared};
use super::{handlers, Shared};
use crate::events::{container_path, pod_ref, EventRecord, NORMAL, WARNING};

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
    /// Set by every call that changes the runtime, so a sync that changed
    /// nothing can skip reading the runtime again.
    acted: AtomicBool,
    /// When the last pass that changed the runtime ended.
    last_acted: Option<Instant>,
}

/// Longest time a pod goes without a full sync when nothing changes
/// (upstream's `--sync-frequency` default).
const FULL_RESYNC: Duration = Duration::from_secs(60);

fn ns_to_time(ns: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(ns)
}

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
            let current = pod_rx.borrow_and_update().clone();
            match current {
                Some(pod) => {
                    let same_pod = last_pod.as_ref().is_some_and(|p| Arc::ptr_eq(p, &pod));
                    last_pod = Some(pod.clone());
                    if !(periodic && same_pod && self.idle(&pod)) {
                        self.wake_at = None;
                        if self.sync(&pod).await {
                            break;
                        }
                    }
                }
                None => {
                    if let Some(pod) = last_pod.take() {
                        self.kill_all(&pod, Some(0)).await;
                        self.cleanup(&pod).await;
                    }
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
                r = pod_rx.changed() => {
                    if r.is_err() {
                        // the manager dropped us: treat as deletion from the API
                        if let Some(pod) = last_pod.take() {
                            self.kill_all(&pod, Some(0)).await;
                            self.cleanup(&pod).await;
                        }
                        break;
                    }
                }
                _ = kick.recv() => {}
                _ = tokio::time::sleep(until) => {
                    periodic = self.wake_at.is_none_or(|w| w > Instant::now());
                }
            }
        }
        for (_, h) in self.probes.drain() {
            h.abort();
        }
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

    /// One sync pass; returns true when the pod is finished with for good.
    pub async fn sync(&mut self, pod: &Arc<Pod>) -> bool {
        self.synced = None;
        if pod.metadata.deletion_timestamp.is_some() {
            self.terminate(pod).await;
            return true;
        }
        let (_, _, uid) = ids(pod);
        // the relist's lists, when taken after our last change, spare a list call
        let first = match self.shared.relist.lists_since(&uid, self.last_acted) {
            Some(lists) => from_lists(self.shared.cri.as_ref(), lists).await,
            None => fetch(self.shared.cri.as_ref(), &uid).await,
        };
        let mut rt = match first {
            Ok(rt) => rt,
            Err(e) => {
                tracing::warn!(error = %e, pod = ?pod.metadata.name, "runtime unavailable");
                self.wake_in(Duration::from_secs(2));
                return false;
            }
        };
        let terminal = self.last_status.as_ref().is_some_and(is_terminal);
        if !terminal {
            self.acted.store(false, Ordering::Relaxed);
            if let Err(retry) = self.reconcile(pod, &mut rt).await {
                self.wake_in(retry);
            }
            if self.acted.swap(false, Ordering::Relaxed) {
                self.last_acted = Some(Instant::now());
                rt = fetch(self.shared.cri.as_ref(), &uid).await.unwrap_or(rt);
            }
        }
        self.update_probes(pod, &rt);
        let status = compute(pod, &rt, &self.notes(&rt), Utc::now());
        if is_terminal(&status) {
            if let Some(sb) = rt.sandbox().filter(|s| s.ready) {
                let _ = self.shared.cri.stop_pod_sandbox(&sb.id).await;
                self.last_acted = Some(Instant::now());
            }
        }
        self.report(pod, status).await;
        self.synced = Some((rt.signature(), Instant::now()));
        false
    }

    fn notes(&self, rt: &RuntimePod) -> Notes {
        let mut n = Notes {
            waiting: self.waiting.clone(),
            host_ip: self.shared.cfg.node_ip.to_string(),
            ..Default::default()
        };
        for c in &rt.containers {
            if let Some(r) = self.shared.probes.get(&c.id, Kind::Readiness) {
                n.readiness.insert(c.id.clone(), r);
            }
            if let Some(r) = self.shared.probes.get(&c.id, Kind::Startup) {
                n.startup.insert(c.id.clone(), r);
            }
        }
        n
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

    /// Make the runtime match the spec. Err(delay) asks for a retry.
    async fn reconcile(&mut self, pod: &Arc<Pod>, rt: &mut RuntimePod) -> Result<(), Duration> {
        let spec = pod.spec.clone().unwrap_or_default();
        let policy = restart_policy(pod).to_string();
        // sandbox
        let sandbox = match rt.sandbox().filter(|s| s.ready).cloned() {
            Some(sb) => sb,
            None => {
                let ran_before = !rt.containers.is_empty();
                if ran_before && policy == "Never" {
                    // upstream does not recreate the sandbox of a Never pod that ran
                    return Ok(());
                }
                self.acted.store(true, Ordering::Relaxed);
                for c in rt.containers.iter().filter(|c| c.state == State::Running) {
                    let _ = self.shared.cri.stop_container(&c.id, 2).await;
                }
                let attempt = rt.sandbox().map(|s| s.attempt + 1).unwrap_or(0);
                if let Some(old) = rt.sandbox() {
                    let _ = self.shared.cri.stop_pod_sandbox(&old.id).await;
                    self.event(
                        pod,
                        None,
                        NORMAL,
                        "SandboxChanged",
                        "Pod sandbox changed, it will be killed and re-created.".into(),
                    );
                }
                self.ensure_volumes(pod, true).await?;
                let cfg = sandbox_config(&self.shared.cfg, pod, attempt);
                let _ = std::fs::create_dir_all(&cfg.log_directory);
                if let Err(e) = self.shared.cri.run_pod_sandbox(cfg).await {
                    self.event(
                        pod,
                        None,
                        WARNING,
                        "FailedCreatePodSandBox",
                        format!("Failed to create pod sandbox: {e}"),
                    );
                    return Err(Duration::from_secs(5));
                }
                let (_, _, uid) = ids(pod);
                *rt = fetch(self.shared.cri.as_ref(), &uid)
                    .await
                    .map_err(|_| Duration::from_secs(2))?;
                rt.sandbox()
                    .filter(|s| s.ready)
                    .cloned()
                    .ok_or(Duration::from_secs(2))?
            }
        };
        let in_sandbox = |rt: &RuntimePod, name: &str| -> Option<ContainerInfo> {
            rt.containers
                .iter()
                .find(|c| c.name == name && c.sandbox_id == sandbox.id)
                .cloned()
        };
        // init containers, one at a time, in order
        for c in spec.init_containers.iter().flatten() {
            match in_sandbox(rt, &c.name) {
                Some(i) if i.state == State::Exited && i.exit_code == 0 => continue,
                Some(i) if i.state == State::Running || i.state == State::Created => return Ok(()),
                Some(i) => {
                    if policy == "Never" {
                        return Ok(());
                    }
                    self.restart(pod, c, true, &i, &sandbox.id, sandbox.attempt, rt)
                        .await?;
                    return Ok(());
                }
                None => {
                    let rc = rt.latest(&c.name).map(|p| p.restart_count + 1).unwrap_or(0);
                    self.start(pod, c, true, rc, &sandbox.id, sandbox.attempt)
                        .await?;
                    return Ok(());
                }
            }
        }
        // app containers
        let mut retry: Option<Duration> = None;
        for c in &spec.containers {
            let res = match in_sandbox(rt, &c.name) {
                None => {
                    let rc = rt.latest(&c.name).map(|p| p.restart_count + 1).unwrap_or(0);
                    self.start(pod, c, false, rc, &sandbox.id, sandbox.attempt)
                        .await
                }
                Some(i) if i.state == State::Running => {
                    let live_failed = self.shared.probes.get(&i.id, Kind::Liveness) == Some(false);
                    let startup_failed =
                        self.shared.probes.get(&i.id, Kind::Startup) == Some(false);
                    let changed = !i.hash.is_empty() && i.hash != container_hash(c);
                    if live_failed || startup_failed || changed {
                        let why = if changed {
                            format!("Container {} definition changed, will be restarted", c.name)
                        } else if live_failed {
                            format!(
                                "Container {} failed liveness probe, will be restarted",
                                c.name
                            )
                        } else {
                            format!(
                                "Container {} failed startup probe, will be restarted",
                                c.name
                            )
                        };
                        self.event(pod, Some((c, false)), NORMAL, "Killing", why);
                        let grace = spec.termination_grace_period_seconds.unwrap_or(30);
                        self.stop_one(pod, c, false, &i, grace).await;
                        self.shared.probes.remove(&i.id);
                        self.wake_in(Duration::from_millis(100));
                    }
                    Ok(())
                }
                Some(i) if i.state == State::Created => {
                    self.acted.store(true, Ordering::Relaxed);
                    let _ = self.shared.cri.remove_container(&i.id).await;
                    self.start(pod, c, false, i.restart_count, &sandbox.id, sandbox.attempt)
                        .await
                }
                Some(i) => {
                    let restart = match policy.as_str() {
                        "Always" => true,
                        "OnFailure" => i.exit_code != 0,
                        _ => false,
                    };
                    if restart {
                        self.restart(pod, c, false, &i, &sandbox.id, sandbox.attempt, rt)
                            .await
                    } else {
                        Ok(())
                    }
                }
            };
            if let Err(d) = res {
                retry = Some(retry.map_or(d, |r| r.min(d)));
            }
        }
        retry.map_or(Ok(()), Err)
    }

    /// Restart an exited container unless it is held back.
    #[allow(clippy::too_many_arguments)]
    async fn restart(
        &mut self,
        pod: &Arc<Pod>,
        c: &Container,
        init: bool,
        last: &ContainerInfo,
        sandbox_id: &str,
        attempt: u32,
        _rt: &RuntimePod,
    ) -> Result<(), Duration> {
        let (name, ns, uid) = ids(pod);
        let key = BackOff::key(&uid, &c.name);
        let now = Utc::now();
        let finished = if last.finished_at > 0 {
            ns_to_time(last.finished_at)
        } else {
            now
        };
        if let Some((d, until)) = self.shared.backoff.in_backoff(&key, finished, now) {
            let msg = format!(
                "back-off {} restarting failed container={} pod={}_{}({})",
                go_duration(d),
                c.name,
                name,
                ns,
                uid
            );
            let first = self.waiting.get(&c.name).map(|w| w.1.as_str()) != Some(msg.as_str());
            self.waiting
                .insert(c.name.clone(), ("CrashLoopBackOff".into(), msg));
            if first {
                self.event(
                    pod,
                    Some((c, init)),
                    WARNING,
                    "BackOff",
                    format!(
                        "Back-off restarting failed container {} in pod {}_{}({})",
                        c.name, name, ns, uid
                    ),
                );
            }
            let left = (until - now).to_std().unwrap_or(Duration::from_millis(100));
            return Err(left + Duration::from_millis(50));
        }
        self.shared.backoff.next(&key, now);
        self.start(pod, c, init, last.restart_count + 1, sandbox_id, attempt)
            .await
    }

    async fn ensure_volumes(
        &mut self,
        pod: &Pod,
        force: bool,
    ) -> Result<BTreeMap<String, Prepared>, Duration> {
        if let Some((at, v)) = &self.volumes {
            if !force && at.elapsed() < Duration::from_secs(60) {
                return Ok(v.clone());
            }
        }
        let (_, _, uid) = ids(pod);
        let base = self.shared.cfg.pod_volumes_dir(&uid);
        let ctx = self.env_ctx("");
        match volumes::prepare(pod, &base, self.shared.api.as_ref(), &ctx).await {
            Ok(v) => {
                self.volumes = Some((Instant::now(), v.clone()));
                Ok(v)
            }
            Err(e) => {
                self.event(pod, None, WARNING, "FailedMount", e.to_string());
                Err(Duration::from_secs(2))
            }
        }
    }

    fn env_ctx<'a>(&'a self, pod_ip: &'a str) -> EnvContext<'a> {
        EnvContext {
            master_host: &self.shared.cfg.kubernetes_service_host,
            master_port: self.shared.cfg.kubernetes_service_port,
            services: &[],
            node_name: &self.shared.cfg.node_name,
            host_ip: &self.shared.host_ip,
            pod_ip,
            node_cpu_milli: self.shared.node_cpu_milli,
            node_memory: i128::from(self.shared.node_memory),
        }
    }

    /// Pull the image if the policy says so. Err(delay) when it is not available.
    async fn ensure_image(&mut self, pod: &Pod, c: &Container, init: bool) -> Result<(), Duration> {
        let image = c.image.clone().unwrap_or_default();
        let cri = self.shared.cri.clone();
        let policy = c.image_pull_policy.clone().unwrap_or_else(|| {
            let tagged = image
                .rsplit('/')
                .next()
                .is_some_and(|last| last.contains(':') && !last.ends_with(":latest"));
            if tagged || image.contains('@') {
                "IfNotPresent".into()
            } else {
                "Always".into()
            }
        });
        let present = cri.image_status(&image).await.ok().flatten();
        if policy != "Always" && present.is_some() {
            self.event(
                pod,
                Some((c, init)),
                NORMAL,
                "Pulled",
                format!("Container image \"{image}\" already present on machine"),
            );
            return Ok(());
        }
        if policy == "Never" {
            let msg =
                format!("Container image \"{image}\" is not present with pull policy of Never");
            self.waiting
                .insert(c.name.clone(), ("ErrImageNeverPull".into(), msg.clone()));
            self.event(pod, Some((c, init)), WARNING, "ErrImageNeverPull", msg);
            return Err(Duration::from_secs(10));
        }
        let now = Utc::now();
        let key = format!(
            "image/{}/{image}",
            pod.metadata.uid.clone().unwrap_or_default()
        );
        if let Some((failed_at, err)) = self.pull_failed.get(&image).cloned() {
            if let Some((_, until)) = self.shared.image_backoff.in_backoff(&key, failed_at, now) {
                self.waiting.insert(
                    c.name.clone(),
                    (
                        "ImagePullBackOff".into(),
                        format!("Back-off pulling image \"{image}\": ErrImagePull: {err}"),
                    ),
                );
                self.event(
                    pod,
                    Some((c, init)),
                    NORMAL,
                    "BackOff",
                    format!("Back-off pulling image \"{image}\""),
                );
                self.event(
                    pod,
                    Some((c, init)),
                    WARNING,
                    "Failed",
                    "Error: ImagePullBackOff".into(),
                );
                return Err((until - now).to_std().unwrap_or(Duration::from_secs(1)));
            }
        }
        self.event(
            pod,
            Some((c, init)),
            NORMAL,
            "Pulling",
            format!("Pulling image \"{image}\""),
        );
        let started = Instant::now();
        let sandbox = sandbox_config(&self.shared.cfg, pod, 0);
        match cri.pull_image(&image, Some(sandbox)).await {
            Ok(_) => {
                let took = chrono::Duration::milliseconds(started.elapsed().as_millis() as i64);
                let size = cri
                    .image_status(&image)
                    .await
                    .ok()
                    .flatten()
                    .map(|i| i.size)
                    .unwrap_or(0);
                self.pull_failed.remove(&image);
                self.event(
                    pod,
                    Some((c, init)),
                    NORMAL,
                    "Pulled",
                    format!(
                        "Successfully pulled image \"{image}\" in {} ({} including waiting). Image size: {size} bytes.",
                        go_duration(took),
                        go_duration(took)
                    ),
                );
                Ok(())
            }
            Err(e) => {
                let err = e.to_string();
                self.shared.image_backoff.next(&key, now);
                self.pull_failed.insert(image.clone(), (now, err.clone()));
                self.event(
                    pod,
                    Some((c, init)),
                    WARNING,
                    "Failed",
                    format!("Failed to pull image \"{image}\": {err}"),
                );
                self.event(
                    pod,
                    Some((c, init)),
                    WARNING,
                    "Failed",
                    "Error: ErrImagePull".into(),
                );
                self.waiting
                    .insert(c.name.clone(), ("ErrImagePull".into(), err));
                Err(Duration::from_secs(1))
            }
        }
    }

    /// Create and start one container instance.
    async fn start(
        &mut self,
        pod: &Arc<Pod>,
        c: &Container,
        init: bool,
        restart_count: i32,
        sandbox_id: &str,
        attempt: u32,
    ) -> Result<(), Duration> {
        self.acted.store(true, Ordering::Relaxed);
        self.ensure_image(pod, c, init).await?;
        let vols = self.ensure_volumes(pod, false).await?;
        let (_, ns, _) = ids(pod);
        let pod_ip = match self.shared.cri.pod_sandbox_status(sandbox_id).await {
            Ok(s) => s.network.map(|n| n.ip).unwrap_or_default(),
            Err(_) => String::new(),
        };
        let links = pod
            .spec
            .as_ref()
            .and_then(|s| s.enable_service_links)
            .unwrap_or(true);
        let services = if links {
            self.shared.api.services(&ns).await.unwrap_or_default()
        } else {
            vec![]
        };
        let mut ctx = self.env_ctx(&pod_ip);
        ctx.services = &services;
        let env = match container_env(pod, c, &ctx, self.shared.api.as_ref()).await {
            Ok(e) => e,
            Err(e) => {
                let msg = e.to_string();
                self.waiting.insert(
                    c.name.clone(),
                    ("CreateContainerConfigError".into(), msg.clone()),
                );
                self.event(
                    pod,
                    Some((c, init)),
                    WARNING,
                    "Failed",
                    format!("Error: {msg}"),
                );
                return Err(Duration::from_secs(5));
            }
        };
        let command = expand_all(&c.command.clone().unwrap_or_default(), &env);
        let args = expand_all(&c.args.clone().unwrap_or_default(), &env);
        let config = container_config(
            pod,
            ContainerInputs {
                container: c,
                restart_count,
                env,
                command,
                args,
                volumes: &vols,
                node_memory: self.shared.node_memory,
            },
        );
        let sb_config = sandbox_config(&self.shared.cfg, pod, attempt);
        let _ = std::fs::create_dir_all(PathBuf::from(&sb_config.log_directory).join(&c.name));
        let id = match self
            .shared
            .cri
            .create_container(sandbox_id, config, sb_config)
            .await
        {
            Ok(id) => id,
            Err(e) => {
                let msg = e.to_string();
                self.waiting
                    .insert(c.name.clone(), ("CreateContainerError".into(), msg.clone()));
                self.event(
                    pod,
                    Some((c, init)),
                    WARNING,
                    "Failed",
                    format!("Error: {msg}"),
                );
                return Err(Duration::from_secs(5));
            }
        };
        self.event(
            pod,
            Some((c, init)),
            NORMAL,
            "Created",
            format!("Created container: {}", c.name),
        );
        if let Err(e) = self.shared.cri.start_container(&id).await {
            let msg = e.to_string();
            self.waiting
                .insert(c.name.clone(), ("RunContainerError".into(), msg.clone()));
            self.event(
                pod,
                Some((c, init)),
                WARNING,
                "Failed",
                format!("Error: {msg}"),
            );
            return Err(Duration::from_secs(5));
        }
        self.waiting.remove(&c.name);
        self.event(
            pod,
            Some((c, init)),
            NORMAL,
            "Started",
            format!("Started container {}", c.name),
        );
        if let Some(h) = c.lifecycle.as_ref().and_then(|l| l.post_start.as_ref()) {
            let res = if let Some(a) = &h.exec {
                handlers::exec(self.shared.cri.as_ref(), &id, a, Duration::from_secs(30)).await
            } else if let Some(a) = &h.http_get {
                handlers::http_get(a, &pod_ip, &[], Duration::from_secs(10)).await
            } else {
                Ok(())
            };
            if let Err(msg) = res {
                let text = match &h.exec {
                    Some(a) => format!("PostStartHook failed: Exec lifecycle hook ({:?}) for Container \"{}\" in Pod \"{}\" failed - error: {msg}", a.command.clone().unwrap_or_default(), c.name, pod.metadata.name.clone().unwrap_or_default()),
                    None => format!("PostStartHook failed: HTTP lifecycle hook for Container \"{}\" failed - error: {msg}", c.name),
                };
                self.event(pod, Some((c, init)), WARNING, "FailedPostStartHook", text);
                let _ = self.shared.cri.stop_container(&id, 2).await;
            }
        }
        Ok(())
    }

    /// Run preStop (within the grace) then stop one container.
    async fn stop_one(
        &self,
        pod: &Pod,
        c: &Container,
        _init: bool,
        info: &ContainerInfo,
        grace: i64,
    ) {
        self.acted.store(true, Ordering::Relaxed);
        let started = Instant::now();
        if let Some(h) = c.lifecycle.as_ref().and_then(|l| l.pre_stop.as_ref()) {
            let limit = Duration::from_secs(grace.max(0) as u64);
            let run = async {
                if let Some(a) = &h.exec {
                    handlers::exec(self.shared.cri.as_ref(), &info.id, a, limit).await
                } else if let Some(a) = &h.http_get {
                    let ip = match self.shared.cri.pod_sandbox_status(&info.sandbox_id).await {
                        Ok(s) => s.network.map(|n| n.ip).unwrap_or_default(),
                        Err(_) => String::new(),
                    };
                    handlers::http_get(a, &ip, &[], limit).await
                } else if let Some(s) = &h.sleep {
                    tokio::time::sleep(Duration::from_secs(s.seconds.max(0) as u64)).await;
                    Ok(())
                } else {
                    Ok(())
                }
            };
            match tokio::time::timeout(limit, run).await {
                Ok(Err(msg)) => self.event(
                    pod,
                    Some((c, false)),
                    WARNING,
                    "FailedPreStopHook",
                    format!("PreStopHook failed: {msg}"),
                ),
                Err(_) => {}
                Ok(Ok(())) => {}
            }
        }
        let left = grace - started.elapsed().as_secs() as i64;
        let timeout = left.max(2);
        if let Err(e) = self.shared.cri.stop_container(&info.id, timeout).await {
            if !e.is_not_found() {
                tracing::warn!(error = %e, container = %info.id, "stop failed");
            }
        }
    }

    /// Stop every running container with the pod's grace period, in parallel.
    async fn kill_all(&self, pod: &Pod, grace_override: Option<i64>) {
        let (_, _, uid) = ids(pod);
        let Ok(rt) = fetch(self.shared.cri.as_ref(), &uid).await else {
            return;
        };
        let grace = grace_override
            .or(pod.metadata.deletion_grace_period_seconds)
            .or(pod
                .spec
                .as_ref()
                .and_then(|s| s.termination_grace_period_seconds))
            .unwrap_or(30);
        let spec = pod.spec.clone().unwrap_or_default();
        let all: Vec<(Container, bool)> = spec
            .containers
            .iter()
            .map(|c| (c.clone(), false))
            .chain(
                spec.init_containers
                    .iter()
                    .flatten()
                    .map(|c| (c.clone(), true)),
            )
            .collect();
        let mut stops = vec![];
        for info in rt
            .containers
            .iter()
            .filter(|c| c.state == State::Running || c.state == State::Created)
        {
            let (c, init) = all
                .iter()
                .find(|(c, _)| c.name == info.name)
                .cloned()
                .unwrap_or_else(|| {
                    (
                        Container {
                            name: info.name.clone(),
                            ..Default::default()
                        },
                        false,
                    )
                });
            self.event(
                pod,
                Some((&c, init)),
                NORMAL,
                "Killing",
                format!("Stopping container {}", c.name),
            );
            let me = self;
            stops.push(async move {
                me.stop_one(pod, &c, init, info, grace).await;
            });
        }
        futures::future::join_all(stops).await;
        for sb in &rt.sandboxes {
            let _ = self.shared.cri.stop_pod_sandbox(&sb.id).await;
        }
    }

    async fn cleanup(&mut self, pod: &Pod) {
        let (_, _, uid) = ids(pod);
        for (_, h) in self.probes.drain() {
            h.abort();
        }
        if let Ok(rt) = fetch(self.shared.cri.as_ref(), &uid).await {
            for c in &rt.containers {
                self.shared.probes.remove(&c.id);
                let _ = self.shared.cri.remove_container(&c.id).await;
            }
            for sb in &rt.sandboxes {
                let _ = self.shared.cri.stop_pod_sandbox(&sb.id).await;
                let _ = self.shared.cri.remove_pod_sandbox(&sb.id).await;
            }
        }
        volumes::cleanup(&self.shared.cfg.pod_volumes_dir(&uid));
        self.shared.backoff.forget_pod(&uid);
    }

    /// Graceful deletion: preStop, stop with the remaining grace, final
    /// status, then delete the pod object (grace 0, uid precondition).
    async fn terminate(&mut self, pod: &Arc<Pod>) {
        for (_, h) in self.probes.drain() {
            h.abort();
        }
        self.kill_all(pod, None).await;
        let (name, ns, uid) = ids(pod);
        if let Ok(rt) = fetch(self.shared.cri.as_ref(), &uid).await {
            let status = compute(pod, &rt, &self.notes(&rt), Utc::now());
            self.report(pod, status).await;
        }
        self.cleanup(pod).await;
        if let Err(e) = self.shared.api.delete_pod(&ns, &name, &uid).await {
            tracing::warn!(error = %e, pod = %name, "could not delete pod object");
        }
    }

    /// Start probe tasks for running containers, drop those of gone ones.
    fn update_probes(&mut self, pod: &Arc<Pod>, rt: &RuntimePod) {
        let spec = pod.spec.clone().unwrap_or_default();
        let sandbox_ip = rt
            .sandbox()
            .and_then(|s| s.ips.first().cloned())
            .unwrap_or_default();
        let pod_ip = if spec.host_network == Some(true) {
            self.shared.host_ip.clone()
        } else {
            sandbox_ip
        };
        let running: HashMap<String, &ContainerInfo> = rt
            .containers
            .iter()
            .filter(|c| c.state == State::Running)
            .map(|c| (c.id.clone(), c))
            .collect();
        self.probes.retain(|(id, _), h| {
            if running.contains_key(id) {
                true
            } else {
                h.abort();
                false
            }
        });
        for c in &spec.containers {
            let Some(info) = rt
                .containers
                .iter()
                .find(|i| i.name == c.name && i.state == State::Running)
            else {
                continue;
            };
            let has_startup = c.startup_probe.is_some();
            for (kind, probe) in [
                (Kind::Startup, c.startup_probe.clone()),
                (Kind::Liveness, c.liveness_probe.clone()),
                (Kind::Readiness, c.readiness_probe.clone()),
            ] {
                let Some(probe) = probe else { continue };
                let key = (info.id.clone(), kind);
                if self.probes.contains_key(&key)
                    || self.shared.probes.get(&info.id, kind).is_some() && kind != Kind::Readiness
                {
                    continue;
                }
                let task = ProbeTask {
                    pod: pod.clone(),
                    container: c.clone(),
                    init: false,
                    container_id: info.id.clone(),
                    pod_ip: pod_ip.clone(),
                    kind,
                    probe,
                };
                let h = tokio::spawn(probe::run(
                    task,
                    self.shared.cri.clone(),
                    self.shared.probes.clone(),
                    self.shared.events.clone(),
                    self.kick_tx.clone(),
                    has_startup && kind != Kind::Startup,
                ));
                self.probes.insert(key, h);
            }
        }
    }
}

/// Probe results shared by all workers.
pub type ProbeResults = Results;
