//! Network namespaces for sandboxes: created by a short-lived thread that unshares
//! its netns and bind-mounts it to a file, and removed by unmounting that file.

use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{unshare, CloneFlags};

/// Errors creating or removing a network namespace.
#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    /// A system call failed.
    #[error("netns {path}: {op}: {source}")]
    Sys {
        /// Bind-mount path.
        path: PathBuf,
        /// Operation.
        op: &'static str,
        /// Cause.
        source: nix::Error,
    },
    /// File system failure.
    #[error("netns {path}: {source}")]
    Io {
        /// Bind-mount path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The worker thread panicked.
    #[error("netns worker thread failed")]
    Thread,
}

/// Create a new network namespace pinned at `path` (a bind mount of the namespace).
pub fn create(path: &Path) -> Result<(), NetnsError> {
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
        unshare(CloneFlags::CLONE_NEWNET).map_err(|e| sys("unshare", e))?;
        mount(
            Some("/proc/thread-self/ns/net"),
            &target,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|e| sys("bind mount", e))
    });
    let result = handle.join().map_err(|_| NetnsError::Thread)?;
    if result.is_err() {
        let _ = std::fs::remove_file(path);
    }
    result
}

/// Unmount and delete a namespace file; a missing file is fine.
pub fn remove(path: &Path) -> Result<(), NetnsError> {
    if !path.exists() {
        return Ok(());
    }
    match umount2(path, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::Error::EINVAL) | Err(nix::Error::ENOENT) => {}
        Err(source) => {
            return Err(NetnsError::Sys {
                path: path.to_path_buf(),
                op: "umount",
                source,
            })
        }
    }
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(NetnsError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Run `f` on a fresh thread that has joined the network namespace at `path`.
pub fn run_in<T: Send + 'static>(
    path: &Path,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, NetnsError> {
    let file = std::fs::File::open(path).map_err(|source| NetnsError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let p = path.to_path_buf();
    std::thread::spawn(move || -> Result<T, NetnsError> {
        nix::sched::setns(&file, CloneFlags::CLONE_NEWNET).map_err(|source| NetnsError::Sys {
            path: p,
            op: "setns",
            source,
        })?;
        Ok(f())
    })
    .join()
    .map_err(|_| NetnsError::Thread)?
}
