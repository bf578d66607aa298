//! Namespaces: the `kubernetes` finalizer and phase Active on create; deletion turns the
//! phase to Terminating until the namespace controller empties `spec.finalizers` through
//! `/finalize`; the system namespaces cannot be deleted.

use super::{is_deleting, mark_deleted, now, Deletion, Strategy};
use crate::status::{ApiError, ApiResult};
use serde_json::{json, Value};

/// The strategy of core/v1 Namespaces.
pub struct NamespaceStrategy;

fn spec_finalizers_empty(obj: &Value) -> bool {
    obj.pointer("/spec/finalizers")
        .and_then(Value::as_array)
        .map(|a| a.is_empty())
        .unwrap_or(true)
}

impl Strategy for NamespaceStrategy {
    fn tracks_generation(&self) -> bool {
        false
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        if obj.pointer("/spec/finalizers").is_none() {
            obj["spec"] = json!({"finalizers": ["kubernetes"]});
        }
        obj["status"] = json!({"phase": "Active"});
    }

    fn deleted_by_update(&self, _old: &Value, new: &Value) -> bool {
        spec_finalizers_empty(new)
    }

    fn check_delete(&self, name: &str) -> ApiResult<()> {
        if matches!(name, "default" | "kube-system" | "kube-public") {
            return Err(ApiError::forbidden(
                "",
                "namespaces",
                name,
                "this namespace may not be deleted",
            ));
        }
        Ok(())
    }

    fn begin_delete(&self, obj: &Value, new: &mut Value, _grace: Option<i64>) -> Deletion {
        if spec_finalizers_empty(new) {
            return Deletion::Now;
        }
        if !is_deleting(obj) {
            mark_deleted(new, now(), 0, false);
        }
        new["status"] = json!({"phase": "Terminating"});
        Deletion::Pending
    }

    fn returns_deleted_object(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_defaults_the_kubernetes_finalizer_and_phase() {
        let cases = [
            (json!({}), json!(["kubernetes"])),
            (json!({"spec": {"finalizers": []}}), json!([])),
            (json!({"spec": {"finalizers": ["x"]}}), json!(["x"])),
        ];
        for (mut ns, want) in cases {
            NamespaceStrategy.prepare_for_create(&mut ns);
            assert_eq!(ns["spec"]["finalizers"], want);
            assert_eq!(ns["status"]["phase"], "Active");
        }
    }

    #[test]
    fn deletion_terminates_while_spec_finalizers_remain() {
        let ns = json!({"metadata": {"name": "a"}, "spec": {"finalizers": ["kubernetes"]}});
        let mut new = ns.clone();
        assert_eq!(
            NamespaceStrategy.begin_delete(&ns, &mut new, None),
            Deletion::Pending
        );
        assert_eq!(new["status"]["phase"], "Terminating");
        assert_eq!(new["metadata"]["deletionGracePeriodSeconds"], 0);
        assert!(new["metadata"]["deletionTimestamp"].is_string());
        let empty = json!({"metadata": {"name": "a"}, "spec": {"finalizers": []}});
        let mut new = empty.clone();
        assert_eq!(
            NamespaceStrategy.begin_delete(&empty, &mut new, None),
            Deletion::Now
        );
        assert!(NamespaceStrategy.deleted_by_update(&ns, &empty));
        assert!(!NamespaceStrategy.deleted_by_update(&empty, &ns));
    }

    #[test]
    fn system_namespaces_are_protected() {
        for (name, ok) in [
            ("default", false),
            ("kube-system", false),
            ("kube-public", false),
            ("kube-node-lease", true),
            ("team", true),
        ] {
            assert_eq!(NamespaceStrategy.check_delete(name).is_ok(), ok, "{name}");
        }
    }
}
