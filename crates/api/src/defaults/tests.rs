//! Defaulting tests: the values upstream's API server fills in.

use serde_json::{json, Value};

use super::*;
use crate::registry::find_resource;

fn defaulted(group: &str, plural: &str, mut obj: Value) -> Value {
    let r = find_resource(group, "v1", plural).expect("resource");
    apply_defaults(r, &mut obj);
    obj
}

#[test]
fn pull_policy() {
    for (image, want) in [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("nginx:1.25", "IfNotPresent"),
        ("localhost:5000/app", "Always"),
        ("localhost:5000/app:v1", "IfNotPresent"),
        ("nginx@sha256:abc", "IfNotPresent"),
    ] {
        assert_eq!(default_pull_policy(image), want, "{image}");
    }
}

#[test]
fn pod_defaults() {
    let p = defaulted(
        "",
        "pods",
        json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "nginx", "ports": [{"containerPort": 80}]}]}}),
    );
    let s = &p["spec"];
    assert_eq!(s["restartPolicy"], "Always");
    assert_eq!(s["dnsPolicy"], "ClusterFirst");
    assert_eq!(s["terminationGracePeriodSeconds"], 30);
    assert_eq!(s["schedulerName"], "default-scheduler");
    assert_eq!(s["securityContext"], json!({}));
    assert_eq!(s["enableServiceLinks"], true);
    assert_eq!(s["serviceAccountName"], "default");
    assert_eq!(s["serviceAccount"], "default");
    assert_eq!(s["priority"], 0);
    let c = &s["containers"][0];
    assert_eq!(c["imagePullPolicy"], "Always");
    assert_eq!(c["terminationMessagePath"], "/dev/termination-log");
    assert_eq!(c["terminationMessagePolicy"], "File");
    assert_eq!(c["resources"], json!({}));
    assert_eq!(c["ports"][0]["protocol"], "TCP");
    assert_eq!(
        s["tolerations"],
        json!([
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
        ])
    );
    assert_eq!(p["status"]["phase"], "Pending");
    assert_eq!(p["status"]["qosClass"], "BestEffort");
    // idempotent
    assert_eq!(defaulted("", "pods", p.clone()), p);
}

#[test]
fn deployment_defaults_reach_the_template() {
    let d = defaulted(
        "apps",
        "deployments",
        json!({"metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": {"app": "d"}},
        "template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}}}}),
    );
    let s = &d["spec"];
    assert_eq!(s["replicas"], 1);
    assert_eq!(s["revisionHistoryLimit"], 10);
    assert_eq!(s["progressDeadlineSeconds"], 600);
    assert_eq!(
        s["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
    );
    assert_eq!(
        s["template"]["metadata"],
        json!({"labels": {"app": "d"}, "creationTimestamp": null})
    );
    let t = &s["template"]["spec"];
    assert_eq!(t["restartPolicy"], "Always");
    assert_eq!(t["containers"][0]["imagePullPolicy"], "IfNotPresent");
    // pod-only defaults stay out of templates
    assert!(t.get("enableServiceLinks").is_none());
    assert!(t.get("tolerations").is_none());
    assert!(t.get("serviceAccountName").is_none());
    let recreate = defaulted(
        "apps",
        "deployments",
        json!({"spec": {"strategy": {"type": "Recreate"}}}),
    );
    assert!(recreate["spec"]["strategy"].get("rollingUpdate").is_none());
    let rs = defaulted(
        "apps",
        "replicasets",
        json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}}}),
    );
    assert_eq!(rs["spec"]["replicas"], 1);
    assert_eq!(rs["spec"]["template"]["spec"]["dnsPolicy"], "ClusterFirst");
}

#[test]
fn service_namespace_node_secret_defaults() {
    let s = defaulted(
        "",
        "services",
        json!({"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}, {"port": 53, "protocol": "UDP", "targetPort": "dns"}]}}),
    );
    assert_eq!(s["spec"]["type"], "ClusterIP");
    assert_eq!(s["spec"]["sessionAffinity"], "None");
    assert_eq!(s["spec"]["internalTrafficPolicy"], "Cluster");
    assert_eq!(
        s["spec"]["ports"][0],
        json!({"port": 80, "protocol": "TCP", "targetPort": 80})
    );
    assert_eq!(s["spec"]["ports"][1]["targetPort"], "dns");
    let np = defaulted("", "services", json!({"spec": {"type": "NodePort"}}));
    assert_eq!(np["spec"]["externalTrafficPolicy"], "Cluster");
    let ns = defaulted("", "namespaces", json!({"metadata": {"name": "team"}}));
    assert_eq!(ns["spec"]["finalizers"], json!(["kubernetes"]));
    assert_eq!(ns["status"]["phase"], "Active");
    assert_eq!(
        ns["metadata"]["labels"]["kubernetes.io/metadata.name"],
        "team"
    );
    let node = defaulted(
        "",
        "nodes",
        json!({"metadata": {"name": "n"}, "status": {"capacity": {"cpu": "2"}}}),
    );
    assert_eq!(node["status"]["allocatable"], json!({"cpu": "2"}));
    let sec = defaulted("", "secrets", json!({"metadata": {"name": "s"}}));
    assert_eq!(sec["type"], "Opaque");
}

/// The class of a pod with this spec (the rule lives in `crate::qos`).
fn qos_class(spec: &Value) -> &'static str {
    crate::qos::pod_qos_class_json(&json!({ "spec": spec })).as_str()
}

#[test]
fn qos() {
    let g = json!({"containers": [{"resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1", "memory": "1Gi"}}}]});
    assert_eq!(qos_class(&g), "Guaranteed");
    let b = json!({"containers": [{"resources": {"requests": {"cpu": "1"}}}]});
    assert_eq!(qos_class(&b), "Burstable");
    assert_eq!(qos_class(&json!({"containers": [{}]})), "BestEffort");
    let p = defaulted(
        "",
        "pods",
        json!({"spec": {"containers": [{"name": "c", "image": "i", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]}}),
    );
    assert_eq!(
        p["spec"]["containers"][0]["resources"]["requests"],
        json!({"cpu": "1", "memory": "1Gi"})
    );
    assert_eq!(p["status"]["qosClass"], "Guaranteed");
}
