//! The node agent's configuration, as the `skiff` binary fills it in.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Everything the node agent needs to know about its node and cluster.
#[derive(Clone, Debug)]
pub struct KubeletConfig {
    /// Name of the Node object (also the `kubernetes.io/hostname` label).
    pub node_name: String,
    /// InternalIP of the node; the host IP of every pod.
    pub node_ip: IpAddr,
    /// `<data-dir>/agent/kubelet`: pod volumes live under `pods/<uid>/volumes`.
    pub root_dir: PathBuf,
    /// CRI endpoint, `unix:///path/to/socket`.
    pub cri_endpoint: String,
    /// Port of the node HTTPS API (10250).
    pub port: u16,
    /// PEM serving certificate of the node API.
    pub serving_cert_pem: String,
    /// PEM private key of the serving certificate.
    pub serving_key_pem: String,
    /// PEM CA that signs accepted client certificates.
    pub client_ca_pem: String,
    /// Cluster pod CIDR (10.42.0.0/16).
    pub cluster_cidr: String,
    /// This node's pod CIDR, when assigned.
    pub pod_cidr: Option<String>,
    /// ClusterIP of the `kubernetes` service (10.43.0.1).
    pub kubernetes_service_host: String,
    /// Port of the `kubernetes` service (443).
    pub kubernetes_service_port: u16,
    /// Cluster DNS server addresses.
    pub cluster_dns: Vec<String>,
    /// Cluster domain (cluster.local).
    pub cluster_domain: String,
    /// Extra labels for the Node object (node-role labels for servers).
    pub node_labels: BTreeMap<String, String>,
    /// Taints the Node is registered with (`--node-taint`, upstream's
    /// `--register-with-taints`); set only when the Node object is created.
    pub register_with_taints: Vec<k8s_openapi::api::core::v1::Taint>,
    /// ExternalIP of the node (`--node-external-ip`), listed after the InternalIP.
    pub node_external_ip: Option<IpAddr>,
    /// Cgroup under which the pod cgroups live (upstream's `--cgroup-root`, `/` by
    /// default): pods go to `<cgroup-root>/kubepods/…`, so two kubelets on one machine
    /// with different roots never share a cgroup path.
    pub cgroup_root: String,
    /// Lease renewal and status check interval (10 s).
    pub heartbeat: Duration,
    /// Period of the full resync of every pod.
    pub sync_period: Duration,
}

impl KubeletConfig {
    /// Directory holding the volumes of pod `uid`.
    pub(crate) fn pod_volumes_dir(&self, uid: &str) -> PathBuf {
        self.root_dir.join("pods").join(uid).join("volumes")
    }

    /// Directory of pod logs (`/var/log/pods` upstream).
    pub(crate) fn pod_logs_root(&self) -> PathBuf {
        self.root_dir.join("logs").join("pods")
    }
}
