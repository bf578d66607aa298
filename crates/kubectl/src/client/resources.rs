//! Resource types: a compiled-in table of the built-in kinds (so common commands need no
//! discovery round trips) with API discovery as the fallback for everything else.

use crate::client::Api;
use crate::ctx::CmdError;
use serde_json::Value;

/// One REST resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Res {
    /// Plural (URL) name.
    pub plural: String,
    /// Singular name.
    pub singular: String,
    /// Kind.
    pub kind: String,
    /// API group ("" = core).
    pub group: String,
    /// Version.
    pub version: String,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// Short names.
    pub short: Vec<String>,
}

const BUILTIN: &[(&str, &str, &str, &str, bool, &str)] = &[
    // plural, kind, group, version, namespaced, short names
    ("pods", "Pod", "", "v1", true, "po"),
    ("services", "Service", "", "v1", true, "svc"),
    ("namespaces", "Namespace", "", "v1", false, "ns"),
    ("nodes", "Node", "", "v1", false, "no"),
    ("configmaps", "ConfigMap", "", "v1", true, "cm"),
    ("secrets", "Secret", "", "v1", true, ""),
    ("events", "Event", "", "v1", true, "ev"),
    ("endpoints", "Endpoints", "", "v1", true, "ep"),
    ("serviceaccounts", "ServiceAccount", "", "v1", true, "sa"),
    (
        "persistentvolumeclaims",
        "PersistentVolumeClaim",
        "",
        "v1",
        true,
        "pvc",
    ),
    (
        "persistentvolumes",
        "PersistentVolume",
        "",
        "v1",
        false,
        "pv",
    ),
    (
        "replicationcontrollers",
        "ReplicationController",
        "",
        "v1",
        true,
        "rc",
    ),
    ("resourcequotas", "ResourceQuota", "", "v1", true, "quota"),
    ("limitranges", "LimitRange", "", "v1", true, "limits"),
    ("deployments", "Deployment", "apps", "v1", true, "deploy"),
    ("replicasets", "ReplicaSet", "apps", "v1", true, "rs"),
    ("daemonsets", "DaemonSet", "apps", "v1", true, "ds"),
    ("statefulsets", "StatefulSet", "apps", "v1", true, "sts"),
    (
        "controllerrevisions",
        "ControllerRevision",
        "apps",
        "v1",
        true,
        "",
    ),
    ("jobs", "Job", "batch", "v1", true, ""),
    ("cronjobs", "CronJob", "batch", "v1", true, "cj"),
    ("leases", "Lease", "coordination.k8s.io", "v1", true, ""),
    (
        "ingresses",
        "Ingress",
        "networking.k8s.io",
        "v1",
        true,
        "ing",
    ),
    (
        "networkpolicies",
        "NetworkPolicy",
        "networking.k8s.io",
        "v1",
        true,
        "netpol",
    ),
    (
        "endpointslices",
        "EndpointSlice",
        "discovery.k8s.io",
        "v1",
        true,
        "",
    ),
    (
        "storageclasses",
        "StorageClass",
        "storage.k8s.io",
        "v1",
        false,
        "sc",
    ),
    ("roles", "Role", "rbac.authorization.k8s.io", "v1", true, ""),
    (
        "rolebindings",
        "RoleBinding",
        "rbac.authorization.k8s.io",
        "v1",
        true,
        "",
    ),
    (
        "clusterroles",
        "ClusterRole",
        "rbac.authorization.k8s.io",
        "v1",
        false,
        "",
    ),
    (
        "clusterrolebindings",
        "ClusterRoleBinding",
        "rbac.authorization.k8s.io",
        "v1",
        false,
        "",
    ),
    (
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        "autoscaling",
        "v2",
        true,
        "hpa",
    ),
    (
        "poddisruptionbudgets",
        "PodDisruptionBudget",
        "policy",
        "v1",
        true,
        "pdb",
    ),
    (
        "priorityclasses",
        "PriorityClass",
        "scheduling.k8s.io",
        "v1",
        false,
        "pc",
    ),
    (
        "customresourcedefinitions",
        "CustomResourceDefinition",
        "apiextensions.k8s.io",
        "v1",
        false,
        "crd,crds",
    ),
];

impl Res {
    fn from_builtin(b: &(&str, &str, &str, &str, bool, &str)) -> Res {
        Res {
            plural: b.0.into(),
            singular: b.1.to_lowercase(),
            kind: b.1.into(),
            group: b.2.into(),
            version: b.3.into(),
            namespaced: b.4,
            short: b
                .5
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        }
    }

    /// `apiVersion` of objects of this type.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `kind[.group]` as used in `-o name` and multi-kind tables.
    pub fn kind_group(&self) -> String {
        if self.group.is_empty() {
            self.kind.to_lowercase()
        } else {
            format!("{}.{}", self.kind.to_lowercase(), self.group)
        }
    }

