//! Defaulting of pod specs (pods and templates) and containers, as upstream's `SetDefaults_PodSpec`/`SetDefaults_Container`.

use serde_json::{json, Map, Value};

use crate::json::default_key;
use crate::taints::json_covers_no_execute;

/// The image pull policy upstream picks: Always for `:latest` or untagged images, else IfNotPresent.
pub fn default_pull_policy(image: &str) -> &'static str {
    // a digest pins the image
    if image.contains('@') {
        return "IfNotPresent";
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, tag)) if tag != "latest" => "IfNotPresent",
        _ => "Always",
    }
}

fn default_probe(p: &mut Value) {
    let Some(m) = p.as_object_mut() else {
        return;
    };
    default_key(m, "timeoutSeconds", json!(1));
    default_key(m, "periodSeconds", json!(10));
    default_key(m, "successThreshold", json!(1));
    default_key(m, "failureThreshold", json!(3));
    if let Some(Value::Object(h)) = m.get_mut("httpGet") {
        default_key(h, "path", json!("/"));
        default_key(h, "scheme", json!("HTTP"));
    }
}

fn default_container(c: &mut Value, host_network: bool) {
    let Some(m) = c.as_object_mut() else {
        return;
    };
    let image = m
        .get("image")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    default_key(m, "imagePullPolicy", json!(default_pull_policy(&image)));
    default_key(m, "terminationMessagePath", json!("/dev/termination-log"));
    default_key(m, "terminationMessagePolicy", json!("File"));
    default_key(m, "resources", json!({}));
    if let Some(Value::Array(ports)) = m.get_mut("ports") {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            default_key(p, "protocol", json!("TCP"));
            if host_network {
                if let Some(cp) = p.get("containerPort").cloned() {
                    default_key(p, "hostPort", cp);
                }
            }
        }
    }
    if let Some(Value::Array(env)) = m.get_mut("env") {
        for e in env.iter_mut() {
            if let Some(Value::Object(fr)) = e.pointer_mut("/valueFrom/fieldRef") {
                default_key(fr, "apiVersion", json!("v1"));
            }
        }
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = m.get_mut(probe) {
            default_probe(p);
        }
    }
}

fn default_volume(v: &mut Value) {
    let Some(m) = v.as_object_mut() else {
        return;
    };
    if m.keys().all(|k| k == "name") {
        m.insert("emptyDir".into(), json!({}));
    }
    for src in ["configMap", "secret"] {
        if let Some(Value::Object(s)) = m.get_mut(src) {
            default_key(s, "defaultMode", json!(420));
        }
    }
    if let Some(Value::Object(s)) = m.get_mut("hostPath") {
        default_key(s, "type", json!(""));
    }
    if let Some(Value::Object(s)) = m.get_mut("downwardAPI") {
        default_key(s, "defaultMode", json!(420));
    }
    if let Some(Value::Object(s)) = m.get_mut("projected") {
        default_key(s, "defaultMode", json!(420));
    }
}

/// Defaults a pod spec in place (both pods and templates).
pub fn default_pod_spec(spec: &mut Map<String, Value>) {
    default_key(spec, "restartPolicy", json!("Always"));
    default_key(spec, "dnsPolicy", json!("ClusterFirst"));
    default_key(spec, "terminationGracePeriodSeconds", json!(30));
    default_key(spec, "schedulerName", json!("default-scheduler"));
    default_key(spec, "securityContext", json!({}));
    if let Some(sa) = spec
        .get("serviceAccountName")
        .cloned()
        .filter(|v| v.as_str().is_some_and(|s| !s.is_empty()))
    {
        default_key(spec, "serviceAccount", sa);
    }
    let host_network = spec.get("hostNetwork").and_then(Value::as_bool) == Some(true);
    for list in ["containers", "initContainers"] {
        if let Some(Value::Array(cs)) = spec.get_mut(list) {
            for c in cs.iter_mut() {
                default_container(c, host_network);
            }
        }
    }
    if let Some(Value::Array(vs)) = spec.get_mut("volumes") {
        vs.iter_mut().for_each(default_volume);
    }
}

/// Extra defaults upstream applies only to Pods (not templates): `SetDefaults_Pod` and the
/// ServiceAccount, DefaultTolerationSeconds and Priority admission plugins.
pub fn default_pod_only(spec: &mut Map<String, Value>) {
    default_key(spec, "enableServiceLinks", json!(true));
    default_key(spec, "serviceAccountName", json!("default"));
    default_key(spec, "serviceAccount", json!("default"));
    default_key(spec, "priority", json!(0));
    default_key(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
    // requests default to limits when only limits are set
    for list in ["containers", "initContainers"] {
        if let Some(Value::Array(cs)) = spec.get_mut(list) {
            for c in cs.iter_mut() {
                let Some(res) = c.get_mut("resources").and_then(Value::as_object_mut) else {
                    continue;
                };
                let Some(Value::Object(limits)) = res.get("limits").cloned() else {
                    continue;
                };
                let req = res.entry("requests").or_insert_with(|| json!({}));
                if let Some(req) = req.as_object_mut() {
                    for (k, v) in limits {
                        req.entry(k).or_insert(v);
                    }
                }
            }
        }
    }
    let tolerations = spec.entry("tolerations").or_insert_with(|| json!([]));
    if let Value::Array(tols) = tolerations {
        for key in [
            "node.kubernetes.io/not-ready",
            "node.kubernetes.io/unreachable",
        ] {
            if !tols.iter().any(|t| json_covers_no_execute(t, key)) {
                tols.push(json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}));
            }
        }
    }
}
