//! An in-memory CRI runtime for unit tests: records calls, lets tests make
//! containers exit and images appear.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use async_trait::async_trait;
use k8s_cri::v1 as cri;

use super::{Cri, CriError};

/// One fake container.
#[derive(Clone, Debug)]
pub struct FakeContainer {
    pub status: cri::ContainerStatus,
    pub sandbox_id: String,
}

/// Mutable state of the fake runtime.
#[derive(Default)]
pub struct FakeState {
    pub sandboxes: BTreeMap<String, (cri::PodSandboxConfig, i32)>,
    pub containers: BTreeMap<String, FakeContainer>,
    pub images: BTreeSet<String>,
    pub calls: Vec<String>,
    pub fail_pull: bool,
    pub next_id: u64,
    pub now: i64,
}

/// The fake runtime.
#[derive(Default)]
pub struct FakeCri {
    pub state: Mutex<FakeState>,
}

impl FakeCri {
    pub fn with_images(images: &[&str]) -> Self {
        let f = FakeCri::default();
        f.lock().images = images.iter().map(|s| s.to_string()).collect();
        f.lock().now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
        f
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, FakeState> {
        match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    /// Make every running container named `name` exit with `code`.
    pub fn exit(&self, name: &str, code: i32) {
        let mut s = self.lock();
        s.now += 1_000_000_000;
        let now = s.now;
        for c in s.containers.values_mut() {
            let running = c.status.state == cri::ContainerState::ContainerRunning as i32;
            let named = c.status.metadata.as_ref().map(|m| m.name.as_str()) == Some(name);
            if running && named {
                c.status.state = cri::ContainerState::ContainerExited as i32;
                c.status.exit_code = code;
                c.status.finished_at = now;
                c.status.reason = if code == 0 { "Completed" } else { "Error" }.into();
            }
        }
    }
}

fn nf(what: &str) -> CriError {
    CriError::Status(tonic::Status::not_found(what.to_string()))
}

#[async_trait]
impl Cri for FakeCri {
    async fn version(&self) -> Result<cri::VersionResponse, CriError> {
        Ok(cri::VersionResponse {
            version: "0.1.0".into(),
            runtime_name: "fake".into(),
            runtime_version: "1.0".into(),
            runtime_api_version: "v1".into(),
        })
    }
    async fn update_runtime_config(&self, pod_cidr: &str) -> Result<(), CriError> {
        self.lock()
            .calls
            .push(format!("UpdateRuntimeConfig {pod_cidr}"));
        Ok(())
    }
    async fn run_pod_sandbox(&self, config: cri::PodSandboxConfig) -> Result<String, CriError> {
        let mut s = self.lock();
        s.next_id += 1;
        let id = format!("sb{}", s.next_id);
        let name = config
            .metadata
            .as_ref()
            .map(|m| m.name.clone())
            .unwrap_or_default();
        s.calls.push(format!("RunPodSandbox {name}"));
        s.sandboxes.insert(
            id.clone(),
            (config, cri::PodSandboxState::SandboxReady as i32),
        );
        Ok(id)
    }
    async fn stop_pod_sandbox(&self, id: &str) -> Result<(), CriError> {
        let mut s = self.lock();
        s.calls.push(format!("StopPodSandbox {id}"));
        let now = s.now;
        for c in s.containers.values_mut() {
            if c.sandbox_id == id && c.status.state == cri::ContainerState::ContainerRunning as i32
            {
                c.status.state = cri::ContainerState::ContainerExited as i32;
                c.status.exit_code = 137;
                c.status.finished_at = now;
            }
        }
        if let Some(sb) = s.sandboxes.get_mut(id) {
            sb.1 = cri::PodSandboxState::SandboxNotready as i32;
        }
        Ok(())
    }
    async fn remove_pod_sandbox(&self, id: &str) -> Result<(), CriError> {
        let mut s = self.lock();
        s.calls.push(format!("RemovePodSandbox {id}"));
        s.sandboxes.remove(id);
        s.containers.retain(|_, c| c.sandbox_id != id);
        Ok(())
    }
    async fn pod_sandbox_status(&self, id: &str) -> Result<cri::PodSandboxStatus, CriError> {
        let s = self.lock();
        let (config, state) = s.sandboxes.get(id).ok_or_else(|| nf(id))?;
        Ok(cri::PodSandboxStatus {
            id: id.into(),
            metadata: config.metadata.clone(),
            state: *state,
            network: Some(cri::PodSandboxNetworkStatus {
                ip: "10.42.0.7".into(),
                additional_ips: vec![],
            }),
            labels: config.labels.clone(),
            annotations: config.annotations.clone(),
            ..Default::default()
        })
    }
    async fn list_pod_sandbox(&self) -> Result<Vec<cri::PodSandbox>, CriError> {
        let s = self.lock();
        Ok(s.sandboxes
            .iter()
            .map(|(id, (c, st))| cri::PodSandbox {
                id: id.clone(),
                metadata: c.metadata.clone(),
                state: *st,
                created_at: 0,
                labels: c.labels.clone(),
                annotations: c.annotations.clone(),
                runtime_handler: String::new(),
            })
            .collect())
    }
    async fn create_container(
        &self,
        sandbox_id: &str,
        config: cri::ContainerConfig,
        _sandbox: cri::PodSandboxConfig,
    ) -> Result<String, CriError> {
        let mut s = self.lock();
        s.next_id += 1;
        let id = format!("c{}", s.next_id);
        let name = config
            .metadata
            .as_ref()
            .map(|m| m.name.clone())
            .unwrap_or_default();
        s.calls.push(format!("CreateContainer {name}"));
        let now = s.now;
        let status = cri::ContainerStatus {
            id: id.clone(),
            metadata: config.metadata.clone(),
            state: cri::ContainerState::ContainerCreated as i32,
            created_at: now,
            image: config.image.clone(),
            image_ref: "sha256:abc".into(),
            labels: config.labels.clone(),
            annotations: config.annotations.clone(),
            log_path: config.log_path.clone(),
            ..Default::default()
        };
        s.containers.insert(
            id.clone(),
            FakeContainer {
                status,
                sandbox_id: sandbox_id.into(),
            },
        );
        Ok(id)
    }
    async fn start_container(&self, id: &str) -> Result<(), CriError> {
        let mut s = self.lock();
        let now = s.now;
        let c = s.containers.get_mut(id).ok_or_else(|| nf(id))?;
        c.status.state = cri::ContainerState::ContainerRunning as i32;
        c.status.started_at = now;
        let name = c
            .status
            .metadata
            .as_ref()
            .map(|m| m.name.clone())
            .unwrap_or_default();
        s.calls.push(format!("StartContainer {name}"));
        Ok(())
    }
    async fn stop_container(&self, id: &str, timeout: i64) -> Result<(), CriError> {
        let mut s = self.lock();
        let now = s.now;
        let c = s.containers.get_mut(id).ok_or_else(|| nf(id))?;
        let name = c
            .status
            .metadata
            .as_ref()
            .map(|m| m.name.clone())
            .unwrap_or_default();
        if c.status.state == cri::ContainerState::ContainerRunning as i32 {
            c.status.state = cri::ContainerState::ContainerExited as i32;
            c.status.exit_code = 137;
            c.status.finished_at = now;
        }
        s.calls.push(format!("StopContainer {name} {timeout}"));
        Ok(())
    }
    async fn remove_container(&self, id: &str) -> Result<(), CriError> {
        let mut s = self.lock();
        s.calls.push(format!("RemoveContainer {id}"));
        s.containers.remove(id);
        Ok(())
    }
    async fn list_containers(&self) -> Result<Vec<cri::Container>, CriError> {
        let s = self.lock();
        Ok(s.containers
            .values()
            .map(|c| cri::Container {
                id: c.status.id.clone(),
                pod_sandbox_id: c.sandbox_id.clone(),
                metadata: c.status.metadata.clone(),
                image: c.status.image.clone(),
                image_ref: c.status.image_ref.clone(),
                state: c.status.state,
                created_at: c.status.created_at,
                labels: c.status.labels.clone(),
                annotations: c.status.annotations.clone(),
                image_id: String::new(),
            })
            .collect())
    }
    async fn container_status(&self, id: &str) -> Result<cri::ContainerStatus, CriError> {
        let s = self.lock();
        Ok(s.containers.get(id).ok_or_else(|| nf(id))?.status.clone())
    }
    async fn exec_sync(
        &self,
        id: &str,
        cmd: Vec<String>,
        _timeout: i64,
    ) -> Result<cri::ExecSyncResponse, CriError> {
        self.lock()
            .calls
            .push(format!("ExecSync {id} {}", cmd.join(" ")));
        let fail = cmd.first().map(|c| c == "false").unwrap_or(false);
        Ok(cri::ExecSyncResponse {
            stdout: vec![],
            stderr: vec![],
            exit_code: i32::from(fail),
        })
    }
    async fn exec(&self, req: cri::ExecRequest) -> Result<String, CriError> {
        Ok(format!("ws://127.0.0.1:1/exec/{}", req.container_id))
    }
    async fn attach(&self, req: cri::AttachRequest) -> Result<String, CriError> {
        Ok(format!("ws://127.0.0.1:1/attach/{}", req.container_id))
    }
    async fn port_forward(&self, sandbox_id: &str, _ports: Vec<i32>) -> Result<String, CriError> {
        Ok(format!("ws://127.0.0.1:1/portforward/{sandbox_id}"))
    }
    async fn image_status(&self, image: &str) -> Result<Option<cri::Image>, CriError> {
        let s = self.lock();
        Ok(s.images.contains(image).then(|| cri::Image {
            id: "sha256:abc".into(),
            repo_tags: vec![image.into()],
            size: 1234,
            ..Default::default()
        }))
    }
    async fn pull_image(
        &self,
        image: &str,
        _sandbox: Option<cri::PodSandboxConfig>,
    ) -> Result<String, CriError> {
        let mut s = self.lock();
        s.calls.push(format!("PullImage {image}"));
        if s.fail_pull {
            return Err(CriError::Status(tonic::Status::unknown(format!(
                "failed to resolve reference \"{image}\": not found"
            ))));
        }
        s.images.insert(image.into());
        Ok("sha256:abc".into())
    }
    async fn list_container_stats(&self) -> Result<Vec<cri::ContainerStats>, CriError> {
        Ok(vec![])
    }
}
