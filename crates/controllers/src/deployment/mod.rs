//! The Deployment controller: one ReplicaSet per pod template (`<name>-<pod-template-hash>`),
//! rolled by the RollingUpdate or Recreate strategy, with revisions, history cleanup,
//! pause, and status/conditions that `kubectl rollout status` reads.

pub mod rolling;
pub mod status;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, ReplicaSetSpec};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{json, Value};

use crate::context::{get, split_key, Ctx, SyncResult};
use crate::events::EventType;
use crate::hash::pod_template_hash;
use crate::podutil::{claim, controller_ref, is_active, selector_matches, Claim};
use rolling::{fenceposts, new_rs_replicas, scale_down_old, OldRs};
use status::{condition, counts, set_condition, update_conditions};

/// Label and selector key carrying the template hash.
pub const HASH_LABEL: &str = "pod-template-hash";
/// Revision annotation.
pub const REVISION: &str = "deployment.kubernetes.io/revision";
/// Desired replicas annotation.
pub const DESIRED: &str = "deployment.kubernetes.io/desired-replicas";
/// Max replicas annotation.
pub const MAX: &str = "deployment.kubernetes.io/max-replicas";

fn template_value(t: Option<&PodTemplateSpec>) -> Value {
    let mut v = serde_json::to_value(t.cloned().unwrap_or_default()).unwrap_or(Value::Null);
    if let Some(labels) = v
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove(HASH_LABEL);
        if labels.is_empty() {
            if let Some(m) = v.pointer_mut("/metadata").and_then(Value::as_object_mut) {
                m.remove("labels");
            }
        }
    }
    v
}

/// Whether an RS template equals the deployment template, ignoring the hash label.
pub fn equal_ignore_hash(a: Option<&PodTemplateSpec>, b: Option<&PodTemplateSpec>) -> bool {
    template_value(a) == template_value(b)
}

/// The revision number of an RS (0 if none).
pub fn revision(rs: &ReplicaSet) -> i64 {
    rs.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(REVISION))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn spec_replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0)
}

/// The new ReplicaSet object for a deployment template.
pub fn new_replicaset(
    d: &Deployment,
    hash: &str,
    replicas: i32,
    revision: i64,
    max_surge: i32,
) -> ReplicaSet {
    let spec = d.spec.clone().unwrap_or_default();
    let mut template = spec.template.clone();
    let meta = template.metadata.get_or_insert_with(Default::default);
    meta.labels
        .get_or_insert_with(BTreeMap::new)
        .insert(HASH_LABEL.into(), hash.into());
    let mut selector = spec.selector.clone();
    selector
        .match_labels
        .get_or_insert_with(BTreeMap::new)
        .insert(HASH_LABEL.into(), hash.into());
    let want = spec.replicas.unwrap_or(1);
    let annotations: BTreeMap<String, String> = [
        (REVISION.to_string(), revision.to_string()),
        (DESIRED.to_string(), want.to_string()),
        (MAX.to_string(), (want + max_surge).to_string()),
    ]
    .into();
    ReplicaSet {
        metadata: ObjectMeta {
            name: Some(format!(
                "{}-{hash}",
                d.metadata.name.as_deref().unwrap_or("")
            )),
            namespace: d.metadata.namespace.clone(),
            labels: meta.labels.clone(),
            annotations: Some(annotations),
            owner_references: Some(vec![controller_ref("apps/v1", "Deployment", &d.metadata)]),
            ..Default::default()
        },
        spec: Some(ReplicaSetSpec {
            replicas: Some(replicas),
            min_ready_seconds: spec.min_ready_seconds,
            selector,
            template: Some(template),
        }),
        status: None,
    }
}

struct Syncer<'a> {
    ctx: &'a Ctx,
    d: &'a Deployment,
    api: Api<ReplicaSet>,
    want: i32,
    surge: i32,
}

