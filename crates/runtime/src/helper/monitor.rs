//! The per-container monitor: a session leader and child subreaper that creates the
//! container through the OCI runtime (`create`, so StartContainer is only `start`),
//! holds its stdio (pipes, or a pty from the console socket), serves the attach
//! socket, writes the CRI log, reaps zombies and records exit code, finish time and
//! OOM kill in the exit file. Single-threaded (see `mux`).

use std::fs::File;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::unistd::{pipe2, setsid, Pid};

use super::mux::{Mux, Source};
use super::HelperArgs;
use crate::attach;
use crate::logs::{LineBuffer, LogWriter};
use crate::oci::{CreateOptions, CreateStdio};
use crate::state::{now_ns, write_json, ExitRecord};

pub(crate) fn run(args: &HelperArgs) -> Result<i32, String> {
    let _ = setsid();
    nix::sys::prctl::set_child_subreaper(true).map_err(|e| format!("subreaper: {e}"))?;
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGCHLD);
    mask.add(Signal::SIGUSR1);
    mask.thread_block()
        .map_err(|e| format!("blocking signals: {e}"))?;
    let signals = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
        .map_err(|e| format!("signalfd: {e}"))?;

    let id = args.get("id")?.to_string();
    let bundle = PathBuf::from(args.get("bundle")?);
    let exit_file = PathBuf::from(args.get("exit-file")?);
    let cgroup = args.opt("cgroup").unwrap_or_default().to_string();
    let flag = |k: &str| args.opt(k) == Some("true");
    let (tty, want_stdin) = (flag("tty"), flag("stdin"));
    let max_size = args
        .opt("log-max-size")
        .and_then(|v| v.parse().ok())
        .unwrap_or(10 << 20);
    let max_files = args
        .opt("log-max-files")
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let oci = args.oci()?;
    let log = LogWriter::open(
        Path::new(args.opt("log").unwrap_or_default()),
        max_size,
        max_files,
    )
    .map_err(|e| report(&format!("opening log: {e}")))?;
    let attach_path = args.opt("attach-socket").map(PathBuf::from);
    let listener = match &attach_path {
        Some(p) => {
            let _ = std::fs::remove_file(p);
            let l = UnixListener::bind(p).map_err(|e| report(&format!("attach socket: {e}")))?;
            l.set_nonblocking(true).map_err(|e| e.to_string())?;
            Some(l)
        }
        None => None,
    };

    let pid_file = bundle.join("init.pid");
    let _ = std::fs::remove_file(&pid_file);
    let mut opts = CreateOptions {
        pid_file: pid_file.clone(),
        console_socket: None,
    };
    let console = if tty {
        let p = PathBuf::from(args.get("console-socket")?);
        let _ = std::fs::remove_file(&p);
        let l = UnixListener::bind(&p).map_err(|e| report(&format!("console socket: {e}")))?;
        opts.console_socket = Some(p.clone());
        Some((l, p))
    } else {
        None
    };
    let mut sources = Vec::new();
    let mut stdin: Option<File> = None;
    let mut stdio = CreateStdio::default();
    if !tty {
        let (out_r, out_w) = pipe2(OFlag::O_CLOEXEC).map_err(|e| format!("pipe: {e}"))?;
        let (err_r, err_w) = pipe2(OFlag::O_CLOEXEC).map_err(|e| format!("pipe: {e}"))?;
        stdio.stdout = Some(out_w);
        stdio.stderr = Some(err_w);
        if want_stdin {
            let (in_r, in_w) = pipe2(OFlag::O_CLOEXEC).map_err(|e| format!("pipe: {e}"))?;
            stdio.stdin = Some(in_r);
            stdin = Some(nonblocking(in_w)?);
        }
        sources.push(source(out_r, "stdout", attach::STDOUT));
        sources.push(source(err_r, "stderr", attach::STDERR));
    }
    // The container's process must not inherit our blocked signals (an in-process
    // runtime clones it from us); it cannot exit before it is started, so no
    // SIGCHLD of interest is lost while they are unblocked.
    let _ = mask.thread_unblock();
    // `stdio` moves in and is dropped there, so EOF follows the container.
    let created = oci.create_container(&id, &bundle, &opts, stdio);
    mask.thread_block()
        .map_err(|e| format!("blocking signals: {e}"))?;
    if let Err(e) = created {
        report(&e.to_string());
        cleanup(&id, &cgroup, args, &opts, attach_path.as_deref());
        return Ok(1);
    }
    let mut terminal = None;
    if let Some((l, _)) = &console {
        let master = receive_master(l).map_err(|e| {
            report(&format!("receiving the terminal: {e}"));
            cleanup(&id, &cgroup, args, &opts, attach_path.as_deref());
            e
        })?;
        let file = nonblocking(master)?;
        if want_stdin {
            stdin = Some(file.try_clone().map_err(|e| e.to_string())?);
        }
        terminal = Some(OwnedFd::from(file.try_clone().map_err(|e| e.to_string())?));
        sources.push(Source {
            file,
            stream: "stdout",
            kind: attach::STDOUT,
            lines: LineBuffer::default(),
        });
    }
    drop(console);
    let init: i32 = std::fs::read_to_string(&pid_file)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| report("no pid file after create"))?;
    {
        let mut out = std::io::stdout();
        let _ = writeln!(out, "created {init}");
        let _ = out.flush();
    }
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        let _ = nix::unistd::dup2_stdout(&null);
    }

    let mut mux = Mux::new(signals, log, Pid::from_raw(init));
    mux.sources = sources;
    mux.listener = listener;
    mux.stdin = stdin;
    mux.stdin_once = flag("stdin-once");
    mux.terminal = terminal;
    let code = mux.run();
    let finished_at = now_ns();
    let oom_killed = oom_killed(&cgroup);
    // The container is gone: remove its cgroups and OCI state ourselves, which spares
    // a `runc delete` (a full Go start-up) on the remove path.
    cleanup(&id, &cgroup, args, &opts, attach_path.as_deref());
    let rec = ExitRecord {
        exit_code: code,
        finished_at,
        oom_killed,
    };
    write_json(&exit_file, &rec).map_err(|e| e.to_string())?;
    Ok(0)
}

fn source(fd: OwnedFd, stream: &'static str, kind: u8) -> Source {
    Source {
        file: File::from(fd),
        stream,
        kind,
        lines: LineBuffer::default(),
    }
}

fn nonblocking(fd: OwnedFd) -> Result<File, String> {
    use nix::fcntl::{fcntl, FcntlArg};
    let flags = fcntl(&fd, FcntlArg::F_GETFL).map_err(|e| format!("fcntl: {e}"))?;
    let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
    fcntl(&fd, FcntlArg::F_SETFL(flags)).map_err(|e| format!("fcntl: {e}"))?;
    Ok(File::from(fd))
}

/// The pty master runc sent while creating the container (already queued).
fn receive_master(l: &UnixListener) -> Result<OwnedFd, String> {
    l.set_nonblocking(true).map_err(|e| e.to_string())?;
    crate::pty::receive_fd(l).map_err(|e| e.to_string())
}

fn cleanup(id: &str, cgroup: &str, args: &HelperArgs, opts: &CreateOptions, attach: Option<&Path>) {
    if !cgroup.is_empty() {
        crate::sandbox::remove_cgroup_dirs(cgroup);
    }
    if let Some(root) = args.opt("oci-root") {
        let _ = std::fs::remove_dir_all(Path::new(root).join(id));
    }
    if let Some(p) = &opts.console_socket {
        let _ = std::fs::remove_file(p);
    }
    if let Some(p) = attach {
        let _ = std::fs::remove_file(p);
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
