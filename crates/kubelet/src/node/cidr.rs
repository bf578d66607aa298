//! Follows this node's `spec.podCIDR` with a watch on its own Node object and
//! hands a CIDR assigned after registration (by the node-lifecycle or IPAM
//! controller) to the runtime through CRI `UpdateRuntimeConfig`.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Node;
use kube::runtime::watcher;
use kube::{Api, Client};
use tokio::sync::watch;

use crate::config::KubeletConfig;
use crate::cri::Cri;

/// Watch the Node named in `cfg` until shutdown; `handed` is the CIDR the
/// runtime already has (from registration), if any.
pub async fn pod_cidr_loop(
    client: Client,
    cfg: Arc<KubeletConfig>,
    cri: Arc<dyn Cri>,
    mut handed: Option<String>,
    mut shutdown: watch::Receiver<bool>,
) {
    let api: Api<Node> = Api::all(client);
    let wc = watcher::Config::default().fields(&format!("metadata.name={}", cfg.node_name));
    let mut stream = watcher(api, wc).boxed();
    loop {
        let ev = tokio::select! {
            _ = shutdown.changed() => return,
            ev = stream.next() => ev,
        };
        let node = match ev {
            Some(Ok(watcher::Event::Apply(n))) | Some(Ok(watcher::Event::InitApply(n))) => n,
            Some(Ok(_)) => continue,
            Some(Err(e)) => {
                tracing::debug!(error = %e, "node watch failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            None => return,
        };
        let Some(cidr) = assigned(&node) else {
            continue;
        };
        if handed.as_deref() == Some(cidr.as_str()) {
            continue;
        }
        match cri.update_runtime_config(&cidr).await {
            Ok(()) => {
                tracing::info!(%cidr, "pod CIDR handed to the runtime");
                handed = Some(cidr);
            }
            Err(e) => tracing::warn!(error = %e, %cidr, "runtime did not accept the pod CIDR"),
        }
    }
}

/// The node's assigned pod CIDR (`spec.podCIDR`, else the first of `podCIDRs`).
fn assigned(node: &Node) -> Option<String> {
    let spec = node.spec.as_ref()?;
    spec.pod_cidr
        .clone()
        .filter(|c| !c.is_empty())
        .or_else(|| spec.pod_cidrs.as_ref()?.first().cloned())
        .filter(|c| !c.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::NodeSpec;

    #[test]
    fn reads_pod_cidr_then_pod_cidrs() {
        let mut n = Node::default();
        assert_eq!(assigned(&n), None);
        n.spec = Some(NodeSpec {
            pod_cidrs: Some(vec!["10.42.3.0/24".into()]),
            ..Default::default()
        });
        assert_eq!(assigned(&n).as_deref(), Some("10.42.3.0/24"));
        n.spec = Some(NodeSpec {
            pod_cidr: Some("10.42.7.0/24".into()),
            ..Default::default()
        });
        assert_eq!(assigned(&n).as_deref(), Some("10.42.7.0/24"));
    }
}