impl Syncer<'_> {
    async fn scale(
        &self,
        rs: &ReplicaSet,
        to: i32,
        revision: Option<i64>,
    ) -> Result<bool, kube::Error> {
        let from = spec_replicas(rs);
        let ann = rs.metadata.annotations.clone().unwrap_or_default();
        let desired_ok = ann.get(DESIRED) == Some(&self.want.to_string())
            && ann.get(MAX) == Some(&(self.want + self.surge).to_string());
        let rev_ok = revision.is_none_or(|r| ann.get(REVISION) == Some(&r.to_string()));
        if from == to && desired_ok && rev_ok {
            return Ok(false);
        }
        let mut annotations =
            json!({DESIRED: self.want.to_string(), MAX: (self.want + self.surge).to_string()});
        if let Some(r) = revision {
            annotations[REVISION] = json!(r.to_string());
        }
        let name = rs.metadata.name.clone().unwrap_or_default();
        let patch = json!({"metadata": {"annotations": annotations}, "spec": {"replicas": to}});
        self.api
            .patch(&name, &PatchParams::default(), &Patch::Merge(patch))
            .await?;
        if from != to {
            let verb = if to > from { "up" } else { "down" };
            let msg = format!("Scaled {verb} replica set {name} from {from} to {to}");
            self.ctx
                .recorder
                .record(self.d, EventType::Normal, "ScalingReplicaSet", &msg)
                .await;
        }
        Ok(from != to)
    }
}

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
    let uid = d.metadata.uid.clone().unwrap_or_default();
    let spec = d.spec.clone().unwrap_or_default();
    let api: Api<ReplicaSet> = Api::namespaced(ctx.client.clone(), ns);
    let mut owned: Vec<Arc<ReplicaSet>> = Vec::new();
    for rs in ctx
        .replicasets
        .state()
        .into_iter()
        .filter(|r| r.metadata.namespace.as_deref() == Some(ns))
    {
        let m = selector_matches(Some(&spec.selector), rs.metadata.labels.as_ref());
        let rsname = rs.metadata.name.clone().unwrap_or_default();
        match claim(&uid, false, &rs.metadata, m) {
            Claim::Keep => owned.push(rs),
            Claim::Adopt if rs.metadata.deletion_timestamp.is_none() => {
                let mut refs = rs.metadata.owner_references.clone().unwrap_or_default();
                refs.push(controller_ref("apps/v1", "Deployment", &d.metadata));
                api.patch(
                    &rsname,
                    &PatchParams::default(),
                    &Patch::Merge(json!({"metadata": {"ownerReferences": refs}})),
                )
                .await?;
                owned.push(rs);
            }
            Claim::Release => {
                let refs: Vec<_> = rs
                    .metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .filter(|r| r.uid != uid)
                    .cloned()
                    .collect();
                api.patch(
                    &rsname,
                    &PatchParams::default(),
                    &Patch::Merge(json!({"metadata": {"ownerReferences": refs}})),
                )
                .await?;
            }
            _ => {}
        }
    }
    owned.sort_by_key(|r| {
        (
            r.metadata
                .creation_timestamp
                .as_ref()
                .map(|t| t.0.as_second())
                .unwrap_or(0),
            r.metadata.name.clone(),
        )
    });
    let want = spec.replicas.unwrap_or(1);
    let rolling = spec
        .strategy
        .as_ref()
        .and_then(|s| s.type_.as_deref())
        .unwrap_or("RollingUpdate")
        != "Recreate";
    let ru = spec
        .strategy
        .as_ref()
        .and_then(|s| s.rolling_update.as_ref());
    let (surge, unav) = if rolling {
        fenceposts(
            ru.and_then(|r| r.max_surge.as_ref()),
            ru.and_then(|r| r.max_unavailable.as_ref()),
            want,
        )
    } else {
        (0, 0)
    };
    let sy = Syncer {
        ctx: &ctx,
        d: &d,
        api: api.clone(),
        want,
        surge,
    };
    let mut new_rs = owned
        .iter()
        .find(|r| {
            equal_ignore_hash(
                r.spec.as_ref().and_then(|s| s.template.as_ref()),
                Some(&spec.template),
            )
        })
        .cloned();
    let olds: Vec<Arc<ReplicaSet>> = owned
        .iter()
        .filter(|r| {
            new_rs
                .as_ref()
                .is_none_or(|n| n.metadata.uid != r.metadata.uid)
        })
        .cloned()
        .collect();
    let max_old_rev = olds.iter().map(|r| revision(r)).max().unwrap_or(0);
    let mut created_now = None;
    let paused = spec.paused == Some(true);
    // The revision the new RS has (or gets in this sync), mirrored on the Deployment.
    let new_rev = if new_rs.as_ref().is_some_and(|n| revision(n) > max_old_rev) {
        None
    } else {
        Some(max_old_rev + 1)
    };
    let rev_now = match (&new_rs, paused) {
        (Some(n), true) => Some(revision(n)),
        (Some(n), false) => Some(new_rev.unwrap_or_else(|| revision(n))),
        (None, true) => None,
        (None, false) => Some(max_old_rev + 1),
    };

    if paused {
        // Only scaling while paused: keep the newest active RS at the desired total.
        let active: Vec<&Arc<ReplicaSet>> = owned.iter().filter(|r| spec_replicas(r) > 0).collect();
        if let Some(last) = new_rs.as_ref().or(active.last().copied()) {
            let others: i32 = owned
                .iter()
                .filter(|r| r.metadata.uid != last.metadata.uid)
                .map(|r| spec_replicas(r))
                .sum();
            sy.scale(last, (want - others).max(0), None).await?;
        }
    } else {
        let old_total: i32 = olds.iter().map(|r| spec_replicas(r)).sum();
        if new_rs.is_none() {
            let initial = if rolling {
                new_rs_replicas(want, surge, old_total, 0)
            } else if old_total == 0 && !old_pods_running(&ctx, ns, &olds) {
                want
            } else {
                0
            };
            let hash = pod_template_hash(
                &spec.template,
                d.status.as_ref().and_then(|s| s.collision_count),
            );
            let rs = new_replicaset(&d, &hash, initial, max_old_rev + 1, surge);
            match api.create(&PostParams::default(), &rs).await {
                Ok(created) => {
                    let n = created.metadata.name.clone().unwrap_or_default();
                    ctx.recorder
                        .record(
                            d.as_ref(),
                            EventType::Normal,
                            "ScalingReplicaSet",
                            &format!("Scaled up replica set {n} from 0 to {initial}"),
                        )
                        .await;
                    created_now = Some(n);
                    new_rs = Some(Arc::new(created));
                }
                Err(kube::Error::Api(e)) if e.code == 409 => {
                    // A different RS holds the name: bump collisionCount and retry.
                    let existing = api
                        .get_opt(rs.metadata.name.as_deref().unwrap_or(""))
                        .await?;
                    let same = existing.as_ref().is_some_and(|x| {
                        equal_ignore_hash(
                            x.spec.as_ref().and_then(|s| s.template.as_ref()),
                            Some(&spec.template),
                        )
                    });
                    if !same {
                        let cc = d
                            .status
                            .as_ref()
                            .and_then(|s| s.collision_count)
                            .unwrap_or(0)
                            + 1;
                        let dapi: Api<Deployment> = Api::namespaced(ctx.client.clone(), ns);
                        dapi.patch_status(
                            name,
                            &PatchParams::default(),
                            &Patch::Merge(json!({"status": {"collisionCount": cc}})),
                        )
                        .await?;
                    }
                    return Ok(Some(Duration::from_millis(100)));
                }
                Err(e) => return Err(e.into()),
            }
        } else if let Some(n) = new_rs.clone() {
            let cur = spec_replicas(&n);
            let target = if rolling {
                if cur > want {
                    want
                } else {
                    new_rs_replicas(want, surge, old_total + cur, cur)
                }
            } else if old_total == 0 && !old_pods_running(&ctx, ns, &olds) {
                want
            } else {
                cur
            };
            sy.scale(&n, target, new_rev).await?;
        }
        let new_ref = new_rs.clone();
        if rolling {
            let active_olds: Vec<&Arc<ReplicaSet>> =
                olds.iter().filter(|r| spec_replicas(r) > 0).collect();
            if !active_olds.is_empty() {
                let n_spec = new_ref.as_ref().map(|n| spec_replicas(n)).unwrap_or(0);
                let n_avail = new_ref
                    .as_ref()
                    .and_then(|n| n.status.as_ref())
                    .and_then(|s| s.available_replicas)
                    .unwrap_or(0);
                let input: Vec<OldRs> = active_olds
                    .iter()
                    .map(|r| OldRs {
                        name: r.metadata.name.clone().unwrap_or_default(),
                        replicas: spec_replicas(r),
                        available: r
                            .status
                            .as_ref()
                            .and_then(|s| s.available_replicas)
                            .unwrap_or(0),
                    })
                    .collect();
                let total = old_total + n_spec;
                let unav_cap = if want == 0 { 0 } else { unav.min(want) };
                for (rs, (_, to)) in active_olds.iter().zip(scale_down_old(
                    want, unav_cap, total, n_spec, n_avail, &input,
                )) {
                    sy.scale(rs, to, None).await?;
                }
            }
        } else {
            for rs in olds.iter().filter(|r| spec_replicas(r) > 0) {
                sy.scale(rs, 0, None).await?;
            }
        }
    }

    if let Some(r) = rev_now.filter(|r| *r > 0) {
        sync_revision_annotation(&ctx, &d, r).await?;
    }

    // Status from the cached RS state (the next RS event brings fresher numbers).
    let new_ref = new_rs.as_deref();
    let all: Vec<&ReplicaSet> = owned
        .iter()
        .map(|r| r.as_ref())
        .chain(new_ref.filter(|_| created_now.is_some()))
        .collect();
    let now = Timestamp::now();
    let mut st = counts(&d, &all, new_ref);
    let rs_name = new_ref.and_then(|r| r.metadata.name.clone());
    let mut recheck = update_conditions(&d, &mut st, rs_name.as_deref(), now);
    let mut conds = st.conditions.take().unwrap_or_default();
    if paused {
        set_condition(
            &mut conds,
            condition(
                "Progressing",
                "Unknown",
                "DeploymentPaused",
                "Deployment is paused".into(),
                now,
            ),
        );
    } else if let Some(n) = &created_now {
        set_condition(
            &mut conds,
            condition(
                "Progressing",
                "True",
                "NewReplicaSetCreated",
                format!("Created new replica set \"{n}\""),
                now,
            ),
        );
    } else if !conds.iter().any(|c| c.type_ == "Progressing")
        || conds
            .iter()
            .any(|c| c.reason.as_deref() == Some("DeploymentPaused"))
    {
        let (reason, msg) = if conds
            .iter()
            .any(|c| c.reason.as_deref() == Some("DeploymentPaused"))
        {
            ("DeploymentResumed", "Deployment is resumed".to_string())
        } else {
            (
                "FoundNewReplicaSet",
                format!(
                    "Found new replica set \"{}\"",
                    rs_name.clone().unwrap_or_default()
                ),
            )
        };
        let status = if reason == "DeploymentResumed" {
            "Unknown"
        } else {
            "True"
        };
        set_condition(
            &mut conds,
            condition("Progressing", status, reason, msg, now),
        );
    }
    st.conditions = Some(conds);
    if status::complete(&d, &st) {
        cleanup_history(&ctx, &api, &spec, &olds).await?;
    }
    if d.status.as_ref() != Some(&st) {
        let dapi: Api<Deployment> = Api::namespaced(ctx.client.clone(), ns);
        dapi.patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": st})),
        )
        .await?;
    }
    if spec.min_ready_seconds.unwrap_or(0) > 0 && !status::complete(&d, &st) {
        recheck = Some(
            recheck
                .unwrap_or(i64::MAX)
                .min(i64::from(spec.min_ready_seconds.unwrap_or(0))),
        );
    }
    Ok(recheck.map(|s| Duration::from_secs(u64::try_from(s.max(1)).unwrap_or(1))))
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

