//! The real CRI client: tonic over a unix socket.

use std::time::Duration;

use async_trait::async_trait;
use hyper_util::rt::TokioIo;
use k8s_cri::v1 as cri;
use k8s_cri::v1::image_service_client::ImageServiceClient;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};

use super::{Cri, CriError};

/// CRI client over gRPC.
#[derive(Clone)]
pub struct GrpcCri {
    runtime: RuntimeServiceClient<Channel>,
    image: ImageServiceClient<Channel>,
}

/// Connect to a CRI runtime at `unix:///path` (a bare path works too).
pub async fn connect_cri(endpoint: &str) -> Result<GrpcCri, CriError> {
    let path = endpoint
        .strip_prefix("unix://")
        .unwrap_or(endpoint)
        .to_string();
    if path.is_empty() || !path.starts_with('/') {
        return Err(CriError::Endpoint(endpoint.to_string()));
    }
    let channel = Endpoint::from_static("http://[::]:50051")
        .connect_timeout(Duration::from_secs(10))
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let path = path.clone();
            async move { Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(path).await?)) }
        }))
        .await?;
    Ok(GrpcCri {
        runtime: RuntimeServiceClient::new(channel.clone())
            .max_decoding_message_size(64 * 1024 * 1024),
        image: ImageServiceClient::new(channel).max_decoding_message_size(64 * 1024 * 1024),
    })
}

impl GrpcCri {
    /// ListPodSandbox with an optional filter.
    async fn sandboxes(
        &self,
        filter: Option<cri::PodSandboxFilter>,
    ) -> Result<Vec<cri::PodSandbox>, CriError> {
        let req = cri::ListPodSandboxRequest { filter };
        Ok(self
            .runtime
            .clone()
            .list_pod_sandbox(req)
            .await?
            .into_inner()
            .items)
    }

    /// ListContainers with an optional filter.
    async fn containers(
        &self,
        filter: Option<cri::ContainerFilter>,
    ) -> Result<Vec<cri::Container>, CriError> {
        let req = cri::ListContainersRequest { filter };
        Ok(self
            .runtime
            .clone()
            .list_containers(req)
            .await?
            .into_inner()
            .containers)
    }
}

/// Label selector for the objects of pod `uid`.
fn pod_selector(uid: &str) -> std::collections::HashMap<String, String> {
    std::collections::HashMap::from([(super::labels::POD_UID.to_string(), uid.to_string())])
}

fn image_spec(image: &str) -> cri::ImageSpec {
    cri::ImageSpec {
        image: image.to_string(),
        user_specified_image: image.to_string(),
        ..Default::default()
    }
}

#[async_trait]
impl Cri for GrpcCri {
    async fn version(&self) -> Result<cri::VersionResponse, CriError> {
        let req = cri::VersionRequest {
            version: "v1".into(),
        };
        Ok(self.runtime.clone().version(req).await?.into_inner())
    }

    async fn update_runtime_config(&self, pod_cidr: &str) -> Result<(), CriError> {
        let req = cri::UpdateRuntimeConfigRequest {
            runtime_config: Some(cri::RuntimeConfig {
                network_config: Some(cri::NetworkConfig {
                    pod_cidr: pod_cidr.to_string(),
                }),
            }),
        };
        self.runtime.clone().update_runtime_config(req).await?;
        Ok(())
    }

    async fn run_pod_sandbox(&self, config: cri::PodSandboxConfig) -> Result<String, CriError> {
        let req = cri::RunPodSandboxRequest {
            config: Some(config),
            runtime_handler: String::new(),
        };
        Ok(self
            .runtime
            .clone()
            .run_pod_sandbox(req)
            .await?
            .into_inner()
            .pod_sandbox_id)
    }

    async fn stop_pod_sandbox(&self, id: &str) -> Result<(), CriError> {
        let req = cri::StopPodSandboxRequest {
            pod_sandbox_id: id.into(),
        };
        self.runtime.clone().stop_pod_sandbox(req).await?;
        Ok(())
    }

    async fn remove_pod_sandbox(&self, id: &str) -> Result<(), CriError> {
        let req = cri::RemovePodSandboxRequest {
            pod_sandbox_id: id.into(),
        };
        self.runtime.clone().remove_pod_sandbox(req).await?;
        Ok(())
    }

    async fn pod_sandbox_status(&self, id: &str) -> Result<cri::PodSandboxStatus, CriError> {
        let req = cri::PodSandboxStatusRequest {
            pod_sandbox_id: id.into(),
            verbose: false,
        };
        let resp = self
            .runtime
            .clone()
            .pod_sandbox_status(req)
            .await?
            .into_inner();
        resp.status
            .ok_or_else(|| tonic::Status::not_found(format!("sandbox {id} has no status")).into())
    }

