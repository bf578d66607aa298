//! Service link variables as upstream writes them: `<NAME>_SERVICE_HOST`,
//! `_SERVICE_PORT[_<PORT>]` and the Docker-link style `_PORT_*` family, for
//! the `kubernetes` service always and the namespace's services when
//! `enableServiceLinks` is on.

use k8s_openapi::api::core::v1::Service;

use super::EnvContext;

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

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(services: &[Service]) -> EnvContext<'_> {
        EnvContext {
            master_host: "10.43.0.1",
            master_port: 443,
            services,
            node_name: "n1",
            host_ip: "192.168.1.10",
            pod_ip: "",
            node_cpu_milli: 2000,
            node_memory: 1 << 30,
        }
    }

    #[test]
    fn service_links_use_upstream_names() {
        let svc =
            |v: serde_json::Value| -> Service { serde_json::from_value(v).unwrap_or_default() };
        let services = [
            svc(serde_json::json!({"metadata": {"name": "redis-primary"},
                "spec": {"clusterIP": "10.0.0.11", "ports": [{"name": "redis", "port": 6379}]}})),
            svc(serde_json::json!({"metadata": {"name": "headless"},
                "spec": {"clusterIP": "None", "ports": [{"port": 80}]}})),
        ];
        let env = service_env(&ctx(&services), "default", true);
        let has = |k: &str, v: &str| env.iter().any(|(ek, ev)| ek == k && ev == v);
        for (k, v) in [
            ("REDIS_PRIMARY_SERVICE_HOST", "10.0.0.11"),
            ("REDIS_PRIMARY_SERVICE_PORT", "6379"),
            ("REDIS_PRIMARY_SERVICE_PORT_REDIS", "6379"),
            ("REDIS_PRIMARY_PORT", "tcp://10.0.0.11:6379"),
            ("REDIS_PRIMARY_PORT_6379_TCP", "tcp://10.0.0.11:6379"),
            ("REDIS_PRIMARY_PORT_6379_TCP_PROTO", "tcp"),
            ("REDIS_PRIMARY_PORT_6379_TCP_ADDR", "10.0.0.11"),
            ("KUBERNETES_SERVICE_HOST", "10.43.0.1"),
            ("KUBERNETES_SERVICE_PORT_HTTPS", "443"),
            ("KUBERNETES_PORT_443_TCP", "tcp://10.43.0.1:443"),
        ] {
            assert!(has(k, v), "{k}={v} missing from {env:?}");
        }
        assert!(!env.iter().any(|(k, _)| k.starts_with("HEADLESS_")));
        // without links only the kubernetes service
        let env = service_env(&ctx(&services), "default", false);
        assert!(
            env.iter().all(|(k, _)| k.starts_with("KUBERNETES_")),
            "{env:?}"
        );
    }
}
