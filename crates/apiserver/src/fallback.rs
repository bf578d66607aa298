//! Minimal stand-ins for the `skiff-api` interface, used until that crate lands
//! (same signatures; `resources.rs` switches to the real crate).

#![allow(missing_docs, dead_code)]

use serde_json::{Map, Value};

/// One served resource (mirror of `skiff_api::registry::ResourceInfo`).
#[derive(Debug)]
pub struct ResourceInfo {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub list_kind: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub verbs: &'static [&'static str],
    pub subresources: &'static [&'static str],
}

impl ResourceInfo {
    /// "v1" or "apps/v1".
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

const ALL_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

macro_rules! res {
    ($g:expr, $k:expr, $p:expr, $s:expr, $ns:expr, $short:expr, $cat:expr, $sub:expr) => {
        ResourceInfo {
            group: $g,
            version: "v1",
            kind: $k,
            list_kind: concat!($k, "List"),
            plural: $p,
            singular: $s,
            namespaced: $ns,
            short_names: $short,
            categories: $cat,
            verbs: ALL_VERBS,
            subresources: $sub,
        }
    };
}

static RESOURCES: &[ResourceInfo] = &[
    res!(
        "",
        "Namespace",
        "namespaces",
        "namespace",
        false,
        &["ns"],
        &[],
        &["status", "finalize"]
    ),
    res!(
        "",
        "Pod",
        "pods",
        "pod",
        true,
        &["po"],
        &["all"],
        &[
            "status",
            "binding",
            "eviction",
            "log",
            "exec",
            "attach",
            "portforward",
            "proxy"
        ]
    ),
    res!(
        "",
        "Service",
        "services",
        "service",
        true,
        &["svc"],
        &["all"],
        &["status", "proxy"]
    ),
    res!(
        "",
        "Endpoints",
        "endpoints",
        "endpoints",
        true,
        &["ep"],
        &[],
        &[]
    ),
    res!(
        "",
        "Node",
        "nodes",
        "node",
        false,
        &["no"],
        &[],
        &["status", "proxy"]
    ),
    res!(
        "",
        "ConfigMap",
        "configmaps",
        "configmap",
        true,
        &["cm"],
        &[],
        &[]
    ),
    res!("", "Secret", "secrets", "secret", true, &[], &[], &[]),
    res!("", "Event", "events", "event", true, &["ev"], &[], &[]),
    res!(
        "",
        "ServiceAccount",
        "serviceaccounts",
        "serviceaccount",
        true,
        &["sa"],
        &[],
        &[]
    ),
    res!(
        "apps",
        "Deployment",
        "deployments",
        "deployment",
        true,
        &["deploy"],
        &["all"],
        &["status", "scale"]
    ),
    res!(
        "apps",
        "ReplicaSet",
        "replicasets",
        "replicaset",
        true,
        &["rs"],
        &["all"],
        &["status", "scale"]
    ),
    res!(
        "apps",
        "DaemonSet",
        "daemonsets",
        "daemonset",
        true,
        &["ds"],
        &["all"],
        &["status"]
    ),
    res!(
        "apps",
        "StatefulSet",
        "statefulsets",
        "statefulset",
        true,
        &["sts"],
        &["all"],
        &["status", "scale"]
    ),
    res!(
        "coordination.k8s.io",
        "Lease",
        "leases",
        "lease",
        true,
        &[],
        &[],
        &[]
    ),
];

pub fn all_resources() -> &'static [ResourceInfo] {
    RESOURCES
}

pub fn find_resource(group: &str, version: &str, plural: &str) -> Option<&'static ResourceInfo> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

pub fn find_kind(group: &str, version: &str, kind: &str) -> Option<&'static ResourceInfo> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.kind == kind)
}

pub fn apply_defaults(_res: &ResourceInfo, _obj: &mut Value) {}

pub struct FieldCause {
    pub reason: String,
    pub field: String,
    pub message: String,
}

pub fn validate_create(res: &ResourceInfo, obj: &Value) -> Vec<FieldCause> {
    let mut out = Vec::new();
    if res.kind == "Pod" {
        if let Some(cs) = obj.pointer("/spec/containers").and_then(Value::as_array) {
            for (i, c) in cs.iter().enumerate() {
                if c.get("image")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .is_empty()
                {
                    out.push(FieldCause {
                        reason: "FieldValueRequired".into(),
                        field: format!("spec.containers[{i}].image"),
                        message: "Required value".into(),
                    });
                }
            }
        }
    }
    out
}

