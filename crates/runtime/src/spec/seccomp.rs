//! Seccomp profiles for the OCI spec: `RuntimeDefault` (a deny list: the system
//! calls the Docker/containerd default profile withholds from an unprivileged
//! container fail with EPERM, unless the container holds the capability that would
//! unlock them there), `Localhost` (an OCI/Docker-format JSON file) and Unconfined.

use std::collections::HashSet;

use k8s_cri::v1::LinuxContainerSecurityContext;
use oci_spec::runtime::{
    Arch, Capability, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArgBuilder,
    LinuxSeccompBuilder, LinuxSeccompOperator, LinuxSyscall, LinuxSyscallBuilder,
};

/// Errors building a seccomp profile.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SeccompError {
    /// A localhost profile could not be read or parsed.
    #[error("seccomp profile {path}: {message}")]
    Localhost {
        /// Profile file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// oci-spec rejected a value.
    #[error("seccomp: {0}")]
    Oci(#[from] oci_spec::OciSpecError),
}

/// System calls denied by default, with the capability that allows each (if any).
const DENIED: &[(&str, Option<&str>)] = &[
    ("acct", Some("SYS_PACCT")),
    ("add_key", None),
    ("bpf", Some("SYS_ADMIN")),
    ("clock_adjtime", Some("SYS_TIME")),
    ("clock_settime", Some("SYS_TIME")),
    ("create_module", None),
    ("delete_module", Some("SYS_MODULE")),
    ("fanotify_init", Some("SYS_ADMIN")),
    ("finit_module", Some("SYS_MODULE")),
    ("fsconfig", Some("SYS_ADMIN")),
    ("fsmount", Some("SYS_ADMIN")),
    ("fsopen", Some("SYS_ADMIN")),
    ("fspick", Some("SYS_ADMIN")),
    ("get_kernel_syms", None),
    ("get_mempolicy", Some("SYS_NICE")),
    ("init_module", Some("SYS_MODULE")),
    ("ioperm", Some("SYS_RAWIO")),
    ("iopl", Some("SYS_RAWIO")),
    ("kcmp", Some("SYS_PTRACE")),
    ("kexec_file_load", Some("SYS_BOOT")),
    ("kexec_load", Some("SYS_BOOT")),
    ("keyctl", None),
    ("lookup_dcookie", Some("SYS_ADMIN")),
    ("mbind", Some("SYS_NICE")),
    ("mount", Some("SYS_ADMIN")),
    ("mount_setattr", Some("SYS_ADMIN")),
    ("move_mount", Some("SYS_ADMIN")),
    ("move_pages", Some("SYS_NICE")),
    ("name_to_handle_at", Some("SYS_ADMIN")),
    ("nfsservctl", None),
    ("open_by_handle_at", Some("DAC_READ_SEARCH")),
    ("open_tree", Some("SYS_ADMIN")),
    ("perf_event_open", Some("SYS_ADMIN")),
    ("pivot_root", Some("SYS_ADMIN")),
    ("process_vm_readv", Some("SYS_PTRACE")),
    ("process_vm_writev", Some("SYS_PTRACE")),
    ("query_module", None),
    ("quotactl", Some("SYS_ADMIN")),
    ("reboot", Some("SYS_BOOT")),
    ("request_key", None),
    ("set_mempolicy", Some("SYS_NICE")),
    ("setns", Some("SYS_ADMIN")),
    ("settimeofday", Some("SYS_TIME")),
    ("stime", Some("SYS_TIME")),
    ("swapoff", Some("SYS_ADMIN")),
    ("swapon", Some("SYS_ADMIN")),
    ("_sysctl", None),
    ("sysfs", None),
    ("syslog", Some("SYSLOG")),
    ("umount", Some("SYS_ADMIN")),
    ("umount2", Some("SYS_ADMIN")),
    ("unshare", Some("SYS_ADMIN")),
    ("uselib", None),
    ("userfaultfd", None),
    ("ustat", None),
    ("vhangup", Some("SYS_TTY_CONFIG")),
    ("vm86", None),
    ("vm86old", None),
];

/// clone(2) flags creating namespaces: denied without CAP_SYS_ADMIN.
const NS_FLAGS: &[u64] = &[
    0x0002_0000, // CLONE_NEWNS
    0x0200_0000, // CLONE_NEWCGROUP
    0x0400_0000, // CLONE_NEWUTS
    0x0800_0000, // CLONE_NEWIPC
    0x1000_0000, // CLONE_NEWUSER
    0x2000_0000, // CLONE_NEWPID
    0x4000_0000, // CLONE_NEWNET
];

const EPERM: u32 = 1;
const ENOSYS: u32 = 38;

/// The profile a container asks for; `None` = unconfined.
pub(crate) fn profile(
    sc: Option<&LinuxContainerSecurityContext>,
    caps: &HashSet<Capability>,
) -> Result<Option<LinuxSeccomp>, SeccompError> {
    let Some(sc) = sc else { return Ok(None) };
    if sc.privileged {
        return Ok(None);
    }
    // The deprecated string field is what older kubelets send.
    #[allow(deprecated)]
    let (kind, localhost) = match &sc.seccomp {
        Some(p) => (p.profile_type, p.localhost_ref.clone()),
        None => match sc.seccomp_profile_path.as_str() {
            "runtime/default" | "docker/default" => (0, String::new()),
            p if p.starts_with("localhost/") => (2, p["localhost/".len()..].to_string()),
            _ => (1, String::new()),
        },
    };
    match kind {
        0 => runtime_default(caps).map(Some),
        2 => localhost_profile(&localhost).map(Some),
        _ => Ok(None),
    }
}

fn has(caps: &HashSet<Capability>, name: &str) -> bool {
    serde_json::from_value::<Capability>(serde_json::Value::String(format!("CAP_{name}")))
        .is_ok_and(|c| caps.contains(&c))
}

fn deny(names: Vec<String>, errno: u32) -> Result<LinuxSyscall, SeccompError> {
    Ok(LinuxSyscallBuilder::default()
        .names(names)
        .action(LinuxSeccompAction::ScmpActErrno)
        .errno_ret(errno)
        .build()?)
}

/// The RuntimeDefault deny list for a container holding `caps`.
pub(crate) fn runtime_default(caps: &HashSet<Capability>) -> Result<LinuxSeccomp, SeccompError> {
    let names: Vec<String> = DENIED
        .iter()
        .filter(|(_, cap)| !cap.is_some_and(|c| has(caps, c)))
        .map(|(n, _)| n.to_string())
        .collect();
    let mut syscalls = vec![deny(names, EPERM)?];
    // Make libc fall back from clone3 (whose flags cannot be inspected) to clone.
    syscalls.push(deny(vec!["clone3".into()], ENOSYS)?);
    if !has(caps, "SYS_ADMIN") {
        for flag in NS_FLAGS {
            let arg = LinuxSeccompArgBuilder::default()
                .index(0usize)
                .value(*flag)
                .value_two(*flag)
                .op(LinuxSeccompOperator::ScmpCmpMaskedEq)
                .build()?;
            syscalls.push(
                LinuxSyscallBuilder::default()
                    .names(vec!["clone".to_string()])
                    .action(LinuxSeccompAction::ScmpActErrno)
                    .errno_ret(EPERM)
                    .args(vec![arg])
                    .build()?,
            );
        }
    }
    let arches = if cfg!(target_arch = "x86_64") {
        vec![Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32]
    } else if cfg!(target_arch = "aarch64") {
        vec![Arch::ScmpArchAarch64, Arch::ScmpArchArm]
    } else {
        vec![Arch::ScmpArchNative]
    };
    Ok(LinuxSeccompBuilder::default()
        .default_action(LinuxSeccompAction::ScmpActAllow)
        .architectures(arches)
        .syscalls(syscalls)
        .build()?)
}

fn localhost_profile(path: &str) -> Result<LinuxSeccomp, SeccompError> {
    let err = |message: String| SeccompError::Localhost {
        path: path.to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| err(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_cri::v1::SecurityProfile;

    fn ctx(kind: i32) -> LinuxContainerSecurityContext {
        LinuxContainerSecurityContext {
            seccomp: Some(SecurityProfile {
                profile_type: kind,
                localhost_ref: String::new(),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn runtime_default_denies_mount_unless_sys_admin() {
        let none = HashSet::new();
        let p = profile(Some(&ctx(0)), &none).unwrap().unwrap();
        let denied = &p.syscalls().as_ref().unwrap()[0];
        assert!(denied.names().contains(&"mount".to_string()));
        assert!(denied.names().contains(&"unshare".to_string()));
        let admin: HashSet<Capability> = [Capability::SysAdmin].into_iter().collect();
        let p = profile(Some(&ctx(0)), &admin).unwrap().unwrap();
        let denied = &p.syscalls().as_ref().unwrap()[0];
        assert!(!denied.names().contains(&"mount".to_string()));
        assert!(denied.names().contains(&"keyctl".to_string()));
        assert!(profile(Some(&ctx(1)), &none).unwrap().is_none());
        assert!(profile(None, &none).unwrap().is_none());
    }
}
