//! The Node object: registration (create or update), status with capacity,
//! conditions, addresses and node info, patched on change and at least every
//! five minutes, and the Lease in kube-node-lease renewed every heartbeat.

mod cidr;
mod info;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{
    DaemonEndpoint, Node, NodeAddress, NodeCondition, NodeDaemonEndpoints, NodeSpec, NodeStatus,
    NodeSystemInfo,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};
use tokio::sync::watch;

pub use cidr::pod_cidr_loop;
pub use info::{gather, MachineInfo};

use crate::config::KubeletConfig;

/// Version this agent reports.
pub const KUBELET_VERSION: &str = "v1.33.0-skiff";

/// Runtime identity for nodeInfo.
#[derive(Clone, Debug, Default)]
pub struct RuntimeInfo {
    /// `<name>://<version>`.
    pub version: String,
}

fn q(v: impl ToString) -> Quantity {
    Quantity(v.to_string())
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Labels of the node.
pub fn node_labels(cfg: &KubeletConfig) -> BTreeMap<String, String> {
    let mut l = BTreeMap::new();
    l.insert("kubernetes.io/hostname".into(), cfg.node_name.clone());
    l.insert("kubernetes.io/os".into(), "linux".into());
    l.insert("kubernetes.io/arch".into(), arch().into());
    l.insert("beta.kubernetes.io/os".into(), "linux".into());
    l.insert("beta.kubernetes.io/arch".into(), arch().into());
    l.extend(cfg.node_labels.clone());
    l
}

fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

fn condition(
    old: Option<&NodeStatus>,
    type_: &str,
    ok_status: bool,
    reason: &str,
    message: &str,
) -> NodeCondition {
    let status = if ok_status { "True" } else { "False" };
    let now = crate::time::time(Utc::now());
    let prev = old
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == type_));
    NodeCondition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_heartbeat_time: Some(now.clone()),
        last_transition_time: match prev {
            Some(p) if p.status == status => p.last_transition_time.clone(),
            _ => Some(now),
        },
    }
}

/// The node's status as it should be now.
pub fn node_status(
    cfg: &KubeletConfig,
    m: &MachineInfo,
    rt: &RuntimeInfo,
    old: Option<&NodeStatus>,
) -> NodeStatus {
    let mut cap = BTreeMap::new();
    cap.insert("cpu".into(), q(m.cpus));
    cap.insert("memory".into(), q(format!("{}Ki", m.memory / 1024)));
    cap.insert("pods".into(), q(110));
    cap.insert(
        "ephemeral-storage".into(),
        q(format!("{}Ki", m.disk / 1024)),
    );
    cap.insert("hugepages-1Gi".into(), q(0));
    cap.insert("hugepages-2Mi".into(), q(0));
    let mem_pressure = m.memory_available < 100 * 1024 * 1024;
    let disk_pressure = m.disk > 0 && m.disk_available * 10 < m.disk;
    let pid_pressure = m.pid_max > 0 && m.pids * 10 > m.pid_max * 9;
    let conditions = vec![
        if mem_pressure {
            condition(
                old,
                "MemoryPressure",
                true,
                "KubeletHasInsufficientMemory",
                "kubelet has insufficient memory available",
            )
        } else {
            condition(
                old,
                "MemoryPressure",
                false,
                "KubeletHasSufficientMemory",
                "kubelet has sufficient memory available",
            )
        },
        if disk_pressure {
            condition(
                old,
                "DiskPressure",
                true,
                "KubeletHasDiskPressure",
                "kubelet has disk pressure",
            )
        } else {
            condition(
                old,
                "DiskPressure",
                false,
                "KubeletHasNoDiskPressure",
                "kubelet has no disk pressure",
            )
        },
        if pid_pressure {
            condition(
                old,
                "PIDPressure",
                true,
                "KubeletHasInsufficientPID",
                "kubelet has insufficient PID available",
            )
        } else {
            condition(
                old,
                "PIDPressure",
                false,
                "KubeletHasSufficientPID",
                "kubelet has sufficient PID available",
            )
        },
        condition(
            old,
            "Ready",
            true,
            "KubeletReady",
            "kubelet is posting ready status",
        ),
    ];
    NodeStatus {
        capacity: Some(cap.clone()),
        allocatable: Some(cap),
        conditions: Some(conditions),
        addresses: Some(vec![
            NodeAddress {
                type_: "InternalIP".into(),
                address: cfg.node_ip.to_string(),
            },
            NodeAddress {
                type_: "Hostname".into(),
                address: {
                    let h = hostname();
                    if h.is_empty() {
                        cfg.node_name.clone()
                    } else {
                        h
                    }
                },
            },
        ]),
        daemon_endpoints: Some(NodeDaemonEndpoints {
            kubelet_endpoint: Some(DaemonEndpoint {
                port: i32::from(cfg.port),
            }),
        }),
        node_info: Some(NodeSystemInfo {
            architecture: arch().into(),
            boot_id: m.boot_id.clone(),
            container_runtime_version: rt.version.clone(),
            kernel_version: m.kernel.clone(),
            kube_proxy_version: KUBELET_VERSION.into(),
            kubelet_version: KUBELET_VERSION.into(),
            machine_id: m.machine_id.clone(),
            operating_system: "linux".into(),
            os_image: m.os_image.clone(),
            system_uuid: m.system_uuid.clone(),
            swap: None,
        }),
        images: old.and_then(|o| o.images.clone()),
        ..Default::default()
    }
}

