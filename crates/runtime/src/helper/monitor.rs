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

use super::mux::{Mux, Source};
use super::HelperArgs;
use crate::attach;
use crate::logs::{LineBuffer, LogWriter};
use crate::oci::{CreateOptions, CreateStdio};
use crate::state::{now_ns, write_json, ExitRecord};
use crate::sys::process::{self, BlockedSignals};
use crate::sys::{cgroup, fd, Signal};

/// The monitor's command line.
struct Options {
    id: String,
    bundle: PathBuf,
    exit_file: PathBuf,
    cgroup: String,
    log: PathBuf,
    log_max_size: u64,
    log_max_files: u32,
    attach_socket: Option<PathBuf>,
    console_socket: Option<PathBuf>,
    stdin: bool,
    stdin_once: bool,
    oci_root: Option<PathBuf>,
}

impl Options {
    fn parse(args: &HelperArgs) -> Result<Self, String> {
        let flag = |k: &str| args.opt(k) == Some("true");
        let console_socket = match flag("tty") {
            true => Some(PathBuf::from(args.get("console-socket")?)),
            false => None,
        };
        Ok(Options {
            id: args.get("id")?.to_string(),
            bundle: PathBuf::from(args.get("bundle")?),
            exit_file: PathBuf::from(args.get("exit-file")?),
            cgroup: args.opt("cgroup").unwrap_or_default().to_string(),
            log: PathBuf::from(args.opt("log").unwrap_or_default()),
            log_max_size: args
                .opt("log-max-size")
                .and_then(|v| v.parse().ok())
                .unwrap_or(10 << 20),
            log_max_files: args
                .opt("log-max-files")
                .and_then(|v| v.parse().ok())
                .unwrap_or(5),
            attach_socket: args.opt("attach-socket").map(PathBuf::from),
            console_socket,
            stdin: flag("stdin"),
            stdin_once: flag("stdin-once"),
            oci_root: args.opt("oci-root").map(PathBuf::from),
        })
    }

