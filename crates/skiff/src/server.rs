//! `skiff server`: store + API server + scheduler + controllers (+ node agent unless disabled).

use crate::cli::ServerArgs;
use crate::{client, node};
use anyhow::{bail, Context};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Starts every server component and runs until SIGINT/SIGTERM.
pub async fn run(args: ServerArgs) -> anyhow::Result<()> {
    let data_dir = std::path::absolute(&args.data_dir)?;
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating data dir {}", data_dir.display()))?;
    let store = open_store(&data_dir, args.datastore_endpoint.as_deref()).await?;
    let api = start_api(&args, &data_dir, store).await?;
    let url = api.url();
    tracing::info!(%url, "API server listening");

    let kubeconfig_path = args
        .write_kubeconfig
        .clone()
        .unwrap_or_else(|| data_dir.join("server/cred/admin.kubeconfig"));
    write_private_file(&kubeconfig_path, &api.kubeconfig_yaml(&url))?;
    tracing::info!(path = %kubeconfig_path.display(), "wrote kubeconfig");

    let clients = ComponentClients::build(&url, &api).await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let control_plane = spawn_control_plane(&args, &clients, &stopped);
    let agent = if args.disable_agent {
        None
    } else {
        let kubelet = &clients.kubelet;
        Some(spawn_agent(
            &args,
            &api,
            &data_dir,
            kubelet,
            stopped.clone(),
        )?)
    };

    println!("Skiff is running. API server: {url}");
    println!("  export KUBECONFIG={}", kubeconfig_path.display());
    println!("  kubectl get nodes");
    wait_for_signal().await;
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(10), control_plane.join(agent)).await;
    api.shutdown().await;
    Ok(())
}

/// Starts the API server on the store with the flags that shape its behaviour.
async fn start_api(
    args: &ServerArgs,
    data_dir: &std::path::Path,
    store: Arc<dyn skiff_store::Store>,
) -> anyhow::Result<skiff_apiserver::RunningApiServer> {
    skiff_apiserver::start(skiff_apiserver::ApiServerConfig {
        data_dir: data_dir.to_path_buf(),
        bind_address: args.bind_address,
        port: args.https_listen_port,
        store,
        tls_sans: args.tls_san.clone(),
        service_cidr: args.service_cidr.clone(),
        token: args.token.clone(),
        default_tolerations: skiff_apiserver::DefaultTolerations {
            not_ready_seconds: args.default_not_ready_toleration_seconds,
            unreachable_seconds: args.default_unreachable_toleration_seconds,
        },
    })
    .await
    .context("starting the API server")
}

/// One API client per in-process component, each with its upstream User-Agent, so the
/// API server names each one in its access log and as the field manager of its writes.
struct ComponentClients {
    scheduler: kube::Client,
    controllers: kube::Client,
    kubelet: kube::Client,
}

impl ComponentClients {
    async fn build(
        url: &str,
        api: &skiff_apiserver::RunningApiServer,
    ) -> anyhow::Result<ComponentClients> {
        let (ca, token) = (api.ca_pem(), api.admin_token());
        Ok(ComponentClients {
            scheduler: client::build(url, &ca, &token, "kube-scheduler").await?,
            controllers: client::build(url, &ca, &token, "kube-controller-manager").await?,
            kubelet: client::build(url, &ca, &token, "kubelet").await?,
        })
    }
}

/// The scheduler and the controllers, running until the stop signal.
struct ControlPlane {
    scheduler: JoinHandle<Result<(), skiff_scheduler::SchedulerError>>,
    controllers: JoinHandle<Result<(), skiff_controllers::ControllersError>>,
}

impl ControlPlane {
    /// Waits for the agent (if any), the scheduler and the controllers, logging how each ended.
    async fn join(self, agent: Option<JoinHandle<anyhow::Result<()>>>) {
        if let Some(agent) = agent {
            log_exit("node agent", agent.await);
        }
        let scheduler = self.scheduler.await;
        log_exit(
            "scheduler",
            scheduler.map(|r| r.map_err(anyhow::Error::from)),
        );
        let controllers = self.controllers.await;
        log_exit(
            "controllers",
            controllers.map(|r| r.map_err(anyhow::Error::from)),
        );
    }
}

