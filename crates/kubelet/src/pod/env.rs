//! A container's environment as upstream builds it: service links, envFrom,
//! env with valueFrom (fieldRef, resourceFieldRef, configMapKeyRef,
//! secretKeyRef) and `$(VAR)` expansion against what came before.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::core::v1::{Container, Pod, Service};
use skiff_api::quantity::{milli_value, value};

use super::expand::expand;
use crate::api::PodApi;

/// Why the environment could not be built (CreateContainerConfigError).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EnvError {
    /// A referenced object is missing.
    #[error("{kind} \"{name}\" not found")]
    NotFound {
        /// configmap or secret.
        kind: &'static str,
        /// Its name.
        name: String,
    },
    /// A referenced key is missing.
    #[error("couldn't find key {key} in {kind} {ns}/{name}")]
    MissingKey {
        /// ConfigMap or Secret.
        kind: &'static str,
        /// Namespace.
        ns: String,
        /// Name.
        name: String,
        /// Key.
        key: String,
    },
    /// A fieldRef or resourceFieldRef is not supported.
    #[error("{0}")]
    Unsupported(String),
    /// The API server could not be asked.
    #[error("{0}")]
    Api(String),
}

/// What the environment needs besides the pod.
pub struct EnvContext<'a> {
    /// `kubernetes` service ClusterIP.
    pub master_host: &'a str,
    /// `kubernetes` service port.
    pub master_port: u16,
    /// Services of the pod's namespace (when service links are enabled).
    pub services: &'a [Service],
    /// Node name.
    pub node_name: &'a str,
    /// Host IP.
    pub host_ip: &'a str,
    /// Pod IP when known.
    pub pod_ip: &'a str,
    /// Node allocatable cpu (milli) and memory (bytes), the default for limits.
    pub node_cpu_milli: i128,
    /// Node memory in bytes.
    pub node_memory: i128,
}

fn env_name(svc: &str) -> String {
    svc.to_uppercase().replace('-', "_")
}

fn push_service(
    out: &mut Vec<(String, String)>,
    name: &str,
    ip: &str,
    ports: &[(Option<String>, i32, String)],
) {
    let n = env_name(name);
    let Some((_, first_port, first_proto)) = ports.first() else {
        return;
    };
    out.push((format!("{n}_SERVICE_HOST"), ip.to_string()));
    out.push((format!("{n}_SERVICE_PORT"), first_port.to_string()));
    for (pname, port, _) in ports {
        if let Some(pn) = pname.as_deref().filter(|p| !p.is_empty()) {
            out.push((
                format!("{n}_SERVICE_PORT_{}", env_name(pn)),
                port.to_string(),
            ));
        }
    }
    out.push((
        format!("{n}_PORT"),
        format!("{}://{ip}:{first_port}", first_proto.to_lowercase()),
    ));
    for (_, port, proto) in ports {
        let p = format!("{n}_PORT_{port}_{}", proto.to_uppercase());
        let lower = proto.to_lowercase();
        out.push((p.clone(), format!("{lower}://{ip}:{port}")));
        out.push((format!("{p}_PROTO"), lower));
        out.push((format!("{p}_PORT"), port.to_string()));
        out.push((format!("{p}_ADDR"), ip.to_string()));
    }
}

/// Service link variables: the `kubernetes` service always, the
/// namespace's services when `links` is on.
pub fn service_env(ctx: &EnvContext<'_>, ns: &str, links: bool) -> Vec<(String, String)> {
    let mut out = vec![];
    let mut svcs: Vec<&Service> = ctx.services.iter().collect();
    svcs.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    if links {
        for s in svcs {
            let name = s.metadata.name.clone().unwrap_or_default();
            if ns == "default" && name == "kubernetes" {
                continue;
            }
            let Some(spec) = s.spec.as_ref() else {
                continue;
            };
            let ip = spec.cluster_ip.clone().unwrap_or_default();
            if ip.is_empty() || ip == "None" {
                continue;
            }
            let ports: Vec<(Option<String>, i32, String)> = spec
                .ports
                .iter()
                .flatten()
                .map(|p| {
                    (
                        p.name.clone(),
                        p.port,
                        p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                    )
                })
                .collect();
            push_service(&mut out, &name, &ip, &ports);
        }
    }
    push_service(
        &mut out,
        "kubernetes",
        ctx.master_host,
        &[(
            Some("https".into()),
            i32::from(ctx.master_port),
            "TCP".into(),
        )],
    );
    out
}

