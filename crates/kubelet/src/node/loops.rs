//! The node's two heartbeats: the Lease in kube-node-lease renewed every
//! heartbeat, and the node status patched when it changes and at least
//! every five minutes (re-registering a deleted Node).

use std::time::{Duration, Instant};

use chrono::Utc;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{Node, NodeStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};
use tokio::sync::watch;

use super::status::{differs, node_status};
use super::{gather, register, RuntimeInfo};
use crate::config::KubeletConfig;

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
            // A strategic merge, as upstream's kubelet: conditions merge by type, so
            // the ones other agents own (NetworkUnavailable) stay.
            let patch = serde_json::json!({ "status": status });
            match api
                .patch_status(
                    &cfg.node_name,
                    &PatchParams::default(),
                    &Patch::Strategic(&patch),
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
