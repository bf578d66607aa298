//! Processes: signals (sending, blocking, waiting, signalfd), reaping children, session and
//! `prctl` settings, and what `/proc` says about a process (start time, capability bounds).

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use nix::sys::signal::SigSet;
use nix::sys::signalfd::{SfdFlags, SignalFd as NixSignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

pub(crate) use nix::sys::signal::Signal;

/// Send `signal` to process `pid`.
pub(crate) fn kill(pid: i32, signal: Signal) -> io::Result<()> {
    nix::sys::signal::kill(Pid::from_raw(pid), signal).map_err(io::Error::from)
}

/// Parse `SIGTERM`, `TERM`, `15`.
pub(crate) fn parse_signal(s: &str) -> Option<Signal> {
    if let Ok(n) = s.parse::<i32>() {
        return Signal::try_from(n).ok();
    }
    let up = s.to_ascii_uppercase();
    let name = if up.starts_with("SIG") {
        up
    } else {
        format!("SIG{up}")
    };
    name.parse().ok()
}

/// Start a new session (and process group) led by this process; failure (already a
/// leader) is harmless.
pub(crate) fn new_session() {
    let _ = nix::unistd::setsid();
}

/// Become the reaper of orphaned descendants.
pub(crate) fn set_child_subreaper() -> io::Result<()> {
    nix::sys::prctl::set_child_subreaper(true).map_err(io::Error::from)
}

/// Set `no_new_privs` on the calling thread.
#[cfg(feature = "youki")]
pub(crate) fn set_no_new_privs() -> io::Result<()> {
    nix::sys::prctl::set_no_new_privs().map_err(io::Error::from)
}

/// A set of signals blocked on the calling thread (to be taken by `wait` or a signalfd).
pub(crate) struct BlockedSignals(SigSet);

impl BlockedSignals {
    /// Block `signals` on the calling thread.
    pub(crate) fn block(signals: &[Signal]) -> io::Result<Self> {
        let mut set = SigSet::empty();
        for s in signals {
            set.add(*s);
        }
        set.thread_block()?;
        Ok(BlockedSignals(set))
    }

    /// Unblock them for a while (see [`BlockedSignals::reblock`]).
    pub(crate) fn unblock(&self) {
        let _ = self.0.thread_unblock();
    }

    /// Block them again.
    pub(crate) fn reblock(&self) -> io::Result<()> {
        self.0.thread_block().map_err(io::Error::from)
    }

    /// Wait for one of them.
    pub(crate) fn wait(&self) -> io::Result<Signal> {
        self.0.wait().map_err(io::Error::from)
    }

    /// A non-blocking, close-on-exec signalfd for them.
    pub(crate) fn signal_fd(&self) -> io::Result<SignalFd> {
        NixSignalFd::with_flags(&self.0, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
            .map(SignalFd)
            .map_err(io::Error::from)
    }
}

/// A signalfd (see [`BlockedSignals::signal_fd`]).
pub(crate) struct SignalFd(NixSignalFd);

impl SignalFd {
    /// The signals delivered since the last call (never blocks).
    pub(crate) fn take(&mut self) -> Vec<Signal> {
        let mut out = Vec::new();
        while let Ok(Some(info)) = self.0.read_signal() {
            if let Ok(s) = Signal::try_from(info.ssi_signo as i32) {
                out.push(s);
            }
        }
        out
    }
}

impl AsRawFd for SignalFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

impl AsFd for SignalFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

/// A child that ended, with its exit code as shells report it (128+signal).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Exited {
    /// Its PID.
    pub(crate) pid: i32,
    /// Its code (`None` for a status that is not an end, which `reap` never returns).
    pub(crate) code: Option<i32>,
}

fn exited(ws: WaitStatus) -> Option<Exited> {
    match ws {
        WaitStatus::Exited(pid, code) => Some(Exited {
            pid: pid.as_raw(),
            code: Some(code),
        }),
        WaitStatus::Signaled(pid, sig, _) => Some(Exited {
            pid: pid.as_raw(),
            code: Some(128 + sig as i32),
        }),
        _ => ws.pid().map(|pid| Exited {
            pid: pid.as_raw(),
            code: None,
        }),
    }
}

/// Reap every child that has ended, without blocking.
pub(crate) fn reap() -> Vec<Exited> {
    let mut out = Vec::new();
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(_) => return out,
            Ok(ws) => out.extend(exited(ws)),
        }
    }
}

/// Wait for child `pid` to end (its status is not needed).
pub(crate) fn wait_for(pid: i32) {
    let _ = waitpid(Pid::from_raw(pid), None);
}

/// Reap children until `target` ends and return its exit code. Children reaped on the way
/// are remembered in `seen` (a target reaped earlier is found there once none are left).
pub(crate) fn wait_child(target: i32, seen: &mut HashMap<i32, i32>) -> i32 {
    loop {
        match waitpid(Pid::from_raw(-1), None) {
            Ok(ws) => {
                if let Some(Exited {
                    pid,
                    code: Some(code),
                }) = exited(ws)
                {
                    if pid == target {
                        return code;
                    }
                    seen.insert(pid, code);
                }
            }
            Err(nix::Error::EINTR) => {}
            Err(_) => return seen.get(&target).copied().unwrap_or(255),
        }
    }
}

/// Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat).
pub(crate) fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    after.split_whitespace().nth(19)?.parse().ok()
}

/// The highest capability number this kernel knows, and this process's bounding set
/// (`None` when `/proc` does not say).
pub(crate) fn capability_bounds() -> (u32, Option<u64>) {
    let text = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap").unwrap_or_default();
    let last = text.trim().parse().unwrap_or(40);
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    (last, bounding_set(&status))
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

    #[test]
    fn parses_signals() {
        assert_eq!(parse_signal("SIGQUIT"), Some(Signal::SIGQUIT));
        assert_eq!(parse_signal("term"), Some(Signal::SIGTERM));
        assert_eq!(parse_signal("9"), Some(Signal::SIGKILL));
        assert_eq!(parse_signal("nope"), None);
    }

    #[test]
    fn own_process_has_a_start_time() {
        use super::super::{Host, Syscall};
        let pid = std::process::id() as i32;
        let start = start_time(pid).unwrap();
        assert!(Host.process_alive(pid, start));
        assert!(Host.process_alive(pid, 0));
        assert!(!Host.process_alive(pid, start + 1));
    }

    #[test]
    fn reads_the_bounding_set() {
        assert_eq!(
            bounding_set("Name:\tx\nCapBnd:\t000001fffeffffff\nCapAmb:\t0\n"),
            Some(0x1fffeffffff)
        );
        assert_eq!(bounding_set("Name:\tx\n"), None);
        assert!(capability_bounds().1.is_some());
    }
}
