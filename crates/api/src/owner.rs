//! Owner references: an object's controller reference, a new controller reference to an
//! owner, upstream's ControllerRefManager claim rule (keep, adopt, release, ignore), and the
//! strategic-merge patches that carry an adoption or a release with a UID precondition.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::{Metadata, Resource};
use serde_json::{json, Value};

/// The owner reference with `controller: true`, if any (upstream's `GetControllerOf`).
pub fn controller_ref(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))
}

/// Whether the object's controller is the owner with `owner_uid`.
pub fn is_controlled_by(meta: &ObjectMeta, owner_uid: &str) -> bool {
    controller_ref(meta).is_some_and(|r| r.uid == owner_uid)
}

/// A controller reference pointing at `owner`, with `blockOwnerDeletion` (upstream's
/// `NewControllerRef`).
pub fn new_controller_ref<K>(owner: &K) -> OwnerReference
where
    K: Resource + Metadata<Ty = ObjectMeta>,
{
    let meta = owner.metadata();
    OwnerReference {
        api_version: K::API_VERSION.into(),
        kind: K::KIND.into(),
        name: meta.name.clone().unwrap_or_default(),
        uid: meta.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// The controller doing the claiming, as the claim rule sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claimant<'a> {
    /// The controller's UID.
    pub uid: &'a str,
    /// Its namespace; `None` or empty for a cluster-scoped controller.
    pub namespace: Option<&'a str>,
    /// Whether it is being deleted (has a deletionTimestamp).
    pub deleting: bool,
}

impl<'a> Claimant<'a> {
    /// The claimant described by an owner's metadata.
    pub fn of(meta: &'a ObjectMeta) -> Self {
        Claimant {
            uid: meta.uid.as_deref().unwrap_or(""),
            namespace: meta.namespace.as_deref(),
            deleting: meta.deletion_timestamp.is_some(),
        }
    }
}

/// What a controller does with one candidate object (upstream's `ClaimObject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Ours and matching: keep it (also while we are being deleted; that takes no action).
    Keep,
    /// An orphan that matches, in our namespace, not being deleted: adopt it.
    Adopt,
    /// Ours but no longer matching, and we are not being deleted: release it.
    Release,
    /// Someone else's, or nothing to do.
    Ignore,
}

impl Claim {
    /// Whether the object counts as the controller's after this claim succeeds.
    pub fn owned(self) -> bool {
        matches!(self, Claim::Keep | Claim::Adopt)
    }
}

/// Decides the claim of `owner` on an object with metadata `obj`, whose labels do or do
/// not match the owner's selector (`matches`).
pub fn claim(owner: &Claimant<'_>, obj: &ObjectMeta, matches: bool) -> Claim {
    if let Some(r) = controller_ref(obj) {
        return match (r.uid == owner.uid, matches) {
            (false, _) => Claim::Ignore,
            (true, true) => Claim::Keep,
            (true, false) if owner.deleting => Claim::Ignore,
            (true, false) => Claim::Release,
        };
    }
    let other_namespace = owner
        .namespace
        .is_some_and(|ns| !ns.is_empty() && obj.namespace.as_deref() != Some(ns));
    if owner.deleting || !matches || obj.deletion_timestamp.is_some() || other_namespace {
        return Claim::Ignore;
    }
    Claim::Adopt
}

/// The strategic-merge patch adopting the object with `obj_uid`: adds `owner_ref` (merged by
/// UID) and carries the object's UID, so a recreated object of the same name is not adopted.
pub fn adopt_patch(owner_ref: &OwnerReference, obj_uid: &str) -> Value {
    json!({"metadata": {"ownerReferences": [owner_ref], "uid": obj_uid}})
}

