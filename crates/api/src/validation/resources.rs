//! Per-kind spec validation: pods, deployments, replicasets, services, configmaps, secrets, leases.

use std::collections::HashSet;

use serde_json::Value;

use super::errors::{
    duplicate, forbidden, go_label_selector, invalid, invalid_shown, invalid_str, not_supported,
    required, FieldCause,
};
use super::meta::validate_labels;
use super::names;
use super::pod::{validate_pod_spec, SpecContext};
use crate::json::{arr_at, at, obj_at, str_at};
use crate::registry::ResourceInfo;
use crate::selector::LabelSelector;

/// Kind-specific validation of an object (metadata is checked separately).
pub fn validate_kind(res: &ResourceInfo, obj: &Value) -> Vec<FieldCause> {
    let null = Value::Null;
    let spec = obj.get("spec").unwrap_or(&null);
    match (res.group, res.kind) {
        ("", "Pod") => validate_pod_spec(spec, "spec", SpecContext::Pod),
        ("apps", "Deployment") => {
            let mut errs = validate_workload(spec, "Deployment");
            if let Some(t) = at(spec, &["strategy", "type"]).and_then(Value::as_str) {
                if t != "Recreate" && t != "RollingUpdate" {
                    errs.push(not_supported(
                        "spec.strategy.type",
                        &Value::from(t),
                        &["Recreate", "RollingUpdate"],
                    ));
                }
                if t == "Recreate"
                    && at(spec, &["strategy", "rollingUpdate"]).is_some_and(|v| !v.is_null())
                {
                    errs.push(forbidden(
                        "spec.strategy.rollingUpdate",
                        "may not be specified when strategy `type` is 'Recreate'",
                    ));
                }
            }
            nonnegative(&mut errs, spec, "revisionHistoryLimit", "spec");
            errs
        }
        ("apps", "ReplicaSet") => validate_workload(spec, "ReplicaSet"),
        ("", "Service") => validate_service(spec),
        ("", "ConfigMap") => {
            let mut errs = data_keys(obj, "data");
            errs.extend(data_keys(obj, "binaryData"));
            if let (Some(d), Some(b)) = (obj_at(obj, &["data"]), obj_at(obj, &["binaryData"])) {
                for k in d.keys().filter(|k| b.contains_key(*k)) {
                    errs.push(invalid_str(
                        "data",
                        k,
                        "duplicate of key present in binaryData",
                    ));
                }
            }
            errs
        }
        ("", "Secret") => data_keys(obj, "data"),
        ("coordination.k8s.io", "Lease") => {
            let mut errs = Vec::new();
            if let Some(n) = at(spec, &["leaseDurationSeconds"]).and_then(Value::as_i64) {
                if n <= 0 {
                    errs.push(invalid(
                        "spec.leaseDurationSeconds",
                        &Value::from(n),
                        "must be greater than 0",
                    ));
                }
            }
            nonnegative(&mut errs, spec, "leaseTransitions", "spec");
            errs
        }
        _ => Vec::new(),
    }
}

fn nonnegative(errs: &mut Vec<FieldCause>, spec: &Value, key: &str, path: &str) {
    if let Some(n) = spec.get(key).and_then(Value::as_i64) {
        if n < 0 {
            errs.push(invalid(
                &format!("{path}.{key}"),
                &Value::from(n),
                "must be greater than or equal to 0",
            ));
        }
    }
}

fn data_keys(obj: &Value, field: &str) -> Vec<FieldCause> {
    let mut errs = Vec::new();
    if let Some(m) = obj_at(obj, &[field]) {
        for k in m.keys() {
            for msg in names::config_map_key(k) {
                errs.push(invalid_str(field, k, &msg));
            }
        }
    }
    errs
}

/// Deployment and ReplicaSet spec: replicas, selector, template (upstream's `ValidateDeploymentSpec`/`ValidateReplicaSetSpec`).
fn validate_workload(spec: &Value, kind: &str) -> Vec<FieldCause> {
    let mut errs = Vec::new();
    nonnegative(&mut errs, spec, "replicas", "spec");
    nonnegative(&mut errs, spec, "minReadySeconds", "spec");
    let sel_json = spec.get("selector").unwrap_or(&Value::Null);
    let selector = match sel_json {
        Value::Null => {
            errs.push(required("spec.selector", ""));
            Some(LabelSelector::from_label_selector_json(&Value::Null).unwrap_or_default())
        }
        s => {
            let ml = obj_at(s, &["matchLabels"]);
            errs.extend(validate_labels(ml, "spec.selector.matchLabels"));
            let empty =
                ml.is_none_or(|m| m.is_empty()) && arr_at(s, &["matchExpressions"]).is_empty();
            if empty {
                errs.push(invalid_shown(
                    "spec.selector",
                    &go_label_selector(s),
                    &format!("empty selector is invalid for {}", kind.to_lowercase()),
                ));
            }
            match LabelSelector::from_label_selector_json(s) {
                Ok(sel) => Some(sel),
                Err(e) => {
                    errs.push(invalid(
                        "spec.selector",
                        s,
                        &format!("invalid label selector: {e}"),
                    ));
                    None
                }
            }
        }
    };
    let Some(template) = spec.get("template").filter(|t| t.is_object()) else {
        errs.push(required("spec.template", ""));
        return errs;
    };
    if let Some(sel) = selector {
        if !sel.is_empty() {
            let empty = serde_json::Map::new();
            let labels = obj_at(template, &["metadata", "labels"]).unwrap_or(&empty);
            if !sel.matches(labels) {
                let shown = match at(template, &["metadata", "labels"]) {
                    Some(v @ Value::Object(_)) => super::errors::go_value(v),
                    _ => "map[string]string(nil)".to_string(),
                };
                errs.push(FieldCause {
                    reason: "FieldValueInvalid".to_string(),
                    field: "spec.template.metadata.labels".to_string(),
                    message: format!(
                        "Invalid value: {shown}: `selector` does not match template `labels`"
                    ),
                });
            }
        }
    }
    let tmeta = template.get("metadata").unwrap_or(&Value::Null);
    errs.extend(validate_labels(
        obj_at(tmeta, &["labels"]),
        "spec.template.metadata.labels",
    ));
    let tspec = template.get("spec").unwrap_or(&Value::Null);
    errs.extend(validate_pod_spec(
        tspec,
        "spec.template.spec",
        SpecContext::Workload,
    ));
    if at(tspec, &["activeDeadlineSeconds"]).is_some_and(|v| !v.is_null()) {
        errs.push(forbidden(
            "spec.template.spec.activeDeadlineSeconds",
            "activeDeadlineSeconds in ReplicaSet is not Supported",
        ));
    }
    errs
}

