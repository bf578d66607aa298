//! The spec's `linux` section: namespaces (joining the pod's), cgroup resources and device
//! rules, masked and read-only /proc paths, sysctls, and the host's devices when privileged.

use std::path::{Path, PathBuf};

use k8s_cri::v1::{LinuxContainerResources, LinuxContainerSecurityContext};
use oci_spec::runtime::{
    Linux, LinuxBuilder, LinuxCpuBuilder, LinuxDeviceCgroupBuilder, LinuxMemoryBuilder,
    LinuxNamespace, LinuxNamespaceBuilder, LinuxNamespaceType, LinuxPidsBuilder, LinuxResources,
    LinuxResourcesBuilder, LinuxSeccomp,
};

use super::{PidNamespace, SpecError, SpecInputs};

const MASKED: &[&str] = &[
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

const READONLY: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

fn namespace(typ: LinuxNamespaceType, path: Option<&Path>) -> Result<LinuxNamespace, SpecError> {
    let mut b = LinuxNamespaceBuilder::default().typ(typ);
    if let Some(p) = path {
        b = b.path(p);
    }
    Ok(b.build()?)
}

/// A new mount namespace; the PID namespace asked for; the pod's network (unless host
/// network), IPC and UTS namespaces, those of the infra process `ns_pid`.
fn namespaces(inp: &SpecInputs<'_>) -> Result<Vec<LinuxNamespace>, SpecError> {
    let mut out = vec![namespace(LinuxNamespaceType::Mount, None)?];
    match &inp.pid_ns {
        PidNamespace::Own => out.push(namespace(LinuxNamespaceType::Pid, None)?),
        PidNamespace::Join(path) => out.push(namespace(LinuxNamespaceType::Pid, Some(path))?),
        PidNamespace::Host => {}
    }
    if let Some(netns) = inp.netns {
        out.push(namespace(LinuxNamespaceType::Network, Some(netns))?);
    }
    for (typ, name) in [
        (LinuxNamespaceType::Ipc, "ipc"),
        (LinuxNamespaceType::Uts, "uts"),
    ] {
        let path = PathBuf::from(format!("/proc/{}/ns/{name}", inp.ns_pid));
        out.push(namespace(typ, Some(&path))?);
    }
    Ok(out)
}

/// cgroup limits from the CRI resources; the device rule denies all but for privileged
/// containers, which may use every device (containerd's `WithAllDevicesAllowed`).
fn resources(
    r: Option<&LinuxContainerResources>,
    memsw: bool,
    privileged: bool,
) -> Result<LinuxResources, SpecError> {
    let devices = LinuxDeviceCgroupBuilder::default()
        .allow(privileged)
        .access("rwm")
        .build()?;
    let mut b = LinuxResourcesBuilder::default().devices(vec![devices]);
    let Some(r) = r else {
        return Ok(b.build()?);
    };
    let mut cpu = LinuxCpuBuilder::default();
    if r.cpu_shares > 0 {
        cpu = cpu.shares(r.cpu_shares as u64);
    }
    if r.cpu_quota > 0 {
        cpu = cpu.quota(r.cpu_quota);
    }
    if r.cpu_period > 0 {
        cpu = cpu.period(r.cpu_period as u64);
    }
    if !r.cpuset_cpus.is_empty() {
        cpu = cpu.cpus(r.cpuset_cpus.clone());
    }
    if !r.cpuset_mems.is_empty() {
        cpu = cpu.mems(r.cpuset_mems.clone());
    }
    b = b.cpu(cpu.build()?);
    if r.memory_limit_in_bytes > 0 {
        let mut mem = LinuxMemoryBuilder::default().limit(r.memory_limit_in_bytes);
        if memsw {
            let swap = if r.memory_swap_limit_in_bytes > 0 {
                r.memory_swap_limit_in_bytes
            } else {
                r.memory_limit_in_bytes
            };
            mem = mem.swap(swap);
        }
        b = b.memory(mem.build()?);
    }
    if let Some(pids) = r
        .unified
        .get("pids.max")
        .and_then(|v| v.parse::<i64>().ok())
    {
        b = b.pids(LinuxPidsBuilder::default().limit(pids).build()?);
    }
    Ok(b.build()?)
}

/// The container's list, the defaults, or nothing for privileged containers.
fn paths(given: Option<&Vec<String>>, default: &[&str], privileged: bool) -> Vec<String> {
    match given {
        _ if privileged => Vec::new(),
        Some(p) if !p.is_empty() => p.clone(),
        _ => default.iter().map(|s| s.to_string()).collect(),
    }
}

/// The `linux` section.
pub(super) fn build(
    inp: &SpecInputs<'_>,
    sc: Option<&LinuxContainerSecurityContext>,
    seccomp: Option<LinuxSeccomp>,
) -> Result<Linux, SpecError> {
    let privileged = sc.is_some_and(|s| s.privileged);
    let res = inp.config.linux.as_ref().and_then(|l| l.resources.as_ref());
    let sysctl = inp
        .sandbox
        .linux
        .as_ref()
        .map(|l| l.sysctls.clone())
        .unwrap_or_default();
    let mut linux = LinuxBuilder::default();
    if let Some(profile) = seccomp {
        linux = linux.seccomp(profile);
    }
    Ok(linux
        .namespaces(namespaces(inp)?)
        .cgroups_path(PathBuf::from(inp.cgroup_path))
        .resources(resources(res, inp.memsw, privileged)?)
        .devices(if privileged {
            super::devices::host_devices(Path::new("/dev"))
        } else {
            Vec::new()
        })
        .masked_paths(paths(sc.map(|s| &s.masked_paths), MASKED, privileged))
        .readonly_paths(paths(sc.map(|s| &s.readonly_paths), READONLY, privileged))
        .sysctl(sysctl)
        .build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_swap_follows_the_limit_when_accounted() {
        let r = LinuxContainerResources {
            memory_limit_in_bytes: 64 << 20,
            ..Default::default()
        };
        let with = resources(Some(&r), true, false).unwrap();
        let mem = with.memory().clone().unwrap();
        assert_eq!((mem.limit(), mem.swap()), (Some(64 << 20), Some(64 << 20)));
        let without = resources(Some(&r), false, false).unwrap();
        assert_eq!(without.memory().clone().unwrap().swap(), None);
        let devices = resources(None, false, true)
            .unwrap()
            .devices()
            .clone()
            .unwrap();
        assert!(devices[0].allow());
    }

    #[test]
    fn masked_paths_default_unless_given_or_privileged() {
        let given = vec!["/x".to_string()];
        assert_eq!(paths(Some(&given), MASKED, false), ["/x"]);
        assert_eq!(paths(Some(&Vec::new()), MASKED, false).len(), MASKED.len());
        assert_eq!(paths(None, READONLY, false).len(), READONLY.len());
        assert!(paths(Some(&given), MASKED, true).is_empty());
    }
}