    /// Remove what the container leaves behind: its cgroups, OCI state and our sockets
    /// (which spares a `runc delete`, a full Go start-up, on the remove path).
    fn cleanup(&self) {
        if !self.cgroup.is_empty() {
            cgroup::remove_dirs(&self.cgroup);
        }
        if let Some(root) = &self.oci_root {
            let _ = std::fs::remove_dir_all(root.join(&self.id));
        }
        for p in [&self.console_socket, &self.attach_socket]
            .into_iter()
            .flatten()
        {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Our ends of the container's stdio.
#[derive(Default)]
struct Stdio {
    sources: Vec<Source>,
    stdin: Option<File>,
    /// The pty master, for resizes.
    terminal: Option<OwnedFd>,
}

pub(crate) fn run(args: &HelperArgs) -> Result<i32, String> {
    process::new_session();
    process::set_child_subreaper().map_err(|e| format!("subreaper: {e}"))?;
    let blocked = BlockedSignals::block(&[Signal::SIGCHLD, Signal::SIGUSR1])
        .map_err(|e| format!("blocking signals: {e}"))?;
    let signals = blocked.signal_fd().map_err(|e| format!("signalfd: {e}"))?;
    let opts = Options::parse(args)?;
    let oci = args.oci()?;
    let log = LogWriter::open(&opts.log, opts.log_max_size, opts.log_max_files)
        .map_err(|e| report(&format!("opening log: {e}")))?;
    let listener = match &opts.attach_socket {
        Some(p) => Some(bind(p, "attach socket", true)?),
        None => None,
    };
    let create = CreateOptions {
        pid_file: opts.bundle.join("init.pid"),
        console_socket: opts.console_socket.clone(),
    };
    let _ = std::fs::remove_file(&create.pid_file);
    let console = match &opts.console_socket {
        Some(p) => Some(bind(p, "console socket", false)?),
        None => None,
    };
    let (create_stdio, mut stdio) = pipes(console.is_none(), opts.stdin)?;
    // The container's process must not inherit our blocked signals (an in-process
    // runtime clones it from us); it cannot exit before it is started, so no
    // SIGCHLD of interest is lost while they are unblocked.
    blocked.unblock();
    // `create_stdio` moves in and is dropped there, so EOF follows the container.
    let created = oci.create_container(&opts.id, &opts.bundle, &create, create_stdio);
    blocked
        .reblock()
        .map_err(|e| format!("blocking signals: {e}"))?;
    if let Err(e) = created {
        report(&e.to_string());
        opts.cleanup();
        return Ok(1);
    }
    if let Some(l) = &console {
        take_terminal(l, opts.stdin, &mut stdio).inspect_err(|e| {
            report(&format!("receiving the terminal: {e}"));
            opts.cleanup();
        })?;
    }
    drop(console);
    let init = announce(&create.pid_file)?;
    let mut mux = Mux::new(signals, log, init);
    mux.sources = stdio.sources;
    mux.listener = listener;
    mux.stdin = stdio.stdin;
    mux.stdin_once = opts.stdin_once;
    mux.terminal = stdio.terminal;
    let code = mux.run();
    finish(&opts, code)?;
    Ok(0)
}

/// Bind a unix socket at `path` (replacing a stale one).
fn bind(path: &Path, what: &str, nonblocking: bool) -> Result<UnixListener, String> {
    let _ = std::fs::remove_file(path);
    let l = UnixListener::bind(path).map_err(|e| report(&format!("{what}: {e}")))?;
    if nonblocking {
        l.set_nonblocking(true).map_err(|e| e.to_string())?;
    }
    Ok(l)
}

/// Pipes for the container's stdout and stderr (and stdin when wanted), unless it gets a
/// terminal: the container's ends for `create`, and ours.
fn pipes(wanted: bool, want_stdin: bool) -> Result<(CreateStdio, Stdio), String> {
    let mut theirs = CreateStdio::default();
    let mut ours = Stdio::default();
    if !wanted {
        return Ok((theirs, ours));
    }
    let pipe = || fd::pipe().map_err(|e| format!("pipe: {e}"));
    let (out_r, out_w) = pipe()?;
    let (err_r, err_w) = pipe()?;
    theirs.stdout = Some(out_w);
    theirs.stderr = Some(err_w);
    if want_stdin {
        let (in_r, in_w) = pipe()?;
        theirs.stdin = Some(in_r);
        ours.stdin = Some(nonblocking(in_w)?);
    }
    ours.sources
        .push(source(File::from(out_r), "stdout", attach::STDOUT));
    ours.sources
        .push(source(File::from(err_r), "stderr", attach::STDERR));
    Ok((theirs, ours))
}

/// Take the pty master the OCI runtime sent while creating the container (already
/// queued on the console socket): it is the container's output, stdin and terminal.
fn take_terminal(l: &UnixListener, want_stdin: bool, stdio: &mut Stdio) -> Result<(), String> {
    l.set_nonblocking(true).map_err(|e| e.to_string())?;
    let master = fd::receive_fd(l).map_err(|e| e.to_string())?;
    let file = nonblocking(master)?;
    if want_stdin {
        stdio.stdin = Some(file.try_clone().map_err(|e| e.to_string())?);
    }
    stdio.terminal = Some(OwnedFd::from(file.try_clone().map_err(|e| e.to_string())?));
    stdio.sources.push(source(file, "stdout", attach::STDOUT));
    Ok(())
}

/// Tell the runtime the container's init PID (`created PID`), then let go of its pipe.
fn announce(pid_file: &Path) -> Result<i32, String> {
    let init: i32 = std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| report("no pid file after create"))?;
    let mut out = std::io::stdout();
    let _ = writeln!(out, "created {init}");
    let _ = out.flush();
    fd::stdout_to_null();
    Ok(init)
}

/// The container is gone: note the OOM kill before its cgroup goes, clean up, and write
/// the exit record.
fn finish(opts: &Options, code: i32) -> Result<(), String> {
    let finished_at = now_ns();
    let oom_killed = cgroup::oom_killed(&opts.cgroup);
    opts.cleanup();
    let rec = ExitRecord {
        exit_code: code,
        finished_at,
        oom_killed,
    };
    write_json(&opts.exit_file, &rec).map_err(|e| e.to_string())
}

fn source(file: File, stream: &'static str, kind: u8) -> Source {
    Source {
        file,
        stream,
        kind,
        lines: LineBuffer::default(),
    }
}

fn nonblocking(fd: OwnedFd) -> Result<File, String> {
    fd::nonblocking(fd).map_err(|e| format!("fcntl: {e}"))
}

/// Report an error to the runtime (`error MESSAGE` on stdout); returns the message.
fn report(msg: &str) -> String {
    let mut out = std::io::stdout();
    let _ = writeln!(out, "error {}", msg.replace('\n', " "));
    let _ = out.flush();
    msg.to_string()
}