/// Create the Node or update its labels and spec; returns the pod CIDR.
pub async fn register(
    client: &Client,
    cfg: &KubeletConfig,
    status: NodeStatus,
) -> Result<Node, kube::Error> {
    let api: Api<Node> = Api::all(client.clone());
    let node = Node {
        metadata: ObjectMeta {
            name: Some(cfg.node_name.clone()),
            labels: Some(node_labels(cfg)),
            annotations: Some(BTreeMap::from([(
                "node.alpha.kubernetes.io/ttl".to_string(),
                "0".to_string(),
            )])),
            ..Default::default()
        },
        spec: Some(NodeSpec {
            pod_cidr: cfg.pod_cidr.clone(),
            pod_cidrs: cfg.pod_cidr.clone().map(|c| vec![c]),
            ..Default::default()
        }),
        status: Some(status.clone()),
    };
    let created = match api.create(&PostParams::default(), &node).await {
        Ok(n) => n,
        Err(kube::Error::Api(s)) if s.code == 409 => {
            let mut patch = serde_json::json!({ "metadata": { "labels": node_labels(cfg) } });
            if let Some(c) = &cfg.pod_cidr {
                patch["spec"] = serde_json::json!({ "podCIDR": c, "podCIDRs": [c] });
            }
            api.patch(
                &cfg.node_name,
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await?
        }
        Err(e) => return Err(e),
    };
    let patch = serde_json::json!({ "status": status });
    api.patch_status(
        &cfg.node_name,
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await?;
    tracing::info!(node = %cfg.node_name, "node registered");
    Ok(created)
}

/// The pod CIDR: the node's spec if set, else the first /24 of the cluster CIDR.
pub fn pod_cidr(node: &Node, cfg: &KubeletConfig) -> Option<String> {
    if let Some(c) = node.spec.as_ref().and_then(|s| s.pod_cidr.clone()) {
        return Some(c);
    }
    if let Some(c) = &cfg.pod_cidr {
        return Some(c.clone());
    }
    derive_cidr(&cfg.cluster_cidr)
}

/// The first /24 of an IPv4 CIDR (the CIDR itself when narrower).
pub fn derive_cidr(cluster: &str) -> Option<String> {
    let (ip, len) = cluster.split_once('/')?;
    let ip: std::net::Ipv4Addr = ip.parse().ok()?;
    let len: u8 = len.parse().ok()?;
    if len >= 24 {
        return Some(cluster.to_string());
    }
    let o = ip.octets();
    Some(format!("{}.{}.{}.0/24", o[0], o[1], o[2]))
}

/// Keep the Lease fresh every heartbeat until shutdown.
pub async fn lease_loop(
    client: Client,
    cfg: std::sync::Arc<KubeletConfig>,
    node_uid: Option<String>,
    mut shutdown: watch::Receiver<bool>,
) {
    let api: Api<Lease> = Api::namespaced(client, "kube-node-lease");
    loop {
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(cfg.node_name.clone()),
                namespace: Some("kube-node-lease".into()),
                owner_references: node_uid.clone().map(|uid| {
                    vec![OwnerReference {
                        api_version: "v1".into(),
                        kind: "Node".into(),
                        name: cfg.node_name.clone(),
                        uid,
                        ..Default::default()
                    }]
                }),
                ..Default::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(cfg.node_name.clone()),
                lease_duration_seconds: Some(40),
                renew_time: Some(crate::time::micro_time(Utc::now())),
                ..Default::default()
            }),
        };
        let res = match api.get_opt(&cfg.node_name).await {
            Ok(Some(mut old)) => {
                old.spec = lease.spec.clone();
                api.replace(&cfg.node_name, &PostParams::default(), &old)
                    .await
                    .map(|_| ())
            }
            Ok(None) => api.create(&PostParams::default(), &lease).await.map(|_| ()),
            Err(e) => Err(e),
        };
        if let Err(e) = res {
            tracing::warn!(error = %e, "lease renewal failed");
        }
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tokio::time::sleep(cfg.heartbeat) => {}
        }
    }
}

