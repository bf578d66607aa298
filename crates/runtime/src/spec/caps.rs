//! Capabilities: containerd's default set with the container's drops and adds, or for a
//! privileged container every capability this process may grant.

use std::collections::HashSet;

use k8s_cri::v1::ContainerConfig;
use oci_spec::runtime::Capability;

/// The default set of an unprivileged container (containerd's).
pub(super) const DEFAULT_CAPS: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "FSETID",
    "FOWNER",
    "MKNOD",
    "NET_RAW",
    "SETGID",
    "SETUID",
    "SETFCAP",
    "SETPCAP",
    "NET_BIND_SERVICE",
    "SYS_CHROOT",
    "KILL",
    "AUDIT_WRITE",
];

/// Every capability by bit number.
const ALL_CAPS: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// `net_admin`, `CAP_NET_ADMIN` → the capability.
pub(super) fn parse_cap(name: &str) -> Option<Capability> {
    let n = name.trim().to_ascii_uppercase();
    let n = n.strip_prefix("CAP_").unwrap_or(&n);
    serde_json::from_value(serde_json::Value::String(format!("CAP_{n}"))).ok()
}

/// The default set minus the container's drops (`ALL` drops all) plus its adds.
pub(super) fn for_container(config: &ContainerConfig) -> HashSet<Capability> {
    let sc = config
        .linux
        .as_ref()
        .and_then(|l| l.security_context.as_ref());
    let mut names: Vec<String> = DEFAULT_CAPS.iter().map(|s| s.to_string()).collect();
    if let Some(caps) = sc.and_then(|s| s.capabilities.as_ref()) {
        if caps
            .drop_capabilities
            .iter()
            .any(|c| c.eq_ignore_ascii_case("ALL"))
        {
            names.clear();
        }
        let drop: Vec<String> = caps
            .drop_capabilities
            .iter()
            .map(|c| {
                c.to_ascii_uppercase()
                    .trim_start_matches("CAP_")
                    .to_string()
            })
            .collect();
        names.retain(|n| !drop.contains(n));
        names.extend(caps.add_capabilities.iter().cloned());
    }
    names.iter().filter_map(|n| parse_cap(n)).collect()
}

/// Every capability the kernel knows (`last`: the highest number) that `bounding` allows.
pub(super) fn privileged(last: u32, bounding: Option<u64>) -> HashSet<Capability> {
    // Like containerd: only what this process may grant (its bounding set), else the
    // OCI runtime fails to apply caps the host withholds (this VM drops SYS_RESOURCE).
    ALL_CAPS
        .iter()
        .take(last as usize + 1)
        .enumerate()
        .filter(|(bit, _)| bounding.is_none_or(|set| set & (1u64 << bit) != 0))
        .filter_map(|(_, n)| parse_cap(n))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_cri::v1::{Capability as CriCaps, LinuxContainerConfig, LinuxContainerSecurityContext};

    #[test]
    fn privileged_caps_stay_within_the_bounding_set() {
        let sys_resource = parse_cap("SYS_RESOURCE").unwrap();
        // SYS_RESOURCE is bit 24.
        let without = privileged(40, Some(!(1 << 24)));
        assert!(!without.contains(&sys_resource));
        assert!(without.contains(&parse_cap("SYS_ADMIN").unwrap()));
        assert!(privileged(40, None).contains(&sys_resource));
        // Capabilities past the kernel's last are not granted.
        assert!(!privileged(37, None).contains(&parse_cap("BPF").unwrap()));
        let (last, own) = crate::sys::process::capability_bounds();
        assert_eq!(
            privileged(last, own).contains(&sys_resource),
            own.is_none_or(|m| m & (1 << 24) != 0)
        );
    }

    #[test]
    fn caps_default_drop_all_and_add() {
        let c = ContainerConfig::default();
        assert_eq!(for_container(&c).len(), DEFAULT_CAPS.len());
        assert!(parse_cap("net_admin").is_some());
        let with = |drop: &[&str], add: &[&str]| ContainerConfig {
            linux: Some(LinuxContainerConfig {
                security_context: Some(LinuxContainerSecurityContext {
                    capabilities: Some(CriCaps {
                        drop_capabilities: drop.iter().map(|s| s.to_string()).collect(),
                        add_capabilities: add.iter().map(|s| s.to_string()).collect(),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let only_admin = for_container(&with(&["ALL"], &["NET_ADMIN"]));
        assert_eq!(only_admin.len(), 1);
        assert!(only_admin.contains(&parse_cap("NET_ADMIN").unwrap()));
        let no_chown = for_container(&with(&["CAP_CHOWN"], &[]));
        assert_eq!(no_chown.len(), DEFAULT_CAPS.len() - 1);
    }
}
