//! The CRI seam: a small trait over the CRI RuntimeService/ImageService so
//! the pod workers can run against the gRPC client or a fake in tests.

mod grpc;
pub(crate) mod labels;

#[cfg(test)]
pub(crate) mod fake;

pub use grpc::{connect_cri, GrpcCri};

use async_trait::async_trait;
use k8s_cri::v1 as cri;

/// A CRI call failed.
#[derive(Debug, thiserror::Error)]
pub enum CriError {
    /// The endpoint is not a usable `unix://` address.
    #[error("invalid CRI endpoint {0:?}")]
    Endpoint(String),
    /// The connection to the runtime failed.
    #[error("connect to CRI runtime: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The runtime answered with an error status.
    #[error("{}", .0.message())]
    Status(#[from] tonic::Status),
}

impl CriError {
    /// True when the runtime said the object does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, CriError::Status(s) if s.code() == tonic::Code::NotFound)
    }
}

/// The CRI calls the node agent makes.
#[async_trait]
pub trait Cri: Send + Sync + 'static {
    /// Runtime name and version.
    async fn version(&self) -> Result<cri::VersionResponse, CriError>;
    /// Tell the runtime the node's pod CIDR.
    async fn update_runtime_config(&self, pod_cidr: &str) -> Result<(), CriError>;
    /// Create and start a sandbox; returns its id.
    async fn run_pod_sandbox(&self, config: cri::PodSandboxConfig) -> Result<String, CriError>;
    /// Stop a sandbox (its containers and network).
    async fn stop_pod_sandbox(&self, id: &str) -> Result<(), CriError>;
    /// Remove a stopped sandbox.
    async fn remove_pod_sandbox(&self, id: &str) -> Result<(), CriError>;
    /// Status of one sandbox (IP, state).
    async fn pod_sandbox_status(&self, id: &str) -> Result<cri::PodSandboxStatus, CriError>;
    /// Every sandbox the runtime knows.
    async fn list_pod_sandbox(&self) -> Result<Vec<cri::PodSandbox>, CriError>;
    /// The sandboxes of one pod (label `io.kubernetes.pod.uid`); runtimes that
    /// filter on their side answer this without sending every sandbox.
    async fn pod_sandboxes_of(&self, uid: &str) -> Result<Vec<cri::PodSandbox>, CriError> {
        let mut all = self.list_pod_sandbox().await?;
        all.retain(|s| s.labels.get(labels::POD_UID).map(String::as_str) == Some(uid));
        Ok(all)
    }
    /// Create a container in a sandbox; returns its id.
    async fn create_container(
        &self,
        sandbox_id: &str,
        config: cri::ContainerConfig,
        sandbox: cri::PodSandboxConfig,
    ) -> Result<String, CriError>;
    /// Start a created container.
    async fn start_container(&self, id: &str) -> Result<(), CriError>;
    /// Stop a container, SIGKILL after `timeout` seconds.
    async fn stop_container(&self, id: &str, timeout: i64) -> Result<(), CriError>;
    /// Remove a container.
    async fn remove_container(&self, id: &str) -> Result<(), CriError>;
    /// Every container the runtime knows.
    async fn list_containers(&self) -> Result<Vec<cri::Container>, CriError>;
    /// The containers of one pod (label `io.kubernetes.pod.uid`).
    async fn containers_of(&self, uid: &str) -> Result<Vec<cri::Container>, CriError> {
        let mut all = self.list_containers().await?;
        all.retain(|c| c.labels.get(labels::POD_UID).map(String::as_str) == Some(uid));
        Ok(all)
    }
    /// Full status of one container (exit code, times, log path).
    async fn container_status(&self, id: &str) -> Result<cri::ContainerStatus, CriError>;
    /// Run a command in a container and wait for it.
    async fn exec_sync(
        &self,
        id: &str,
        cmd: Vec<String>,
        timeout: i64,
    ) -> Result<cri::ExecSyncResponse, CriError>;
    /// Prepare a streaming exec; returns the streaming URL.
    async fn exec(&self, req: cri::ExecRequest) -> Result<String, CriError>;
    /// Prepare a streaming attach; returns the streaming URL.
    async fn attach(&self, req: cri::AttachRequest) -> Result<String, CriError>;
    /// Prepare a streaming port-forward; returns the streaming URL.
    async fn port_forward(&self, sandbox_id: &str, ports: Vec<i32>) -> Result<String, CriError>;
    /// The image if present on the node.
    async fn image_status(&self, image: &str) -> Result<Option<cri::Image>, CriError>;
    /// Pull an image; returns the image reference.
    async fn pull_image(
        &self,
        image: &str,
        sandbox: Option<cri::PodSandboxConfig>,
    ) -> Result<String, CriError>;
    /// Usage figures of every container.
    async fn list_container_stats(&self) -> Result<Vec<cri::ContainerStats>, CriError>;
}