/// Patch the node status when it changes, and at least every five minutes.
pub async fn status_loop(
    client: Client,
    cfg: std::sync::Arc<KubeletConfig>,
    rt: RuntimeInfo,
    mut shutdown: watch::Receiver<bool>,
) {
    let api: Api<Node> = Api::all(client.clone());
    let mut last_sent: Option<NodeStatus> = None;
    let mut last_at = Instant::now();
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tokio::time::sleep(cfg.heartbeat) => {}
        }
        let current = match api.get_opt(&cfg.node_name).await {
            Ok(Some(n)) => n,
            Ok(None) => {
                // the node was deleted: register again
                let m = gather(&cfg.root_dir);
                let _ = register(&client, &cfg, node_status(&cfg, &m, &rt, None)).await;
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, "reading node failed");
                continue;
            }
        };
        let m = gather(&cfg.root_dir);
        let status = node_status(&cfg, &m, &rt, current.status.as_ref());
        let changed = last_sent.as_ref().is_none_or(|old| differs(old, &status));
        if changed || last_at.elapsed() > Duration::from_secs(300) {
            let patch = serde_json::json!({ "status": status });
            match api
                .patch_status(
                    &cfg.node_name,
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await
            {
                Ok(_) => {
                    last_sent = Some(status);
                    last_at = Instant::now();
                }
                Err(e) => tracing::warn!(error = %e, "node status update failed"),
            }
        }
    }
}

/// Differences that matter (ignores heartbeat times and small usage drift).
fn differs(a: &NodeStatus, b: &NodeStatus) -> bool {
    let conds = |s: &NodeStatus| -> Vec<(String, String)> {
        s.conditions
            .iter()
            .flatten()
            .map(|c| (c.type_.clone(), c.status.clone()))
            .collect()
    };
    conds(a) != conds(b)
        || a.addresses != b.addresses
        || a.capacity != b.capacity
        || a.node_info != b.node_info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_pod_cidr() {
        assert_eq!(derive_cidr("10.42.0.0/16").as_deref(), Some("10.42.0.0/24"));
        assert_eq!(derive_cidr("10.42.5.0/24").as_deref(), Some("10.42.5.0/24"));
        assert_eq!(derive_cidr("nonsense"), None);
    }
}