    /// URL path of the collection or an object.
    pub fn path(&self, ns: Option<&str>, name: Option<&str>) -> String {
        let mut p = if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        };
        if self.namespaced {
            if let Some(ns) = ns {
                p.push_str(&format!("/namespaces/{ns}"));
            }
        }
        p.push('/');
        p.push_str(&self.plural);
        if let Some(n) = name {
            p.push('/');
            p.push_str(n);
        }
        p
    }

    fn matches(&self, name: &str, group: Option<&str>) -> bool {
        if let Some(g) = group {
            let g_ok = self.group == g
                || self.group.starts_with(&format!("{g}."))
                || format!("{}.{}", self.version, self.group) == g;
            if !g_ok {
                return false;
            }
        }
        self.plural == name
            || self.singular == name
            || self.short.iter().any(|s| s == name)
            || self.kind.eq_ignore_ascii_case(name)
    }
}

/// All built-in resources.
pub fn builtins() -> Vec<Res> {
    BUILTIN.iter().map(Res::from_builtin).collect()
}

fn split_group(arg: &str) -> (String, Option<String>) {
    let lower = arg.to_lowercase();
    match lower.split_once('.') {
        Some((n, g)) => (n.to_string(), Some(g.to_string())),
        None => (lower, None),
    }
}

/// Resolves a user-typed type name (`po`, `deployments.apps`, `Pod`).
pub async fn resolve(api: Option<&Api>, arg: &str) -> Result<Res, CmdError> {
    let (name, group) = split_group(arg);
    if name == "ev" && group.is_none() {
        // core events win; kubectl warns about the events.k8s.io twin
        crate::ctx::err("Warning: short name \"ev\" could also match lower priority resource events.events.k8s.io\n");
    }
    if let Some(r) = builtins()
        .into_iter()
        .find(|r| r.matches(&name, group.as_deref()))
    {
        return Ok(r);
    }
    if let Some(api) = api {
        for r in discover(api).await? {
            if r.matches(&name, group.as_deref()) {
                return Ok(r);
            }
        }
    }
    Err(CmdError::Msg(format!(
        "the server doesn't have a resource type \"{name}\""
    )))
}

/// Finds the resource for an object's apiVersion and kind.
pub async fn for_kind(api: Option<&Api>, api_version: &str, kind: &str) -> Result<Res, CmdError> {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    if let Some(r) = builtins()
        .into_iter()
        .find(|r| r.kind == kind && r.group == group)
    {
        return Ok(Res {
            version: version.to_string(),
            ..r
        });
    }
    if let Some(api) = api {
        for r in discover(api).await? {
            if r.kind == kind && r.group == group {
                return Ok(Res {
                    version: version.to_string(),
                    ..r
                });
            }
        }
    }
    Err(CmdError::Msg(format!(
        "resource mapping not found for name: \"\" namespace: \"\" from \"\": no matches for kind \"{kind}\" in version \"{api_version}\"\nensure CRDs are installed first"
    )))
}

/// Lists every resource the server serves (plain JSON discovery).
pub async fn discover(api: &Api) -> Result<Vec<Res>, CmdError> {
    let mut out = Vec::new();
    let mut gvs: Vec<String> = vec!["v1".to_string()];
    if let Ok(groups) = api.get("/apis").await {
        for g in groups
            .get("groups")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(gv) = g
                .pointer("/preferredVersion/groupVersion")
                .and_then(Value::as_str)
            {
                gvs.push(gv.to_string());
            }
        }
    }
    for gv in gvs {
        let path = if gv == "v1" {
            "/api/v1".to_string()
        } else {
            format!("/apis/{gv}")
        };
        let Ok(list) = api.get(&path).await else {
            continue;
        };
        let (group, version) = gv.split_once('/').unwrap_or(("", &gv));
        for r in list
            .get("resources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = r.get("name").and_then(Value::as_str).unwrap_or("");
            if name.contains('/') {
                continue;
            }
            let kind = r
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            out.push(Res {
                plural: name.to_string(),
                singular: r
                    .get("singularName")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .unwrap_or_else(|| kind.to_lowercase()),
                kind,
                group: group.to_string(),
                version: version.to_string(),
                namespaced: r
                    .get("namespaced")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                short: r
                    .get("shortNames")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_builtin_names() {
        let rt = tokio::runtime::Builder::new_current_thread().build();
        let Ok(rt) = rt else { return };
        for (arg, plural) in [
            ("po", "pods"),
            ("deploy", "deployments"),
            ("deployments.apps", "deployments"),
            ("Service", "services"),
            ("rs", "replicasets"),
        ] {
            let r = rt
                .block_on(resolve(None, arg))
                .map(|r| r.plural)
                .unwrap_or_default();
            assert_eq!(r, plural);
        }
        let r = rt.block_on(resolve(None, "deploy")).ok();
        assert_eq!(
            r.map(|r| r.path(Some("x"), Some("web"))).as_deref(),
            Some("/apis/apps/v1/namespaces/x/deployments/web")
        );
    }
}
