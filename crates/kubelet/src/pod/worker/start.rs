//! Starting one container instance: image, volumes, environment, the CRI
//! config, CreateContainer and StartContainer with their events and waiting
//! reasons, then the postStart hook.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Container, LifecycleHandler, Pod};

use super::execute::Target;
use super::Worker;
use crate::pod::config::{container_config, ids, sandbox_config, ContainerInputs};
use crate::pod::env::{container_env, expand_all, EnvContext};
use crate::pod::handlers;
use crate::pod::volumes::{self, Prepared};
use skiff_client::events::{NORMAL, WARNING};

/// How long a prepared volume set is reused before it is refreshed.
const VOLUME_REFRESH: Duration = Duration::from_secs(60);

impl Worker {
    /// Create and start one container instance in `target`.
    pub(super) async fn start(
        &mut self,
        pod: &Arc<Pod>,
        c: &Container,
        init: bool,
        restart_count: i32,
        target: &Target,
    ) -> Result<(), Duration> {
        self.touched();
        self.ensure_image(pod, c, init).await?;
        let vols = self.ensure_volumes(pod, false).await?;
        let env = self.env(pod, c, init, &target.pod_ip).await?;
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
        let sb_config = sandbox_config(&self.shared.cfg, pod, target.attempt);
        let _ = std::fs::create_dir_all(PathBuf::from(&sb_config.log_directory).join(&c.name));
        let created = self
            .shared
            .cri
            .create_container(&target.id, config, sb_config)
            .await;
        let id = match created {
            Ok(id) => id,
            Err(e) => return Err(self.failed(pod, c, init, "CreateContainerError", e.to_string())),
        };
        let msg = format!("Created container: {}", c.name);
        self.event(pod, Some((c, init)), NORMAL, "Created", msg);
        if let Err(e) = self.shared.cri.start_container(&id).await {
            return Err(self.failed(pod, c, init, "RunContainerError", e.to_string()));
        }
        self.waiting.remove(&c.name);
        let msg = format!("Started container {}", c.name);
        self.event(pod, Some((c, init)), NORMAL, "Started", msg);
        if let Some(h) = c.lifecycle.as_ref().and_then(|l| l.post_start.as_ref()) {
            self.post_start(pod, c, init, h, &id, &target.pod_ip).await;
        }
        Ok(())
    }

    /// Record a failed start: the waiting reason and a `Failed` event;
    /// returns when to try again.
    fn failed(
        &mut self,
        pod: &Pod,
        c: &Container,
        init: bool,
        reason: &str,
        msg: String,
    ) -> Duration {
        self.waiting
            .insert(c.name.clone(), (reason.into(), msg.clone()));
        self.event(
            pod,
            Some((c, init)),
            WARNING,
            "Failed",
            format!("Error: {msg}"),
        );
        Duration::from_secs(5)
    }

    /// The environment of `c` (service links read from the API when enabled).
    async fn env(
        &mut self,
        pod: &Pod,
        c: &Container,
        init: bool,
        pod_ip: &str,
    ) -> Result<Vec<(String, String)>, Duration> {
        let (_, ns, _) = ids(pod);
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
        let mut ctx = self.env_ctx(pod_ip);
        ctx.services = &services;
        let built = container_env(pod, c, &ctx, self.shared.api.as_ref()).await;
        built.map_err(|e| self.failed(pod, c, init, "CreateContainerConfigError", e.to_string()))
    }

    /// Run the postStart hook; a failure is reported and stops the container.
    async fn post_start(
        &self,
        pod: &Pod,
        c: &Container,
        init: bool,
        h: &LifecycleHandler,
        id: &str,
        pod_ip: &str,
    ) {
        let res = if let Some(a) = &h.exec {
            handlers::exec(self.shared.cri.as_ref(), id, a, Duration::from_secs(30)).await
        } else if let Some(a) = &h.http_get {
            handlers::http_get(a, pod_ip, &[], Duration::from_secs(10)).await
        } else {
            Ok(())
        };
        let Err(msg) = res else {
            return;
        };
        let pod_name = pod.metadata.name.clone().unwrap_or_default();
        let text = match &h.exec {
            Some(a) => format!(
                "PostStartHook failed: Exec lifecycle hook ({:?}) for Container \"{}\" in Pod \"{pod_name}\" failed - error: {msg}",
                a.command.clone().unwrap_or_default(),
                c.name
            ),
            None => format!(
                "PostStartHook failed: HTTP lifecycle hook for Container \"{}\" failed - error: {msg}",
                c.name
            ),
        };
        self.event(pod, Some((c, init)), WARNING, "FailedPostStartHook", text);
        let _ = self.shared.cri.stop_container(id, 2).await;
    }

    /// The pod's prepared volumes: reused for a minute unless `force`.
    pub(super) async fn ensure_volumes(
        &mut self,
        pod: &Pod,
        force: bool,
    ) -> Result<BTreeMap<String, Prepared>, Duration> {
        if let Some((at, v)) = &self.volumes {
            if !force && at.elapsed() < VOLUME_REFRESH {
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
}
