//! On-disk records of sandboxes and containers (one JSON file per object) and
//! the monitor's exit-status file; the runtime rebuilds its view from these on start.

use std::path::{Path, PathBuf};

use k8s_cri::v1::{ContainerConfig, PodSandboxConfig};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// Errors reading or writing state files.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StateError {
    /// File system failure.
    #[error("{path}: {source}")]
    Io {
        /// File concerned.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Malformed JSON.
    #[error("{path}: {source}")]
    Json {
        /// File concerned.
        path: PathBuf,
        /// Cause.
        source: serde_json::Error,
    },
}

/// A pod sandbox as persisted.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct SandboxRecord {
    /// 64-hex id.
    pub(crate) id: String,
    /// The kubelet's config.
    pub(crate) config: PodSandboxConfig,
    /// Runtime handler asked for.
    pub(crate) runtime_handler: String,
    /// Creation time, ns since epoch.
    pub(crate) created_at: i64,
    /// Whether StopPodSandbox ran.
    pub(crate) stopped: bool,
    /// Bind-mounted network namespace.
    pub(crate) netns: PathBuf,
    /// Pod IP from CNI.
    pub(crate) ip: Option<String>,
    /// The CNI result of the main plugin (prevResult for DEL).
    pub(crate) cni_result: Option<serde_json::Value>,
    /// PID of the infra process.
    pub(crate) infra_pid: Option<i32>,
    /// PID whose `/proc/PID/ns/*` are the pod's namespaces (the infra process, or
    /// its child that is PID 1 of the pod's PID namespace); None in old records.
    #[serde(default)]
    pub(crate) ns_pid: Option<i32>,
    /// Start time (clock ticks since boot) of the infra process, to detect PID reuse.
    pub(crate) infra_start: u64,
    /// Parent cgroup of the pod's containers (relative, `/skiff/<uid>` style).
    pub(crate) cgroup_parent: String,
}

/// Lifecycle of a container record.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) enum ContainerPhase {
    /// Created, not started.
    Created,
    /// Started (may have exited since: see the exit file).
    Started,
}

/// A container as persisted.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ContainerRecord {
    /// 64-hex id.
    pub(crate) id: String,
    /// Owning sandbox.
    pub(crate) sandbox_id: String,
    /// The kubelet's config.
    pub(crate) config: ContainerConfig,
    /// Image id (`sha256:…`).
    pub(crate) image_id: String,
    /// Image reference the kubelet asked for.
    pub(crate) image_name: String,
    /// Creation time, ns since epoch.
    pub(crate) created_at: i64,
    /// Start time, ns since epoch (0 before start).
    pub(crate) started_at: i64,
    /// Phase.
    pub(crate) phase: ContainerPhase,
    /// Host PID of the container's init.
    pub(crate) pid: Option<i32>,
    /// PID of the monitor.
    pub(crate) monitor_pid: Option<i32>,
    /// Absolute log path ("" if none).
    pub(crate) log_path: String,
    /// Signal for graceful stop.
    pub(crate) stop_signal: String,
    /// cgroupsPath of the container.
    pub(crate) cgroup_path: String,
    /// Set when StartContainer failed before the process ran.
    pub(crate) start_error: Option<String>,
}

/// What the monitor writes when the container's init exits.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct ExitRecord {
    /// Exit code (128+signal for signal deaths).
    pub(crate) exit_code: i32,
    /// Finish time, ns since epoch.
    pub(crate) finished_at: i64,
    /// The memory cgroup recorded an OOM kill.
    pub(crate) oom_killed: bool,
}

/// Write `value` as JSON atomically (temp file + rename).
pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), StateError> {
    let data = serde_json::to_vec_pretty(value).map_err(|source| StateError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    let tmp = path.with_extension("tmp");
    let io = |source| StateError::Io {
        path: path.to_path_buf(),
        source,
    };
    std::fs::write(&tmp, data).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Read JSON from `path`; `Ok(None)` when it does not exist.
pub(crate) fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, StateError> {
    match std::fs::read(path) {
        Ok(data) => serde_json::from_slice(&data)
            .map(Some)
            .map_err(|source| StateError::Json {
                path: path.to_path_buf(),
                source,
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StateError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Layout of the runtime's state root.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    /// The root itself.
    pub(crate) root: PathBuf,
}

impl Layout {
    /// Directory of one sandbox.
    pub(crate) fn sandbox_dir(&self, id: &str) -> PathBuf {
        self.root.join("sandboxes").join(id)
    }
    /// Directory of one container (bundle: config.json, rootfs/, upper/, work/).
    pub(crate) fn container_dir(&self, id: &str) -> PathBuf {
        self.root.join("containers").join(id)
    }
    /// Bind mount of a sandbox's network namespace.
    pub(crate) fn netns_path(&self, id: &str) -> PathBuf {
        self.root.join("netns").join(id)
    }
    /// host-local IPAM data.
    pub(crate) fn ipam_dir(&self) -> PathBuf {
        self.root.join("cni").join("networks")
    }
    /// State directory given to runc/crun `--root`.
    pub(crate) fn oci_state_dir(&self) -> PathBuf {
        self.root.join("oci")
    }
    /// Where removed container directories wait for their background unmount.
    pub(crate) fn trash_dir(&self) -> PathBuf {
        self.root.join("trash")
    }
    /// Short-named sockets (unix socket paths are limited to 108 bytes).
    pub(crate) fn streams_dir(&self) -> PathBuf {
        self.root.join("streams")
    }
    /// The monitor's attach socket of a container.
    pub(crate) fn attach_socket(&self, id: &str) -> PathBuf {
        self.streams_dir()
            .join(format!("{}.attach", &id[..id.len().min(24)]))
    }
    /// The console socket a terminal container's pty master is sent over.
    pub(crate) fn console_socket(&self, id: &str) -> PathBuf {
        self.streams_dir()
            .join(format!("{}.console", &id[..id.len().min(24)]))
    }
    /// Exit file the monitor writes.
    pub(crate) fn exit_file(&self, id: &str) -> PathBuf {
        self.container_dir(id).join("exit.json")
    }
    /// Create the top-level directories.
    pub(crate) fn ensure(&self) -> std::io::Result<()> {
        for d in [
            "sandboxes",
            "containers",
            "netns",
            "cni/networks",
            "oci",
            "trash",
            "streams",
        ] {
            std::fs::create_dir_all(self.root.join(d))?;
        }
        Ok(())
    }
}

/// A fresh 64-hex-digit id.
pub(crate) fn new_id() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

/// Now, ns since the epoch.
pub(crate) fn now_ns() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_and_missing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.json");
        assert!(read_json::<ExitRecord>(&p).unwrap().is_none());
        let rec = ExitRecord {
            exit_code: 3,
            finished_at: 7,
            oom_killed: true,
        };
        write_json(&p, &rec).unwrap();
        assert_eq!(read_json::<ExitRecord>(&p).unwrap(), Some(rec));
    }
}
