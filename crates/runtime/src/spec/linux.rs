//! The spec's `linux` section: namespaces (joining the pod's), cgroup resources and device
//! rules, masked and read-only /proc paths, sysctls, and for privileged containers the
//! host's device nodes (as containerd's `WithHostDevices`: every character and block device
//! under `/dev` except the per-container pseudo file systems and symlinks).

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use k8s_cri::v1::{LinuxContainerResources, LinuxContainerSecurityContext};
use oci_spec::runtime::{
    Linux, LinuxBuilder, LinuxCpuBuilder, LinuxDevice, LinuxDeviceBuilder,
    LinuxDeviceCgroupBuilder, LinuxDeviceType, LinuxMemoryBuilder, LinuxNamespace,
    LinuxNamespaceBuilder, LinuxNamespaceType, LinuxPidsBuilder, LinuxResources,
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

/// Sub-directories of `/dev` a container gets its own copy of.
const SKIP: &[&str] = &["pts", "shm", "mqueue", "fd", ".lxc", ".lxd-mounts", ".udev"];

/// Device nodes under `root` (normally `/dev`), with their numbers, modes and owners.
fn host_devices(root: &Path) -> Vec<LinuxDevice> {
    let mut out = Vec::new();
    collect(root, root, &mut out);
    out.sort_by(|a, b| a.path().cmp(b.path()));
    out
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<LinuxDevice>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let ft = meta.file_type();
        if ft.is_dir() {
            let name = entry.file_name();
            if dir == root && SKIP.iter().any(|s| name == *s) {
                continue;
            }
            collect(root, &path, out);
            continue;
        }
        let typ = if ft.is_char_device() {
            LinuxDeviceType::C
        } else if ft.is_block_device() {
            LinuxDeviceType::B
        } else {
            continue;
        };
        let (major, minor) = crate::sys::device_numbers(meta.rdev());
        // The container sees the same path below its own /dev.
        let inside = PathBuf::from("/dev").join(path.strip_prefix(root).unwrap_or(&path));
        if let Ok(dev) = LinuxDeviceBuilder::default()
            .path(inside)
            .typ(typ)
            .major(major)
            .minor(minor)
            .file_mode(meta.mode() & 0o777)
            .uid(meta.uid())
            .gid(meta.gid())
            .build()
        {
            out.push(dev);
        }
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
            host_devices(Path::new("/dev"))
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
    fn joins_the_pods_namespaces() {
        use k8s_cri::v1::{ContainerConfig, PodSandboxConfig};
        let (config, sandbox) = (ContainerConfig::default(), PodSandboxConfig::default());
        let image = skiff_images::ImageConfig::default();
        let netns = Path::new("/run/netns/p");
        let join = PidNamespace::Join("/proc/7/ns/pid".into());
        let (ipc, uts) = (Some("/proc/42/ns/ipc"), Some("/proc/42/ns/uts"));
        use LinuxNamespaceType::{Ipc, Mount, Network, Pid, Uts};
        let cases = [
            (
                Some(netns),
                PidNamespace::Own,
                vec![
                    (Mount, None),
                    (Pid, None),
                    (Network, Some("/run/netns/p")),
                    (Ipc, ipc),
                    (Uts, uts),
                ],
            ),
            (
                None,
                PidNamespace::Host,
                vec![(Mount, None), (Ipc, ipc), (Uts, uts)],
            ),
            (
                None,
                join,
                vec![
                    (Mount, None),
                    (Pid, Some("/proc/7/ns/pid")),
                    (Ipc, ipc),
                    (Uts, uts),
                ],
            ),
        ];
        for (netns, pid_ns, want) in cases {
            let inp = SpecInputs {
                config: &config,
                sandbox: &sandbox,
                image: &image,
                rootfs: Path::new("/r"),
                netns,
                ns_pid: 42,
                pid_ns,
                sandbox_dir: Path::new("/sb"),
                cgroup_path: "/c",
                memsw: false,
            };
            let got: Vec<_> = namespaces(&inp)
                .unwrap()
                .iter()
                .map(|n| (n.typ(), n.path().as_ref().map(|p| p.display().to_string())))
                .collect();
            let want: Vec<_> = want
                .into_iter()
                .map(|(t, p)| (t, p.map(str::to_string)))
                .collect();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn memory_swap_follows_the_limit_when_accounted() {
        let r = LinuxContainerResources {
            memory_limit_in_bytes: 64 << 20,
            ..Default::default()
        };
        let with = resources(Some(&r), true, false).unwrap();
        let mem = with.memory().unwrap();
        assert_eq!((mem.limit(), mem.swap()), (Some(64 << 20), Some(64 << 20)));
        let without = resources(Some(&r), false, false).unwrap();
        assert_eq!(without.memory().unwrap().swap(), None);
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

    #[test]
    fn lists_the_hosts_character_devices_with_their_numbers() {
        let devs = host_devices(Path::new("/dev"));
        let null = devs
            .iter()
            .find(|d| d.path() == Path::new("/dev/null"))
            .expect("/dev/null listed");
        assert_eq!((null.major(), null.minor()), (1, 3));
        assert_eq!(null.typ(), LinuxDeviceType::C);
        assert!(devs.iter().all(|d| !d.path().starts_with("/dev/pts")));
    }
}
