//! The pod infra process: holds the pod's IPC and UTS namespaces (and sits in its
//! network namespace), sets the pod hostname, reaps children and waits for SIGTERM.
//! For pods sharing one PID namespace it also unshares that and re-executes itself
//! as the namespace's PID 1 (`--pid1`), which reaps the pod's orphans; it then
//! reports that child's PID as the holder of the namespaces and kills it on exit.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use super::HelperArgs;
use crate::sys::fd;
use crate::sys::ns::{self, PodNamespaces};
use crate::sys::process::{self, BlockedSignals};
use crate::sys::Signal;

pub(crate) fn run(args: &HelperArgs) -> Result<i32, String> {
    let signals = BlockedSignals::block(&[
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGCHLD,
        Signal::SIGHUP,
    ])
    .map_err(|e| format!("blocking signals: {e}"))?;
    if args.opt("pid1") == Some("true") {
        // PID 1 of the pod's PID namespace: only reap; the parent ends us with SIGKILL.
        loop {
            if let Ok(Signal::SIGCHLD) = signals.wait() {
                process::reap();
            }
        }
    }
    process::new_session();
    if let Some(netns) = args.opt("netns") {
        ns::join_netns(Path::new(netns)).map_err(|e| format!("joining {netns}: {e}"))?;
    }
    let pod = PodNamespaces {
        ipc: args.opt("host-ipc") != Some("true"),
        pid: args.opt("pid-ns") == Some("true"),
    };
    ns::unshare_pod(pod).map_err(|e| format!("unshare: {e}"))?;
    if let Some(h) = args.opt("hostname").filter(|h| !h.is_empty()) {
        ns::set_hostname(h).map_err(|e| format!("sethostname {h}: {e}"))?;
    }
    let holder = if pod.pid { Some(start_pid1()?) } else { None };
    let ns_pid = holder
        .as_ref()
        .map(|c| c.id() as i32)
        .unwrap_or_else(|| std::process::id() as i32);
    // Tell the runtime the namespaces are ready, then let go of its pipe.
    let mut out = std::io::stdout();
    let _ = writeln!(out, "ready {ns_pid}");
    let _ = out.flush();
    fd::stdout_to_null();
    let holder = holder.map(|c| c.id() as i32);
    loop {
        match signals.wait() {
            Ok(Signal::SIGCHLD) if reap(holder) => return Ok(1),
            Ok(Signal::SIGTERM) | Ok(Signal::SIGINT) => {
                if let Some(h) = holder {
                    let _ = process::kill(h, Signal::SIGKILL);
                    process::wait_for(h);
                }
                return Ok(0);
            }
            _ => {}
        }
    }
}

/// Start the first process of the new PID namespace (our re-executed self as `--pid1`).
fn start_pid1() -> Result<Child, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    Command::new(exe)
        .args(["runtime-helper", "infra", "--pid1", "true"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting the pod's PID 1: {e}"))
}

/// Reap every exited child; true when `watched` was among them.
fn reap(watched: Option<i32>) -> bool {
    let reaped = process::reap();
    watched.is_some_and(|w| reaped.iter().any(|e| e.pid == w))
}