/// The strategic-merge patch removing the references to `owner_uids` from the object with
/// `obj_uid` (upstream's `GenerateDeleteOwnerRefStrategicMergeBytes`).
pub fn release_patch(owner_uids: &[&str], obj_uid: &str) -> Value {
    let deletes: Vec<Value> = owner_uids
        .iter()
        .map(|u| json!({"$patch": "delete", "uid": u}))
        .collect();
    json!({"metadata": {"uid": obj_uid, "ownerReferences": deletes}})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patch::strategic_merge_patch;
    use crate::registry::find_resource;
    use k8s_openapi::api::apps::v1::ReplicaSet;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use k8s_openapi::jiff::Timestamp;

    const ME: &str = "123";

    fn owner_ref(uid: &str) -> OwnerReference {
        OwnerReference {
            api_version: "apps/v1".into(),
            kind: "ReplicaSet".into(),
            name: "rs".into(),
            uid: uid.into(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }
    }

    fn obj(ns: &str, owner: Option<&str>, deleting: bool) -> ObjectMeta {
        ObjectMeta {
            name: Some("pod".into()),
            namespace: Some(ns.into()),
            uid: Some("pod-uid".into()),
            owner_references: owner.map(|u| vec![owner_ref(u)]),
            deletion_timestamp: deleting.then_some(Time(Timestamp::UNIX_EPOCH)),
            ..Default::default()
        }
    }

    /// Cases of upstream's TestClaimPods, one object each.
    #[test]
    fn claim_table() {
        let live = |ns| Claimant {
            uid: ME,
            namespace: Some(ns),
            deleting: false,
        };
        let dying = Claimant {
            uid: ME,
            namespace: Some("default"),
            deleting: true,
        };
        let cluster = Claimant {
            uid: ME,
            namespace: None,
            deleting: false,
        };
        let cases = [
            (
                "orphan with matching labels is adopted",
                live("default"),
                obj("default", None, false),
                true,
                Claim::Adopt,
            ),
            (
                "orphan with other labels is ignored",
                live("default"),
                obj("default", None, false),
                false,
                Claim::Ignore,
            ),
            (
                "deleting controller does not adopt",
                dying,
                obj("default", None, false),
                true,
                Claim::Ignore,
            ),
            (
                "deleting controller keeps what it owns",
                dying,
                obj("default", Some(ME), false),
                true,
                Claim::Keep,
            ),
            (
                "deleting controller does not release",
                dying,
                obj("default", Some(ME), false),
                false,
                Claim::Ignore,
            ),
            (
                "owned by another controller",
                live("default"),
                obj("default", Some("AAAAA"), false),
                true,
                Claim::Ignore,
            ),
            (
                "owned and matching is kept",
                live("default"),
                obj("default", Some(ME), false),
                true,
                Claim::Keep,
            ),
            (
                "owned, selector no longer matches: release",
                live("default"),
                obj("default", Some(ME), false),
                false,
                Claim::Release,
            ),
            (
                "owned pod being deleted is still kept",
                live("default"),
                obj("default", Some(ME), true),
                true,
                Claim::Keep,
            ),
            (
                "orphan being deleted is not adopted",
                live("default"),
                obj("default", None, true),
                true,
                Claim::Ignore,
            ),
            (
                "orphan in another namespace is not adopted",
                live("default"),
                obj("fakens", None, false),
                true,
                Claim::Ignore,
            ),
            (
                "cluster-scoped controller adopts in any namespace",
                cluster,
                obj("fakens", None, false),
                true,
                Claim::Adopt,
            ),
        ];
        for (name, owner, meta, matches, want) in cases {
            assert_eq!(claim(&owner, &meta, matches), want, "{name}");
        }
        assert!(Claim::Keep.owned() && Claim::Adopt.owned());
        assert!(!Claim::Release.owned() && !Claim::Ignore.owned());
    }

    #[test]
    fn controller_refs() {
        let mut meta = obj("default", Some(ME), false);
        meta.owner_references.get_or_insert_with(Vec::new).insert(
            0,
            OwnerReference {
                controller: None,
                ..owner_ref("other")
            },
        );
        assert_eq!(controller_ref(&meta).map(|r| r.uid.as_str()), Some(ME));
        assert!(is_controlled_by(&meta, ME) && !is_controlled_by(&meta, "other"));
        assert_eq!(controller_ref(&obj("default", None, false)), None);

        let rs = ReplicaSet {
            metadata: ObjectMeta {
                name: Some("web-1".into()),
                uid: Some("u1".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let r = new_controller_ref(&rs);
        assert_eq!(
            (
                r.api_version.as_str(),
                r.kind.as_str(),
                r.name.as_str(),
                r.uid.as_str()
            ),
            ("apps/v1", "ReplicaSet", "web-1", "u1")
        );
        assert_eq!(
            (r.controller, r.block_owner_deletion),
            (Some(true), Some(true))
        );
        assert_eq!(Claimant::of(&rs.metadata).uid, "u1");
    }

    /// The patch shapes of upstream's TestGeneratePatchBytesForDelete (finalizers aside).
    #[test]
    fn release_patch_shapes() {
        let cases: [(&[&str], &str, Value); 3] = [
            (
                &["ss1"],
                "ss2",
                json!({"metadata": {"uid": "ss2", "ownerReferences": [{"$patch": "delete", "uid": "ss1"}]}}),
            ),
            (
                &["ss1\"hello"],
                "ss2",
                json!({"metadata": {"uid": "ss2", "ownerReferences": [{"$patch": "delete", "uid": "ss1\"hello"}]}}),
            ),
            (
                &["ss1", "ss2"],
                "ss2",
                json!({"metadata": {"uid": "ss2", "ownerReferences": [{"$patch": "delete", "uid": "ss1"}, {"$patch": "delete", "uid": "ss2"}]}}),
            ),
        ];
        for (owners, dep, want) in cases {
            assert_eq!(release_patch(owners, dep), want);
        }
    }

    /// Applied as the API server applies them: adoption adds our reference next to others,
    /// release removes only ours.
    #[test]
    fn patches_apply() {
        let pods = find_resource("", "v1", "pods").expect("pods");
        let other = OwnerReference {
            controller: None,
            ..owner_ref("other")
        };
        let pod = json!({"metadata": {"name": "p", "uid": "pod-uid", "ownerReferences": [other]}});
        let adopted =
            strategic_merge_patch(pods, &pod, &adopt_patch(&owner_ref(ME), "pod-uid")).unwrap();
        let refs = adopted.pointer("/metadata/ownerReferences").unwrap();
        assert_eq!(refs, &json!([other, owner_ref(ME)]));
        let released =
            strategic_merge_patch(pods, &adopted, &release_patch(&[ME], "pod-uid")).unwrap();
        assert_eq!(
            released.pointer("/metadata/ownerReferences"),
            Some(&json!([other]))
        );
        assert_eq!(released.pointer("/metadata/uid"), Some(&json!("pod-uid")));
    }
}
