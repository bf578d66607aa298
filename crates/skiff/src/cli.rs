//! Command-line flags, mirroring k3s where it set a convention.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Parses a flag value in Go's duration syntax (upstream's flags take `40s`, not `40`).
fn go_duration(s: &str) -> Result<Duration, String> {
    skiff_api::duration::parse(s).map_err(|e| e.to_string())
}

/// Parses `--flannel-backend`, refusing the values Skiff does not implement.
fn flannel_backend(s: &str) -> Result<skiff_network::FlannelBackend, String> {
    s.parse::<skiff_network::FlannelBackend>()
        .and_then(skiff_network::FlannelBackend::supported)
        .map_err(|e| e.to_string())
}

/// Skiff: a Kubernetes-compatible orchestrator in one binary.
#[derive(Parser, Debug)]
#[command(name = "skiff", version, about)]
pub struct Cli {
    /// Verbose logs (RUST_LOG overrides).
    #[arg(long, global = true)]
    pub debug: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a server: API server, store, scheduler, controllers and (unless disabled) a node agent.
    Server(ServerArgs),
    /// Run a node agent that joins a server.
    Agent(AgentArgs),
    /// Manage images in the node's content store.
    Image(ImageArgs),
}

/// Flags shared by `server` and `agent` for the node they run.
#[derive(Args, Debug, Clone)]
pub struct NodeArgs {
    /// Node name (default: the hostname).
    #[arg(long)]
    pub node_name: Option<String>,
    /// IP address advertised for the node (default: the address of the default route).
    #[arg(long)]
    pub node_ip: Option<IpAddr>,
    /// External IP address advertised for the node (its ExternalIP).
    #[arg(long)]
    pub node_external_ip: Option<IpAddr>,
    /// Register the node with this taint (key=value:Effect or key:Effect; repeatable).
    #[arg(long = "node-taint")]
    pub node_taints: Vec<String>,
    /// Append a stable random id to the node name (kept in <data-dir>/agent/node-id).
    #[arg(long)]
    pub with_node_id: bool,
    /// Pod network between nodes: host-gw (routes through each node's InternalIP; the
    /// nodes share one L2 segment) or none. k3s' vxlan is not implemented yet and refused.
    #[arg(long, default_value = "host-gw", value_parser = flannel_backend)]
    pub flannel_backend: skiff_network::FlannelBackend,
    /// Cgroup the pod cgroups live under (`<cgroup-root>/kubepods/…`), as the kubelet's
    /// --cgroup-root: give each node on one machine its own.
    #[arg(long, default_value = "/")]
    pub cgroup_root: String,
    /// Private registry configuration (k3s registries.yaml format).
    #[arg(long, default_value = "/etc/skiff/registries.yaml")]
    pub private_registry: PathBuf,
    /// Use an external CRI runtime instead of Skiff's own (e.g. unix:///run/containerd/containerd.sock).
    #[arg(long)]
    pub container_runtime_endpoint: Option<String>,
    /// Low-level OCI runtime for Skiff's runtime: youki (in-process libcontainer, no
    /// external binary), runc or crun (from $PATH).
    #[arg(long, value_enum, default_value_t = OciRuntimeArg::Youki)]
    pub oci_runtime: OciRuntimeArg,
    /// Kubelet HTTPS port.
    #[arg(long, default_value_t = 10250)]
    pub kubelet_port: u16,
    /// Name of the pod network bridge.
    #[arg(long, default_value = "skiff0")]
    pub cni_bridge: String,
    /// Extra node labels (key=value).
    #[arg(long = "node-label")]
    pub node_labels: Vec<String>,
    /// Cluster domain: the search domains pods get (`<ns>.svc.<domain>`).
    #[arg(long, default_value = "cluster.local")]
    pub cluster_domain: String,
}

#[derive(Args, Debug)]
pub struct ServerArgs {
    /// Folder for state (store, certificates, images, containers).
    #[arg(long, default_value = "/var/lib/skiff")]
    pub data_dir: PathBuf,
    /// Write the admin kubeconfig to this file.
    #[arg(long)]
    pub write_kubeconfig: Option<PathBuf>,
    /// HTTPS port of the API server.
    #[arg(long, default_value_t = 6443)]
    pub https_listen_port: u16,
    /// Address the API server listens on.
    #[arg(long, default_value = "0.0.0.0")]
    pub bind_address: IpAddr,
    /// Extra names/IPs for the serving certificate.
    #[arg(long = "tls-san")]
    pub tls_san: Vec<String>,
    /// Run only the control plane, no node agent.
    #[arg(long)]
    pub disable_agent: bool,
    /// Shared secret for agents joining and the admin bearer token.
    #[arg(long, env = "SKIFF_TOKEN")]
    pub token: Option<String>,
    /// Store: sqlite:///path (default: <data-dir>/server/db/state.db).
    #[arg(long)]
    pub datastore_endpoint: Option<String>,
    /// Pod network range.
    #[arg(long, default_value = "10.42.0.0/16")]
    pub cluster_cidr: String,
    /// Service ClusterIP range.
    #[arg(long, default_value = "10.43.0.0/16")]
    pub service_cidr: String,
    /// How long a node may miss heartbeats before it is marked unreachable (Go duration
    /// syntax, as kube-controller-manager: `40s`, `1m30s`).
    #[arg(long, default_value = "40s", value_parser = go_duration)]
    pub node_monitor_grace_period: Duration,
    /// Toleration seconds added to pods for node.kubernetes.io/not-ready.
    #[arg(long, default_value_t = 300)]
    pub default_not_ready_toleration_seconds: i64,
    /// Toleration seconds added to pods for node.kubernetes.io/unreachable.
    #[arg(long, default_value_t = 300)]
    pub default_unreachable_toleration_seconds: i64,
    #[command(flatten)]
    pub node: NodeArgs,
}

