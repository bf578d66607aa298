//! The kernel behind one seam (youki's `Syscall` idea): every system call the runtime makes —
//! mounts, namespaces, signals and process control, cgroup files, descriptors, the helpers'
//! raw calls — is a function of this module's files, and nothing outside it calls `nix` or
//! `libc`. The CRI server's sandbox and container lifecycle goes through the [`Syscall`]
//! trait, so its order of kernel calls can be recorded by a fake in unit tests.

pub(crate) mod cgroup;
pub(crate) mod direct;
#[cfg(test)]
pub(crate) mod fake;
pub(crate) mod fd;
pub(crate) mod mount;
pub(crate) mod ns;
pub(crate) mod process;

use std::io;
use std::path::{Path, PathBuf};

pub(crate) use ns::NetnsError;
pub(crate) use process::Signal;

/// The kernel calls of the sandbox and container lifecycle in the CRI server.
pub(crate) trait Syscall: Send + Sync {
    /// Mount the pod's `/dev/shm` tmpfs at `target`.
    fn mount_shm(&self, target: &Path) -> io::Result<()>;
    /// Mount an overlay at `target`: `lower` read-only layers (bottom → top), `upper` and
    /// `work` directories on top.
    fn mount_overlay(
        &self,
        target: &Path,
        lower: &[PathBuf],
        upper: &Path,
        work: &Path,
    ) -> io::Result<()>;
    /// Lazily unmount `target`; `Ok(false)` when nothing is mounted there.
    fn unmount(&self, target: &Path) -> io::Result<bool>;
    /// Create a network namespace pinned by a bind mount at `path`.
    fn create_netns(&self, path: &Path) -> Result<(), NetnsError>;
    /// Unmount and delete a network namespace file (a missing one is fine).
    fn remove_netns(&self, path: &Path) -> Result<(), NetnsError>;
    /// Send `signal` to process `pid`.
    fn kill(&self, pid: i32, signal: Signal) -> io::Result<()>;
    /// Start time (clock ticks since boot) of process `pid`, if it exists.
    fn process_start_time(&self, pid: i32) -> Option<u64>;
    /// Remove cgroup `rel` (relative to each hierarchy's root) wherever it is empty.
    fn remove_cgroup(&self, rel: &str);

    /// Whether `pid` is alive and still the process that started at `start` (0: any).
    fn process_alive(&self, pid: i32, start: u64) -> bool {
        self.process_start_time(pid)
            .is_some_and(|s| start == 0 || s == start)
    }
}

/// The real kernel.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Host;

impl Syscall for Host {
    fn mount_shm(&self, target: &Path) -> io::Result<()> {
        mount::tmpfs(target, "shm", "mode=1777,size=65536k")
    }

    fn mount_overlay(
        &self,
        target: &Path,
        lower: &[PathBuf],
        upper: &Path,
        work: &Path,
    ) -> io::Result<()> {
        mount::overlay(target, lower, upper, work)
    }

    fn unmount(&self, target: &Path) -> io::Result<bool> {
        mount::unmount(target)
    }

    fn create_netns(&self, path: &Path) -> Result<(), NetnsError> {
        ns::create_netns(path)
    }

    fn remove_netns(&self, path: &Path) -> Result<(), NetnsError> {
        ns::remove_netns(path)
    }

    fn kill(&self, pid: i32, signal: Signal) -> io::Result<()> {
        process::kill(pid, signal)
    }

    fn process_start_time(&self, pid: i32) -> Option<u64> {
        process::start_time(pid)
    }

    fn remove_cgroup(&self, rel: &str) {
        cgroup::remove_dirs(rel)
    }
}

/// Major and minor number of a device (`st_rdev`).
pub(crate) fn device_numbers(rdev: u64) -> (i64, i64) {
    (libc::major(rdev) as i64, libc::minor(rdev) as i64)
}
