//! The pod infra process: holds the pod's IPC and UTS namespaces (and sits in its
//! network namespace), sets the pod hostname, reaps children and waits for SIGTERM.
//! For pods sharing one PID namespace it also unshares that and re-executes itself
//! as the namespace's PID 1 (`--pid1`), which reaps the pod's orphans; it then
//! reports that child's PID as the holder of the namespaces and kills it on exit.

use std::io::Write;
use std::process::{Child, Command, Stdio};

use nix::sched::{setns, unshare, CloneFlags};
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{sethostname, setsid, Pid};

use super::HelperArgs;

pub(crate) fn run(args: &HelperArgs) -> Result<i32, String> {
    let mut signals = SigSet::empty();
    for s in [
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGCHLD,
        Signal::SIGHUP,
    ] {
        signals.add(s);
    }
    signals
        .thread_block()
        .map_err(|e| format!("blocking signals: {e}"))?;
    if args.opt("pid1") == Some("true") {
        // PID 1 of the pod's PID namespace: only reap; the parent ends us with SIGKILL.
        loop {
            if let Ok(Signal::SIGCHLD) = signals.wait() {
                reap(None);
            }
        }
    }
    let _ = setsid();
    if let Some(netns) = args.opt("netns") {
        let f = std::fs::File::open(netns).map_err(|e| format!("opening {netns}: {e}"))?;
        setns(&f, CloneFlags::CLONE_NEWNET).map_err(|e| format!("joining {netns}: {e}"))?;
    }
    let mut flags = CloneFlags::CLONE_NEWUTS;
    if args.opt("host-ipc") != Some("true") {
        flags |= CloneFlags::CLONE_NEWIPC;
    }
    let pid_ns = args.opt("pid-ns") == Some("true");
    if pid_ns {
        flags |= CloneFlags::CLONE_NEWPID;
    }
    unshare(flags).map_err(|e| format!("unshare: {e}"))?;
    if let Some(h) = args.opt("hostname").filter(|h| !h.is_empty()) {
        sethostname(h).map_err(|e| format!("sethostname {h}: {e}"))?;
    }
    let holder: Option<Child> = if pid_ns {
        let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
        let child = Command::new(exe)
            .args(["runtime-helper", "infra", "--pid1", "true"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting the pod's PID 1: {e}"))?;
        Some(child)
    } else {
        None
    };
    let ns_pid = holder
        .as_ref()
        .map(|c| c.id() as i32)
        .unwrap_or_else(|| std::process::id() as i32);
    // Tell the runtime the namespaces are ready, then let go of its pipe.
    let mut out = std::io::stdout();
    let _ = writeln!(out, "ready {ns_pid}");
    let _ = out.flush();
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        let _ = nix::unistd::dup2_stdout(&null);
    }
    let holder = holder.map(|c| Pid::from_raw(c.id() as i32));
    loop {
        match signals.wait() {
            Ok(Signal::SIGCHLD) if reap(holder) => return Ok(1),
            Ok(Signal::SIGTERM) | Ok(Signal::SIGINT) => {
                if let Some(h) = holder {
                    let _ = kill(h, Signal::SIGKILL);
                    let _ = waitpid(h, None);
                }
                return Ok(0);
            }
            _ => {}
        }
    }
}

/// Reap every exited child; true when `watched` was among them.
fn reap(watched: Option<Pid>) -> bool {
    let mut hit = false;
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(_) => return hit,
            Ok(ws) => hit |= watched.is_some() && ws.pid() == watched,
        }
    }
}
