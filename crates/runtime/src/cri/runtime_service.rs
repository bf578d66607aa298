//! The CRI `RuntimeService`: each call unpacks its request, asks the runtime core and
//! packs the answer.

use k8s_cri::v1::runtime_service_server::RuntimeService;
use k8s_cri::v1::*;
use tonic::{Request, Status};

use super::stats::{container_stats, sandbox_stats};
use super::{ok, CriService, R};
use crate::runtime::Runtime;

fn network_ready(rt: &Runtime) -> bool {
    rt.cni().settings.pod_cidr.is_some()
}

#[tonic::async_trait]
impl RuntimeService for CriService {
    async fn version(&self, _r: Request<VersionRequest>) -> R<VersionResponse> {
        ok(VersionResponse {
            version: "0.1.0".into(),
            runtime_name: "skiff".into(),
            runtime_version: env!("CARGO_PKG_VERSION").into(),
            runtime_api_version: "v1".into(),
        })
    }

    async fn run_pod_sandbox(&self, r: Request<RunPodSandboxRequest>) -> R<RunPodSandboxResponse> {
        let r = r.into_inner();
        let config = r
            .config
            .ok_or_else(|| Status::invalid_argument("sandbox config is required"))?;
        let id = self.rt.run_sandbox(config, r.runtime_handler).await?;
        ok(RunPodSandboxResponse { pod_sandbox_id: id })
    }

    async fn stop_pod_sandbox(
        &self,
        r: Request<StopPodSandboxRequest>,
    ) -> R<StopPodSandboxResponse> {
        self.rt.stop_sandbox(&r.into_inner().pod_sandbox_id).await?;
        ok(StopPodSandboxResponse {})
    }

    async fn remove_pod_sandbox(
        &self,
        r: Request<RemovePodSandboxRequest>,
    ) -> R<RemovePodSandboxResponse> {
        self.rt
            .remove_sandbox(&r.into_inner().pod_sandbox_id)
            .await?;
        ok(RemovePodSandboxResponse {})
    }

    async fn pod_sandbox_status(
        &self,
        r: Request<PodSandboxStatusRequest>,
    ) -> R<PodSandboxStatusResponse> {
        let id = r.into_inner().pod_sandbox_id;
        let status = self.rt.sandbox_status(&id)?;
        let containers_statuses = self
            .rt
            .containers_of(&status.id)?
            .iter()
            .filter_map(|c| self.rt.container_status(&c.id).ok())
            .collect();
        ok(PodSandboxStatusResponse {
            status: Some(status),
            info: Default::default(),
            containers_statuses,
            timestamp: crate::state::now_ns(),
        })
    }

    async fn list_pod_sandbox(
        &self,
        r: Request<ListPodSandboxRequest>,
    ) -> R<ListPodSandboxResponse> {
        let items = self.rt.list_sandboxes(r.into_inner().filter.as_ref())?;
        ok(ListPodSandboxResponse { items })
    }

    async fn create_container(
        &self,
        r: Request<CreateContainerRequest>,
    ) -> R<CreateContainerResponse> {
        let r = r.into_inner();
        let config = r
            .config
            .ok_or_else(|| Status::invalid_argument("container config is required"))?;
        let id = self
            .rt
            .create_container(&r.pod_sandbox_id, config, r.sandbox_config)
            .await?;
        ok(CreateContainerResponse { container_id: id })
    }

    async fn start_container(
        &self,
        r: Request<StartContainerRequest>,
    ) -> R<StartContainerResponse> {
        self.rt
            .start_container(&r.into_inner().container_id)
            .await?;
        ok(StartContainerResponse {})
    }

    async fn stop_container(&self, r: Request<StopContainerRequest>) -> R<StopContainerResponse> {
        let r = r.into_inner();
        self.rt.stop_container(&r.container_id, r.timeout).await?;
        ok(StopContainerResponse {})
    }

    async fn remove_container(
        &self,
        r: Request<RemoveContainerRequest>,
    ) -> R<RemoveContainerResponse> {
        self.rt
            .remove_container(&r.into_inner().container_id)
            .await?;
        ok(RemoveContainerResponse {})
    }

