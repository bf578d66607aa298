//! Update-only rules: what may not change (pod spec except a few fields, workload selectors, service cluster IPs).

use serde_json::Value;

use super::errors::{forbidden, go_label_selector, invalid, invalid_shown, FieldCause};
use crate::json::{arr_at, at};
use crate::registry::ResourceInfo;

const POD_UPDATE_MESSAGE: &str = "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/// Kind-specific immutability checks for an update.
pub fn validate_kind_update(res: &ResourceInfo, new: &Value, old: &Value) -> Vec<FieldCause> {
    let mut errs = Vec::new();
    match (res.group, res.kind) {
        ("", "Pod") => {
            if let Some(c) = pod_spec_update(new, old) {
                errs.push(c);
            }
        }
        ("apps", "Deployment") | ("apps", "ReplicaSet") => {
            let n = at(new, &["spec", "selector"])
                .cloned()
                .unwrap_or(Value::Null);
            let o = at(old, &["spec", "selector"])
                .cloned()
                .unwrap_or(Value::Null);
            if n != o {
                errs.push(invalid_shown(
                    "spec.selector",
                    &go_label_selector(&n),
                    "field is immutable",
                ));
            }
        }
        ("", "Service") => {
            let o = at(old, &["spec", "clusterIP"])
                .and_then(Value::as_str)
                .unwrap_or("");
            let n = at(new, &["spec", "clusterIP"])
                .and_then(Value::as_str)
                .unwrap_or("");
            let to_external =
                at(new, &["spec", "type"]).and_then(Value::as_str) == Some("ExternalName");
            if !o.is_empty() && !n.is_empty() && o != n && !to_external {
                let ips = at(new, &["spec", "clusterIPs"])
                    .cloned()
                    .unwrap_or(Value::Null);
                errs.push(invalid(
                    "spec.clusterIPs[0]",
                    &ips,
                    "may not change once set",
                ));
            }
        }
        _ => {}
    }
    errs
}

/// Pod spec with the fields upstream lets change replaced by the old values.
fn munge_pod_spec(new_spec: &Value, old_spec: &Value) -> Value {
    let mut m = new_spec.clone();
    let Some(obj) = m.as_object_mut() else {
        return m;
    };
    for list in ["containers", "initContainers"] {
        let old_list = arr_at(old_spec, &[list]);
        if let Some(Value::Array(items)) = obj.get_mut(list) {
            for (i, c) in items.iter_mut().enumerate() {
                if let (Some(c), Some(o)) = (c.as_object_mut(), old_list.get(i)) {
                    match o.get("image") {
                        Some(img) => c.insert("image".into(), img.clone()),
                        None => c.remove("image"),
                    };
                }
            }
        }
    }
    for key in ["activeDeadlineSeconds", "tolerations"] {
        match old_spec.get(key) {
            Some(v) => obj.insert(key.into(), v.clone()),
            None => obj.remove(key),
        };
    }
    // terminationGracePeriodSeconds may go from negative to 1.
    let old_grace = old_spec
        .get("terminationGracePeriodSeconds")
        .and_then(Value::as_i64);
    let new_grace = obj
        .get("terminationGracePeriodSeconds")
        .and_then(Value::as_i64);
    if old_grace.is_some_and(|g| g < 0) && new_grace == Some(1) {
        if let Some(g) = old_spec.get("terminationGracePeriodSeconds") {
            obj.insert("terminationGracePeriodSeconds".into(), g.clone());
        }
    }
    // scheduling gates may only be removed; removal is allowed.
    if let (Some(Value::Array(new_g)), Some(old_g)) =
        (obj.get("schedulingGates"), old_spec.get("schedulingGates"))
    {
        let old_g = old_g.as_array().cloned().unwrap_or_default();
        if new_g.iter().all(|g| old_g.contains(g)) {
            obj.insert("schedulingGates".into(), Value::Array(old_g));
        }
    } else if obj.get("schedulingGates").is_none() {
        if let Some(g) = old_spec.get("schedulingGates") {
            obj.insert("schedulingGates".into(), g.clone());
        }
    }
    m
}

fn pod_spec_update(new: &Value, old: &Value) -> Option<FieldCause> {
    let null = Value::Null;
    let ns = new.get("spec").unwrap_or(&null);
    let os = old.get("spec").unwrap_or(&null);
    // tolerations: only additions
    let old_tol = arr_at(os, &["tolerations"]);
    let new_tol = arr_at(ns, &["tolerations"]);
    let tolerations_ok = old_tol.iter().all(|t| new_tol.contains(t));
    let munged = munge_pod_spec(ns, os);
    if munged != *os || !tolerations_ok {
        return Some(forbidden("spec", POD_UPDATE_MESSAGE));
    }
    None
}
