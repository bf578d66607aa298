//! Builds the OCI runtime spec (config.json) of a container from the CRI ContainerConfig,
//! the image config and the sandbox it joins, phase by phase: the process (`process`, with
//! `caps`, `user` and `seccomp`), the mounts (`mounts`) and the `linux` section (`linux`).

mod caps;
mod linux;
mod mounts;
mod process;
mod seccomp;
mod user;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use k8s_cri::v1::{ContainerConfig, PodSandboxConfig};
use oci_spec::runtime::{RootBuilder, Spec, SpecBuilder};
use skiff_images::ImageConfig;

/// Errors building a spec.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SpecError {
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
    Seccomp(#[from] seccomp::SeccompError),
}

/// Everything besides the CRI config that a container's spec depends on.
pub(crate) struct SpecInputs<'a> {
    /// The CRI container config.
    pub(crate) config: &'a ContainerConfig,
    /// The pod's config.
    pub(crate) sandbox: &'a PodSandboxConfig,
    /// The image's config.
    pub(crate) image: &'a ImageConfig,
    /// Mounted rootfs (to resolve user names).
    pub(crate) rootfs: &'a Path,
    /// Network namespace to join (None = host network).
    pub(crate) netns: Option<&'a Path>,
    /// PID holding the pod's IPC/UTS namespaces (the infra process).
    pub(crate) ns_pid: i32,
    /// The container's PID namespace.
    pub(crate) pid_ns: PidNamespace,
    /// Directory with the sandbox's hosts, hostname, resolv.conf and shm/.
    pub(crate) sandbox_dir: &'a Path,
    /// cgroupsPath.
    pub(crate) cgroup_path: &'a str,
    /// Whether memory.memsw is available (swap accounting).
    pub(crate) memsw: bool,
}

/// Where a container's processes get their PID namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PidNamespace {
    /// A new one (CRI `CONTAINER`).
    Own,
    /// The node's (`NODE`, hostPID).
    Host,
    /// Join this one (`POD`: the pod's infra, or `TARGET`: another container's).
    Join(PathBuf),
}

/// Build the spec.
pub(crate) fn build(inp: &SpecInputs<'_>) -> Result<Spec, SpecError> {
    let sc = inp
        .config
        .linux
        .as_ref()
        .and_then(|l| l.security_context.as_ref());
    let caps = if sc.is_some_and(|s| s.privileged) {
        let (last, bounding) = crate::sys::process::capability_bounds();
        caps::privileged(last, bounding)
    } else {
        caps::for_container(inp.config)
    };
    let seccomp = seccomp::profile(sc, &caps)?;
    let root = RootBuilder::default()
        .path(inp.rootfs)
        .readonly(sc.is_some_and(|s| s.readonly_rootfs))
        .build()?;
    let mut spec = SpecBuilder::default()
        .version("1.0.2")
        .process(process::build(inp, sc, caps)?)
        .root(root)
        .mounts(mounts::build(inp)?)
        .linux(linux::build(inp, sc, seccomp)?)
        .annotations(annotations(&inp.config.annotations))
        .build()?;
    // The pod's UTS namespace already carries the hostname (set by the infra process).
    spec.set_hostname(None);
    Ok(spec)
}

/// The container's annotations, marked as a container's (not a sandbox's) for hooks.
fn annotations(given: &HashMap<String, String>) -> HashMap<String, String> {
    let mut out = given.clone();
    out.insert(
        "io.kubernetes.cri.container-type".into(),
        "container".into(),
    );
    out
}
