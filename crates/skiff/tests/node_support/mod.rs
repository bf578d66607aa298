//! Helpers for the node agent suites (`node_*.rs`): the real kubectl against a `Cluster`,
//! YAML apply, JSON reads and polling on pod state.

#![allow(dead_code)]

use crate::common::{bootcamp_archive, leftovers, Cluster};
use serde_json::Value;
use std::process::Output;
use std::time::{Duration, Instant};

/// The real kubectl.
pub const KUBECTL: &str = "/usr/bin/kubectl";
/// The pre-imported image (busybox + bash + the bootcamp app).
pub const IMAGE: &str = "gcr.io/google-samples/kubernetes-bootcamp:v1";

/// Runs the real kubectl with `args`.
pub fn kubectl(c: &Cluster, args: &[&str]) -> Output {
    c.kubectl(&[KUBECTL], args)
}

/// Runs the real kubectl and returns stdout, panicking (with stderr) on failure.
pub fn ok(c: &Cluster, args: &[&str]) -> String {
    let out = kubectl(c, args);
    assert!(
        out.status.success(),
        "kubectl {args:?} failed: {}\n{}\n--- server log ---\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout),
        c.log_tail(30)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// `kubectl apply -f -` with `yaml` on stdin.
pub fn apply(c: &Cluster, yaml: &str) {
    crate::common::kubectl_apply(&c.kubeconfig, yaml);
}

/// `kubectl get <args> -o json` parsed.
pub fn json(c: &Cluster, args: &[&str]) -> Value {
    let mut all: Vec<&str> = vec!["get"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", "json"]);
    let out = kubectl(c, &all);
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// The pod object (Null when absent).
pub fn pod(c: &Cluster, name: &str) -> Value {
    json(c, &["pod", name])
}

/// Polls the pod until `check` holds; returns it (panics with the pod and log on timeout).
pub fn wait_pod(
    c: &Cluster,
    name: &str,
    what: &str,
    secs: u64,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let start = Instant::now();
    let mut last = Value::Null;
    while start.elapsed() < Duration::from_secs(secs) {
        last = pod(c, name);
        if !last.is_null() && check(&last) {
            return last;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    panic!(
        "pod {name}: timed out waiting for {what}\nstatus: {}\n--- server log ---\n{}",
        serde_json::to_string_pretty(&last["status"]).unwrap_or_default(),
        c.log_tail(40)
    );
}

/// Phase is Running and every container is ready.
pub fn running_ready(p: &Value) -> bool {
    p["status"]["phase"] == "Running"
        && p["status"]["containerStatuses"]
            .as_array()
            .is_some_and(|cs| !cs.is_empty() && cs.iter().all(|c| c["ready"] == true))
}

/// The status of container `name` (app or init).
pub fn container_status<'a>(p: &'a Value, name: &str) -> &'a Value {
    for list in ["containerStatuses", "initContainerStatuses"] {
        if let Some(found) = p["status"][list]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["name"] == name))
        {
            return found;
        }
    }
    &Value::Null
}

/// The status of condition `type_`.
pub fn condition(p: &Value, type_: &str) -> String {
    p["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == type_))
        .and_then(|c| c["status"].as_str())
        .unwrap_or("")
        .to_string()
}

/// Reasons of the events about object `name`, in order.
pub fn event_reasons(c: &Cluster, name: &str) -> Vec<String> {
    let selector = format!("involvedObject.name={name}");
    let events = json(c, &["events", "--field-selector", &selector]);
    events["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|e| e["reason"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Waits for an event with `reason` about `name`; returns all reasons seen.
pub fn wait_event(c: &Cluster, name: &str, reason: &str, secs: u64) -> Vec<String> {
    let start = Instant::now();
    let mut seen = vec![];
    while start.elapsed() < Duration::from_secs(secs) {
        seen = event_reasons(c, name);
        if seen.iter().any(|r| r == reason) {
            return seen;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!(
        "no {reason} event for {name}; saw {seen:?}\n{}",
        c.log_tail(30)
    );
}

/// A one-container pod bound to the cluster's node running `command` (a sh -c script).
pub fn shell_pod(c: &Cluster, name: &str, script: &str, extra_spec: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  nodeName: {node}
{extra_spec}
  containers:
  - name: main
    image: {IMAGE}
    command: ["sh", "-c", {script}]
"#,
        node = c.node_name,
        script = serde_json::to_string(script).unwrap_or_default(),
    )
}

/// A single-node cluster with the bootcamp image pre-imported (plus `extra` server
/// flags), once its node is Ready.
pub fn cluster_with(extra: &[&str]) -> Cluster {
    let c = Cluster::start_with(&[bootcamp_archive("v1")], extra);
    c.wait_until("node Ready", Duration::from_secs(60), |c| {
        String::from_utf8_lossy(&kubectl(c, &["get", "nodes"]).stdout).contains(" Ready ")
    });
    c
}

/// `cluster_with` no extra flags.
pub fn cluster() -> Cluster {
    cluster_with(&[])
}

/// Drops the cluster and checks that nothing (mounts, processes) is left behind.
pub fn teardown(c: Cluster) {
    let root = c.dir.path().to_path_buf();
    drop(c);
    let left = leftovers(&root);
    assert!(left.is_empty(), "left behind: {left:#?}");
}
