//! The Deployment controller: one ReplicaSet per pod template (`<name>-<pod-template-hash>`),
//! rolled by the RollingUpdate or Recreate strategy, with revisions, history cleanup,
//! pause, and status/conditions that `kubectl rollout status` reads. A sync reads the
//! caches, claims the ReplicaSets, computes a [`logic::Plan`], executes it, then writes
//! the status from [`status`].

pub mod logic;
pub mod proportion;
pub mod rolling;
pub mod status;
pub mod template;

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;
use skiff_api::owner::new_controller_ref;

use crate::claim::{claim_all, Owner};
use crate::context::{get, split_key, Ctx, SyncResult};
use crate::hash::pod_template_hash;
use crate::podutil::selector_matches;
use logic::{history_to_delete, plan, split, strategy, NewRs, Rollout, ScaleOp};
use skiff_client::events::EventType;

pub use template::{equal_ignore_hash, new_replicaset, revision};

/// Label and selector key carrying the template hash.
pub const HASH_LABEL: &str = "pod-template-hash";
/// Revision annotation.
pub const REVISION: &str = "deployment.kubernetes.io/revision";
/// Desired replicas annotation.
pub const DESIRED: &str = "deployment.kubernetes.io/desired-replicas";
/// Max replicas annotation.
pub const MAX: &str = "deployment.kubernetes.io/max-replicas";

/// One sync of the Deployment `key`.
pub async fn sync(ctx: Arc<Ctx>, key: String) -> SyncResult {
    let (ns, name) = split_key(&key);
    let ns = ns.unwrap_or("default");
    let Some(d) = get(&ctx.deployments, ns, name) else {
        return Ok(None);
    };
    if d.metadata.deletion_timestamp.is_some() {
        return Ok(None);
    }
    let api: Api<ReplicaSet> = Api::namespaced(ctx.client.clone(), ns);
    let owned = claim_replicasets(&ctx, &api, &d).await?;
    let refs: Vec<&ReplicaSet> = owned.iter().map(|r| r.as_ref()).collect();
    let (new_rs, olds) = split(&d, &refs);
    let old_pods_running = !strategy(&d).rolling && old_pods_running(&ctx, ns, &olds);
    let rollout = Rollout {
        d: &d,
        new_rs,
        olds,
        old_pods_running,
    };
    let p = plan(&rollout);
    let created = match p.create {
        Some(c) => match create_new_rs(&ctx, &api, &d, c).await? {
            Some(rs) => Some(rs),
            // A different ReplicaSet holds the name: try again with the bumped collisionCount.
            None => return Ok(Some(Duration::from_millis(100))),
        },
        None => None,
    };
    for op in &p.scales {
        apply_scale(&ctx, &api, &d, op).await?;
    }
    if let Some(r) = p.revision.filter(|r| *r > 0) {
        sync_revision_annotation(&ctx, &d, r).await?;
    }
    write_status(&ctx, &api, &rollout, created.as_ref()).await
}

/// The ReplicaSets of the namespace the Deployment owns after adopting and releasing,
/// oldest first (by creation, then name).
async fn claim_replicasets(
    ctx: &Ctx,
    api: &Api<ReplicaSet>,
    d: &Deployment,
) -> Result<Vec<Arc<ReplicaSet>>, kube::Error> {
    let ns = d.metadata.namespace.as_deref();
    let candidates: Vec<Arc<ReplicaSet>> = ctx
        .replicasets
        .state()
        .into_iter()
        .filter(|r| r.metadata.namespace.as_deref() == ns)
        .collect();
    let selector = d.spec.as_ref().map(|s| &s.selector);
    let owner = Owner {
        meta: &d.metadata,
        reference: new_controller_ref(d),
    };
    let matches = |rs: &ReplicaSet| selector_matches(selector, rs.metadata.labels.as_ref());
    let mut owned = claim_all(api, &owner, candidates, matches).await?;
    owned.sort_by_key(|r| {
        let created = r.metadata.creation_timestamp.as_ref();
        (
            created.map(|t| t.0.as_second()).unwrap_or(0),
            r.metadata.name.clone(),
        )
    });
    Ok(owned)
}

/// Whether pods of the old ReplicaSets still run (from the pod cache).
fn old_pods_running(ctx: &Ctx, ns: &str, olds: &[&ReplicaSet]) -> bool {
    let pods: Vec<Arc<Pod>> = olds
        .iter()
        .filter_map(|r| r.metadata.uid.as_deref())
        .flat_map(|uid| ctx.pods_owned_by(uid))
        .filter(|p| p.metadata.namespace.as_deref() == Some(ns))
        .collect();
    let pods: Vec<&Pod> = pods.iter().map(|p| p.as_ref()).collect();
    logic::old_pods_running(olds, &pods)
}

