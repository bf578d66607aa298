//! The per-container monitor: a session leader and child subreaper that starts the
//! container through the OCI runtime, pumps its stdout/stderr into the CRI log,
//! reaps zombies, and records exit code, finish time and OOM kill in the exit file.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::{SigSet, Signal};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{pipe, setsid, Pid};

use super::{exit_code, HelperArgs};
use crate::logs::{pump, LogWriter};
use crate::oci::OciRuntime;
use crate::state::{now_ns, write_json, ExitRecord};

pub(crate) fn run(args: &HelperArgs) -> Result<i32, String> {
    let _ = setsid();
    nix::sys::prctl::set_child_subreaper(true).map_err(|e| format!("subreaper: {e}"))?;
    // SIGUSR1 asks to reopen the log file; handled by a sigwait thread.
    let mut usr1 = SigSet::empty();
    usr1.add(Signal::SIGUSR1);
    let _ = usr1.thread_block();

    let id = args.get("id")?.to_string();
    let bundle = PathBuf::from(args.get("bundle")?);
    let exit_file = PathBuf::from(args.get("exit-file")?);
    let cgroup = args.opt("cgroup").unwrap_or_default().to_string();
    let max_size = args
        .opt("log-max-size")
        .and_then(|v| v.parse().ok())
        .unwrap_or(10 << 20);
    let max_files = args
        .opt("log-max-files")
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let oci = args.oci()?;

    let writer = LogWriter::open(
        Path::new(args.opt("log").unwrap_or_default()),
        max_size,
        max_files,
    )
    .map_err(|e| format!("opening log: {e}"))?;
    let reopen = writer.reopen_flag();
    let writer = Arc::new(Mutex::new(writer));
    spawn_small("usr1", move || loop {
        if usr1.wait().is_ok() {
            reopen.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    });

    let (out_r, out_w) = pipe().map_err(|e| format!("pipe: {e}"))?;
    let (err_r, err_w) = pipe().map_err(|e| format!("pipe: {e}"))?;
    let pid_file = bundle.join("init.pid");
    let _ = std::fs::remove_file(&pid_file);
    let mut cmd = oci.run_detached(&id, &bundle, &pid_file);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(out_w))
        .stderr(Stdio::from(err_w));
    let child = cmd
        .spawn()
        .map_err(|e| report(&format!("starting {}: {e}", oci.name())))?;
    // Our copies of the write ends went into `cmd`; drop it so EOF follows the container.
    drop(cmd);

    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    for (name, fd) in [("stdout", out_r), ("stderr", err_r)] {
        let w = writer.clone();
        let tx = done_tx.clone();
        spawn_small(name, move || {
            pump(std::fs::File::from(fd), name, &w);
            let _ = tx.send(());
        });
    }
    drop(done_tx);

    let runtime_pid = Pid::from_raw(child.id() as i32);
    let mut reaped: HashMap<i32, i32> = HashMap::new();
    let status = wait_for(runtime_pid, &mut reaped);
    let started_at = now_ns();
    if status != 0 {
        let msg = std::fs::read_to_string(bundle.join("oci.log"))
            .ok()
            .and_then(|l| l.lines().last().map(str::to_string))
            .unwrap_or_else(|| format!("{} run exited with {status}", oci.name()));
        report(&format!("{} run failed ({status}): {msg}", oci.name()));
        return Ok(1);
    }
    let init: i32 = std::fs::read_to_string(&pid_file)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| report("no pid file after run"))?;
    {
        let mut out = std::io::stdout();
        let _ = writeln!(out, "ok {init} {started_at}");
        let _ = out.flush();
    }
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        let _ = nix::unistd::dup2_stdout(&null);
    }

    let code = match reaped.get(&init) {
        Some(c) => *c,
        None => wait_for(Pid::from_raw(init), &mut reaped),
    };
    let finished_at = now_ns();
    let oom_killed = oom_killed(&cgroup);
    // Give the pumps a moment to drain what the container wrote last.
    let _ = done_rx.recv_timeout(Duration::from_secs(2));
    let _ = done_rx.recv_timeout(Duration::from_millis(500));
    // The container is gone: remove its cgroups and OCI state ourselves, which spares
    // a `runc delete` (a full Go start-up) on the remove path.
    if !cgroup.is_empty() {
        crate::sandbox::remove_cgroup_dirs(&cgroup);
    }
    if let Some(root) = args.opt("oci-root") {
        let _ = std::fs::remove_dir_all(Path::new(root).join(&id));
    }
    let rec = ExitRecord {
        exit_code: code,
        finished_at,
        oom_killed,
    };
    write_json(&exit_file, &rec).map_err(|e| e.to_string())?;
    Ok(0)
}

/// Reap children until `target` exits; returns its exit code. Other exits are kept.
fn wait_for(target: Pid, reaped: &mut HashMap<i32, i32>) -> i32 {
    loop {
        match waitpid(Pid::from_raw(-1), None) {
            Ok(ws @ (WaitStatus::Exited(pid, _) | WaitStatus::Signaled(pid, _, _))) => {
                let code = exit_code(ws).unwrap_or(255);
                if pid == target {
                    return code;
                }
                reaped.insert(pid.as_raw(), code);
            }
            Ok(_) => {}
            Err(nix::Error::EINTR) => {}
            Err(_) => return reaped.get(&target.as_raw()).copied().unwrap_or(255),
        }
    }
}

/// Whether the container's memory cgroup saw an OOM kill.
fn oom_killed(cgroup: &str) -> bool {
    if cgroup.is_empty() {
        return false;
    }
    let base = Path::new("/sys/fs/cgroup/memory").join(cgroup.trim_start_matches('/'));
    if let Ok(text) = std::fs::read_to_string(base.join("memory.oom_control")) {
        for line in text.lines() {
            if let Some(v) = line.strip_prefix("oom_kill ") {
                return v.trim().parse::<u64>().unwrap_or(0) > 0;
            }
        }
    }
    // cgroup v2 layout.
    let v2 = Path::new("/sys/fs/cgroup").join(cgroup.trim_start_matches('/'));
    std::fs::read_to_string(v2.join("memory.events"))
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("oom_kill ")
                    .map(|v| v.trim().parse::<u64>().unwrap_or(0))
            })
        })
        .is_some_and(|n| n > 0)
}

fn report(msg: &str) -> String {
    let mut out = std::io::stdout();
    let _ = writeln!(out, "error {}", msg.replace('\n', " "));
    let _ = out.flush();
    msg.to_string()
}

fn spawn_small(name: &str, f: impl FnOnce() + Send + 'static) {
    let _ = std::thread::Builder::new()
        .name(name.to_string())
        .stack_size(64 * 1024)
        .spawn(f);
}
