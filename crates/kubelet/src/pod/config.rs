//! Translating a pod into CRI configs: the PodSandboxConfig (hostname, DNS,
//! ports, log dir, cgroup parent, labels) and each ContainerConfig (image,
//! command, env, mounts, resources, labels and annotations).

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};

use k8s_cri::v1 as cri;
use k8s_openapi::api::core::v1::{Container, Pod};

use super::resources::{linux_resources, qos_class};
use super::volumes::Prepared;
use crate::config::KubeletConfig;
use crate::cri::labels;

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
    let mut ports = vec![];
    for c in &spec.containers {
        for p in c.ports.iter().flatten() {
            if p.host_port.unwrap_or(0) == 0 {
                continue;
            }
            let proto = match p.protocol.as_deref() {
                Some("UDP") => cri::Protocol::Udp,
                Some("SCTP") => cri::Protocol::Sctp,
                _ => cri::Protocol::Tcp,
            };
            ports.push(cri::PortMapping {
                protocol: proto as i32,
                container_port: p.container_port,
                host_port: p.host_port.unwrap_or(0),
                host_ip: p.host_ip.clone().unwrap_or_default(),
            });
        }
    }
    let hostname = if spec.host_network == Some(true) {
        String::new()
    } else {
        spec.hostname.clone().unwrap_or_else(|| name.clone())
    };
    let network = if spec.host_network == Some(true) {
        cri::NamespaceMode::Node
    } else {
        cri::NamespaceMode::Pod
    };
    let pid = if spec.host_pid == Some(true) {
        cri::NamespaceMode::Node
    } else {
        cri::NamespaceMode::Container
    };
    let ipc = if spec.host_ipc == Some(true) {
        cri::NamespaceMode::Node
    } else {
        cri::NamespaceMode::Pod
    };
    let qos = qos_class(pod).to_lowercase();
    let cgroup_parent = if qos == "guaranteed" {
        format!("/kubepods/pod{uid}")
    } else {
        format!("/kubepods/{qos}/pod{uid}")
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
            uid,
            namespace: ns,
            attempt,
        }),
        hostname,
        log_directory: log_dir(cfg, pod),
        dns_config: Some(dns_config(cfg, pod)),
        port_mappings: ports,
        labels: lbls,
        annotations,
        linux: Some(cri::LinuxPodSandboxConfig {
            cgroup_parent,
            security_context: Some(cri::LinuxSandboxSecurityContext {
                namespace_options: Some(cri::NamespaceOption {
                    network: network as i32,
                    pid: pid as i32,
                    ipc: ipc as i32,
                    ..Default::default()
                }),
                privileged: false,
                ..Default::default()
            }),
            sysctls,
            ..Default::default()
        }),
        windows: None,
    }
}

/// A stable hash of the container spec (to notice spec changes).
pub fn container_hash(c: &Container) -> String {
    let text = serde_json::to_string(c).unwrap_or_default();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    format!("{:x}", h.finish() & 0xffff_ffff)
}

/// Everything needed to build a ContainerConfig.
pub struct ContainerInputs<'a> {
    /// The container spec.
    pub container: &'a Container,
    /// Restart count of the new instance.
    pub restart_count: i32,
    /// Final environment.
    pub env: Vec<(String, String)>,
    /// Command after expansion.
    pub command: Vec<String>,
    /// Args after expansion.
    pub args: Vec<String>,
    /// Prepared volumes by name.
    pub volumes: &'a BTreeMap<String, Prepared>,
    /// Node memory capacity for OOM scores.
    pub node_memory: i64,
}

