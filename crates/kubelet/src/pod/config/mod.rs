//! Translating a pod into CRI configs: the PodSandboxConfig (hostname, DNS,
//! ports, log dir, cgroup parent, labels) and each ContainerConfig (image,
//! command, env, mounts, resources, labels and annotations).

mod container;

use std::collections::HashMap;

use k8s_cri::v1 as cri;
use k8s_openapi::api::core::v1::{Pod, PodSpec};

use super::resources::qos_class;
use crate::config::KubeletConfig;
use crate::cri::labels;
pub use container::{container_config, container_hash, ContainerInputs};

/// Name, namespace and uid of a pod.
pub fn ids(pod: &Pod) -> (String, String, String) {
    (
        pod.metadata.name.clone().unwrap_or_default(),
        pod.metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into()),
        pod.metadata.uid.clone().unwrap_or_default(),
    )
}

/// `/…/logs/pods/<ns>_<name>_<uid>`.
pub fn log_dir(cfg: &KubeletConfig, pod: &Pod) -> String {
    let (name, ns, uid) = ids(pod);
    cfg.pod_logs_root()
        .join(format!("{ns}_{name}_{uid}"))
        .to_string_lossy()
        .into_owned()
}

fn host_resolv() -> (Vec<String>, Vec<String>, Vec<String>) {
    let text = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let (mut ns, mut search, mut opts) = (vec![], vec![], vec![]);
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        match parts.next() {
            Some("nameserver") => ns.extend(parts.map(str::to_string)),
            Some("search") | Some("domain") => search = parts.map(str::to_string).collect(),
            Some("options") => opts.extend(parts.map(str::to_string)),
            _ => {}
        }
    }
    (ns, search, opts)
}

/// DNS config per the pod's dnsPolicy and dnsConfig.
pub fn dns_config(cfg: &KubeletConfig, pod: &Pod) -> cri::DnsConfig {
    let spec = pod.spec.clone().unwrap_or_default();
    let ns = pod
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".into());
    let host_net = spec.host_network == Some(true);
    let policy = spec
        .dns_policy
        .clone()
        .unwrap_or_else(|| "ClusterFirst".into());
    let (hns, hsearch, hopts) = host_resolv();
    let cluster = (policy == "ClusterFirst" && !host_net) || policy == "ClusterFirstWithHostNet";
    let mut dns = if policy == "None" {
        cri::DnsConfig::default()
    } else if cluster && !cfg.cluster_dns.is_empty() {
        let d = &cfg.cluster_domain;
        let mut searches = vec![format!("{ns}.svc.{d}"), format!("svc.{d}"), d.clone()];
        searches.extend(hsearch);
        cri::DnsConfig {
            servers: cfg.cluster_dns.clone(),
            searches,
            options: vec!["ndots:5".into()],
        }
    } else {
        cri::DnsConfig {
            servers: hns,
            searches: hsearch,
            options: hopts,
        }
    };
    if let Some(dc) = spec.dns_config {
        dns.servers.extend(dc.nameservers.unwrap_or_default());
        dns.searches.extend(dc.searches.unwrap_or_default());
        for o in dc.options.unwrap_or_default() {
            let name = o.name.unwrap_or_default();
            dns.options
                .retain(|x| x.split(':').next() != Some(name.as_str()));
            dns.options.push(match o.value {
                Some(v) => format!("{name}:{v}"),
                None => name,
            });
        }
    }
    dns.searches.dedup();
    dns
}

/// The sandbox config for `pod`, attempt `attempt`.
pub fn sandbox_config(cfg: &KubeletConfig, pod: &Pod, attempt: u32) -> cri::PodSandboxConfig {
    let (name, ns, uid) = ids(pod);
    let spec = pod.spec.clone().unwrap_or_default();
    let mut lbls: HashMap<String, String> = pod
        .metadata
        .labels
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    lbls.insert(labels::POD_NAME.into(), name.clone());
    lbls.insert(labels::POD_NAMESPACE.into(), ns.clone());
    lbls.insert(labels::POD_UID.into(), uid.clone());
    let annotations: HashMap<String, String> = pod
        .metadata
        .annotations
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    let hostname = if spec.host_network == Some(true) {
        String::new()
    } else {
        spec.hostname.clone().unwrap_or_else(|| name.clone())
    };
    let sysctls = spec
        .security_context
        .as_ref()
        .and_then(|s| s.sysctls.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|s| (s.name, s.value))
        .collect();
    cri::PodSandboxConfig {
        metadata: Some(cri::PodSandboxMetadata {
            name,
            uid: uid.clone(),
            namespace: ns,
            attempt,
        }),
        hostname,
        log_directory: log_dir(cfg, pod),
        dns_config: Some(dns_config(cfg, pod)),
        port_mappings: port_mappings(&spec),
        labels: lbls,
        annotations,
        linux: Some(cri::LinuxPodSandboxConfig {
            cgroup_parent: cgroup_parent(&cfg.cgroup_root, pod, &uid),
            security_context: Some(cri::LinuxSandboxSecurityContext {
                namespace_options: Some(namespace_options(&spec)),
                privileged: false,
                ..Default::default()
            }),
            sysctls,
            ..Default::default()
        }),
        windows: None,
    }
}

