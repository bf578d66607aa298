//! The pod infra process: holds the pod's IPC and UTS namespaces (and sits in its
//! network namespace), sets the pod hostname, reaps children and waits for SIGTERM.

use std::io::Write;

use nix::sched::{setns, unshare, CloneFlags};
use nix::sys::signal::{SigSet, Signal};
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
    let _ = setsid();
    if let Some(netns) = args.opt("netns") {
        let f = std::fs::File::open(netns).map_err(|e| format!("opening {netns}: {e}"))?;
        setns(&f, CloneFlags::CLONE_NEWNET).map_err(|e| format!("joining {netns}: {e}"))?;
    }
    unshare(CloneFlags::CLONE_NEWIPC | CloneFlags::CLONE_NEWUTS)
        .map_err(|e| format!("unshare ipc+uts: {e}"))?;
    if let Some(h) = args.opt("hostname").filter(|h| !h.is_empty()) {
        sethostname(h).map_err(|e| format!("sethostname {h}: {e}"))?;
    }
    // Tell the runtime the namespaces are ready, then let go of its pipe.
    let mut out = std::io::stdout();
    let _ = writeln!(out, "ready");
    let _ = out.flush();
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        let _ = nix::unistd::dup2_stdout(&null);
    }
    loop {
        match signals.wait() {
            Ok(Signal::SIGCHLD) => reap(),
            Ok(Signal::SIGTERM) | Ok(Signal::SIGINT) => return Ok(0),
            _ => {}
        }
    }
}

fn reap() {
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(_) => return,
            Ok(_) => continue,
        }
    }
}
