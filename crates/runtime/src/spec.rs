//! Builds the OCI runtime spec (config.json) of a container from the CRI
//! ContainerConfig, the image config and the sandbox it joins.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use k8s_cri::v1::{ContainerConfig, LinuxContainerResources, PodSandboxConfig};
use oci_spec::runtime::{
    Capability, LinuxBuilder, LinuxCapabilitiesBuilder, LinuxCpuBuilder, LinuxDeviceCgroupBuilder,
    LinuxMemoryBuilder, LinuxNamespaceBuilder, LinuxNamespaceType, LinuxResourcesBuilder, Mount,
    MountBuilder, ProcessBuilder, RootBuilder, Spec, SpecBuilder, UserBuilder,
};

use crate::images::ImageConfig;
use crate::user::{resolve_user, ResolvedUser};

/// Errors building a spec.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// Neither the container nor the image names a command.
    #[error("no command specified")]
    NoCommand,
    /// The user could not be resolved.
    #[error("user: {0}")]
    User(String),
    /// oci-spec rejected a value.
    #[error("oci spec: {0}")]
    Oci(#[from] oci_spec::OciSpecError),
    /// The seccomp profile could not be built.
    #[error(transparent)]
    Seccomp(#[from] crate::seccomp::SeccompError),
}

/// Everything besides the CRI config that a container's spec depends on.
pub struct SpecInputs<'a> {
    /// The CRI container config.
    pub config: &'a ContainerConfig,
    /// The pod's config.
    pub sandbox: &'a PodSandboxConfig,
    /// The image's config.
    pub image: &'a ImageConfig,
    /// Mounted rootfs (to resolve user names).
    pub rootfs: &'a Path,
    /// Network namespace to join (None = host network).
    pub netns: Option<&'a Path>,
    /// PID holding the pod's IPC/UTS namespaces (the infra process).
    pub ns_pid: i32,
    /// The container's PID namespace.
    pub pid_ns: PidNamespace,
    /// Directory with the sandbox's hosts, hostname, resolv.conf and shm/.
    pub sandbox_dir: &'a Path,
    /// cgroupsPath.
    pub cgroup_path: &'a str,
    /// Whether memory.memsw is available (swap accounting).
    pub memsw: bool,
}

/// Where a container's processes get their PID namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PidNamespace {
    /// A new one (CRI `CONTAINER`).
    Own,
    /// The node's (`NODE`, hostPID).
    Host,
    /// Join this one (`POD`: the pod's infra, or `TARGET`: another container's).
    Join(PathBuf),
}

const DEFAULT_CAPS: &[&str] = &[
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

/// The process argv per Kubernetes rules: command replaces the entrypoint (and then
/// the image cmd is dropped); args replace the image cmd.
pub fn argv(config: &ContainerConfig, image: &ImageConfig) -> Result<Vec<String>, SpecError> {
    let mut out = if config.command.is_empty() {
        image.entrypoint.clone()
    } else {
        config.command.clone()
    };
    if !config.args.is_empty() {
        out.extend(config.args.iter().cloned());
    } else if config.command.is_empty() {
        out.extend(image.cmd.iter().cloned());
    }
    if out.is_empty() {
        return Err(SpecError::NoCommand);
    }
    Ok(out)
}

/// Environment: image env, overridden by the CRI envs, with PATH and HOSTNAME filled in.
pub fn env(config: &ContainerConfig, image: &ImageConfig, hostname: &str) -> Vec<String> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut set = |k: &str, v: &str| {
        if let Some(e) = out.iter_mut().find(|(ek, _)| ek == k) {
            e.1 = v.to_string();
        } else {
            out.push((k.to_string(), v.to_string()));
        }
    };
    set(
        "PATH",
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    );
    if !hostname.is_empty() {
        set("HOSTNAME", hostname);
    }
    for e in &image.env {
        let (k, v) = e.split_once('=').unwrap_or((e.as_str(), ""));
        set(k, v);
    }
    for kv in &config.envs {
        set(&kv.key, &kv.value);
    }
    out.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
}

