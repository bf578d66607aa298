//! Upstream defaulting applied on create and update: pods and pod templates, workloads, services, namespaces, nodes, secrets.

mod pod;

use serde_json::{json, Value};

use crate::json::{default_key, ensure_obj};
use crate::qos::pod_qos_class_json;
use crate::registry::ResourceInfo;

pub use pod::default_pull_policy;

/// Applies upstream's defaults for the kind to `obj` in place (idempotent).
pub fn apply_defaults(res: &ResourceInfo, obj: &mut Value) {
    if !obj.is_object() {
        return;
    }
    match (res.group, res.kind) {
        ("", "Pod") => default_pod(obj),
        ("apps", "Deployment") => default_deployment(obj),
        ("apps", "ReplicaSet") => {
            default_key(ensure_obj(obj, &["spec"]), "replicas", json!(1));
            default_template(obj);
        }
        ("", "Service") => default_service(obj),
        ("", "Namespace") => default_namespace(obj),
        ("", "Node") => {
            let status = ensure_obj(obj, &["status"]);
            if let Some(cap) = status.get("capacity").cloned() {
                default_key(status, "allocatable", cap);
            }
        }
        ("", "Secret") => {
            if let Some(m) = obj.as_object_mut() {
                default_key(m, "type", json!("Opaque"));
            }
        }
        ("", "Endpoints") => {
            if let Some(Value::Array(subsets)) = obj.get_mut("subsets") {
                for ss in subsets.iter_mut() {
                    if let Some(Value::Array(ports)) = ss.get_mut("ports") {
                        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
                            default_key(p, "protocol", json!("TCP"));
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

fn default_pod(obj: &mut Value) {
    let spec = ensure_obj(obj, &["spec"]);
    pod::default_pod_spec(spec);
    pod::default_pod_only(spec);
    let qos = pod_qos_class_json(obj).as_str();
    let status = ensure_obj(obj, &["status"]);
    default_key(status, "phase", json!("Pending"));
    default_key(status, "qosClass", json!(qos));
}

fn default_template(obj: &mut Value) {
    let has_template = obj.pointer("/spec/template").is_some_and(Value::is_object);
    if !has_template {
        return;
    }
    // upstream always serializes the template's metadata with a null creationTimestamp
    let meta = ensure_obj(obj, &["spec", "template", "metadata"]);
    if !meta.contains_key("creationTimestamp") {
        meta.insert("creationTimestamp".into(), Value::Null);
    }
    let spec = ensure_obj(obj, &["spec", "template", "spec"]);
    pod::default_pod_spec(spec);
}

fn default_deployment(obj: &mut Value) {
    let spec = ensure_obj(obj, &["spec"]);
    default_key(spec, "replicas", json!(1));
    default_key(spec, "revisionHistoryLimit", json!(10));
    default_key(spec, "progressDeadlineSeconds", json!(600));
    let strategy = ensure_obj(obj, &["spec", "strategy"]);
    default_key(strategy, "type", json!("RollingUpdate"));
    if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate") {
        let ru = strategy.entry("rollingUpdate").or_insert_with(|| json!({}));
        if ru.is_null() {
            *ru = json!({});
        }
        if let Some(ru) = ru.as_object_mut() {
            default_key(ru, "maxUnavailable", json!("25%"));
            default_key(ru, "maxSurge", json!("25%"));
        }
    }
    default_template(obj);
}

fn default_service(obj: &mut Value) {
    let spec = ensure_obj(obj, &["spec"]);
    default_key(spec, "type", json!("ClusterIP"));
    default_key(spec, "sessionAffinity", json!("None"));
    let ty = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if ty != "ExternalName" {
        default_key(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if ty == "NodePort" || ty == "LoadBalancer" {
        default_key(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    if ty == "LoadBalancer" {
        default_key(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
    if let Some(Value::Array(ports)) = spec.get_mut("ports") {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            default_key(p, "protocol", json!("TCP"));
            if let Some(port) = p.get("port").cloned() {
                let unset = match p.get("targetPort") {
                    None | Some(Value::Null) => true,
                    Some(Value::Number(n)) => n.as_i64() == Some(0),
                    Some(Value::String(s)) => s.is_empty(),
                    _ => false,
                };
                if unset {
                    p.insert("targetPort".into(), port);
                }
            }
        }
    }
    let status = ensure_obj(obj, &["status"]);
    default_key(status, "loadBalancer", json!({}));
}

fn default_namespace(obj: &mut Value) {
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if !name.is_empty() {
        let labels = ensure_obj(obj, &["metadata", "labels"]);
        labels.insert("kubernetes.io/metadata.name".into(), json!(name));
    }
    let spec = ensure_obj(obj, &["spec"]);
    default_key(spec, "finalizers", json!(["kubernetes"]));
    let status = ensure_obj(obj, &["status"]);
    default_key(status, "phase", json!("Active"));
}

#[cfg(test)]
mod tests;