/// Spawns the leader-elected scheduler and controllers as API clients.
fn spawn_control_plane<F>(
    args: &ServerArgs,
    clients: &ComponentClients,
    stopped: &(impl Fn() -> F + Send + Sync + 'static),
) -> ControlPlane
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let identity = hostname();
    let scheduler = tokio::spawn(skiff_scheduler::run(
        clients.scheduler.clone(),
        skiff_scheduler::SchedulerConfig {
            scheduler_name: "default-scheduler".into(),
            leader_elect: true,
            identity: identity.clone(),
        },
        stopped(),
    ));
    // Upstream's node-monitor-period is 5s; a shorter grace period needs a shorter period.
    let grace = args.node_monitor_grace_period;
    let period = grace.clamp(Duration::from_secs(1), Duration::from_secs(5));
    let controllers = tokio::spawn(skiff_controllers::run(
        clients.controllers.clone(),
        skiff_controllers::ControllersConfig {
            node_monitor_grace_period: grace,
            node_monitor_period: period,
            default_not_ready_toleration_seconds: args.default_not_ready_toleration_seconds,
            default_unreachable_toleration_seconds: args.default_unreachable_toleration_seconds,
            pod_eviction: true,
            leader_elect: true,
            identity,
            cluster_cidr: args.cluster_cidr.clone(),
        },
        stopped(),
    ));
    ControlPlane {
        scheduler,
        controllers,
    }
}

/// Spawns the server's own node agent with a serving certificate issued by the cluster CA.
fn spawn_agent<F>(
    args: &ServerArgs,
    api: &skiff_apiserver::RunningApiServer,
    data_dir: &std::path::Path,
    kube: &kube::Client,
    stopped: impl Fn() -> F + Send + Sync + 'static,
) -> anyhow::Result<JoinHandle<anyhow::Result<()>>>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let node_name = node::node_name(&args.node, data_dir)?;
    let node_ip = args.node.node_ip.unwrap_or_else(node::default_node_ip);
    let sans = vec![node_name.clone(), node_ip.to_string(), "localhost".into()];
    let (cert, key) = api
        .issue_serving_cert(&node_name, &sans)
        .context("issuing the kubelet serving certificate")?;
    let plan = node::NodePlan {
        data_dir: data_dir.to_path_buf(),
        node_name,
        node_ip,
        args: args.node.clone(),
        cluster_cidr: args.cluster_cidr.clone(),
        serving_cert_pem: cert,
        serving_key_pem: key,
        client_ca_pem: api.ca_pem(),
        role_labels: crate::identity::SERVER_ROLE_LABELS
            .iter()
            .map(|l| (l.to_string(), "true".to_string()))
            .collect(),
    };
    Ok(tokio::spawn(node::run(plan, kube.clone(), stopped)))
}

async fn open_store(
    data_dir: &std::path::Path,
    endpoint: Option<&str>,
) -> anyhow::Result<Arc<dyn skiff_store::Store>> {
    if let Some(list) = endpoint.and_then(|e| e.strip_prefix("etcd://")) {
        // etcd://host:2379,host2:2379 (k3s also accepts http:// URLs; etcd-client wants them).
        let endpoints: Vec<String> = list
            .split(',')
            .filter(|e| !e.is_empty())
            .map(|e| format!("http://{e}"))
            .collect();
        let store = skiff_store::EtcdStore::connect(&endpoints)
            .await
            .with_context(|| format!("connecting to etcd at {list}"))?;
        return Ok(Arc::new(store));
    }
    let path = match endpoint {
        None => data_dir.join("server/db/state.db"),
        Some(e) if e.starts_with("sqlite://") => e.trim_start_matches("sqlite://").into(),
        Some(e) => bail!(
            "unsupported --datastore-endpoint {e:?}: use sqlite:///PATH or etcd://HOST:PORT[,…]"
        ),
    };
    let store = skiff_store::SqliteStore::open(&path)
        .with_context(|| format!("opening store {}", path.display()))?;
    Ok(Arc::new(store))
}

pub(crate) fn log_exit(what: &str, result: Result<anyhow::Result<()>, tokio::task::JoinError>) {
    match result {
        Ok(Ok(())) => tracing::info!("{what} stopped"),
        Ok(Err(err)) => tracing::error!("{what} failed: {err:#}"),
        Err(err) => tracing::error!("{what} panicked: {err}"),
    }
}

pub(crate) fn write_private_file(path: &std::path::Path, contents: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    std::io::Write::write_all(&mut file, contents.as_bytes())?;
    Ok(())
}

pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_lowercase())
        .unwrap_or_else(|_| "localhost".into())
}

pub(crate) async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