#[derive(Args, Debug)]
pub struct AgentArgs {
    /// Server URL, e.g. https://10.0.0.1:6443.
    #[arg(long, env = "SKIFF_URL")]
    pub server: String,
    /// Join token printed by the server (<data-dir>/server/token).
    #[arg(long, env = "SKIFF_TOKEN")]
    pub token: String,
    /// Folder for the agent's state.
    #[arg(long, default_value = "/var/lib/skiff")]
    pub data_dir: PathBuf,
    /// Pod network range (used when the server assigns no podCIDR).
    #[arg(long, default_value = "10.42.0.0/16")]
    pub cluster_cidr: String,
    #[command(flatten)]
    pub node: NodeArgs,
}

#[derive(Args, Debug)]
pub struct ImageArgs {
    /// Folder for state (images live under <data-dir>/agent/content).
    #[arg(long, default_value = "/var/lib/skiff", global = true)]
    pub data_dir: PathBuf,
    /// Private registry configuration (k3s registries.yaml format).
    #[arg(long, default_value = "/etc/skiff/registries.yaml", global = true)]
    pub private_registry: PathBuf,
    #[command(subcommand)]
    pub command: ImageCommand,
}

#[derive(Subcommand, Debug)]
pub enum ImageCommand {
    /// Import images from an OCI archive or a `docker save` tar.
    Import {
        /// Archive files.
        files: Vec<PathBuf>,
    },
    /// Pull an image, showing progress.
    Pull {
        /// Image reference, e.g. gcr.io/google-samples/kubernetes-bootcamp:v1.
        reference: String,
        /// Only download and verify the blobs into the content store (like `ctr content
        /// fetch`); the image is listed once a later pull unpacks them.
        #[arg(long)]
        no_unpack: bool,
    },
    /// List images.
    #[command(alias = "ls")]
    List,
    /// Remove an image.
    #[command(alias = "rm")]
    Remove {
        /// Image reference or id.
        reference: String,
    },
}

/// The low-level OCI runtimes `--oci-runtime` accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OciRuntimeArg {
    /// youki's libcontainer inside each container's monitor process.
    Youki,
    /// The `runc` binary.
    Runc,
    /// The `crun` binary (in a private mount namespace on hybrid cgroup hosts).
    Crun,
}

impl From<OciRuntimeArg> for skiff_runtime::OciRuntimeKind {
    fn from(arg: OciRuntimeArg) -> Self {
        match arg {
            OciRuntimeArg::Youki => skiff_runtime::OciRuntimeKind::Youki,
            OciRuntimeArg::Runc => skiff_runtime::OciRuntimeKind::Runc,
            OciRuntimeArg::Crun => skiff_runtime::OciRuntimeKind::Crun,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node_args(argv: &[&str]) -> Result<NodeArgs, clap::Error> {
        let cli = Cli::try_parse_from(argv)?;
        match cli.command {
            Command::Server(server) => Ok(server.node),
            Command::Agent(agent) => Ok(agent.node),
            Command::Image(_) => panic!("not a node command"),
        }
    }

    #[test]
    fn oci_runtime_defaults_to_youki_and_accepts_runc_and_crun() {
        let args = node_args(&["skiff", "server"]).unwrap();
        assert_eq!(args.oci_runtime, OciRuntimeArg::Youki);
        for (flag, want) in [("runc", OciRuntimeArg::Runc), ("crun", OciRuntimeArg::Crun)] {
            let args = node_args(&["skiff", "server", "--oci-runtime", flag]).unwrap();
            assert_eq!(args.oci_runtime, want);
        }
    }

    #[test]
    fn flannel_backend_defaults_to_host_gw_and_refuses_vxlan() {
        let args = node_args(&["skiff", "server"]).unwrap();
        assert_eq!(args.flannel_backend, skiff_network::FlannelBackend::HostGw);
        let none = node_args(&[
            "skiff",
            "agent",
            "--server",
            "https://a:6443",
            "--token",
            "t",
            "--flannel-backend",
            "none",
        ])
        .unwrap();
        assert_eq!(none.flannel_backend, skiff_network::FlannelBackend::None);
        let err = node_args(&["skiff", "server", "--flannel-backend", "vxlan"]).unwrap_err();
        assert!(err.to_string().contains("not implemented"), "{err}");
    }

    #[test]
    fn unknown_oci_runtime_is_refused() {
        let err = node_args(&["skiff", "server", "--oci-runtime", "kata"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::InvalidValue);
    }
}
