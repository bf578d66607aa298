//! `metadata` validation: name and generateName per kind, namespace, labels, annotations, and immutable metadata on update.

use serde_json::Value;

use super::errors::{forbidden, invalid, invalid_str, required, too_long, FieldCause};
use super::names::{self, NameRule};
use crate::json::{obj_at, str_at};
use crate::registry::ResourceInfo;

const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

/// The name rule upstream applies to a kind's `metadata.name`.
pub fn name_rule(res: &ResourceInfo) -> NameRule {
    match (res.group, res.kind) {
        ("", "Namespace") => NameRule::Label,
        ("", "Service") => NameRule::Dns1035,
        _ => NameRule::Subdomain,
    }
}

/// Validates `metadata.labels` at `path` (upstream's `ValidateLabels`).
pub fn validate_labels(
    labels: Option<&serde_json::Map<String, Value>>,
    path: &str,
) -> Vec<FieldCause> {
    let mut errs = Vec::new();
    let Some(labels) = labels else {
        return errs;
    };
    for (k, v) in labels {
        for m in names::qualified_name(k) {
            errs.push(invalid_str(path, k, &m));
        }
        match v.as_str() {
            Some(s) => {
                for m in names::label_value(s) {
                    errs.push(invalid_str(&format!("{path}[{k}]"), s, &m));
                }
            }
            None => errs.push(invalid(&format!("{path}[{k}]"), v, "must be a string")),
        }
    }
    errs
}

fn validate_annotations(
    ann: Option<&serde_json::Map<String, Value>>,
    path: &str,
) -> Vec<FieldCause> {
    let mut errs = Vec::new();
    let Some(ann) = ann else {
        return errs;
    };
    let mut total = 0;
    for (k, v) in ann {
        for m in names::qualified_name(&k.to_lowercase()) {
            errs.push(invalid_str(path, k, &m));
        }
        total += k.len() + v.as_str().map_or(0, str::len);
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        errs.push(too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT));
    }
    errs
}

/// Validates the object's metadata for its kind (upstream's `ValidateObjectMeta`).
pub fn validate_object_meta(res: &ResourceInfo, obj: &Value) -> Vec<FieldCause> {
    validate_meta_at(
        obj.get("metadata").unwrap_or(&Value::Null),
        "metadata",
        name_rule(res),
        Some(res.namespaced),
    )
}

/// Validates a metadata object at `path`; `namespaced` None skips the namespace check (templates).
pub fn validate_meta_at(
    meta: &Value,
    path: &str,
    rule: NameRule,
    namespaced: Option<bool>,
) -> Vec<FieldCause> {
    let mut errs = Vec::new();
    let name = str_at(meta, &["name"]);
    let generate = str_at(meta, &["generateName"]);
    if namespaced.is_some() {
        if !generate.is_empty() {
            for m in names::check_name(rule, generate, true) {
                errs.push(invalid_str(&format!("{path}.generateName"), generate, &m));
            }
        }
        if name.is_empty() {
            if generate.is_empty() {
                errs.push(required(
                    &format!("{path}.name"),
                    "name or generateName is required",
                ));
            }
        } else {
            for m in names::check_name(rule, name, false) {
                errs.push(invalid_str(&format!("{path}.name"), name, &m));
            }
        }
    }
    let ns = str_at(meta, &["namespace"]);
    match namespaced {
        Some(true) => {
            if ns.is_empty() {
                errs.push(required(&format!("{path}.namespace"), ""));
            } else {
                for m in names::dns1123_label(ns) {
                    errs.push(invalid_str(&format!("{path}.namespace"), ns, &m));
                }
            }
        }
        Some(false) if !ns.is_empty() => {
            errs.push(forbidden(
                &format!("{path}.namespace"),
                "not allowed on this type",
            ));
        }
        _ => {}
    }
    errs.extend(validate_labels(
        obj_at(meta, &["labels"]),
        &format!("{path}.labels"),
    ));
    errs.extend(validate_annotations(
        obj_at(meta, &["annotations"]),
        &format!("{path}.annotations"),
    ));
    if let Some(g) = meta.get("generation").and_then(Value::as_i64) {
        if g < 0 {
            errs.push(invalid(
                &format!("{path}.generation"),
                &Value::from(g),
                "must be greater than or equal to 0",
            ));
        }
    }
    errs
}

/// Immutable metadata on update: name, namespace, uid, creationTimestamp (upstream's `ValidateObjectMetaUpdate`).
pub fn validate_object_meta_update(new: &Value, old: &Value) -> Vec<FieldCause> {
    let mut errs = Vec::new();
    for key in ["name", "namespace", "uid", "creationTimestamp"] {
        let n = new
            .pointer(&format!("/metadata/{key}"))
            .cloned()
            .unwrap_or(Value::Null);
        let o = old
            .pointer(&format!("/metadata/{key}"))
            .cloned()
            .unwrap_or(Value::Null);
        let n_empty = n.is_null() || n.as_str() == Some("");
        // a missing uid or creationTimestamp in the new object is filled from the old one by the server.
        if matches!(key, "uid" | "creationTimestamp") && n_empty {
            continue;
        }
        if n != o {
            let shown = if n.is_null() {
                Value::String(String::new())
            } else {
                n
            };
            errs.push(invalid(
                &format!("metadata.{key}"),
                &shown,
                "field is immutable",
            ));
        }
    }
    errs
}
