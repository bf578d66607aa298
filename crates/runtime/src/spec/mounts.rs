//! The container's mounts: the kernel file systems (/proc, /dev, /sys, cgroups), the pod's
//! /dev/shm and /etc files from the sandbox directory, then the CRI mounts, shallow first.

use std::path::Path;

use k8s_cri::v1::Mount as CriMount;
use oci_spec::runtime::{Mount, MountBuilder};

use super::{SpecError, SpecInputs};

fn mount(dst: &str, typ: &str, src: &Path, opts: &[&str]) -> Result<Mount, SpecError> {
    Ok(MountBuilder::default()
        .destination(dst)
        .typ(typ)
        .source(src)
        .options(opts.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .build()?)
}

fn bind(dst: &str, src: &Path, opts: &[&str]) -> Result<Mount, SpecError> {
    mount(dst, "bind", src, opts)
}

fn special(dst: &str, typ: &str, src: &str, opts: &[&str]) -> Result<Mount, SpecError> {
    mount(dst, typ, Path::new(src), opts)
}

/// The kernel file systems; privileged containers get /sys and the cgroup tree writable,
/// as with containerd.
fn kernel_mounts(privileged: bool) -> Result<Vec<Mount>, SpecError> {
    let sys_mode = if privileged { "rw" } else { "ro" };
    let pts = [
        "nosuid",
        "noexec",
        "newinstance",
        "ptmxmode=0666",
        "mode=0620",
        "gid=5",
    ];
    Ok(vec![
        special("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"])?,
        special(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        )?,
        special("/dev/pts", "devpts", "devpts", &pts)?,
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
    ])
}

/// The pod's /dev/shm and /etc files, unless the CRI mounts cover them; the /etc files
/// are read-only with a read-only rootfs.
fn pod_mounts(
    sandbox_dir: &Path,
    cri: &[CriMount],
    readonly_rootfs: bool,
) -> Result<Vec<Mount>, SpecError> {
    let has = |p: &str| cri.iter().any(|m| m.container_path == p);
    let mut out = Vec::new();
    if !has("/dev/shm") {
        out.push(bind(
            "/dev/shm",
            &sandbox_dir.join("shm"),
            &["rbind", "nosuid", "nodev", "noexec"],
        )?);
    }
    let file_opts: &[&str] = if readonly_rootfs {
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
            out.push(bind(dst, &sandbox_dir.join(name), file_opts)?);
        }
    }
    Ok(out)
}

/// The CRI mounts as recursive binds, parents before what is mounted inside them.
fn cri_mounts(cri: &[CriMount]) -> Result<Vec<Mount>, SpecError> {
    let mut sorted: Vec<_> = cri.iter().collect();
    sorted.sort_by_key(|m| Path::new(&m.container_path).components().count());
    sorted
        .into_iter()
        .map(|m| {
            let propagation = match m.propagation {
                1 => "rslave",
                2 => "rshared",
                _ => "rprivate",
            };
            let mode = if m.readonly { "ro" } else { "rw" };
            bind(
                &m.container_path,
                Path::new(&m.host_path),
                &["rbind", propagation, mode],
            )
        })
        .collect()
}

/// Every mount of the spec, in mount order.
pub(super) fn build(inp: &SpecInputs<'_>) -> Result<Vec<Mount>, SpecError> {
    let sc = inp
        .config
        .linux
        .as_ref()
        .and_then(|l| l.security_context.as_ref());
    let cri = &inp.config.mounts;
    let mut out = kernel_mounts(sc.is_some_and(|s| s.privileged))?;
    out.extend(pod_mounts(
        inp.sandbox_dir,
        cri,
        sc.is_some_and(|s| s.readonly_rootfs),
    )?);
    out.extend(cri_mounts(cri)?);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dests(m: &[Mount]) -> Vec<String> {
        m.iter()
            .map(|m| m.destination().display().to_string())
            .collect()
    }

    #[test]
    fn cri_mounts_cover_pod_files_and_go_shallow_first() {
        let cri = vec![
            CriMount {
                container_path: "/data/cache".into(),
                host_path: "/h/cache".into(),
                readonly: true,
                ..Default::default()
            },
            CriMount {
                container_path: "/data".into(),
                host_path: "/h/data".into(),
                propagation: 1,
                ..Default::default()
            },
            CriMount {
                container_path: "/etc/hosts".into(),
                host_path: "/h/hosts".into(),
                ..Default::default()
            },
        ];
        let pod = pod_mounts(Path::new("/sb"), &cri, true).unwrap();
        assert_eq!(
            dests(&pod),
            ["/dev/shm", "/etc/hostname", "/etc/resolv.conf"]
        );
        assert_eq!(
            pod[1].options().as_deref(),
            Some(&["rbind".to_string(), "ro".to_string()][..])
        );
        let binds = cri_mounts(&cri).unwrap();
        assert_eq!(dests(&binds), ["/data", "/data/cache", "/etc/hosts"]);
        let opts = |m: &Mount| m.options().clone().unwrap_or_default().join(",");
        assert_eq!(opts(&binds[0]), "rbind,rslave,rw");
        assert_eq!(opts(&binds[1]), "rbind,rprivate,ro");
        assert_eq!(opts(&binds[2]), "rbind,rprivate,rw");
    }
}