/// Value of a downward API field path.
pub fn field_value(pod: &Pod, path: &str, ctx: &EnvContext<'_>) -> Result<String, EnvError> {
    let m = &pod.metadata;
    let spec = pod.spec.as_ref();
    let from_map = |map: &Option<BTreeMap<String, String>>, key: &str| {
        map.as_ref()
            .and_then(|m| m.get(key))
            .cloned()
            .unwrap_or_default()
    };
    let bracket = |p: &str, prefix: &str| -> Option<String> {
        p.strip_prefix(prefix)?
            .strip_suffix("']")
            .map(str::to_string)
    };
    Ok(match path {
        "metadata.name" => m.name.clone().unwrap_or_default(),
        "metadata.namespace" => m.namespace.clone().unwrap_or_default(),
        "metadata.uid" => m.uid.clone().unwrap_or_default(),
        "spec.nodeName" => spec
            .and_then(|s| s.node_name.clone())
            .unwrap_or_else(|| ctx.node_name.into()),
        "spec.serviceAccountName" => spec
            .and_then(|s| s.service_account_name.clone())
            .unwrap_or_default(),
        "status.podIP" | "status.podIPs" => ctx.pod_ip.to_string(),
        "status.hostIP" | "status.hostIPs" => ctx.host_ip.to_string(),
        "metadata.labels" => format_map(&m.labels),
        "metadata.annotations" => format_map(&m.annotations),
        p => {
            if let Some(k) = bracket(p, "metadata.labels['") {
                from_map(&m.labels, &k)
            } else if let Some(k) = bracket(p, "metadata.annotations['") {
                from_map(&m.annotations, &k)
            } else {
                return Err(EnvError::Unsupported(format!("unsupported fieldPath: {p}")));
            }
        }
    })
}