    async fn list_containers(
        &self,
        r: Request<ListContainersRequest>,
    ) -> R<ListContainersResponse> {
        let containers = self.rt.list_containers(r.into_inner().filter.as_ref())?;
        ok(ListContainersResponse { containers })
    }

    async fn container_status(
        &self,
        r: Request<ContainerStatusRequest>,
    ) -> R<ContainerStatusResponse> {
        let status = self.rt.container_status(&r.into_inner().container_id)?;
        ok(ContainerStatusResponse {
            status: Some(status),
            info: Default::default(),
        })
    }

    async fn update_container_resources(
        &self,
        r: Request<UpdateContainerResourcesRequest>,
    ) -> R<UpdateContainerResourcesResponse> {
        let r = r.into_inner();
        self.rt.container(&r.container_id)?;
        Err(Status::unimplemented(
            "updating resources of a running container is not supported yet",
        ))
    }

    async fn reopen_container_log(
        &self,
        r: Request<ReopenContainerLogRequest>,
    ) -> R<ReopenContainerLogResponse> {
        self.rt.reopen_log(&r.into_inner().container_id)?;
        ok(ReopenContainerLogResponse {})
    }

    async fn exec_sync(&self, r: Request<ExecSyncRequest>) -> R<ExecSyncResponse> {
        let r = r.into_inner();
        let out = self.rt.exec_sync(&r.container_id, r.cmd, r.timeout).await?;
        ok(ExecSyncResponse {
            stdout: out.stdout,
            stderr: out.stderr,
            exit_code: out.exit_code,
        })
    }

    async fn exec(&self, r: Request<ExecRequest>) -> R<ExecResponse> {
        let r = r.into_inner();
        if !(r.stdin || r.stdout || r.stderr) {
            return Err(Status::invalid_argument(
                "one of stdin, stdout, or stderr must be set",
            ));
        }
        let url = self
            .rt
            .prepare_exec(&r.container_id, r.cmd, r.tty, r.stdin)?;
        ok(ExecResponse { url })
    }

    async fn attach(&self, r: Request<AttachRequest>) -> R<AttachResponse> {
        let r = r.into_inner();
        if !(r.stdin || r.stdout || r.stderr) {
            return Err(Status::invalid_argument(
                "one of stdin, stdout, and stderr must be set",
            ));
        }
        let url = self
            .rt
            .prepare_attach(&r.container_id, r.stdin, r.stdout, r.stderr)?;
        ok(AttachResponse { url })
    }

    async fn port_forward(&self, r: Request<PortForwardRequest>) -> R<PortForwardResponse> {
        let r = r.into_inner();
        let url = self.rt.prepare_port_forward(&r.pod_sandbox_id, &r.port)?;
        ok(PortForwardResponse { url })
    }

    async fn container_stats(
        &self,
        r: Request<ContainerStatsRequest>,
    ) -> R<ContainerStatsResponse> {
        let rec = self.rt.container(&r.into_inner().container_id)?;
        ok(ContainerStatsResponse {
            stats: Some(container_stats(&rec)),
        })
    }

    async fn list_container_stats(
        &self,
        r: Request<ListContainerStatsRequest>,
    ) -> R<ListContainerStatsResponse> {
        let f = r.into_inner().filter.unwrap_or_default();
        let recs: Vec<_> = self.rt.lock_containers()?.values().cloned().collect();
        let stats = recs
            .iter()
            .filter(|c| f.id.is_empty() || c.id.starts_with(&f.id))
            .filter(|c| f.pod_sandbox_id.is_empty() || c.sandbox_id.starts_with(&f.pod_sandbox_id))
            .filter(|c| {
                f.label_selector
                    .iter()
                    .all(|(k, v)| c.config.labels.get(k) == Some(v))
            })
            .filter(|c| self.rt.exit_of(c).is_none())
            .map(container_stats)
            .collect();
        ok(ListContainerStatsResponse { stats })
    }

