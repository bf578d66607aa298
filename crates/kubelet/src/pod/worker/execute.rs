//! Executing a plan in upstream SyncPod's order: kill the pod or single
//! containers, remove stale instances, create the sandbox, start the next
//! init container, start app containers. Nothing here decides; a start the
//! back-off holds is reported as CrashLoopBackOff and retried when it ends.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use k8s_openapi::api::core::v1::{Container, Pod};

use super::Worker;
use crate::pod::backoff::go_duration;
use crate::pod::config::{ids, sandbox_config};
use crate::pod::plan::{restart_key, Hold, Kill, PodActions, Start};
use crate::pod::runtime::RuntimePod;
use skiff_client::events::{NORMAL, WARNING};

/// The sandbox containers start in.
pub(super) struct Target {
    /// Its runtime id.
    pub id: String,
    /// Its attempt number.
    pub attempt: u32,
    /// The pod IP it has.
    pub pod_ip: String,
}

/// The spec of init container or app container `index`.
fn spec_at(pod: &Pod, init: bool, index: usize) -> Option<Container> {
    let spec = pod.spec.as_ref()?;
    let list = if init {
        spec.init_containers.as_deref().unwrap_or_default()
    } else {
        &spec.containers
    };
    list.get(index).cloned()
}

/// The spec of a container by name (a bare one when the spec has no such container).
pub(super) fn spec_named(pod: &Pod, name: &str) -> (Container, bool) {
    let spec = pod.spec.as_ref();
    let apps = spec.map(|s| s.containers.as_slice()).unwrap_or_default();
    let inits = spec
        .and_then(|s| s.init_containers.as_deref())
        .unwrap_or_default();
    if let Some(c) = apps.iter().find(|c| c.name == name) {
        return (c.clone(), false);
    }
    if let Some(c) = inits.iter().find(|c| c.name == name) {
        return (c.clone(), true);
    }
    let bare = Container {
        name: name.to_string(),
        ..Default::default()
    };
    (bare, false)
}

impl Worker {
    /// Carry out `plan` against the snapshot `rt` it was computed from.
    /// Err(delay) asks for another pass after `delay`.
    pub(super) async fn execute(
        &mut self,
        pod: &Arc<Pod>,
        rt: &RuntimePod,
        plan: &PodActions,
        grace_override: Option<i64>,
    ) -> Result<(), Duration> {
        if plan.create_sandbox && plan.sandbox_id.is_some() {
            let msg = "Pod sandbox changed, it will be killed and re-created.";
            self.event(pod, None, NORMAL, "SandboxChanged", msg.into());
        }
        if plan.kill_pod {
            self.kill_pod(pod, rt, grace_override, plan.create_sandbox)
                .await;
        } else {
            self.kill_containers(pod, rt, &plan.kill).await;
        }
        for id in &plan.remove {
            self.remove_instance(id).await;
        }
        if plan.next_init.is_none() && plan.start.is_empty() {
            return Ok(());
        }
        let target = self.target(pod, rt, plan).await?;
        if let Some(next) = &plan.next_init {
            return self.start_planned(pod, next, true, &target).await;
        }
        let mut retry: Option<Duration> = None;
        for s in &plan.start {
            if let Err(d) = self.start_planned(pod, s, false, &target).await {
                retry = Some(retry.map_or(d, |r| r.min(d)));
            }
        }
        retry.map_or(Ok(()), Err)
    }

    /// Stop single containers, each with the pod's grace period.
    async fn kill_containers(&mut self, pod: &Pod, rt: &RuntimePod, kills: &[Kill]) {
        let grace = pod
            .spec
            .as_ref()
            .and_then(|s| s.termination_grace_period_seconds)
            .unwrap_or(30);
        for k in kills {
            let Some(info) = rt.containers.iter().find(|i| i.id == k.id) else {
                continue;
            };
            let (c, _) = spec_named(pod, &k.name);
            self.event(
                pod,
                Some((&c, k.init)),
                NORMAL,
                "Killing",
                k.message.clone(),
            );
            self.stop_one(pod, &c, k.init, info, grace).await;
            self.shared.probes.remove(&k.id);
        }
    }