/// `key="value"` lines like the downward API volume writes.
pub fn format_map(map: &Option<BTreeMap<String, String>>) -> String {
    map.iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", serde_json::to_string(v).unwrap_or_default()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Value of a resourceFieldRef for container `c` (divisor applied, rounded up).
pub fn resource_value(
    c: &Container,
    resource: &str,
    divisor: Option<&str>,
    ctx: &EnvContext<'_>,
) -> Result<String, EnvError> {
    let res = c.resources.as_ref();
    let pick = |which: &str| -> Option<String> {
        let map = if which == "limits" {
            res.and_then(|r| r.limits.as_ref())
        } else {
            res.and_then(|r| r.requests.as_ref())
        };
        map.and_then(|m| m.get(resource.split_once('.').map_or(resource, |x| x.1)))
            .map(|q| q.0.clone())
    };
    let (which, name) = resource
        .split_once('.')
        .ok_or_else(|| EnvError::Unsupported(format!("unsupported resource: {resource}")))?;
    let q = pick(which);
    let is_cpu = name == "cpu";
    let raw_milli: i128 = match (&q, is_cpu) {
        (Some(q), true) => i128::from(milli_value(q).unwrap_or(0)),
        (Some(q), false) => i128::from(value(q).unwrap_or(0)) * 1000,
        (None, true) if which == "limits" => ctx.node_cpu_milli,
        (None, false) if which == "limits" => ctx.node_memory * 1000,
        (None, _) => 0,
    };
    let div_milli = match divisor {
        Some(d) if !d.is_empty() => i128::from(milli_value(d).unwrap_or(1000).max(1)),
        _ => 1000,
    };
    let v = (raw_milli + div_milli - 1) / div_milli;
    Ok(v.max(if raw_milli > 0 { 1 } else { 0 }).to_string())
}

/// Build the environment of container `c`.
pub async fn container_env(
    pod: &Pod,
    c: &Container,
    ctx: &EnvContext<'_>,
    api: &dyn PodApi,
) -> Result<Vec<(String, String)>, EnvError> {
    let ns = pod
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".into());
    let links = pod
        .spec
        .as_ref()
        .and_then(|s| s.enable_service_links)
        .unwrap_or(true);
    let mut order: Vec<String> = vec![];
    let mut vals: HashMap<String, String> = HashMap::new();
    let set =
        |order: &mut Vec<String>, vals: &mut HashMap<String, String>, k: String, v: String| {
            if !vals.contains_key(&k) {
                order.push(k.clone());
            }
            vals.insert(k, v);
        };
    let mut cms = HashMap::new();
    let mut secrets = HashMap::new();
    for from in c.env_from.iter().flatten() {
        let prefix = from.prefix.clone().unwrap_or_default();
        if let Some(r) = &from.config_map_ref {
            let optional = r.optional.unwrap_or(false);
            match config_map_data(api, &ns, &r.name, &mut cms).await? {
                Some(data) => {
                    for (k, v) in data {
                        set(&mut order, &mut vals, format!("{prefix}{k}"), v);
                    }
                }
                None if optional => {}
                None => {
                    return Err(EnvError::NotFound {
                        kind: "configmap",
                        name: r.name.clone(),
                    })
                }
            }
        }
        if let Some(r) = &from.secret_ref {
            let optional = r.optional.unwrap_or(false);
            match secret_data(api, &ns, &r.name, &mut secrets).await? {
                Some(data) => {
                    for (k, v) in data {
                        set(&mut order, &mut vals, format!("{prefix}{k}"), v);
                    }
                }
                None if optional => {}
                None => {
                    return Err(EnvError::NotFound {
                        kind: "secret",
                        name: r.name.clone(),
                    })
                }
            }
        }
    }
    let svc_env = service_env(ctx, &ns, links);
    let svc_map: HashMap<String, String> = svc_env.iter().cloned().collect();
    for e in c.env.iter().flatten() {
        let v = if let Some(from) = &e.value_from {
            if let Some(f) = &from.field_ref {
                field_value(pod, &f.field_path, ctx)?
            } else if let Some(r) = &from.resource_field_ref {
                let div = r.divisor.as_ref().map(|d| d.0.as_str());
                resource_value(c, &r.resource, div, ctx)?
            } else if let Some(k) = &from.config_map_key_ref {
                let data = config_map_data(api, &ns, &k.name, &mut cms).await?;
                let source = KeySource::CONFIG_MAP;
                match key_ref_value(data, source, &ns, &k.name, &k.key, k.optional)? {
                    Some(v) => v,
                    None => continue,
                }
            } else if let Some(k) = &from.secret_key_ref {
                let data = secret_data(api, &ns, &k.name, &mut secrets).await?;
                let source = KeySource::SECRET;
                match key_ref_value(data, source, &ns, &k.name, &k.key, k.optional)? {
                    Some(v) => v,
                    None => continue,
                }
            } else {
                String::new()
            }
        } else {
            let raw = e.value.clone().unwrap_or_default();
            let snapshot = &vals;
            expand(&raw, &|name| {
                snapshot
                    .get(name)
                    .cloned()
                    .or_else(|| svc_map.get(name).cloned())
            })
        };
        set(&mut order, &mut vals, e.name.clone(), v);
    }
    let mut out: Vec<(String, String)> = vec![];
    for (k, v) in svc_env {
        if !vals.contains_key(&k) {
            out.push((k, v));
        }
    }
    for k in order {
        if let Some(v) = vals.remove(&k) {
            out.push((k, v));
        }
    }
    Ok(out)
}

/// Where a `*KeyRef` points: its kind as upstream's two messages spell it.
struct KeySource {
    /// In "couldn't find key … in ConfigMap ns/name".
    kind: &'static str,
    /// In "configmap \"name\" not found".
    lower: &'static str,
}

impl KeySource {
    const CONFIG_MAP: KeySource = KeySource {
        kind: "ConfigMap",
        lower: "configmap",
    };
    const SECRET: KeySource = KeySource {
        kind: "Secret",
        lower: "secret",
    };
}

/// The value of `key` in a ConfigMap's or Secret's `data` (`None` when the object or key
/// is absent and the reference is optional: the variable is then left out).
fn key_ref_value(
    data: Option<BTreeMap<String, String>>,
    source: KeySource,
    ns: &str,
    name: &str,
    key: &str,
    optional: Option<bool>,
) -> Result<Option<String>, EnvError> {
    let optional = optional == Some(true);
    match data {
        Some(mut d) => match d.remove(key) {
            Some(v) => Ok(Some(v)),
            None if optional => Ok(None),
            None => Err(EnvError::MissingKey {
                kind: source.kind,
                ns: ns.to_string(),
                name: name.to_string(),
                key: key.to_string(),
            }),
        },
        None if optional => Ok(None),
        None => Err(EnvError::NotFound {
            kind: source.lower,
            name: name.to_string(),
        }),
    }
}

async fn config_map_data(
    api: &dyn PodApi,
    ns: &str,
    name: &str,
    cache: &mut HashMap<String, Option<BTreeMap<String, String>>>,
) -> Result<Option<BTreeMap<String, String>>, EnvError> {
    if let Some(v) = cache.get(name) {
        return Ok(v.clone());
    }
    let cm = api
        .config_map(ns, name)
        .await
        .map_err(|e| EnvError::Api(e.to_string()))?;
    let data = cm.map(|cm| cm.data.unwrap_or_default());
    cache.insert(name.to_string(), data.clone());
    Ok(data)
}

async fn secret_data(
    api: &dyn PodApi,
    ns: &str,
    name: &str,
    cache: &mut HashMap<String, Option<BTreeMap<String, String>>>,
) -> Result<Option<BTreeMap<String, String>>, EnvError> {
    if let Some(v) = cache.get(name) {
        return Ok(v.clone());
    }
    let s = api
        .secret(ns, name)
        .await
        .map_err(|e| EnvError::Api(e.to_string()))?;
    let data = s.map(|s| {
        let mut out: BTreeMap<String, String> = s.string_data.unwrap_or_default();
        for (k, v) in s.data.unwrap_or_default() {
            out.insert(k, String::from_utf8_lossy(&v.0).into_owned());
        }
        out
    });
    cache.insert(name.to_string(), data.clone());
    Ok(data)
}

/// Expand `$(VAR)` in command or args against the final environment.
pub fn expand_all(items: &[String], env: &[(String, String)]) -> Vec<String> {
    let map: HashMap<&str, &str> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    items
        .iter()
        .map(|s| expand(s, &|n| map.get(n).map(|v| v.to_string())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> Option<BTreeMap<String, String>> {
        Some(BTreeMap::from([("k".to_string(), "v".to_string())]))
    }

    #[test]
    fn key_refs_resolve_skip_when_optional_and_fail_like_upstream() {
        let get = |d, src, key: &str, opt| key_ref_value(d, src, "ns", "cfg", key, opt);
        assert_eq!(
            get(data(), KeySource::CONFIG_MAP, "k", None).ok().flatten(),
            Some("v".into())
        );
        assert!(matches!(
            get(data(), KeySource::SECRET, "x", Some(true)),
            Ok(None)
        ));
        assert!(matches!(
            get(None, KeySource::SECRET, "k", Some(true)),
            Ok(None)
        ));
        match get(data(), KeySource::CONFIG_MAP, "x", None) {
            Err(EnvError::MissingKey {
                kind,
                ns,
                name,
                key,
            }) => {
                assert_eq!(
                    (kind, ns.as_str(), name.as_str(), key.as_str()),
                    ("ConfigMap", "ns", "cfg", "x")
                );
            }
            other => panic!("{other:?}"),
        }
        match get(None, KeySource::SECRET, "k", Some(false)) {
            Err(EnvError::NotFound { kind, name }) => {
                assert_eq!((kind, name.as_str()), ("secret", "cfg"))
            }
            other => panic!("{other:?}"),
        }
    }
}