pub fn validate_update(res: &ResourceInfo, new: &Value, _old: &Value) -> Vec<FieldCause> {
    validate_create(res, new)
}

pub fn strict_unknown_fields(_res: &ResourceInfo, _obj: &Value) -> Vec<String> {
    Vec::new()
}

pub mod table {
    use super::ResourceInfo;
    use serde_json::Value;

    pub struct Column {
        pub name: &'static str,
        pub type_: &'static str,
        pub format: &'static str,
        pub description: &'static str,
        pub priority: i32,
    }

    pub fn columns(_res: &ResourceInfo) -> Vec<Column> {
        vec![
            Column {
                name: "Name",
                type_: "string",
                format: "name",
                description: "Name must be unique within a namespace.",
                priority: 0,
            },
            Column {
                name: "Created At",
                type_: "date",
                format: "",
                description: "CreationTimestamp of the object.",
                priority: 0,
            },
        ]
    }

    pub fn cells(
        _res: &ResourceInfo,
        obj: &Value,
        _now: chrono::DateTime<chrono::Utc>,
    ) -> Vec<Value> {
        vec![
            obj.pointer("/metadata/name")
                .cloned()
                .unwrap_or(Value::Null),
            obj.pointer("/metadata/creationTimestamp")
                .cloned()
                .unwrap_or(Value::Null),
        ]
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SelectorError(pub String);

/// Equality/existence label selector.
#[derive(Debug, Default)]
pub struct LabelSelector {
    reqs: Vec<(String, Option<String>, bool)>,
}

impl LabelSelector {
    pub fn parse(s: &str) -> Result<Self, SelectorError> {
        let mut reqs = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if let Some((k, v)) = part.split_once("!=") {
                reqs.push((k.trim().to_string(), Some(v.trim().to_string()), false));
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                reqs.push((k.trim().to_string(), Some(v.trim().to_string()), true));
            } else if let Some(k) = part.strip_prefix('!') {
                reqs.push((k.trim().to_string(), None, false));
            } else if part.contains(' ') {
                return Err(SelectorError(format!(
                    "unable to parse requirement: {part}"
                )));
            } else {
                reqs.push((part.to_string(), None, true));
            }
        }
        Ok(LabelSelector { reqs })
    }

    pub fn matches(&self, labels: &Map<String, Value>) -> bool {
        self.reqs.iter().all(|(k, v, eq)| {
            let have = labels.get(k).and_then(Value::as_str);
            match (v, eq) {
                (Some(v), true) => have == Some(v.as_str()),
                (Some(v), false) => have != Some(v.as_str()),
                (None, true) => have.is_some(),
                (None, false) => have.is_none(),
            }
        })
    }

    pub fn is_empty(&self) -> bool {
        self.reqs.is_empty()
    }
}

/// Equality field selector on dotted paths.
#[derive(Debug, Default)]
pub struct FieldSelector {
    reqs: Vec<(String, String, bool)>,
}

impl FieldSelector {
    pub fn parse(s: &str) -> Result<Self, SelectorError> {
        let mut reqs = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v, eq) = if let Some((k, v)) = part.split_once("!=") {
                (k, v, false)
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                (k, v, true)
            } else {
                return Err(SelectorError(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                )));
            };
            reqs.push((k.trim().to_string(), v.trim().to_string(), eq));
        }
        Ok(FieldSelector { reqs })
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.reqs.iter().all(|(k, v, eq)| {
            let ptr = format!("/{}", k.replace('.', "/"));
            let have = match obj.pointer(&ptr) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            (have == *v) == *eq
        })
    }

    pub fn fields(&self) -> Vec<String> {
        self.reqs.iter().map(|r| r.0.clone()).collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    #[error("Apply failed with {} conflicts: {}", conflicts.len(), conflicts.join("\n"))]
    Conflict { conflicts: Vec<String> },
    #[error("{0}")]
    Invalid(String),
}

pub fn json_merge_patch(target: &mut Value, patch: &Value) {
    json_patch::merge(target, patch);
}

pub fn strategic_merge_patch(
    _res: &ResourceInfo,
    original: &Value,
    patch: &Value,
) -> Result<Value, PatchError> {
    let mut out = original.clone();
    json_patch::merge(&mut out, patch);
    Ok(out)
}

pub fn server_side_apply(
    _res: &ResourceInfo,
    live: Option<&Value>,
    applied: &Value,
    _manager: &str,
    _force: bool,
) -> Result<Value, PatchError> {
    let mut out = live.cloned().unwrap_or_else(|| Value::Object(Map::new()));
    json_patch::merge(&mut out, applied);
    Ok(out)
}
