//! Stopping containers: the preStop hook within the grace period, then
//! StopContainer with what is left of it; killing a whole pod stops every
//! container in parallel and then its sandbox.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Container, LifecycleHandler, Pod};

use super::execute::spec_named;
use super::Worker;
use crate::pod::handlers;
use crate::pod::runtime::{ContainerInfo, RuntimePod, State};
use skiff_client::events::{NORMAL, WARNING};

/// Upstream's shortest stop timeout, so a container gets SIGTERM before SIGKILL.
const MIN_GRACE: i64 = 2;

impl Worker {
    /// Run preStop (within the grace) then stop one container.
    pub(super) async fn stop_one(
        &self,
        pod: &Pod,
        c: &Container,
        init: bool,
        info: &ContainerInfo,
        grace: i64,
    ) {
        self.touched();
        let started = Instant::now();
        if let Some(h) = c.lifecycle.as_ref().and_then(|l| l.pre_stop.as_ref()) {
            let limit = Duration::from_secs(grace.max(0) as u64);
            if let Ok(Err(msg)) = tokio::time::timeout(limit, self.pre_stop(h, info, limit)).await {
                let text = format!("PreStopHook failed: {msg}");
                self.event(pod, Some((c, init)), WARNING, "FailedPreStopHook", text);
            }
        }
        let left = grace - started.elapsed().as_secs() as i64;
        if let Err(e) = self
            .shared
            .cri
            .stop_container(&info.id, left.max(MIN_GRACE))
            .await
        {
            if !e.is_not_found() {
                tracing::warn!(error = %e, container = %info.id, "stop failed");
            }
        }
    }

    /// Run a preStop handler (exec, HTTP GET or sleep).
    async fn pre_stop(
        &self,
        h: &LifecycleHandler,
        info: &ContainerInfo,
        limit: Duration,
    ) -> Result<(), String> {
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
    }

    /// Stop every running container of `rt` in parallel (a `Killing` event
    /// each), then the sandboxes: every one when
    /// `all_sandboxes` (a new one replaces them), else the ready ones. The
    /// grace period is `grace_override`, else the deletion's, else the pod's.
    pub(super) async fn kill_pod(
        &self,
        pod: &Pod,
        rt: &RuntimePod,
        grace_override: Option<i64>,
        all_sandboxes: bool,
    ) {
        let grace = grace_override
            .or(pod.metadata.deletion_grace_period_seconds)
            .or(pod
                .spec
                .as_ref()
                .and_then(|s| s.termination_grace_period_seconds))
            .unwrap_or(30);
        let live = rt.containers.iter().filter(|c| c.state == State::Running);
        let stops = live.map(|info| {
            let (c, init) = spec_named(pod, &info.name);
            let msg = format!("Stopping container {}", c.name);
            self.event(pod, Some((&c, init)), NORMAL, "Killing", msg);
            async move { self.stop_one(pod, &c, init, info, grace).await }
        });
        futures::future::join_all(stops.collect::<Vec<_>>()).await;
        for sb in rt.sandboxes.iter().filter(|s| all_sandboxes || s.ready) {
            self.touched();
            let _ = self.shared.cri.stop_pod_sandbox(&sb.id).await;
        }
    }
}