    async fn remove_instance(&self, id: &str) {
        self.touched();
        self.shared.probes.remove(id);
        if let Err(e) = self.shared.cri.remove_container(id).await {
            if !e.is_not_found() {
                tracing::warn!(error = %e, container = %id, "remove failed");
            }
        }
    }

    /// The sandbox to start containers in: the plan's, or a new one.
    async fn target(
        &mut self,
        pod: &Pod,
        rt: &RuntimePod,
        plan: &PodActions,
    ) -> Result<Target, Duration> {
        if plan.create_sandbox {
            return self.create_sandbox(pod, plan.attempt).await;
        }
        let sandbox = plan
            .sandbox_id
            .as_ref()
            .and_then(|id| rt.sandboxes.iter().find(|s| &s.id == id))
            .ok_or(Duration::from_secs(2))?;
        Ok(Target {
            id: sandbox.id.clone(),
            attempt: plan.attempt,
            pod_ip: sandbox.ips.first().cloned().unwrap_or_default(),
        })
    }

    /// Prepare the volumes and run a new sandbox, attempt `attempt`.
    async fn create_sandbox(&mut self, pod: &Pod, attempt: u32) -> Result<Target, Duration> {
        self.touched();
        self.ensure_volumes(pod, true).await?;
        let cfg = sandbox_config(&self.shared.cfg, pod, attempt);
        let _ = std::fs::create_dir_all(&cfg.log_directory);
        let id = match self.shared.cri.run_pod_sandbox(cfg).await {
            Ok(id) => id,
            Err(e) => {
                let msg = format!("Failed to create pod sandbox: {e}");
                self.event(pod, None, WARNING, "FailedCreatePodSandBox", msg);
                return Err(Duration::from_secs(5));
            }
        };
        let pod_ip = match self.shared.cri.pod_sandbox_status(&id).await {
            Ok(s) => s.network.map(|n| n.ip).unwrap_or_default(),
            Err(_) => String::new(),
        };
        Ok(Target {
            id,
            attempt,
            pod_ip,
        })
    }

    /// Start one planned container unless the back-off holds it.
    async fn start_planned(
        &mut self,
        pod: &Arc<Pod>,
        s: &Start,
        init: bool,
        target: &Target,
    ) -> Result<(), Duration> {
        let Some(c) = spec_at(pod, init, s.index) else {
            return Ok(());
        };
        if let Some(hold) = s.hold {
            return Err(self.hold_back(pod, &c, init, hold));
        }
        if let Some(id) = &s.replaces {
            self.remove_instance(id).await;
        }
        if let Some(exited) = s.last_exit {
            self.shared.backoff.next(&restart_key(pod, &c), exited);
        }
        self.start(pod, &c, init, s.restart_count, target).await
    }

    /// Report a restart the back-off holds (CrashLoopBackOff, a BackOff
    /// event when the delay is new); returns when to try again.
    fn hold_back(&mut self, pod: &Pod, c: &Container, init: bool, hold: Hold) -> Duration {
        let (name, ns, uid) = ids(pod);
        let msg = format!(
            "back-off {} restarting failed container={} pod={name}_{ns}({uid})",
            go_duration(hold.delay),
            c.name,
        );
        let first = self.waiting.get(&c.name).map(|w| w.1.as_str()) != Some(msg.as_str());
        self.waiting
            .insert(c.name.clone(), ("CrashLoopBackOff".into(), msg));
        if first {
            let text = format!(
                "Back-off restarting failed container {} in pod {name}_{ns}({uid})",
                c.name
            );
            self.event(pod, Some((c, init)), WARNING, "BackOff", text);
        }
        let left = (hold.until - Utc::now())
            .to_std()
            .unwrap_or(Duration::from_millis(100));
        left + Duration::from_millis(50)
    }
}
