//! A container's environment as upstream builds it: service links, envFrom,
//! env with valueFrom (fieldRef, resourceFieldRef, configMapKeyRef,
//! secretKeyRef) and `$(VAR)` expansion against what came before.

mod expand;
mod fields;
mod services;
mod sources;

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::core::v1::{Container, EnvFromSource, EnvVarSource, Pod, Service};

use crate::api::PodApi;
use expand::expand;
pub use fields::{field_value, format_map, resource_value};
use services::service_env;
use sources::{key_ref_value, KeySource, Sources};

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

/// Variables in the order they were first set, later values replacing earlier ones.
#[derive(Default)]
struct Vars {
    order: Vec<String>,
    vals: HashMap<String, String>,
}

impl Vars {
    fn set(&mut self, k: String, v: String) {
        if !self.vals.contains_key(&k) {
            self.order.push(k.clone());
        }
        self.vals.insert(k, v);
    }

    /// Every key of `data` with `prefix`; a missing object is an error
    /// unless the reference is optional.
    fn set_all(
        &mut self,
        data: Option<BTreeMap<String, String>>,
        prefix: &str,
        optional: Option<bool>,
        kind: &'static str,
        name: &str,
    ) -> Result<(), EnvError> {
        match data {
            Some(data) => {
                for (k, v) in data {
                    self.set(format!("{prefix}{k}"), v);
                }
                Ok(())
            }
            None if optional.unwrap_or(false) => Ok(()),
            None => Err(EnvError::NotFound {
                kind,
                name: name.to_string(),
            }),
        }
    }

    /// The service variables not set otherwise, then the variables in order.
    fn into_env(mut self, services: Vec<(String, String)>) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = services
            .into_iter()
            .filter(|(k, _)| !self.vals.contains_key(k))
            .collect();
        for k in self.order {
            if let Some(v) = self.vals.remove(&k) {
                out.push((k, v));
            }
        }
        out
    }
}

/// Build the environment of container `c`.
pub async fn container_env(
    pod: &Pod,
    c: &Container,
    ctx: &EnvContext<'_>,
    api: &dyn PodApi,
) -> Result<Vec<(String, String)>, EnvError> {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let links = pod
        .spec
        .as_ref()
        .and_then(|s| s.enable_service_links)
        .unwrap_or(true);
    let mut sources = Sources::new(api, ns);
    let mut vars = Vars::default();
    for from in c.env_from.iter().flatten() {
        env_from(from, &mut sources, &mut vars).await?;
    }
    let svc_env = service_env(ctx, ns, links);
    let svc_map: HashMap<String, String> = svc_env.iter().cloned().collect();
    for e in c.env.iter().flatten() {
        let v = match &e.value_from {
            None => {
                let raw = e.value.clone().unwrap_or_default();
                let vals = &vars.vals;
                expand(&raw, &|name| {
                    vals.get(name)
                        .cloned()
                        .or_else(|| svc_map.get(name).cloned())
                })
            }
            Some(from) => match value_from(pod, c, ctx, from, &mut sources).await? {
                Some(v) => v,
                None => continue,
            },
        };
        vars.set(e.name.clone(), v);
    }
    Ok(vars.into_env(svc_env))
}

/// The variables of one envFrom source.
async fn env_from(
    from: &EnvFromSource,
    sources: &mut Sources<'_>,
    vars: &mut Vars,
) -> Result<(), EnvError> {
    let prefix = from.prefix.clone().unwrap_or_default();
    if let Some(r) = &from.config_map_ref {
        let data = sources.config_map(&r.name).await?;
        vars.set_all(data, &prefix, r.optional, "configmap", &r.name)?;
    }
    if let Some(r) = &from.secret_ref {
        let data = sources.secret(&r.name).await?;
        vars.set_all(data, &prefix, r.optional, "secret", &r.name)?;
    }
    Ok(())
}

/// The value of one `valueFrom` (None when an optional key reference finds
/// nothing: the variable is then left out).
async fn value_from(
    pod: &Pod,
    c: &Container,
    ctx: &EnvContext<'_>,
    from: &EnvVarSource,
    sources: &mut Sources<'_>,
) -> Result<Option<String>, EnvError> {
    if let Some(f) = &from.field_ref {
        return field_value(pod, &f.field_path, ctx).map(Some);
    }
    if let Some(r) = &from.resource_field_ref {
        let div = r.divisor.as_ref().map(|d| d.0.as_str());
        return resource_value(c, &r.resource, div, ctx).map(Some);
    }
    if let Some(k) = &from.config_map_key_ref {
        let data = sources.config_map(&k.name).await?;
        let ns = sources.ns();
        return key_ref_value(data, KeySource::CONFIG_MAP, ns, &k.name, &k.key, k.optional);
    }
    if let Some(k) = &from.secret_key_ref {
        let data = sources.secret(&k.name).await?;
        let ns = sources.ns();
        return key_ref_value(data, KeySource::SECRET, ns, &k.name, &k.key, k.optional);
    }
    Ok(Some(String::new()))
}

/// Expand `$(VAR)` in command or args against the final environment.
pub fn expand_all(items: &[String], env: &[(String, String)]) -> Vec<String> {
    let map: HashMap<&str, &str> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    items
        .iter()
        .map(|s| expand(s, &|n| map.get(n).map(|v| v.to_string())))
        .collect()
}