    async fn pod_sandbox_stats(
        &self,
        r: Request<PodSandboxStatsRequest>,
    ) -> R<PodSandboxStatsResponse> {
        let id = r.into_inner().pod_sandbox_id;
        let sb = self.rt.sandbox(&id)?;
        ok(PodSandboxStatsResponse {
            stats: Some(sandbox_stats(&self.rt, &sb)?),
        })
    }

    async fn list_pod_sandbox_stats(
        &self,
        r: Request<ListPodSandboxStatsRequest>,
    ) -> R<ListPodSandboxStatsResponse> {
        let f = r.into_inner().filter.unwrap_or_default();
        let sbs: Vec<_> = self.rt.lock_sandboxes()?.values().cloned().collect();
        let mut stats = Vec::new();
        for sb in sbs
            .iter()
            .filter(|s| f.id.is_empty() || s.id.starts_with(&f.id))
        {
            stats.push(sandbox_stats(&self.rt, sb)?);
        }
        ok(ListPodSandboxStatsResponse { stats })
    }

    async fn update_runtime_config(
        &self,
        r: Request<UpdateRuntimeConfigRequest>,
    ) -> R<UpdateRuntimeConfigResponse> {
        let cidr = r
            .into_inner()
            .runtime_config
            .and_then(|c| c.network_config)
            .map(|n| n.pod_cidr)
            .unwrap_or_default();
        if !cidr.is_empty() {
            let first = cidr
                .split(',')
                .next()
                .unwrap_or_default()
                .trim()
                .to_string();
            if let Ok(mut cni) = self.rt.cni.write() {
                cni.settings.pod_cidr = Some(first);
            }
        }
        ok(UpdateRuntimeConfigResponse {})
    }

    async fn status(&self, _r: Request<StatusRequest>) -> R<StatusResponse> {
        let net = network_ready(&self.rt);
        ok(StatusResponse {
            status: Some(RuntimeStatus {
                conditions: vec![
                    RuntimeCondition {
                        r#type: "RuntimeReady".into(),
                        status: true,
                        reason: String::new(),
                        message: String::new(),
                    },
                    RuntimeCondition {
                        r#type: "NetworkReady".into(),
                        status: net,
                        reason: if net {
                            String::new()
                        } else {
                            "NetworkPluginNotReady".into()
                        },
                        message: if net {
                            String::new()
                        } else {
                            "Network plugin returns error: no pod CIDR configured".into()
                        },
                    },
                ],
            }),
            info: Default::default(),
            runtime_handlers: vec![RuntimeHandler {
                name: String::new(),
                features: Some(RuntimeHandlerFeatures {
                    recursive_read_only_mounts: false,
                    user_namespaces: false,
                }),
            }],
            features: None,
        })
    }

    async fn checkpoint_container(
        &self,
        _r: Request<CheckpointContainerRequest>,
    ) -> R<CheckpointContainerResponse> {
        Err(Status::unimplemented("checkpointing is not supported"))
    }

    type GetContainerEventsStream = std::pin::Pin<
        Box<dyn futures::Stream<Item = Result<ContainerEventResponse, Status>> + Send>,
    >;

    async fn get_container_events(
        &self,
        _r: Request<GetEventsRequest>,
    ) -> R<Self::GetContainerEventsStream> {
        Err(Status::unimplemented(
            "container events are not supported (use polling)",
        ))
    }

    async fn list_metric_descriptors(
        &self,
        _r: Request<ListMetricDescriptorsRequest>,
    ) -> R<ListMetricDescriptorsResponse> {
        ok(ListMetricDescriptorsResponse::default())
    }

    async fn list_pod_sandbox_metrics(
        &self,
        _r: Request<ListPodSandboxMetricsRequest>,
    ) -> R<ListPodSandboxMetricsResponse> {
        ok(ListPodSandboxMetricsResponse::default())
    }

    async fn runtime_config(&self, _r: Request<RuntimeConfigRequest>) -> R<RuntimeConfigResponse> {
        ok(RuntimeConfigResponse {
            linux: Some(LinuxRuntimeConfiguration {
                cgroup_driver: CgroupDriver::Cgroupfs as i32,
            }),
        })
    }
}
