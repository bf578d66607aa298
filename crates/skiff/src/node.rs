//! The node side shared by `skiff server` and `skiff agent`: image store, CRI runtime, kubelet.

use crate::cli::NodeArgs;
use anyhow::Context;
use std::collections::BTreeMap;
use std::future::Future;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Everything the node needs, resolved from flags and the server.
pub struct NodePlan {
    pub data_dir: PathBuf,
    pub node_name: String,
    pub node_ip: IpAddr,
    pub args: NodeArgs,
    pub cluster_cidr: String,
    pub serving_cert_pem: String,
    pub serving_key_pem: String,
    pub client_ca_pem: String,
    /// Labels the node carries for its role (server nodes: control-plane, master).
    pub role_labels: BTreeMap<String, String>,
}

/// The node name: `--node-name` or the hostname, with the node id when `--with-node-id`.
pub fn node_name(args: &NodeArgs, data_dir: &Path) -> anyhow::Result<String> {
    let name = args
        .node_name
        .clone()
        .unwrap_or_else(crate::server::hostname);
    if args.with_node_id {
        crate::identity::with_node_id(&name, data_dir)
    } else {
        Ok(name)
    }
}

/// Runs the node's pod network (`--flannel-backend`) beside the kubelet.
fn spawn_network(
    plan: &NodePlan,
    kube: &kube::Client,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let cfg = skiff_network::NetworkConfig {
        node_name: plan.node_name.clone(),
        backend: plan.args.flannel_backend,
        cluster_cidr: plan.cluster_cidr.clone(),
        tag: plan.args.cni_bridge.clone(),
        resync: Duration::from_secs(10),
    };
    let kube = kube.clone();
    tokio::spawn(async move {
        if let Err(err) = skiff_network::run(cfg, kube, shutdown).await {
            tracing::error!("pod network failed: {err}");
        }
    });
}

/// Opens the image store from `<data-dir>/agent/content` with the registries file when present.
pub fn open_images(data_dir: &Path, registries: &Path) -> anyhow::Result<skiff_images::ImageStore> {
    let config = if registries.exists() {
        skiff_images::RegistriesConfig::load(registries)
            .with_context(|| format!("reading {}", registries.display()))?
    } else {
        skiff_images::RegistriesConfig::default()
    };
    let root = data_dir.join("agent/content");
    skiff_images::ImageStore::open(&root, config)
        .with_context(|| format!("opening image store {}", root.display()))
}

/// Runs the CRI runtime (unless an external one is configured) and the kubelet until `shutdown`.
pub async fn run<F>(
    plan: NodePlan,
    kube: kube::Client,
    shutdown: impl Fn() -> F + Send + Sync + 'static,
) -> anyhow::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let agent_dir = plan.data_dir.join("agent");
    let cri_endpoint = match &plan.args.container_runtime_endpoint {
        Some(endpoint) => endpoint.clone(),
        None => start_runtime(&plan, &agent_dir, shutdown()).await?,
    };
    let kubernetes_service_host = kubernetes_service_ip(&kube).await?;
    let mut node_labels = crate::identity::parse_labels(&plan.args.node_labels)?;
    node_labels.extend(plan.role_labels.clone());
    let register_with_taints = plan
        .args
        .node_taints
        .iter()
        .map(|t| crate::identity::parse_taint(t))
        .collect::<anyhow::Result<Vec<_>>>()?;
    spawn_network(&plan, &kube, shutdown());
    let config = skiff_kubelet::KubeletConfig {
        node_name: plan.node_name.clone(),
        node_ip: plan.node_ip,
        root_dir: agent_dir.join("kubelet"),
        cri_endpoint,
        port: plan.args.kubelet_port,
        serving_cert_pem: plan.serving_cert_pem.clone(),
        serving_key_pem: plan.serving_key_pem.clone(),
        client_ca_pem: plan.client_ca_pem.clone(),
        cluster_cidr: plan.cluster_cidr.clone(),
        pod_cidr: None,
        kubernetes_service_host,
        kubernetes_service_port: 443,
        cluster_dns: Vec::new(),
        cluster_domain: plan.args.cluster_domain.clone(),
        node_labels,
        register_with_taints,
        node_external_ip: plan.args.node_external_ip,
        cgroup_root: plan.args.cgroup_root.clone(),
        heartbeat: Duration::from_secs(10),
        sync_period: Duration::from_secs(10),
    };
    skiff_kubelet::run(config, kube, shutdown())
        .await
        .context("node agent")?;
    Ok(())
}

