//! Adoption and release of dependents, shared by the Deployment (ReplicaSets) and ReplicaSet
//! (Pods) controllers: upstream's ControllerRefManager, deciding with `skiff_api::owner`'s
//! claim rule and acting with strategic-merge patches that carry a UID precondition.

use std::fmt::Debug;
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{Api, Patch, PatchParams};
use kube::Resource;
use serde::de::DeserializeOwned;
use skiff_api::owner::{adopt_patch, claim, release_patch, Claim, Claimant};
use tracing::debug;

/// The owner side of a claim: its metadata and the controller reference it adds.
pub struct Owner<'a> {
    /// The owner's metadata (UID, namespace, deletionTimestamp).
    pub meta: &'a ObjectMeta,
    /// The controller reference pointing at the owner.
    pub reference: OwnerReference,
}

/// Claims `candidates` for `owner`: keeps its matching objects, adopts matching orphans and
/// releases objects that no longer match; returns the objects it owns afterwards. Like
/// upstream's `ClaimObjects`, every candidate is tried; the first failure (other than the
/// object being gone, or a release the server rejects as invalid) is returned at the end.
pub async fn claim_all<K>(
    api: &Api<K>,
    owner: &Owner<'_>,
    candidates: Vec<Arc<K>>,
    matches: impl Fn(&K) -> bool,
) -> Result<Vec<Arc<K>>, kube::Error>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    let claimant = Claimant::of(owner.meta);
    let owner_uid = claimant.uid;
    let mut owned = Vec::new();
    let mut first_err = None;
    for obj in candidates {
        let meta = obj.meta();
        let name = meta.name.clone().unwrap_or_default();
        let obj_uid = meta.uid.clone().unwrap_or_default();
        let result = match claim(&claimant, meta, matches(&obj)) {
            Claim::Keep => Ok(true),
            Claim::Ignore => Ok(false),
            Claim::Adopt => patch(api, &name, adopt_patch(&owner.reference, &obj_uid))
                .await
                .map(|_| true)
                .or_else(|e| gone(&e).then_some(false).ok_or(e)),
            Claim::Release => patch(api, &name, release_patch(&[owner_uid], &obj_uid))
                .await
                .map(|_| false)
                .or_else(|e| (gone(&e) || invalid(&e)).then_some(false).ok_or(e)),
        };
        match result {
            Ok(true) => owned.push(obj),
            Ok(false) => {}
            Err(e) => {
                debug!(object = %name, error = %e, "claiming");
                first_err.get_or_insert(e);
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(owned),
    }
}

async fn patch<K>(api: &Api<K>, name: &str, body: serde_json::Value) -> Result<K, kube::Error>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    api.patch(name, &PatchParams::default(), &Patch::Strategic(body))
        .await
}

fn gone(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

/// A release the server rejects as invalid: the object has no references left, or the UID
/// differs because it was deleted and recreated (both mean it is no longer ours).
fn invalid(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 422)
}
