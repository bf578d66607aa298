//! `run`: wire the node agent together — CRI connection, node registration,
//! lease and status loops, pod workers and the node HTTPS API — and stop it
//! all (leaving containers running) when `shutdown` completes.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use skiff_client::events::Recorder;
use tokio::sync::watch;

use crate::api::KubeApi;
use crate::config::KubeletConfig;
use crate::cri::{connect_cri, Cri};
use crate::error::KubeletError;
use crate::mem;
use crate::node::{self, MachineInfo, RuntimeInfo};
use crate::pod::{self, PodCache, Shared};
use crate::server::{self, AppState};

/// Run the node agent until `shutdown` completes. Containers keep running
/// when it stops; a later `run` adopts them.
pub async fn run(
    cfg: KubeletConfig,
    client: kube::Client,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), KubeletError> {
    let cri: Arc<dyn Cri> = Arc::new(connect_cri(&cfg.cri_endpoint).await?);
    run_with_cri(cfg, client, cri, shutdown).await
}

/// [`run`] with an already connected CRI client.
pub async fn run_with_cri(
    cfg: KubeletConfig,
    client: kube::Client,
    cri: Arc<dyn Cri>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), KubeletError> {
    mem::limit_arenas();
    let cfg = Arc::new(cfg);
    make_dirs(&cfg)?;
    let version = cri.version().await?;
    pod::set_runtime_name(&version.runtime_name);
    let rt = RuntimeInfo {
        version: format!("{}://{}", version.runtime_name, version.runtime_version),
    };
    let machine = node::gather(&cfg.root_dir);
    let registered =
        node::register(&client, &cfg, node::node_status(&cfg, &machine, &rt, None)).await?;
    let handed = hand_pod_cidr(cri.as_ref(), node::pod_cidr(&registered, &cfg)).await;
    let (stop_tx, stop_rx) = watch::channel(false);
    let cidr_watch = tokio::spawn(node::pod_cidr_loop(
        client.clone(),
        cfg.clone(),
        cri.clone(),
        handed,
        stop_rx.clone(),
    ));
    let cache = PodCache::default();
    let state = AppState {
        cri: cri.clone(),
        pods: cache.clone(),
        cfg: cfg.clone(),
        cpu: Default::default(),
    };
    let server = server::start(cfg.clone(), state, stop_rx.clone()).await?;
    let lease = tokio::spawn(node::lease_loop(
        client.clone(),
        cfg.clone(),
        registered.metadata.uid.clone(),
        stop_rx.clone(),
    ));
    let status = tokio::spawn(node::status_loop(
        client.clone(),
        cfg.clone(),
        rt,
        stop_rx.clone(),
    ));
    let shared = pod_shared(&cfg, &client, cri, &machine);
    let pods = tokio::spawn(pod::run(client, shared, cache, stop_rx.clone()));
    let trim = tokio::spawn(mem::trim_loop(stop_rx));
    tracing::info!(node = %cfg.node_name, port = cfg.port, "node agent running");
    shutdown.await;
    let _ = stop_tx.send(true);
    for task in [pods, lease, status, server, cidr_watch, trim] {
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    tracing::info!("node agent stopped");
    Ok(())
}

/// The pods directory and the pod logs root.
fn make_dirs(cfg: &KubeletConfig) -> Result<(), KubeletError> {
    for dir in [cfg.root_dir.join("pods"), cfg.pod_logs_root()] {
        std::fs::create_dir_all(&dir).map_err(|source| KubeletError::Io {
            context: format!("create {}", dir.display()),
            source,
        })?;
    }
    Ok(())
}

/// Tell the runtime the node's pod CIDR; returns it when accepted.
async fn hand_pod_cidr(cri: &dyn Cri, cidr: Option<String>) -> Option<String> {
    let cidr = cidr?;
    match cri.update_runtime_config(&cidr).await {
        Ok(()) => Some(cidr),
        Err(e) => {
            tracing::warn!(error = %e, %cidr, "runtime did not accept the pod CIDR");
            None
        }
    }
}

/// What every pod worker shares.
fn pod_shared(
    cfg: &Arc<KubeletConfig>,
    client: &kube::Client,
    cri: Arc<dyn Cri>,
    machine: &MachineInfo,
) -> Arc<Shared> {
    Arc::new(Shared {
        cfg: cfg.clone(),
        cri,
        api: Arc::new(KubeApi::new(client.clone())),
        events: Arc::new(Recorder::for_node(
            client.clone(),
            "kubelet",
            &cfg.node_name,
        )),
        backoff: Default::default(),
        image_backoff: Default::default(),
        probes: Default::default(),
        node_memory: machine.memory as i64,
        node_cpu_milli: i128::from(machine.cpus) * 1000,
        host_ip: cfg.node_ip.to_string(),
        relist: Default::default(),
    })
}
