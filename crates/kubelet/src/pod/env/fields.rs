//! Downward API values: fieldRef paths of the pod's metadata, spec and
//! status, and resourceFieldRef requests and limits with their divisor.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Pod};

use super::{EnvContext, EnvError};
use skiff_api::quantity::{milli_value, value};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_values_round_up_by_the_divisor() {
        let c: Container = serde_json::from_value(serde_json::json!({"name": "c",
            "resources": {"limits": {"cpu": "500m"}, "requests": {"memory": "64Mi"}}}))
        .unwrap_or_default();
        let ctx = EnvContext {
            master_host: "",
            master_port: 443,
            services: &[],
            node_name: "n1",
            host_ip: "",
            pod_ip: "",
            node_cpu_milli: 2000,
            node_memory: 1 << 30,
        };
        let cases = [
            ("limits.cpu", None, "1"),
            ("limits.cpu", Some("1m"), "500"),
            ("requests.memory", Some("1Mi"), "64"),
            ("requests.cpu", None, "0"),
            // no limit: the node's capacity
            ("limits.memory", Some("1Mi"), "1024"),
        ];
        for (resource, divisor, want) in cases {
            let got = resource_value(&c, resource, divisor, &ctx).unwrap_or_default();
            assert_eq!(got, want, "{resource} / {divisor:?}");
        }
    }
}
