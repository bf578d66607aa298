//! The ReplicaSet controller: keeps `spec.replicas` pods matching the selector, owned by
//! the ReplicaSet, and reports their counts in status. A sync reads the caches, claims the
//! pods, asks [`logic`] and [`ranking`] what to do, and does it.

pub mod logic;
pub mod ranking;

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;
use skiff_api::owner::{controller_ref, new_controller_ref};
use tracing::debug;

use crate::claim::{claim_all, Owner};
use crate::context::{get, split_key, Ctx, Expectations, SyncResult};
use crate::podutil::{is_active, is_available, is_ready};
use logic::{compute_status, diff, matches, pod_from_template, slow_start_batches, Diff};
use ranking::pods_to_delete;
use skiff_client::events::EventType;

/// One sync of the ReplicaSet `key`.
pub async fn sync(ctx: Arc<Ctx>, exp: Arc<Expectations>, key: String) -> SyncResult {
    let (ns, name) = split_key(&key);
    let ns = ns.unwrap_or("default");
    let Some(rs) = get(&ctx.replicasets, ns, name) else {
        exp.forget(&key);
        return Ok(None);
    };
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), ns);
    let owned = claim_pods(&ctx, &api, &rs).await?;
    let live =
        |n: &str| get(&ctx.pods, ns, n).is_some_and(|p| p.metadata.deletion_timestamp.is_none());
    if rs.metadata.deletion_timestamp.is_none() && exp.satisfied(&key, live) {
        match diff(&rs, owned.len()) {
            Diff::Create(n) => create_pods(&ctx, &exp, &key, &api, &rs, n).await?,
            Diff::Delete(n) => delete_pods(&ctx, &exp, &key, &api, &rs, &owned, n).await?,
            Diff::None => {}
        }
    }
    write_status(&ctx, &rs, &owned).await
}

/// The active pods the ReplicaSet owns after adopting and releasing: only its own pods and
/// the namespace's orphans can matter; pods of other controllers are ignored.
async fn claim_pods(
    ctx: &Ctx,
    api: &Api<Pod>,
    rs: &ReplicaSet,
) -> Result<Vec<Arc<Pod>>, kube::Error> {
    let ns = rs.metadata.namespace.as_deref();
    let mut candidates = ctx.pods_owned_by(rs.metadata.uid.as_deref().unwrap_or(""));
    candidates.extend(ctx.orphan_pods_in(ns.unwrap_or("")));
    candidates.retain(|p| p.metadata.namespace.as_deref() == ns && is_active(p));
    let owner = Owner {
        meta: &rs.metadata,
        reference: new_controller_ref(rs),
    };
    claim_all(api, &owner, candidates, |p| matches(rs, p)).await
}

/// Creates `n` pods in slow-start batches (1, 2, 4, …), stopping at the first batch with a
/// failure; expects every pod it created.
async fn create_pods(
    ctx: &Ctx,
    exp: &Expectations,
    key: &str,
    api: &Api<Pod>,
    rs: &ReplicaSet,
    n: usize,
) -> Result<(), kube::Error> {
    let pod = pod_from_template(rs);
    let pp = PostParams::default();
    let mut created = Vec::new();
    for batch in slow_start_batches(n) {
        let results = join_all((0..batch).map(|_| api.create(&pp, &pod))).await;
        let mut failed = None;
        for r in results {
            match r {
                Ok(p) => {
                    let name = p.metadata.name.unwrap_or_default();
                    let msg = format!("Created pod: {name}");
                    ctx.recorder
                        .record(rs, EventType::Normal, "SuccessfulCreate", &msg)
                        .await;
                    created.push(name);
                }
                Err(e) => {
                    debug!(rs = %key, error = %e, "creating pod");
                    failed.get_or_insert(e);
                }
            }
        }
        if let Some(e) = failed {
            exp.expect(key, created, []);
            return Err(e);
        }
    }
    exp.expect(key, created, []);
    Ok(())
}

/// Deletes the `n` best candidates among the owned pods, ranked against the pods of every
/// ReplicaSet with the same controller.
async fn delete_pods(
    ctx: &Ctx,
    exp: &Expectations,
    key: &str,
    api: &Api<Pod>,
    rs: &ReplicaSet,
    owned: &[Arc<Pod>],
    n: usize,
) -> Result<(), kube::Error> {
    let related = related_pods(ctx, rs);
    let related: Vec<&Pod> = related.iter().map(|p| p.as_ref()).collect();
    let owned: Vec<&Pod> = owned.iter().map(|p| p.as_ref()).collect();
    let names: Vec<String> = pods_to_delete(&owned, &related, n, Timestamp::now())
        .iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    exp.expect(key, [], names.clone());
    let dp = DeleteParams::default();
    let results = join_all(names.iter().map(|n| api.delete(n, &dp))).await;
    for (n, r) in names.iter().zip(results) {
        match r {
            Ok(_) => {
                let msg = format!("Deleted pod: {n}");
                ctx.recorder
                    .record(rs, EventType::Normal, "SuccessfulDelete", &msg)
                    .await
            }
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Pods of the ReplicaSets sharing this one's controller (upstream's
/// `getIndirectlyRelatedPods`); none when it has no controller.
fn related_pods(ctx: &Ctx, rs: &ReplicaSet) -> Vec<Arc<Pod>> {
    let Some(owner) = controller_ref(&rs.metadata) else {
        return Vec::new();
    };
    ctx.replicasets
        .state()
        .iter()
        .filter(|r| {
            r.metadata.namespace == rs.metadata.namespace
                && controller_ref(&r.metadata).is_some_and(|o| o.uid == owner.uid)
        })
        .filter_map(|r| r.metadata.uid.as_deref())
        .flat_map(|uid| ctx.pods_owned_by(uid))
        .collect()
}

/// Writes the status computed from the owned pods (if it changed); asks to be synced again
/// when a Ready pod will become available after `minReadySeconds`.
async fn write_status(ctx: &Ctx, rs: &ReplicaSet, owned: &[Arc<Pod>]) -> SyncResult {
    let now = Timestamp::now();
    let refs: Vec<&Pod> = owned.iter().map(|p| p.as_ref()).collect();
    let status = compute_status(rs, &refs, now);
    if rs.status.as_ref() != Some(&status) {
        let ns = rs.metadata.namespace.as_deref().unwrap_or("default");
        let name = rs.metadata.name.as_deref().unwrap_or("");
        let rsapi: Api<ReplicaSet> = Api::namespaced(ctx.client.clone(), ns);
        let patch = Patch::Merge(json!({"status": status}));
        match rsapi
            .patch_status(name, &PatchParams::default(), &patch)
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
    }
    let min_ready = rs
        .spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0);
    let waiting = refs
        .iter()
        .any(|p| is_ready(p) && !is_available(p, min_ready, now));
    Ok(waiting.then(|| Duration::from_secs(u64::try_from(min_ready).unwrap_or(1).max(1))))
}
