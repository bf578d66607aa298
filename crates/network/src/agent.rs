//! The network agent's loop: watch the Node objects, keep the kernel's routes and `nat`
//! rules as [`routes::plan`] and [`masq::rules`] say, and mark the node's network available.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, Patch, PatchParams};
use tokio::sync::Notify;

use crate::backend::{BackendError, FlannelBackend};
use crate::kernel::{Kernel, KernelError, Tools};
use crate::{condition, masq, routes};

/// What the network agent of one node needs.
#[derive(Clone, Debug)]
pub struct NetworkConfig {
    /// This node's name (its own pod CIDR needs no route).
    pub node_name: String,
    /// `--flannel-backend`.
    pub backend: FlannelBackend,
    /// The cluster's pod range (`--cluster-cidr`): traffic leaving it is masqueraded.
    pub cluster_cidr: String,
    /// Names this node's `nat` rules (the node's bridge name: unique per network namespace).
    pub tag: String,
    /// How often the routes are checked even when no Node changed.
    pub resync: Duration,
}

/// Why the network agent cannot run.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// The backend is not one Skiff runs.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// Runs the node's pod network until `shutdown`. Routes and rules stay in place when it
/// stops (as flannel's do), so pods keep talking across an agent restart;
/// `scripts/killall.sh` removes them.
pub async fn run(
    cfg: NetworkConfig,
    kube: kube::Client,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), NetworkError> {
    let backend = cfg.backend.supported()?;
    if backend == FlannelBackend::None {
        shutdown.await;
        return Ok(());
    }
    run_with(cfg, kube, Arc::new(Tools), shutdown).await;
    Ok(())
}

async fn run_with(
    cfg: NetworkConfig,
    kube: kube::Client,
    kernel: Arc<dyn Kernel>,
    shutdown: impl Future<Output = ()> + Send,
) {
    let nodes: Api<Node> = Api::all(kube);
    let changed = Arc::new(Notify::new());
    let synced = Arc::new(AtomicBool::new(false));
    let on_event: skiff_client::informer::Handler<Node> = {
        let changed = changed.clone();
        Arc::new(move |_, _| changed.notify_one())
    };
    let on_synced: skiff_client::informer::OnSynced<Node> = {
        let (changed, synced) = (changed.clone(), synced.clone());
        Arc::new(move |_| {
            synced.store(true, Ordering::SeqCst);
            changed.notify_one();
        })
    };
    let (store, task) =
        skiff_client::informer::spawn_indexed(nodes.clone(), vec![on_event], Some(on_synced));
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = changed.notified() => {}
            _ = tokio::time::sleep(cfg.resync) => {}
        }
        // Before the first list the store is empty: syncing then would drop every route.
        if !synced.load(Ordering::SeqCst) {
            continue;
        }
        let all = store.state();
        let refs: Vec<&Node> = all.iter().map(|n| n.as_ref()).collect();
        match sync(&cfg, kernel.as_ref(), &refs).await {
            Ok(()) => mark_available(&nodes, &cfg.node_name, &refs).await,
            Err(errors) => errors
                .iter()
                .for_each(|e| tracing::warn!(error = %e, "pod network sync")),
        }
    }
    task.abort();
}

/// One pass: forwarding, masquerade rules, then the route changes; every error is kept.
pub async fn sync(
    cfg: &NetworkConfig,
    kernel: &dyn Kernel,
    nodes: &[&Node],
) -> Result<(), Vec<KernelError>> {
    let mut errors = Vec::new();
    if let Err(e) = kernel.enable_forwarding().await {
        errors.push(e);
    }
    for rule in masq::rules(&cfg.cluster_cidr, &cfg.tag) {
        if let Err(e) = kernel.ensure_nat_rule(&rule).await {
            errors.push(e);
        }
    }
    let wanted = routes::wanted(&cfg.node_name, nodes);
    let current = match kernel.routes().await {
        Ok(current) => current,
        Err(e) => {
            errors.push(e);
            return Err(errors);
        }
    };
    for change in routes::plan(&wanted, &current) {
        tracing::info!(?change, "pod network route");
        let done = match &change {
            routes::RouteChange::Replace(route) => kernel.replace_route(route).await,
            routes::RouteChange::Delete(dst) => kernel.delete_route(dst).await,
        };
        if let Err(e) = done {
            errors.push(e);
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Sets `NetworkUnavailable=False` on our node unless it already says so.
async fn mark_available(api: &Api<Node>, own: &str, nodes: &[&Node]) {
    let Some(node) = nodes
        .iter()
        .find(|n| n.metadata.name.as_deref() == Some(own))
    else {
        return;
    };
    if condition::network_available(node) {
        return;
    }
    let patch = condition::available_patch(chrono::Utc::now());
    let params = PatchParams::default();
    if let Err(e) = api
        .patch_status(own, &params, &Patch::Strategic(&patch))
        .await
    {
        tracing::warn!(error = %e, "setting NetworkUnavailable=False");
    }
}

#[cfg(test)]
mod tests;
