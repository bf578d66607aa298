//! A recording [`Syscall`] for unit tests: it keeps the calls in order, tracks what is mounted
//! and which processes live (SIGKILL ends them, SIGTERM and SIGINT those that do not ignore
//! it), and touches nothing.

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::{NetnsError, Signal, Syscall};

/// One recorded kernel call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Call {
    /// `mount_shm(target)`.
    MountShm(PathBuf),
    /// `mount_overlay(target, …)`.
    MountOverlay(PathBuf),
    /// `unmount(target)`.
    Unmount(PathBuf),
    /// `create_netns(path)`.
    CreateNetns(PathBuf),
    /// `remove_netns(path)`.
    RemoveNetns(PathBuf),
    /// `kill(pid, signal)`.
    Kill(i32, Signal),
    /// `remove_cgroup(rel)`.
    RemoveCgroup(String),
}

/// The recording fake.
#[derive(Default)]
pub(crate) struct Recorder {
    calls: Mutex<Vec<Call>>,
    mounted: Mutex<HashSet<PathBuf>>,
    /// Live processes: start time, and whether SIGTERM is ignored.
    processes: Mutex<HashMap<i32, (u64, bool)>>,
}

impl Recorder {
    /// The calls so far, in order.
    pub(crate) fn calls(&self) -> Vec<Call> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Pretend process `pid` runs, started at `start`.
    pub(crate) fn spawn(&self, pid: i32, start: u64) {
        if let Ok(mut p) = self.processes.lock() {
            p.insert(pid, (start, false));
        }
    }

    /// Pretend process `pid` runs and ignores SIGTERM (as busybox `httpd` as PID 1 does).
    pub(crate) fn spawn_ignoring_sigterm(&self, pid: i32, start: u64) {
        if let Ok(mut p) = self.processes.lock() {
            p.insert(pid, (start, true));
        }
    }

    fn record(&self, call: Call) {
        if let Ok(mut c) = self.calls.lock() {
            c.push(call);
        }
    }

    fn mount(&self, target: &Path) {
        if let Ok(mut m) = self.mounted.lock() {
            m.insert(target.to_path_buf());
        }
    }
}

impl Syscall for Recorder {
    fn mount_shm(&self, target: &Path) -> io::Result<()> {
        self.record(Call::MountShm(target.to_path_buf()));
        self.mount(target);
        Ok(())
    }

    fn mount_overlay(
        &self,
        target: &Path,
        _lower: &[PathBuf],
        _upper: &Path,
        _work: &Path,
    ) -> io::Result<()> {
        self.record(Call::MountOverlay(target.to_path_buf()));
        self.mount(target);
        Ok(())
    }

    fn unmount(&self, target: &Path) -> io::Result<bool> {
        self.record(Call::Unmount(target.to_path_buf()));
        Ok(self
            .mounted
            .lock()
            .map(|mut m| m.remove(target))
            .unwrap_or(false))
    }

    fn create_netns(&self, path: &Path) -> Result<(), NetnsError> {
        self.record(Call::CreateNetns(path.to_path_buf()));
        Ok(())
    }

    fn remove_netns(&self, path: &Path) -> Result<(), NetnsError> {
        self.record(Call::RemoveNetns(path.to_path_buf()));
        Ok(())
    }

    fn kill(&self, pid: i32, signal: Signal) -> io::Result<()> {
        self.record(Call::Kill(pid, signal));
        if let Ok(mut p) = self.processes.lock() {
            let ends = match (signal, p.get(&pid)) {
                (Signal::SIGKILL, _) => true,
                (Signal::SIGTERM | Signal::SIGINT, Some((_, ignores))) => !ignores,
                _ => false,
            };
            if ends {
                p.remove(&pid);
            }
        }
        Ok(())
    }

    fn process_start_time(&self, pid: i32) -> Option<u64> {
        self.processes
            .lock()
            .ok()?
            .get(&pid)
            .map(|(start, _)| *start)
    }

    fn remove_cgroup(&self, rel: &str) {
        self.record(Call::RemoveCgroup(rel.to_string()));
    }
}
