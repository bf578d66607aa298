//! Per-kind rules of the generic REST handlers, as upstream's `RESTCreateStrategy`,
//! `RESTUpdateStrategy` and `RESTDeleteStrategy`: one module per kind behind one
//! [`Strategy`] trait, found through the [`Strategies`] registry by resource. The handlers
//! in `rest/` run the shared pipeline and ask the strategy at each kind-specific step.

mod generic;
mod namespace;
mod node;
mod pod;
mod service;
mod workload;

use crate::admission::DefaultTolerations;
use crate::ipalloc::Cidr;
use crate::objects::{self, meta_mut};
use crate::resources::{validate_create, validate_update, FieldCause, ResourceInfo};
use crate::rest::Ctx;
use crate::status::ApiResult;
use serde_json::{json, Value};

/// What a DELETE does to an object, as its strategy decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deletion {
    /// Delete now, unless finalizers hold the object.
    Now,
    /// Marked for deletion (the new object carries the marks); removed later.
    Pending,
    /// An earlier graceful deletion already ends as soon: nothing to write.
    AlreadyPending,
}

/// Held while a new object's allocations are not yet stored (serialises allocators).
pub type AllocGuard<'a> = tokio::sync::MutexGuard<'a, ()>;

/// The kind-specific steps of create, update and delete. Every method has the generic
/// behaviour as its default.
#[async_trait::async_trait]
pub trait Strategy: Send + Sync {
    /// Whether a new object with a spec starts at `metadata.generation` 1.
    fn tracks_generation(&self) -> bool {
        true
    }

    /// PrepareForCreate: fields the server sets on a new object (status, admission).
    fn prepare_for_create(&self, _obj: &mut Value) {}

    /// Validate: field errors of a new object (the resource's rules in `skiff-api`).
    fn validate(&self, res: &ResourceInfo, obj: &Value) -> Vec<FieldCause> {
        validate_create(res, obj)
    }

    /// Canonicalize: normal form of a validated object before it is stored.
    fn canonicalize(&self, _obj: &mut Value) {}

    /// Allocations a new, validated object needs (ClusterIPs, NodePorts). The guard is
    /// held until the object is stored. (Nothing to release on delete: allocators check
    /// what the stored objects hold.)
    async fn allocate<'a>(
        &'a self,
        _ctx: &Ctx,
        _obj: &mut Value,
    ) -> ApiResult<Option<AllocGuard<'a>>> {
        Ok(None)
    }

    /// PrepareForUpdate: fields an update may not change, carried over from `old`.
    fn prepare_for_update(&self, _new: &mut Value, _old: &Value) {}

    /// ValidateUpdate: field errors of an update of `old` to `new`.
    fn validate_update(&self, res: &ResourceInfo, new: &Value, old: &Value) -> Vec<FieldCause> {
        validate_update(res, new, old)
    }

    /// AllowCreateOnUpdate: a PUT to a missing object creates it.
    fn allow_create_on_update(&self) -> bool {
        false
    }

    /// Whether an update that leaves a terminating object with no finalizers deletes it.
    fn deleted_by_update(&self, old: &Value, _new: &Value) -> bool {
        old.pointer("/metadata/deletionGracePeriodSeconds")
            .and_then(Value::as_i64)
            == Some(0)
    }

    /// Refuses deleting the named object outright.
    fn check_delete(&self, _name: &str) -> ApiResult<()> {
        Ok(())
    }

    /// Graceful deletion (CheckGracefulDelete) and other kind-specific pending states:
    /// `obj` as stored, `new` the object to write, `grace` the requested grace period.
    fn begin_delete(&self, _obj: &Value, _new: &mut Value, _grace: Option<i64>) -> Deletion {
        Deletion::Now
    }

    /// ReturnDeletedObject: a DELETE answers with the object rather than a `Status`.
    fn returns_deleted_object(&self) -> bool {
        false
    }
}

/// Marks `obj` for deletion at `at` with grace period `grace` (keeping an earlier
/// `deletionTimestamp` when `keep_timestamp`).
pub fn mark_deleted(obj: &mut Value, at: String, grace: i64, keep_timestamp: bool) {
    if let Some(m) = meta_mut(obj) {
        if !keep_timestamp {
            m.insert("deletionTimestamp".into(), json!(at));
        }
        m.insert("deletionGracePeriodSeconds".into(), json!(grace));
    }
}

/// Whether the object is already marked for deletion.
pub fn is_deleting(obj: &Value) -> bool {
    obj.pointer("/metadata/deletionTimestamp").is_some()
}

/// The strategy of every resource.
pub struct Strategies {
    pod: pod::PodStrategy,
    service: service::ServiceStrategy,
    namespace: namespace::NamespaceStrategy,
    node: node::NodeStrategy,
    workload: workload::WorkloadStrategy,
    create_on_update: generic::CreateOnUpdate,
    default: generic::Generic,
}

impl Strategies {
    /// Strategies configured by the server's flags.
    pub fn new(tolerations: DefaultTolerations, service_cidr: Cidr) -> Strategies {
        Strategies {
            pod: pod::PodStrategy::new(tolerations),
            service: service::ServiceStrategy::new(service_cidr),
            namespace: namespace::NamespaceStrategy,
            node: node::NodeStrategy,
            workload: workload::WorkloadStrategy,
            create_on_update: generic::CreateOnUpdate,
            default: generic::Generic,
        }
    }

    /// The strategy of `res`.
    pub fn get(&self, res: &ResourceInfo) -> &dyn Strategy {
        match (res.group, res.plural) {
            ("", "pods") => &self.pod,
            ("", "services") => &self.service,
            ("", "namespaces") => &self.namespace,
            ("", "nodes") => &self.node,
            ("", "endpoints")
            | ("", "events")
            | ("coordination.k8s.io", "leases")
            | ("events.k8s.io", "events") => &self.create_on_update,
            ("apps", _) | ("batch", _) => &self.workload,
            _ => &self.default,
        }
    }
}

/// `now + secs` as RFC 3339 (second precision, UTC).
pub fn rfc3339_in(secs: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(secs))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// The current time as RFC 3339.
pub fn now() -> String {
    objects::now_rfc3339()
}