fn old_pods_running(ctx: &Ctx, ns: &str, olds: &[Arc<ReplicaSet>]) -> bool {
    olds.iter()
        .filter_map(|r| r.metadata.uid.as_deref())
        .flat_map(|uid| ctx.pods_owned_by(uid))
        .any(|p| {
            p.metadata.namespace.as_deref() == Some(ns)
                && (is_active(&p) || p.metadata.deletion_timestamp.is_some())
        })
}

async fn cleanup_history(
    ctx: &Ctx,
    api: &Api<ReplicaSet>,
    spec: &k8s_openapi::api::apps::v1::DeploymentSpec,
    olds: &[Arc<ReplicaSet>],
) -> Result<(), kube::Error> {
    let limit = spec.revision_history_limit.unwrap_or(10).max(0) as usize;
    let mut dead: Vec<&Arc<ReplicaSet>> = olds
        .iter()
        .filter(|r| {
            spec_replicas(r) == 0
                && r.status.as_ref().is_none_or(|s| s.replicas == 0)
                && r.metadata.deletion_timestamp.is_none()
        })
        .collect();
    if dead.len() <= limit {
        return Ok(());
    }
    dead.sort_by_key(|r| revision(r));
    for rs in &dead[..dead.len() - limit] {
        let n = rs.metadata.name.clone().unwrap_or_default();
        match api.delete(&n, &DeleteParams::background()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    let _ = ctx;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_rs_shape() {
        let d: Deployment = serde_json::from_value(json!({"metadata": {"name": "web", "namespace": "default", "uid": "u"},
            "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}))
        .unwrap();
        let hash = pod_template_hash(&d.spec.as_ref().unwrap().template, None);
        let rs = new_replicaset(&d, &hash, 1, 3, 1);
        assert_eq!(
            rs.metadata.name.as_deref(),
            Some(format!("web-{hash}").as_str())
        );
        let ann = rs.metadata.annotations.as_ref().unwrap();
        assert_eq!(
            (
                ann[REVISION].as_str(),
                ann[DESIRED].as_str(),
                ann[MAX].as_str()
            ),
            ("3", "4", "5")
        );
        let spec = rs.spec.as_ref().unwrap();
        assert_eq!(
            spec.selector.match_labels.as_ref().unwrap()[HASH_LABEL],
            hash
        );
        assert_eq!(
            spec.template
                .as_ref()
                .unwrap()
                .metadata
                .as_ref()
                .unwrap()
                .labels
                .as_ref()
                .unwrap()[HASH_LABEL],
            hash
        );
        assert!(equal_ignore_hash(
            spec.template.as_ref(),
            Some(&d.spec.as_ref().unwrap().template)
        ));
        let oref = &rs.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!(
            (oref.controller, oref.block_owner_deletion),
            (Some(true), Some(true))
        );
    }
}