/// The CRI config of one container.
pub fn container_config(pod: &Pod, inp: ContainerInputs<'_>) -> cri::ContainerConfig {
    let (name, ns, uid) = ids(pod);
    let c = inp.container;
    let mut lbls = HashMap::new();
    lbls.insert(labels::POD_NAME.to_string(), name.clone());
    lbls.insert(labels::POD_NAMESPACE.to_string(), ns);
    lbls.insert(labels::POD_UID.to_string(), uid);
    lbls.insert(labels::CONTAINER_NAME.to_string(), c.name.clone());
    let grace = pod
        .spec
        .as_ref()
        .and_then(|s| s.termination_grace_period_seconds)
        .unwrap_or(30);
    let term_path = c
        .termination_message_path
        .clone()
        .unwrap_or_else(|| "/dev/termination-log".into());
    let mut ann = HashMap::new();
    ann.insert(labels::CONTAINER_HASH.to_string(), container_hash(c));
    ann.insert(
        labels::RESTART_COUNT.to_string(),
        inp.restart_count.to_string(),
    );
    ann.insert(labels::TERMINATION_MESSAGE_PATH.to_string(), term_path);
    ann.insert(labels::TERMINATION_GRACE.to_string(), grace.to_string());
    let mut mounts = vec![];
    for vm in c.volume_mounts.iter().flatten() {
        let Some(v) = inp.volumes.get(&vm.name) else {
            continue;
        };
        let mut host = v.host_path.clone();
        if let Some(sub) = vm.sub_path.as_deref().filter(|s| !s.is_empty()) {
            host = host.join(sub);
            if !host.exists() {
                let _ = std::fs::create_dir_all(&host);
            }
        }
        let propagation = match vm.mount_propagation.as_deref() {
            Some("HostToContainer") => cri::MountPropagation::PropagationHostToContainer,
            Some("Bidirectional") => cri::MountPropagation::PropagationBidirectional,
            _ => cri::MountPropagation::PropagationPrivate,
        };
        mounts.push(cri::Mount {
            container_path: vm.mount_path.clone(),
            host_path: host.to_string_lossy().into_owned(),
            readonly: vm.read_only.unwrap_or(false) || v.read_only,
            propagation: propagation as i32,
            ..Default::default()
        });
    }
    let mut envs = vec![cri::KeyValue {
        key: "HOSTNAME".into(),
        value: pod
            .spec
            .as_ref()
            .and_then(|s| s.hostname.clone())
            .unwrap_or(name),
    }];
    envs.extend(
        inp.env
            .into_iter()
            .map(|(key, value)| cri::KeyValue { key, value }),
    );
    let sc = c.security_context.clone().unwrap_or_default();
    let psc = pod
        .spec
        .as_ref()
        .and_then(|s| s.security_context.clone())
        .unwrap_or_default();
    let run_as_user = sc.run_as_user.or(psc.run_as_user);
    let run_as_group = sc.run_as_group.or(psc.run_as_group);
    let caps = sc.capabilities.clone().unwrap_or_default();
    cri::ContainerConfig {
        metadata: Some(cri::ContainerMetadata {
            name: c.name.clone(),
            attempt: inp.restart_count as u32,
        }),
        image: Some(cri::ImageSpec {
            image: c.image.clone().unwrap_or_default(),
            user_specified_image: c.image.clone().unwrap_or_default(),
            ..Default::default()
        }),
        command: inp.command,
        args: inp.args,
        working_dir: c.working_dir.clone().unwrap_or_default(),
        envs,
        mounts,
        labels: lbls,
        annotations: ann,
        log_path: format!("{}/{}.log", c.name, inp.restart_count),
        stdin: c.stdin.unwrap_or(false),
        stdin_once: c.stdin_once.unwrap_or(false),
        tty: c.tty.unwrap_or(false),
        linux: Some(cri::LinuxContainerConfig {
            resources: Some(linux_resources(pod, c, inp.node_memory)),
            security_context: Some(cri::LinuxContainerSecurityContext {
                privileged: sc.privileged.unwrap_or(false),
                run_as_user: run_as_user.map(|value| cri::Int64Value { value }),
                run_as_group: run_as_group.map(|value| cri::Int64Value { value }),
                readonly_rootfs: sc.read_only_root_filesystem.unwrap_or(false),
                no_new_privs: sc.allow_privilege_escalation == Some(false),
                // Upstream adds the pod's fsGroup to every container's groups.
                supplemental_groups: psc
                    .supplemental_groups
                    .clone()
                    .unwrap_or_default()
                    .into_iter()
                    .chain(psc.fs_group)
                    .collect(),
                capabilities: Some(cri::Capability {
                    add_capabilities: caps.add.unwrap_or_default(),
                    drop_capabilities: caps.drop.unwrap_or_default(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        }),
        ..Default::default()
    }
}
