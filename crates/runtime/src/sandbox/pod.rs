//! What a sandbox is made of, read from the kubelet's `PodSandboxConfig`: its namespace
//! modes, its cgroup parent, and the `/etc/hosts`, `/etc/hostname` and `/etc/resolv.conf`
//! files its containers get.

use k8s_cri::v1::{DnsConfig, NamespaceOption, PodSandboxConfig};

/// CRI NamespaceMode: one namespace for the pod.
pub(crate) const POD: i32 = 0;
/// One namespace per container.
pub(crate) const CONTAINER: i32 = 1;
/// The node's namespace.
pub(crate) const NODE: i32 = 2;
/// Another container's namespace (`target_id`).
pub(crate) const TARGET: i32 = 3;

/// The pod's namespace options; without any, every namespace is per pod except
/// PID, which is per container (what the kubelet sends by default).
pub(crate) fn namespace_options(cfg: &PodSandboxConfig) -> NamespaceOption {
    cfg.linux
        .as_ref()
        .and_then(|l| l.security_context.as_ref())
        .and_then(|s| s.namespace_options.clone())
        .unwrap_or(NamespaceOption {
            pid: CONTAINER,
            ..Default::default()
        })
}

/// Whether the pod uses the node's network namespace.
pub(crate) fn host_network(cfg: &PodSandboxConfig) -> bool {
    namespace_options(cfg).network == NODE
}

/// The parent cgroup of the pod's containers: the kubelet's, else `/skiff/<pod uid>`.
pub(crate) fn cgroup_parent(cfg: &PodSandboxConfig) -> String {
    let given = cfg
        .linux
        .as_ref()
        .map(|l| l.cgroup_parent.clone())
        .unwrap_or_default();
    if !given.is_empty() {
        return given;
    }
    let uid = cfg
        .metadata
        .as_ref()
        .map(|m| m.uid.clone())
        .unwrap_or_default();
    let uid = if uid.is_empty() {
        "pod".to_string()
    } else {
        uid
    };
    format!("/skiff/{uid}")
}

/// `/etc/resolv.conf` text for a DNS config (the host's file when there is none).
pub(crate) fn resolv_conf(dns: Option<&DnsConfig>) -> String {
    let Some(dns) = dns.filter(|d| !d.servers.is_empty() || !d.searches.is_empty()) else {
        return std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    };
    let mut out = String::new();
    if !dns.searches.is_empty() {
        out.push_str(&format!("search {}\n", dns.searches.join(" ")));
    }
    for s in &dns.servers {
        out.push_str(&format!("nameserver {s}\n"));
    }
    if !dns.options.is_empty() {
        out.push_str(&format!("options {}\n", dns.options.join(" ")));
    }
    out
}

/// `/etc/hosts` text for a pod.
pub(crate) fn hosts_file(ip: Option<&str>, hostname: &str) -> String {
    let mut out = String::from(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n",
    );
    if let (Some(ip), false) = (ip, hostname.is_empty()) {
        out.push_str(&format!("{ip}\t{hostname}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_cri::v1::{LinuxPodSandboxConfig, PodSandboxMetadata};

    #[test]
    fn resolv_conf_from_dns_config() {
        let dns = DnsConfig {
            servers: vec!["10.43.0.10".into()],
            searches: vec![
                "default.svc.cluster.local".into(),
                "svc.cluster.local".into(),
            ],
            options: vec!["ndots:5".into()],
        };
        assert_eq!(
            resolv_conf(Some(&dns)),
            "search default.svc.cluster.local svc.cluster.local\nnameserver 10.43.0.10\noptions ndots:5\n"
        );
    }

    #[test]
    fn hosts_has_pod_line() {
        assert!(hosts_file(Some("10.1.0.2"), "web").ends_with("10.1.0.2\tweb\n"));
        assert!(!hosts_file(None, "web").contains("web"));
    }

    #[test]
    fn cgroup_parent_is_the_kubelets_or_per_pod() {
        let mut cfg = PodSandboxConfig {
            metadata: Some(PodSandboxMetadata {
                uid: "u1".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(cgroup_parent(&cfg), "/skiff/u1");
        cfg.linux = Some(LinuxPodSandboxConfig {
            cgroup_parent: "/kubepods/besteffort/podu1".into(),
            ..Default::default()
        });
        assert_eq!(cgroup_parent(&cfg), "/kubepods/besteffort/podu1");
        assert_eq!(cgroup_parent(&PodSandboxConfig::default()), "/skiff/pod");
    }
}