fn parse_cap(name: &str) -> Option<Capability> {
    let n = name.trim().to_ascii_uppercase();
    let n = n.strip_prefix("CAP_").unwrap_or(&n);
    serde_json::from_value(serde_json::Value::String(format!("CAP_{n}"))).ok()
}

fn capabilities(config: &ContainerConfig) -> HashSet<Capability> {
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

fn bind(dst: &str, src: &Path, opts: &[&str]) -> Result<Mount, SpecError> {
    Ok(MountBuilder::default()
        .destination(dst)
        .typ("bind")
        .source(src)
        .options(opts.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .build()?)
}

fn special(dst: &str, typ: &str, src: &str, opts: &[&str]) -> Result<Mount, SpecError> {
    Ok(MountBuilder::default()
        .destination(dst)
        .typ(typ)
        .source(src)
        .options(opts.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .build()?)
}

fn mounts(inp: &SpecInputs<'_>) -> Result<Vec<Mount>, SpecError> {
    // Privileged containers get /sys and the cgroup tree writable, as with containerd.
    let privileged = inp
        .config
        .linux
        .as_ref()
        .and_then(|l| l.security_context.as_ref())
        .is_some_and(|s| s.privileged);
    let sys_mode = if privileged { "rw" } else { "ro" };
    let mut out = vec![
        special("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"])?,
        special(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        )?,
        special(
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        )?,
        special(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        )?,
        special(
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", sys_mode],
        )?,
        special(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &["nosuid", "noexec", "nodev", "relatime", sys_mode],
        )?,
    ];
    let cri = &inp.config.mounts;
    let has = |p: &str| cri.iter().any(|m| m.container_path == p);
    let sd = inp.sandbox_dir;
    if !has("/dev/shm") {
        out.push(bind(
            "/dev/shm",
            &sd.join("shm"),
            &["rbind", "nosuid", "nodev", "noexec"],
        )?);
    }
    let ro_root = inp
        .config
        .linux
        .as_ref()
        .and_then(|l| l.security_context.as_ref())
        .is_some_and(|s| s.readonly_rootfs);
    let file_opts: &[&str] = if ro_root {
        &["rbind", "ro"]
    } else {
        &["rbind", "rw"]
    };
    for (dst, name) in [
        ("/etc/hosts", "hosts"),
        ("/etc/hostname", "hostname"),
        ("/etc/resolv.conf", "resolv.conf"),
    ] {
        if !has(dst) {
            out.push(bind(dst, &sd.join(name), file_opts)?);
        }
    }
    let mut sorted: Vec<_> = cri.iter().collect();
    sorted.sort_by_key(|m| Path::new(&m.container_path).components().count());
    for m in sorted {
        let mut opts = vec!["rbind"];
        opts.push(match m.propagation {
            1 => "rslave",
            2 => "rshared",
            _ => "rprivate",
        });
        opts.push(if m.readonly { "ro" } else { "rw" });
        out.push(bind(&m.container_path, Path::new(&m.host_path), &opts)?);
    }
    Ok(out)
}

fn resources(
    r: Option<&LinuxContainerResources>,
    memsw: bool,
    privileged: bool,
) -> Result<oci_spec::runtime::LinuxResources, SpecError> {
    // Privileged containers may use every device (containerd's WithAllDevicesAllowed).
    let deny_all = LinuxDeviceCgroupBuilder::default()
        .allow(privileged)
        .access("rwm")
        .build()?;
    let mut b = LinuxResourcesBuilder::default().devices(vec![deny_all]);
    if let Some(r) = r {
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
            b = b.pids(
                oci_spec::runtime::LinuxPidsBuilder::default()
                    .limit(pids)
                    .build()?,
            );
        }
    }
    Ok(b.build()?)
}

/// Build the spec.
pub fn build(inp: &SpecInputs<'_>) -> Result<Spec, SpecError> {
    let cfg = inp.config;
    let sc = cfg.linux.as_ref().and_then(|l| l.security_context.as_ref());
    let res = cfg.linux.as_ref().and_then(|l| l.resources.as_ref());
    let privileged = sc.is_some_and(|s| s.privileged);

    let user: ResolvedUser =
        resolve_user(inp.rootfs, sc, &inp.image.user).map_err(SpecError::User)?;
    let mut groups: Vec<u32> = user.additional_gids.clone();
    if let Some(s) = sc {
        groups.extend(s.supplemental_groups.iter().map(|g| *g as u32));
    }
    groups.sort_unstable();
    groups.dedup();
    let cwd = if !cfg.working_dir.is_empty() {
        cfg.working_dir.clone()
    } else if !inp.image.working_dir.is_empty() {
        inp.image.working_dir.clone()
    } else {
        "/".to_string()
    };
    let caps = if privileged {
        all_caps()
    } else {
        capabilities(cfg)
    };
    let seccomp = crate::seccomp::profile(sc, &caps)?;
    let mut process = ProcessBuilder::default()
        .terminal(cfg.tty)
        .args(argv(cfg, inp.image)?)
        .env(env(cfg, inp.image, &inp.sandbox.hostname))
        .cwd(PathBuf::from(cwd))
        .user(
            UserBuilder::default()
                .uid(user.uid)
                .gid(user.gid)
                .additional_gids(groups)
                .build()?,
        )
        .capabilities(
            LinuxCapabilitiesBuilder::default()
                .bounding(caps.clone())
                .effective(caps.clone())
                .permitted(caps)
                // oci-spec's defaults put KILL/NET_BIND_SERVICE/AUDIT_WRITE here, which
                // fails `drop: [ALL]`; containerd leaves both empty (CVE-2022-24769).
                .inheritable(HashSet::new())
                .ambient(HashSet::new())
                .build()?,
        )
        .no_new_privileges(sc.is_some_and(|s| s.no_new_privs))
        .oom_score_adj(res.map(|r| r.oom_score_adj as i32).unwrap_or(0))
        .build()?;
    if !sc.is_some_and(|s| s.no_new_privs) {
        // Absent means false (the OCI default); an explicit `false` makes libcontainer
        // load the seccomp filter after dropping CAP_SYS_ADMIN, which then fails.
        process.set_no_new_privileges(None);
    }

    let mut namespaces = vec![LinuxNamespaceBuilder::default()
        .typ(LinuxNamespaceType::Mount)
        .build()?];
    match &inp.pid_ns {
        PidNamespace::Own => namespaces.push(
            LinuxNamespaceBuilder::default()
                .typ(LinuxNamespaceType::Pid)
                .build()?,
        ),
        PidNamespace::Join(path) => namespaces.push(
            LinuxNamespaceBuilder::default()
                .typ(LinuxNamespaceType::Pid)
                .path(path)
                .build()?,
        ),
        PidNamespace::Host => {}
    }
    if let Some(netns) = inp.netns {
        namespaces.push(
            LinuxNamespaceBuilder::default()
                .typ(LinuxNamespaceType::Network)
                .path(netns)
                .build()?,
        );
    }
    for (typ, name) in [
        (LinuxNamespaceType::Ipc, "ipc"),
        (LinuxNamespaceType::Uts, "uts"),
    ] {
        namespaces.push(
            LinuxNamespaceBuilder::default()
                .typ(typ)
                .path(format!("/proc/{}/ns/{name}", inp.ns_pid))
                .build()?,
        );
    }
    let masked: Vec<String> = match sc {
        _ if privileged => Vec::new(),
        Some(s) if !s.masked_paths.is_empty() => s.masked_paths.clone(),
        _ => MASKED.iter().map(|s| s.to_string()).collect(),
    };
    let readonly: Vec<String> = match sc {
        _ if privileged => Vec::new(),
        Some(s) if !s.readonly_paths.is_empty() => s.readonly_paths.clone(),
        _ => READONLY.iter().map(|s| s.to_string()).collect(),
    };
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
    let linux = linux
        .namespaces(namespaces)
        .cgroups_path(PathBuf::from(inp.cgroup_path))
        .resources(resources(res, inp.memsw, privileged)?)
        .devices(if privileged {
            crate::devices::host_devices(Path::new("/dev"))
        } else {
            Vec::new()
        })
        .masked_paths(masked)
        .readonly_paths(readonly)
        .sysctl(sysctl)
        .build()?;
    let root = RootBuilder::default()
        .path(inp.rootfs)
        .readonly(sc.is_some_and(|s| s.readonly_rootfs))
        .build()?;
    let mut annotations = cfg.annotations.clone();
    annotations.insert(
        "io.kubernetes.cri.container-type".into(),
        "container".into(),
    );
    let mut spec = SpecBuilder::default()
        .version("1.0.2")
        .process(process)
        .root(root)
        .mounts(mounts(inp)?)
        .linux(linux)
        .annotations(annotations)
        .build()?;
    // The pod's UTS namespace already carries the hostname (set by the infra process).
    spec.set_hostname(None);
    Ok(spec)
}

fn all_caps() -> HashSet<Capability> {
    let text = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap").unwrap_or_default();
    let last: u32 = text.trim().parse().unwrap_or(40);
    const NAMES: &[&str] = &[
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
    // Like containerd: only what this process may grant (its bounding set), else the
    // OCI runtime fails to apply caps the host withholds (this VM drops SYS_RESOURCE).
    let bounding = bounding_set(&std::fs::read_to_string("/proc/self/status").unwrap_or_default());
    NAMES
        .iter()
        .take(last as usize + 1)
        .enumerate()
        .filter(|(bit, _)| bounding.is_none_or(|set| set & (1u64 << bit) != 0))
        .filter_map(|(_, n)| parse_cap(n))
        .collect()
}

/// The `CapBnd` mask of a `/proc/<pid>/status` text.
fn bounding_set(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_cri::v1::KeyValue;

    fn image() -> ImageConfig {
        ImageConfig {
            entrypoint: vec!["/ep".into()],
            cmd: vec!["c1".into()],
            env: vec!["A=1".into(), "PATH=/img".into()],
            ..Default::default()
        }
    }

    #[test]
    fn privileged_caps_stay_within_the_bounding_set() {
        assert_eq!(
            bounding_set("Name:\tx\nCapBnd:\t000001fffeffffff\nCapAmb:\t0\n"),
            Some(0x1fffeffffff)
        );
        assert_eq!(bounding_set("Name:\tx\n"), None);
        let own = bounding_set(&std::fs::read_to_string("/proc/self/status").unwrap()).unwrap();
        let all = all_caps();
        assert!(!all.is_empty());
        // SYS_RESOURCE is bit 24: present exactly when this process holds it.
        let sys_resource = parse_cap("SYS_RESOURCE").unwrap();
        assert_eq!(all.contains(&sys_resource), own & (1 << 24) != 0);
    }

    #[test]
    fn argv_follows_kubernetes_rules() {
        let img = image();
        let mut c = ContainerConfig::default();
        assert_eq!(argv(&c, &img).unwrap(), ["/ep", "c1"]);
        c.args = vec!["x".into()];
        assert_eq!(argv(&c, &img).unwrap(), ["/ep", "x"]);
        c.command = vec!["/cmd".into()];
        assert_eq!(argv(&c, &img).unwrap(), ["/cmd", "x"]);
        c.args.clear();
        assert_eq!(argv(&c, &img).unwrap(), ["/cmd"]);
        assert!(argv(&ContainerConfig::default(), &ImageConfig::default()).is_err());
    }

    #[test]
    fn env_overrides_image() {
        let mut c = ContainerConfig::default();
        c.envs.push(KeyValue {
            key: "A".into(),
            value: "2".into(),
        });
        let e = env(&c, &image(), "pod");
        assert!(e.contains(&"A=2".to_string()));
        assert!(e.contains(&"PATH=/img".to_string()));
        assert!(e.contains(&"HOSTNAME=pod".to_string()));
    }

    #[test]
    fn caps_default_and_drop_all() {
        let c = ContainerConfig::default();
        let caps = capabilities(&c);
        assert_eq!(caps.len(), DEFAULT_CAPS.len());
        assert!(parse_cap("net_admin").is_some());
    }
}
