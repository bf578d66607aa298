//! The Node object: registration (create or update) with labels and pod
//! CIDR; its status (`status`) and heartbeats (`loops`) live beside.

mod cidr;
mod info;
mod loops;
mod status;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, NodeSpec, NodeStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};

pub use cidr::pod_cidr_loop;
pub use info::{gather, MachineInfo};
pub use loops::{lease_loop, status_loop};
use status::arch;
pub use status::node_status;

use crate::config::KubeletConfig;

/// Version this agent reports.
pub const KUBELET_VERSION: &str = "v1.33.0-skiff";

/// Runtime identity for nodeInfo.
#[derive(Clone, Debug, Default)]
pub struct RuntimeInfo {
    /// `<name>://<version>`.
    pub version: String,
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
            taints: (!cfg.register_with_taints.is_empty())
                .then(|| cfg.register_with_taints.clone()),
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
