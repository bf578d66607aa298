//! Namespaces: network namespaces for sandboxes (created by a short-lived thread that unshares
//! its netns and bind-mounts it to a file, removed by unmounting that file, entered by a
//! thread that joins it), and the infra process's own unshare, setns and hostname.

use std::io;
use std::path::{Path, PathBuf};

use nix::sched::{setns, unshare, CloneFlags};

/// Errors creating, removing or entering a network namespace.
#[derive(Debug, thiserror::Error)]
pub(crate) enum NetnsError {
    /// A system call failed.
    #[error("netns {path}: {op}: {source}")]
    Sys {
        /// Bind-mount path.
        path: PathBuf,
        /// Operation.
        op: &'static str,
        /// Cause.
        source: io::Error,
    },
    /// File system failure.
    #[error("netns {path}: {source}")]
    Io {
        /// Bind-mount path.
        path: PathBuf,
        /// Cause.
        source: io::Error,
    },
    /// The worker thread panicked.
    #[error("netns worker thread failed")]
    Thread,
}

/// Create a new network namespace pinned at `path` (a bind mount of the namespace).
pub(crate) fn create_netns(path: &Path) -> Result<(), NetnsError> {
    let io = |source| NetnsError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    std::fs::File::create(path).map_err(io)?;
    let target = path.to_path_buf();
    let handle = std::thread::spawn(move || -> Result<(), NetnsError> {
        let sys = |op, source| NetnsError::Sys {
            path: target.clone(),
            op,
            source,
        };
        // Only this thread moves; it exits right after, the mount keeps the netns alive.
        unshare(CloneFlags::CLONE_NEWNET).map_err(|e| sys("unshare", e.into()))?;
        super::mount::bind(Path::new("/proc/thread-self/ns/net"), &target)
            .map_err(|e| sys("bind mount", e))
    });
    let result = handle.join().map_err(|_| NetnsError::Thread)?;
    if result.is_err() {
        let _ = std::fs::remove_file(path);
    }
    result
}

/// Unmount and delete a namespace file; a missing file is fine.
pub(crate) fn remove_netns(path: &Path) -> Result<(), NetnsError> {
    if !path.exists() {
        return Ok(());
    }
    super::mount::unmount(path).map_err(|source| NetnsError::Sys {
        path: path.to_path_buf(),
        op: "umount",
        source,
    })?;
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(NetnsError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Run `f` on a fresh thread that has joined the network namespace at `path`.
pub(crate) fn run_in_netns<T: Send + 'static>(
    path: &Path,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, NetnsError> {
    let file = std::fs::File::open(path).map_err(|source| NetnsError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let p = path.to_path_buf();
    std::thread::spawn(move || -> Result<T, NetnsError> {
        setns(&file, CloneFlags::CLONE_NEWNET).map_err(|e| NetnsError::Sys {
            path: p,
            op: "setns",
            source: e.into(),
        })?;
        Ok(f())
    })
    .join()
    .map_err(|_| NetnsError::Thread)?
}

/// Move the calling (single-threaded) process into the network namespace at `path`.
pub(crate) fn join_netns(path: &Path) -> io::Result<()> {
    let f = std::fs::File::open(path)?;
    setns(&f, CloneFlags::CLONE_NEWNET).map_err(io::Error::from)
}

/// The namespaces a pod's infra process makes for itself.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PodNamespaces {
    /// A new IPC namespace (not with `hostIPC`).
    pub(crate) ipc: bool,
    /// A new PID namespace, whose first child becomes PID 1.
    pub(crate) pid: bool,
}

/// Unshare a new UTS namespace plus those `ns` asks for.
pub(crate) fn unshare_pod(ns: PodNamespaces) -> io::Result<()> {
    let mut flags = CloneFlags::CLONE_NEWUTS;
    if ns.ipc {
        flags |= CloneFlags::CLONE_NEWIPC;
    }
    if ns.pid {
        flags |= CloneFlags::CLONE_NEWPID;
    }
    unshare(flags).map_err(io::Error::from)
}

/// Set the hostname of the current UTS namespace.
pub(crate) fn set_hostname(name: &str) -> io::Result<()> {
    nix::unistd::sethostname(name).map_err(io::Error::from)
}
