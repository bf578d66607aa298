//! The ReplicaSet controller: keeps `spec.replicas` pods matching the selector, owned by
//! the ReplicaSet, and reports their counts in status.

pub mod logic;

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;
use tracing::debug;

use crate::context::{get, split_key, Ctx, Expectations, SyncResult};
use crate::events::EventType;
use crate::podutil::{claim, controller_ref, is_active, is_available, is_ready, Claim};
use logic::{
    compute_status, matches, pods_to_delete, random_suffix, slow_start_batches, BURST_REPLICAS,
};

/// Builds the pod a ReplicaSet creates from its template.
pub fn pod_from_template(rs: &ReplicaSet, name: &str) -> Pod {
    let tmpl = rs
        .spec
        .as_ref()
        .and_then(|s| s.template.clone())
        .unwrap_or_default();
    let tm = tmpl.metadata.unwrap_or_default();
    Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: rs.metadata.namespace.clone(),
            labels: tm.labels,
            annotations: tm.annotations,
            finalizers: tm.finalizers,
            owner_references: Some(vec![controller_ref("apps/v1", "ReplicaSet", &rs.metadata)]),
            ..Default::default()
        },
        spec: tmpl.spec,
        status: None,
    }
}

async fn create_one(ctx: &Ctx, api: &Api<Pod>, rs: &ReplicaSet) -> Result<String, kube::Error> {
    let base = rs.metadata.name.clone().unwrap_or_default();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let name = format!("{base}-{}", random_suffix());
        match api
            .create(&PostParams::default(), &pod_from_template(rs, &name))
            .await
        {
            Ok(_) => {
                ctx.recorder
                    .record(
                        rs,
                        EventType::Normal,
                        "SuccessfulCreate",
                        &format!("Created pod: {name}"),
                    )
                    .await;
                return Ok(name);
            }
            Err(kube::Error::Api(e)) if e.code == 409 && attempt < 3 => continue,
            Err(e) => return Err(e),
        }
    }
}

/// One sync of the ReplicaSet `key`.
pub async fn sync(ctx: Arc<Ctx>, exp: Arc<Expectations>, key: String) -> SyncResult {
    let (ns, name) = split_key(&key);
    let ns = ns.unwrap_or("default");
    let Some(rs) = get(&ctx.replicasets, ns, name) else {
        exp.forget(&key);
        return Ok(None);
    };
    let uid = rs.metadata.uid.clone().unwrap_or_default();
    let deleting = rs.metadata.deletion_timestamp.is_some();
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), ns);
    // Only our own pods (to keep or release) and orphans (to adopt) can matter.
    let mut candidates: Vec<Arc<Pod>> = ctx.pods_owned_by(&uid);
    candidates.extend(ctx.orphan_pods_in(ns));
    candidates.retain(|p| p.metadata.namespace.as_deref() == Some(ns));
    let mut owned: Vec<Arc<Pod>> = Vec::new();
    for p in candidates {
        if !is_active(&p) {
            continue;
        }
        match claim(&uid, deleting, &p.metadata, matches(&rs, &p)) {
            Claim::Keep => owned.push(p),
            Claim::Adopt => {
                let mut refs = p.metadata.owner_references.clone().unwrap_or_default();
                refs.push(controller_ref("apps/v1", "ReplicaSet", &rs.metadata));
                let patch = json!({"metadata": {"ownerReferences": refs, "uid": p.metadata.uid}});
                let pname = p.metadata.name.clone().unwrap_or_default();
                if api
                    .patch(&pname, &PatchParams::default(), &Patch::Merge(patch))
                    .await
                    .is_ok()
                {
                    owned.push(p);
                }
            }
            Claim::Release => {
                let refs: Vec<_> = p
                    .metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .filter(|r| r.uid != uid)
                    .cloned()
                    .collect();
                let patch = json!({"metadata": {"ownerReferences": refs}});
                let pname = p.metadata.name.clone().unwrap_or_default();
                let _ = api
                    .patch(&pname, &PatchParams::default(), &Patch::Merge(patch))
                    .await;
            }
            Claim::Ignore => {}
        }
    }
    let live =
        |n: &str| get(&ctx.pods, ns, n).is_some_and(|p| p.metadata.deletion_timestamp.is_none());
    if !deleting && exp.satisfied(&key, live) {
        let want = rs
            .spec
            .as_ref()
            .and_then(|s| s.replicas)
            .unwrap_or(1)
            .max(0) as usize;
        let have = owned.len();
        if have < want {
            let n = (want - have).min(BURST_REPLICAS);
            let mut created = Vec::new();
            'batches: for b in slow_start_batches(n) {
                let res = join_all((0..b).map(|_| create_one(&ctx, &api, &rs))).await;
                for r in res {
                    match r {
                        Ok(name) => created.push(name),
                        Err(e) => {
                            debug!(rs = %key, error = %e, "creating pod");
                            exp.expect(&key, created, []);
                            return Err(e.into());
                        }
                    }
                }
                if created.len() >= n {
                    break 'batches;
                }
            }
            exp.expect(&key, created, []);
        } else if have > want {
            let refs: Vec<&Pod> = owned.iter().map(|p| p.as_ref()).collect();
            let victims = pods_to_delete(&refs, (have - want).min(BURST_REPLICAS));
            let names: Vec<String> = victims
                .iter()
                .filter_map(|p| p.metadata.name.clone())
                .collect();
            exp.expect(&key, [], names.clone());
            let dp = DeleteParams::default();
            let res = join_all(names.iter().map(|n| api.delete(n, &dp))).await;
            for (n, r) in names.iter().zip(res) {
                match r {
                    Ok(_) => {
                        ctx.recorder
                            .record(
                                rs.as_ref(),
                                EventType::Normal,
                                "SuccessfulDelete",
                                &format!("Deleted pod: {n}"),
                            )
                            .await
                    }
                    Err(kube::Error::Api(e)) if e.code == 404 => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    let now = Timestamp::now();
    let refs: Vec<&Pod> = owned.iter().map(|p| p.as_ref()).collect();
    let status = compute_status(&rs, &refs, now);
    if rs.status.as_ref() != Some(&status) {
        let rsapi: Api<ReplicaSet> = Api::namespaced(ctx.client.clone(), ns);
        match rsapi
            .patch_status(
                name,
                &PatchParams::default(),
                &Patch::Merge(json!({"status": status})),
            )
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