    async fn list_pod_sandbox(&self) -> Result<Vec<cri::PodSandbox>, CriError> {
        self.sandboxes(None).await
    }

    async fn pod_sandboxes_of(&self, uid: &str) -> Result<Vec<cri::PodSandbox>, CriError> {
        self.sandboxes(Some(cri::PodSandboxFilter {
            label_selector: pod_selector(uid),
            ..Default::default()
        }))
        .await
    }

    async fn create_container(
        &self,
        sandbox_id: &str,
        config: cri::ContainerConfig,
        sandbox: cri::PodSandboxConfig,
    ) -> Result<String, CriError> {
        let req = cri::CreateContainerRequest {
            pod_sandbox_id: sandbox_id.into(),
            config: Some(config),
            sandbox_config: Some(sandbox),
        };
        Ok(self
            .runtime
            .clone()
            .create_container(req)
            .await?
            .into_inner()
            .container_id)
    }

    async fn start_container(&self, id: &str) -> Result<(), CriError> {
        let req = cri::StartContainerRequest {
            container_id: id.into(),
        };
        self.runtime.clone().start_container(req).await?;
        Ok(())
    }

    async fn stop_container(&self, id: &str, timeout: i64) -> Result<(), CriError> {
        let req = cri::StopContainerRequest {
            container_id: id.into(),
            timeout,
        };
        self.runtime.clone().stop_container(req).await?;
        Ok(())
    }

    async fn remove_container(&self, id: &str) -> Result<(), CriError> {
        let req = cri::RemoveContainerRequest {
            container_id: id.into(),
        };
        self.runtime.clone().remove_container(req).await?;
        Ok(())
    }

    async fn list_containers(&self) -> Result<Vec<cri::Container>, CriError> {
        self.containers(None).await
    }

    async fn containers_of(&self, uid: &str) -> Result<Vec<cri::Container>, CriError> {
        self.containers(Some(cri::ContainerFilter {
            label_selector: pod_selector(uid),
            ..Default::default()
        }))
        .await
    }

    async fn container_status(&self, id: &str) -> Result<cri::ContainerStatus, CriError> {
        let req = cri::ContainerStatusRequest {
            container_id: id.into(),
            verbose: false,
        };
        let resp = self
            .runtime
            .clone()
            .container_status(req)
            .await?
            .into_inner();
        resp.status
            .ok_or_else(|| tonic::Status::not_found(format!("container {id} has no status")).into())
    }

    async fn exec_sync(
        &self,
        id: &str,
        cmd: Vec<String>,
        timeout: i64,
    ) -> Result<cri::ExecSyncResponse, CriError> {
        let req = cri::ExecSyncRequest {
            container_id: id.into(),
            cmd,
            timeout,
        };
        Ok(self.runtime.clone().exec_sync(req).await?.into_inner())
    }

    async fn exec(&self, req: cri::ExecRequest) -> Result<String, CriError> {
        Ok(self.runtime.clone().exec(req).await?.into_inner().url)
    }

    async fn attach(&self, req: cri::AttachRequest) -> Result<String, CriError> {
        Ok(self.runtime.clone().attach(req).await?.into_inner().url)
    }

    async fn port_forward(&self, sandbox_id: &str, ports: Vec<i32>) -> Result<String, CriError> {
        let req = cri::PortForwardRequest {
            pod_sandbox_id: sandbox_id.into(),
            port: ports,
        };
        Ok(self
            .runtime
            .clone()
            .port_forward(req)
            .await?
            .into_inner()
            .url)
    }

    async fn image_status(&self, image: &str) -> Result<Option<cri::Image>, CriError> {
        let req = cri::ImageStatusRequest {
            image: Some(image_spec(image)),
            verbose: false,
        };
        Ok(self
            .image
            .clone()
            .image_status(req)
            .await?
            .into_inner()
            .image)
    }

    async fn pull_image(
        &self,
        image: &str,
        sandbox: Option<cri::PodSandboxConfig>,
    ) -> Result<String, CriError> {
        let req = cri::PullImageRequest {
            image: Some(image_spec(image)),
            auth: None,
            sandbox_config: sandbox,
        };
        Ok(self
            .image
            .clone()
            .pull_image(req)
            .await?
            .into_inner()
            .image_ref)
    }

    async fn list_container_stats(&self) -> Result<Vec<cri::ContainerStats>, CriError> {
        let req = cri::ListContainerStatsRequest { filter: None };
        Ok(self
            .runtime
            .clone()
            .list_container_stats(req)
            .await?
            .into_inner()
            .stats)
    }
}
