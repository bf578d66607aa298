//! Services: ClusterIP and NodePort allocation on create (serialised, checked against
//! every stored Service, so deleting a Service releases its addresses), ClusterIPs
//! immutable on update, no generation, and a DELETE answers with the Service.

use super::{AllocGuard, Strategy};
use crate::ipalloc::{self, Cidr};
use crate::objects::{self, meta_str};
use crate::resources::FieldCause;
use crate::rest::Ctx;
use crate::status::{ApiError, ApiResult};
use serde_json::{json, Map, Value};
use std::collections::HashSet;
use std::net::Ipv4Addr;

/// The strategy of core/v1 Services.
pub struct ServiceStrategy {
    cidr: Cidr,
    /// Serialises allocation and the write that claims it.
    lock: tokio::sync::Mutex<()>,
}

impl ServiceStrategy {
    /// ClusterIPs come from `cidr`.
    pub fn new(cidr: Cidr) -> Self {
        ServiceStrategy {
            cidr,
            lock: tokio::sync::Mutex::new(()),
        }
    }

    /// The ClusterIP the new Service gets: `None` stays, empty allocates, a given one
    /// must be in range and free.
    fn cluster_ip(&self, ctx: &Ctx, obj: &Value, used: &HashSet<String>) -> ApiResult<String> {
        let given = obj
            .pointer("/spec/clusterIP")
            .and_then(Value::as_str)
            .unwrap_or("");
        let cidr = self.cidr;
        let bad_ip = |ip: &str, why: String| {
            ctx.invalid(
                meta_str(obj, "name").unwrap_or(""),
                vec![FieldCause {
                    reason: "FieldValueInvalid".into(),
                    field: "spec.clusterIPs".into(),
                    message: format!("Invalid value: []string{{\"{ip}\"}}: {why}"),
                }],
            )
        };
        match given {
            "None" => Ok("None".to_string()),
            "" => cidr
                .allocate(used)
                .map(|i| i.to_string())
                .ok_or_else(|| ApiError::internal("failed to allocate a serviceIP: range is full")),
            ip => {
                let parsed: Ipv4Addr = ip
                    .parse()
                    .map_err(|_| bad_ip(ip, "must be a valid IP address".into()))?;
                if !cidr.contains(parsed) {
                    let range = format!("{}/{}", Ipv4Addr::from(cidr.base), cidr.bits);
                    return Err(bad_ip(ip, format!("failed to allocate IP {ip}: the provided IP ({ip}) is not in the valid range. The range of valid IPs is {range}")));
                }
                if used.contains(ip) {
                    return Err(bad_ip(
                        ip,
                        format!("failed to allocate IP {ip}: provided IP is already allocated"),
                    ));
                }
                Ok(ip.to_string())
            }
        }
    }
}

/// ClusterIPs and NodePorts of every stored Service.
async fn in_use(ctx: &Ctx) -> ApiResult<(HashSet<String>, HashSet<i64>)> {
    let all = ctx
        .state
        .store
        .list(&objects::resource_prefix(ctx.res), None, 0, None)
        .await?;
    let svcs: Vec<Value> = all
        .items
        .iter()
        .filter_map(|kv| objects::decode(kv).ok())
        .collect();
    Ok(ipalloc::used(&svcs))
}

/// Writes the allocated address and the defaults that go with it into `spec`; gives
/// NodePort and LoadBalancer ports a free node port each.
fn fill_spec(spec: &mut Map<String, Value>, ip: &str, ty: &str, mut ports: HashSet<i64>) {
    spec.insert("clusterIP".into(), json!(ip));
    spec.insert("clusterIPs".into(), json!([ip]));
    if ip != "None" {
        spec.entry("ipFamilies").or_insert(json!(["IPv4"]));
        spec.entry("ipFamilyPolicy").or_insert(json!("SingleStack"));
    }
    spec.entry("internalTrafficPolicy")
        .or_insert(json!("Cluster"));
    if ty != "NodePort" && ty != "LoadBalancer" {
        return;
    }
    if let Some(ps) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for p in ps.iter_mut() {
            if p.get("nodePort").and_then(Value::as_i64).unwrap_or(0) == 0 {
                if let Some(np) = ipalloc::allocate_node_port(&ports) {
                    ports.insert(np);
                    p["nodePort"] = json!(np);
                }
            }
        }
    }
    spec.entry("externalTrafficPolicy")
        .or_insert(json!("Cluster"));
}

#[async_trait::async_trait]
impl Strategy for ServiceStrategy {
    fn tracks_generation(&self) -> bool {
        false
    }

    async fn allocate<'a>(
        &'a self,
        ctx: &Ctx,
        obj: &mut Value,
    ) -> ApiResult<Option<AllocGuard<'a>>> {
        let guard = self.lock.lock().await;
        let ty = obj
            .pointer("/spec/type")
            .and_then(Value::as_str)
            .unwrap_or("ClusterIP")
            .to_string();
        if ty == "ExternalName" {
            return Ok(Some(guard));
        }
        let (ips, ports) = in_use(ctx).await?;
        let ip = self.cluster_ip(ctx, obj, &ips)?;
        if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
            fill_spec(spec, &ip, &ty, ports);
        }
        Ok(Some(guard))
    }

    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        // ClusterIPs are immutable once allocated.
        for f in ["clusterIP", "clusterIPs"] {
            if let Some(v) = old.pointer(&format!("/spec/{f}")) {
                if new.get("spec").map(Value::is_object).unwrap_or(false) {
                    new["spec"][f] = v.clone();
                }
            }
        }
    }

    fn returns_deleted_object(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ports_for_node_port_and_load_balancer_only() {
        let spec = |ports: Value| json!({"ports": ports}).as_object().cloned().unwrap();
        let mut np = spec(json!([{"port": 80}, {"port": 81, "nodePort": 30001}]));
        fill_spec(&mut np, "10.43.0.9", "NodePort", HashSet::new());
        assert!(np["ports"][0]["nodePort"]
            .as_i64()
            .is_some_and(|p| (30000..=32767).contains(&p)));
        assert_eq!(np["ports"][1]["nodePort"], 30001);
        assert_eq!(np["externalTrafficPolicy"], "Cluster");
        assert_eq!(np["clusterIPs"], json!(["10.43.0.9"]));
        assert_eq!(np["ipFamilyPolicy"], "SingleStack");

        let mut headless = spec(json!([{"port": 80}]));
        fill_spec(&mut headless, "None", "ClusterIP", HashSet::new());
        assert!(headless["ports"][0].get("nodePort").is_none());
        assert!(headless.get("ipFamilies").is_none());
        assert!(headless.get("externalTrafficPolicy").is_none());
        assert_eq!(headless["internalTrafficPolicy"], "Cluster");
    }

    #[test]
    fn cluster_ips_survive_updates() {
        let s = ServiceStrategy::new(Cidr::parse("10.43.0.0/16").unwrap());
        let old = json!({"spec": {"clusterIP": "10.43.0.5", "clusterIPs": ["10.43.0.5"]}});
        let mut new = json!({"spec": {"clusterIP": "10.43.0.6", "ports": []}});
        s.prepare_for_update(&mut new, &old);
        assert_eq!(new["spec"]["clusterIP"], "10.43.0.5");
        assert_eq!(new["spec"]["clusterIPs"], json!(["10.43.0.5"]));
    }
}