fn validate_service(spec: &Value) -> Vec<FieldCause> {
    let mut errs = Vec::new();
    let ty = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP");
    let supported = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
    if !supported.contains(&ty) {
        errs.push(not_supported("spec.type", &Value::from(ty), &supported));
    }
    if ty == "ExternalName" {
        let en = str_at(spec, &["externalName"]);
        if en.is_empty() {
            errs.push(required("spec.externalName", ""));
        } else {
            for m in names::dns1123_subdomain(en.trim_end_matches('.')) {
                errs.push(invalid_str("spec.externalName", en, &m));
            }
        }
    }
    let ports = arr_at(spec, &["ports"]);
    let headless = str_at(spec, &["clusterIP"]) == "None";
    if ports.is_empty() && ty != "ExternalName" && !headless {
        errs.push(required("spec.ports", ""));
    }
    let mut seen_names = HashSet::new();
    for (i, p) in ports.iter().enumerate() {
        let pp = format!("spec.ports[{i}]");
        errs.extend(validate_service_port_name(
            p,
            &pp,
            ports.len() > 1,
            &mut seen_names,
        ));
        errs.extend(validate_service_port(p, &pp, ty));
    }
    if let Some(sa) = spec.get("sessionAffinity").and_then(Value::as_str) {
        if !["ClientIP", "None"].contains(&sa) {
            errs.push(not_supported(
                "spec.sessionAffinity",
                &Value::from(sa),
                &["ClientIP", "None"],
            ));
        }
    }
    errs.extend(validate_labels(
        obj_at(spec, &["selector"]),
        "spec.selector",
    ));
    errs
}

/// A service port's name: required when there are several, a DNS label, unique.
fn validate_service_port_name(
    p: &Value,
    pp: &str,
    several: bool,
    seen: &mut HashSet<String>,
) -> Vec<FieldCause> {
    let mut errs = Vec::new();
    let name = str_at(p, &["name"]);
    if several && name.is_empty() {
        errs.push(required(&format!("{pp}.name"), ""));
    } else if !name.is_empty() {
        for m in names::dns1123_label(name) {
            errs.push(invalid_str(&format!("{pp}.name"), name, &m));
        }
        if !seen.insert(name.to_string()) {
            errs.push(duplicate(&format!("{pp}.name"), &Value::from(name)));
        }
    }
    errs
}

/// A service port's numbers and protocol; `ty` is the service type.
fn validate_service_port(p: &Value, pp: &str, ty: &str) -> Vec<FieldCause> {
    let mut errs = Vec::new();
    let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
    for m in names::port_num(port) {
        errs.push(invalid(&format!("{pp}.port"), &Value::from(port), &m));
    }
    if let Some(proto) = p.get("protocol").and_then(Value::as_str) {
        if !["SCTP", "TCP", "UDP"].contains(&proto) {
            errs.push(not_supported(
                &format!("{pp}.protocol"),
                &Value::from(proto),
                &["SCTP", "TCP", "UDP"],
            ));
        }
    }
    match p.get("targetPort") {
        Some(Value::Number(n)) => {
            let n = n.as_i64().unwrap_or(0);
            for m in names::port_num(n) {
                errs.push(invalid(&format!("{pp}.targetPort"), &Value::from(n), &m));
            }
        }
        Some(Value::String(s)) => {
            for m in names::port_name(s) {
                errs.push(invalid_str(&format!("{pp}.targetPort"), s, &m));
            }
        }
        _ => {}
    }
    let node_port = p
        .get("nodePort")
        .and_then(Value::as_i64)
        .filter(|n| *n != 0);
    if let Some(np) = node_port {
        if ty == "ClusterIP" {
            errs.push(forbidden(
                &format!("{pp}.nodePort"),
                "may not be used when `type` is 'ClusterIP'",
            ));
        } else {
            for m in names::port_num(np) {
                errs.push(invalid(&format!("{pp}.nodePort"), &Value::from(np), &m));
            }
        }
    }
    errs
}