/// The ClusterIP of `default/kubernetes`, which pods get as `KUBERNETES_SERVICE_HOST`. It is
/// read from the API (as the upstream kubelet does) so that it follows the server's
/// `--service-cidr`, also on agents, which do not know that flag.
async fn kubernetes_service_ip(kube: &kube::Client) -> anyhow::Result<String> {
    let services: kube::Api<k8s_openapi::api::core::v1::Service> =
        kube::Api::namespaced(kube.clone(), "default");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let found = services.get_opt("kubernetes").await;
        let ip = found.as_ref().ok().and_then(|svc| {
            svc.as_ref()?
                .spec
                .as_ref()?
                .cluster_ip
                .clone()
                .filter(|ip| !ip.is_empty() && ip != "None")
        });
        match (ip, found) {
            (Some(ip), _) => return Ok(ip),
            (None, Err(err)) if tokio::time::Instant::now() >= deadline => {
                return Err(err).context("reading the ClusterIP of default/kubernetes")
            }
            (None, _) if tokio::time::Instant::now() >= deadline => {
                anyhow::bail!("service default/kubernetes has no ClusterIP")
            }
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

async fn start_runtime(
    plan: &NodePlan,
    agent_dir: &Path,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<String> {
    let images = open_images(&plan.data_dir, &plan.args.private_registry)?;
    let airgap = agent_dir.join("images");
    if airgap.is_dir() {
        match images.import_dir(&airgap).await {
            Ok(imported) => tracing::info!(count = imported.len(), "imported air-gap images"),
            Err(err) => tracing::warn!("importing air-gap images from {}: {err}", airgap.display()),
        }
    }
    let socket = agent_dir.join("run/cri.sock");
    let oci_runtime = plan.args.oci_runtime.into();
    let config = skiff_runtime::RuntimeConfig {
        root: agent_dir.join("runtime"),
        socket: socket.clone(),
        images: std::sync::Arc::new(images),
        oci_runtime,
        cni_bin_dir: "/usr/lib/cni".into(),
        cni_conf: skiff_runtime::CniSettings {
            bridge: plan.args.cni_bridge.clone(),
            pod_cidr: None,
            // With a pod network between nodes the network agent masquerades only what
            // leaves the cluster CIDR; the bridge plugin would also hide pod IPs from
            // pods on other nodes.
            ip_masq: plan.args.flannel_backend == skiff_network::FlannelBackend::None,
            ..Default::default()
        },
        helper_exe: std::env::current_exe().context("locating the skiff binary")?,
        pod_log_dir: agent_dir.join("runtime/pods-logs"),
        log_max_size: 10 * 1024 * 1024,
        log_max_files: 5,
    };
    let _ = std::fs::remove_file(&socket);
    tokio::spawn(async move {
        if let Err(err) = skiff_runtime::serve(config, shutdown).await {
            tracing::error!("container runtime failed: {err}");
        }
    });
    for _ in 0..100 {
        if socket.exists() {
            return Ok(format!("unix://{}", socket.display()));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("container runtime did not open {}", socket.display())
}

/// The IPv4 address of the interface holding the default route, else loopback.
pub fn default_node_ip() -> IpAddr {
    default_route_interface()
        .and_then(|iface| interface_ipv4(&iface))
        .unwrap_or(IpAddr::from([127, 0, 0, 1]))
}

fn default_route_interface() -> Option<String> {
    let routes = std::fs::read_to_string("/proc/net/route").ok()?;
    routes.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.len() > 2 && fields[1] == "00000000").then(|| fields[0].to_string())
    })
}

fn interface_ipv4(iface: &str) -> Option<IpAddr> {
    let out = std::process::Command::new("ip")
        .args(["-4", "-o", "addr", "show", "dev", iface])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let word = text
        .split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)?;
    word.split('/').next()?.parse().ok()
}
