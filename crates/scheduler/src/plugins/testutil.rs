//! Builders for plugin tests.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::{json, Value};

use crate::framework::NodeInfo;

/// A pod with the given spec.
pub fn pod(spec: Value) -> Pod {
    let mut spec = spec;
    if spec.get("containers").is_none() {
        spec["containers"] = json!([{"name": "c", "image": "x"}]);
    }
    serde_json::from_value(json!({"metadata": {"name": "p", "namespace": "default"}, "spec": spec}))
        .unwrap()
}

/// A pod spec with one container requesting cpu and memory.
pub fn request_pod(cpu: &str, mem: &str) -> Value {
    json!({"containers": [{"name": "c", "resources": {"requests": {"cpu": cpu, "memory": mem}}}]})
}

/// A node with spec and status.
pub fn node(name: &str, spec: Value, status: Value) -> NodeInfo {
    let mut status = status;
    if status.get("allocatable").is_none() {
        status["allocatable"] = json!({"cpu": "4", "memory": "8Gi", "pods": "110"});
    }
    let n: Node =
        serde_json::from_value(json!({"metadata": {"name": name}, "spec": spec, "status": status}))
            .unwrap();
    NodeInfo::new(Arc::new(n))
}

/// A node with labels.
pub fn labeled_node(name: &str, labels: Value) -> NodeInfo {
    let n: Node = serde_json::from_value(json!({"metadata": {"name": name, "labels": labels},
        "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}}}))
    .unwrap();
    NodeInfo::new(Arc::new(n))
}

/// A node with the given allocatable cpu, memory and pods.
pub fn capacity_node(name: &str, cpu: &str, mem: &str, pods: &str) -> NodeInfo {
    node(
        name,
        json!({}),
        json!({"allocatable": {"cpu": cpu, "memory": mem, "pods": pods}}),
    )
}