/// Creates the new ReplicaSet; `None` after a hash collision (a different ReplicaSet holds
/// the name), when the Deployment's collisionCount has been bumped for the next try.
async fn create_new_rs(
    ctx: &Ctx,
    api: &Api<ReplicaSet>,
    d: &Deployment,
    c: NewRs,
) -> Result<Option<ReplicaSet>, kube::Error> {
    let spec = d.spec.clone().unwrap_or_default();
    let collisions = d.status.as_ref().and_then(|s| s.collision_count);
    let hash = pod_template_hash(&spec.template, collisions);
    let rs = new_replicaset(d, &hash, c.replicas, c.revision, strategy(d).surge);
    match api.create(&PostParams::default(), &rs).await {
        Ok(created) => {
            let n = created.metadata.name.as_deref().unwrap_or_default();
            let msg = format!("Scaled up replica set {n} from 0 to {}", c.replicas);
            ctx.recorder
                .record(d, EventType::Normal, "ScalingReplicaSet", &msg)
                .await;
            Ok(Some(created))
        }
        Err(kube::Error::Api(e)) if e.code == 409 => {
            let existing = api
                .get_opt(rs.metadata.name.as_deref().unwrap_or(""))
                .await?;
            if !existing.is_some_and(|x| template::is_current(d, &x)) {
                let cc = collisions.unwrap_or(0) + 1;
                let ns = d.metadata.namespace.as_deref().unwrap_or("default");
                let name = d.metadata.name.as_deref().unwrap_or("");
                let dapi: Api<Deployment> = Api::namespaced(ctx.client.clone(), ns);
                let patch = Patch::Merge(json!({"status": {"collisionCount": cc}}));
                dapi.patch_status(name, &PatchParams::default(), &patch)
                    .await?;
            }
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Sets a ReplicaSet's size and annotations; records the scaling as an event.
async fn apply_scale(
    ctx: &Ctx,
    api: &Api<ReplicaSet>,
    d: &Deployment,
    op: &ScaleOp,
) -> Result<(), kube::Error> {
    let mut annotations = json!({DESIRED: op.desired.to_string(), MAX: op.max.to_string()});
    if let Some(r) = op.revision {
        annotations[REVISION] = json!(r.to_string());
    }
    let patch = json!({"metadata": {"annotations": annotations}, "spec": {"replicas": op.to}});
    api.patch(&op.name, &PatchParams::default(), &Patch::Merge(patch))
        .await?;
    if op.from != op.to {
        let verb = if op.to > op.from { "up" } else { "down" };
        let (name, from, to) = (&op.name, op.from, op.to);
        let msg = format!("Scaled {verb} replica set {name} from {from} to {to}");
        ctx.recorder
            .record(d, EventType::Normal, "ScalingReplicaSet", &msg)
            .await;
    }
    Ok(())
}

/// Mirrors the new ReplicaSet's revision on the Deployment (what `rollout history` and
/// `rollout undo` read), with a metadata-only patch that leaves the generation alone.
async fn sync_revision_annotation(ctx: &Ctx, d: &Deployment, rev: i64) -> Result<(), kube::Error> {
    let have = d
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(REVISION))
        .cloned();
    if have.as_deref() == Some(rev.to_string().as_str()) {
        return Ok(());
    }
    let ns = d.metadata.namespace.as_deref().unwrap_or("default");
    let name = d.metadata.name.as_deref().unwrap_or("");
    let dapi: Api<Deployment> = Api::namespaced(ctx.client.clone(), ns);
    let patch = json!({"metadata": {"annotations": {REVISION: rev.to_string()}}});
    match dapi
        .patch(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}

/// Writes the status computed from the cached ReplicaSets (plus one created now; the next
/// ReplicaSet event brings fresher numbers), cleaning up old history once complete.
async fn write_status(
    ctx: &Ctx,
    api: &Api<ReplicaSet>,
    r: &Rollout<'_>,
    created: Option<&ReplicaSet>,
) -> SyncResult {
    let d = r.d;
    let all: Vec<&ReplicaSet> = r
        .olds
        .iter()
        .copied()
        .chain(r.new_rs)
        .chain(created)
        .collect();
    let new_rs = r.new_rs.or(created);
    let created_name = created.and_then(|c| c.metadata.name.as_deref());
    let (st, recheck) = status::next_status(d, &all, new_rs, created_name, Timestamp::now());
    if status::complete(d, &st) {
        for name in history_to_delete(d, &r.olds) {
            match api.delete(&name, &DeleteParams::background()).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    if d.status.as_ref() != Some(&st) {
        let ns = d.metadata.namespace.as_deref().unwrap_or("default");
        let name = d.metadata.name.as_deref().unwrap_or("");
        let dapi: Api<Deployment> = Api::namespaced(ctx.client.clone(), ns);
        let patch = Patch::Merge(json!({"status": st}));
        dapi.patch_status(name, &PatchParams::default(), &patch)
            .await?;
    }
    Ok(recheck.map(|s| Duration::from_secs(u64::try_from(s.max(1)).unwrap_or(1))))
}