/// The host ports of every container.
fn port_mappings(spec: &PodSpec) -> Vec<cri::PortMapping> {
    let ports = spec
        .containers
        .iter()
        .flat_map(|c| c.ports.iter().flatten());
    ports
        .filter(|p| p.host_port.unwrap_or(0) != 0)
        .map(|p| {
            let proto = match p.protocol.as_deref() {
                Some("UDP") => cri::Protocol::Udp,
                Some("SCTP") => cri::Protocol::Sctp,
                _ => cri::Protocol::Tcp,
            };
            cri::PortMapping {
                protocol: proto as i32,
                container_port: p.container_port,
                host_port: p.host_port.unwrap_or(0),
                host_ip: p.host_ip.clone().unwrap_or_default(),
            }
        })
        .collect()
}

/// Network, PID and IPC namespaces: the node's when asked for, else the
/// pod's (one PID namespace per container).
fn namespace_options(spec: &PodSpec) -> cri::NamespaceOption {
    let mode = |host: Option<bool>, otherwise: cri::NamespaceMode| {
        if host == Some(true) {
            cri::NamespaceMode::Node as i32
        } else {
            otherwise as i32
        }
    };
    cri::NamespaceOption {
        network: mode(spec.host_network, cri::NamespaceMode::Pod),
        pid: mode(spec.host_pid, cri::NamespaceMode::Container),
        ipc: mode(spec.host_ipc, cri::NamespaceMode::Pod),
        ..Default::default()
    }
}

/// `<root>/kubepods/pod<uid>` for a Guaranteed pod, else under its QoS class.
fn cgroup_parent(root: &str, pod: &Pod, uid: &str) -> String {
    let root = root.trim_end_matches('/');
    let qos = qos_class(pod).to_lowercase();
    if qos == "guaranteed" {
        format!("{root}/kubepods/pod{uid}")
    } else {
        format!("{root}/kubepods/{qos}/pod{uid}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_cgroups_sit_under_the_cgroup_root_and_qos_class() {
        let pod = |resources: serde_json::Value| -> Pod {
            serde_json::from_value(serde_json::json!({
                "spec": {"containers": [{"name": "c", "resources": resources}]}
            }))
            .unwrap_or_default()
        };
        let guaranteed = serde_json::json!({
            "limits": {"cpu": "1", "memory": "64Mi"},
            "requests": {"cpu": "1", "memory": "64Mi"}
        });
        let burstable = serde_json::json!({"requests": {"cpu": "100m"}});
        let cases = [
            ("/", serde_json::json!({}), "/kubepods/besteffort/podu1"),
            ("/", burstable.clone(), "/kubepods/burstable/podu1"),
            ("/", guaranteed.clone(), "/kubepods/podu1"),
            ("/skiff-b", burstable, "/skiff-b/kubepods/burstable/podu1"),
            ("/skiff-c/", guaranteed, "/skiff-c/kubepods/podu1"),
        ];
        for (root, resources, want) in cases {
            assert_eq!(
                cgroup_parent(root, &pod(resources), "u1"),
                want,
                "root {root}"
            );
        }
    }

    #[test]
    fn namespaces_are_the_nodes_only_when_asked_for() {
        use cri::NamespaceMode::{Container, Node, Pod};
        let cases = [
            (serde_json::json!({}), (Pod, Container, Pod)),
            (
                serde_json::json!({"hostNetwork": true}),
                (Node, Container, Pod),
            ),
            (serde_json::json!({"hostPID": true}), (Pod, Node, Pod)),
            (serde_json::json!({"hostIPC": true}), (Pod, Container, Node)),
        ];
        for (spec, (network, pid, ipc)) in cases {
            let mut spec = spec;
            spec["containers"] = serde_json::json!([]);
            let spec: PodSpec = serde_json::from_value(spec).unwrap_or_default();
            let got = namespace_options(&spec);
            assert_eq!(
                (got.network, got.pid, got.ipc),
                (network as i32, pid as i32, ipc as i32),
                "{spec:?}"
            );
        }
    }

    #[test]
    fn only_host_ports_are_mapped() {
        let spec: PodSpec = serde_json::from_value(serde_json::json!({"containers": [
            {"name": "a", "ports": [{"containerPort": 80}, {"containerPort": 53, "hostPort": 5353, "protocol": "UDP"}]},
            {"name": "b", "ports": [{"containerPort": 443, "hostPort": 8443, "hostIP": "127.0.0.1"}]},
        ]}))
        .unwrap_or_default();
        let got: Vec<(i32, i32, i32, String)> = port_mappings(&spec)
            .into_iter()
            .map(|p| (p.protocol, p.container_port, p.host_port, p.host_ip))
            .collect();
        assert_eq!(
            got,
            vec![
                (cri::Protocol::Udp as i32, 53, 5353, String::new()),
                (cri::Protocol::Tcp as i32, 443, 8443, "127.0.0.1".into()),
            ]
        );
    }
}
