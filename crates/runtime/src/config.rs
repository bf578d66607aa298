//! Runtime configuration handed in by the `skiff` binary (paths, OCI runtime choice, CNI settings).

use std::path::PathBuf;
use std::sync::Arc;

use crate::images::ImageSource;

/// Which low-level OCI runtime executes containers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum OciRuntimeKind {
    /// `runc` from `$PATH` (the default; works on this host's hybrid cgroup layout).
    #[default]
    Runc,
    /// `crun` from `$PATH`, run inside a private mount namespace where the hybrid
    /// cgroup2 mount is hidden (crun refuses hybrid layouts otherwise).
    Crun,
    /// youki's `libcontainer` inside the monitor process (needs the `youki` feature).
    Youki,
    /// Any runc-compatible binary at this path.
    Binary(PathBuf),
}

/// How pods are wired to the node network through the CNI plugins.
#[derive(Clone, Debug)]
pub struct CniSettings {
    /// Linux bridge the pods' veths attach to.
    pub bridge: String,
    /// Pod CIDR; `UpdateRuntimeConfig` may set or replace it.
    pub pod_cidr: Option<String>,
    /// CNI network name (also names iptables chains).
    pub network_name: String,
    /// Masquerade traffic leaving the pod CIDR.
    pub ip_masq: bool,
    /// MTU of the pod interfaces (0 = plugin default).
    pub mtu: u32,
}

impl Default for CniSettings {
    fn default() -> Self {
        CniSettings {
            bridge: "skiff0".to_string(),
            pod_cidr: None,
            network_name: "skiff".to_string(),
            ip_masq: true,
            mtu: 0,
        }
    }
}

/// Everything `serve` needs.
#[derive(Clone)]
pub struct RuntimeConfig {
    /// State root, `<data-dir>/agent/runtime`.
    pub root: PathBuf,
    /// Unix socket the CRI gRPC server listens on.
    pub socket: PathBuf,
    /// Where images come from (the `skiff-images` store in production).
    pub images: Arc<dyn ImageSource>,
    /// Low-level OCI runtime.
    pub oci_runtime: OciRuntimeKind,
    /// Directory holding the CNI plugin binaries.
    pub cni_bin_dir: PathBuf,
    /// CNI network settings.
    pub cni_conf: CniSettings,
    /// Executable re-run as `<helper_exe> runtime-helper infra|monitor|exec …`.
    pub helper_exe: PathBuf,
    /// Default pod log directory when a sandbox names none (`/var/log/pods` equivalent).
    pub pod_log_dir: PathBuf,
    /// Rotate a container log once it exceeds this many bytes.
    pub log_max_size: u64,
    /// Keep this many log files per container (the live one included).
    pub log_max_files: u32,
}

impl RuntimeConfig {
    /// A configuration with the usual defaults below `root`.
    pub fn new(root: PathBuf, images: Arc<dyn ImageSource>, helper_exe: PathBuf) -> Self {
        RuntimeConfig {
            socket: root.join("cri.sock"),
            pod_log_dir: root.join("pods-logs"),
            root,
            images,
            oci_runtime: OciRuntimeKind::Runc,
            cni_bin_dir: PathBuf::from("/usr/lib/cni"),
            cni_conf: CniSettings::default(),
            helper_exe,
            log_max_size: 10 * 1024 * 1024,
            log_max_files: 5,
        }
    }
}
