//! The low-level OCI runtime seam: a trait producing the runc-compatible command
//! lines the runtime and its helpers run, with the external-binary implementation.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::config::OciRuntimeKind;

/// Errors from OCI runtime invocations.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OciError {
    /// The binary could not be started.
    #[error("running {binary}: {source}")]
    Spawn {
        /// Binary.
        binary: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The runtime exited non-zero.
    #[error("{binary} {verb} failed: {message}")]
    Failed {
        /// Binary.
        binary: String,
        /// Sub-command.
        verb: String,
        /// Its stderr.
        message: String,
    },
}

/// Options of an exec.
#[derive(Clone, Debug, Default)]
pub(crate) struct ExecOptions {
    /// Allocate a terminal (needs `console_socket`).
    pub(crate) tty: bool,
    /// Return as soon as the process started.
    pub(crate) detach: bool,
    /// Unix socket receiving the pty master.
    pub(crate) console_socket: Option<PathBuf>,
    /// File receiving the process's host PID.
    pub(crate) pid_file: Option<PathBuf>,
}

/// Options of a create.
#[derive(Clone, Debug, Default)]
pub(crate) struct CreateOptions {
    /// File receiving the container process's host PID.
    pub(crate) pid_file: PathBuf,
    /// Unix socket receiving the pty master (terminal containers).
    pub(crate) console_socket: Option<PathBuf>,
}

/// The container process's stdio at create time (`None`: `/dev/null`).
#[derive(Debug, Default)]
pub(crate) struct CreateStdio {
    /// Standard input.
    pub(crate) stdin: Option<OwnedFd>,
    /// Standard output.
    pub(crate) stdout: Option<OwnedFd>,
    /// Standard error.
    pub(crate) stderr: Option<OwnedFd>,
}

/// A runc-compatible runtime, as command lines.
pub(crate) trait OciRuntime: Send + Sync {
    /// Name for logs and `Version`.
    fn name(&self) -> String;
    /// Base command (binary plus global flags) for `args`.
    fn command(&self, args: &[String]) -> Command;
    /// Arguments identifying this runtime to a helper process (`--oci …`).
    fn helper_args(&self) -> Vec<String>;
    /// `helper_args` for a helper working on existing container `id` (which may
    /// have been created by another runtime; see `oci_select`).
    fn helper_args_for(&self, _id: &str) -> Vec<String> {
        self.helper_args()
    }

    /// The FIFO a created container's process blocks on until started, when the
    /// runtime's `start` is nothing more than reading it (runc's `exec.fifo`).
    fn exec_fifo(&self, _id: &str) -> Option<PathBuf> {
        None
    }

    /// `create`: set the container up, its process waiting for `start`; stdio
    /// passes through (or the pty master goes to `opts.console_socket`).
    fn create(&self, id: &str, bundle: &Path, opts: &CreateOptions) -> Command {
        let log = bundle.join("oci.log");
        let mut args: Vec<String> = vec![
            "--log".into(),
            log.display().to_string(),
            "create".into(),
            "--bundle".into(),
            bundle.display().to_string(),
            "--pid-file".into(),
            opts.pid_file.display().to_string(),
        ];
        if let Some(s) = &opts.console_socket {
            args.push("--console-socket".into());
            args.push(s.display().to_string());
        }
        args.push(id.into());
        self.command(&args)
    }

    /// Create container `id` with the given stdio and wait until it is created
    /// (called by the monitor, a single-threaded helper process). The default runs
    /// `create` and waits for it.
    fn create_container(
        &self,
        id: &str,
        bundle: &Path,
        opts: &CreateOptions,
        stdio: CreateStdio,
    ) -> Result<(), OciError> {
        let mut cmd = self.create(id, bundle, opts);
        let pipe = |fd: Option<OwnedFd>| fd.map_or_else(Stdio::null, Stdio::from);
        cmd.stdin(pipe(stdio.stdin))
            .stdout(pipe(stdio.stdout))
            .stderr(pipe(stdio.stderr));
        let mut child = cmd.spawn().map_err(|source| OciError::Spawn {
            binary: self.name(),
            source,
        })?;
        // Our copies of the container's ends went into `cmd`: drop them so EOF follows the container.
        drop(cmd);
        let status = child.wait().map_err(|source| OciError::Spawn {
            binary: self.name(),
            source,
        })?;
        if status.success() {
            return Ok(());
        }
        let code = status.code().unwrap_or(255);
        let message = std::fs::read_to_string(bundle.join("oci.log"))
            .ok()
            .and_then(|l| l.lines().last().map(str::to_string))
            .unwrap_or_else(|| format!("create exited with {code}"));
        Err(OciError::Failed {
            binary: self.name(),
            verb: "create".into(),
            message: format!("({code}) {message}"),
        })
    }

    /// Start a created container without running a program, when the runtime
    /// allows it (blocking); `None` means "run `start`".
    fn start_in_process(&self, _id: &str) -> Option<std::io::Result<()>> {
        None
    }

    /// `start`: let a created container's process run.
    fn start(&self, id: &str) -> Command {
        self.command(&["start".into(), id.into()])
    }

    /// `exec` of `argv` in container `id`.
    fn exec(&self, id: &str, argv: &[String], opts: &ExecOptions) -> Command {
        let mut args: Vec<String> = vec!["exec".into()];
        if opts.tty {
            args.push("--tty".into());
        }
        if opts.detach {
            args.push("--detach".into());
        }
        if let Some(s) = &opts.console_socket {
            args.push("--console-socket".into());
            args.push(s.display().to_string());
        }
        if let Some(p) = &opts.pid_file {
            args.push("--pid-file".into());
            args.push(p.display().to_string());
        }
        args.push(id.into());
        args.extend(argv.iter().cloned());
        self.command(&args)
    }

    /// `delete --force`: kill what is left and remove state and cgroup.
    fn delete(&self, id: &str) -> Result<(), OciError> {
        let out = self
            .command(&["delete".into(), "--force".into(), id.into()])
            .stdin(Stdio::null())
            .output()
            .map_err(|source| OciError::Spawn {
                binary: self.name(),
                source,
            })?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() || stderr.contains("does not exist") || stderr.contains("not exist")
        {
            return Ok(());
        }
        Err(OciError::Failed {
            binary: self.name(),
            verb: "delete".into(),
            message: stderr.trim().to_string(),
        })
    }
}

/// An external runc-compatible binary (`runc`, `crun`, or a path).
#[derive(Clone, Debug)]
pub(crate) struct BinaryRuntime {
    /// Executable.
    pub(crate) binary: PathBuf,
    /// State directory (`--root`).
    pub(crate) state_root: PathBuf,
    /// Run inside a private mount namespace without the hybrid cgroup2 mount (crun).
    pub(crate) hide_unified_cgroup: bool,
}

impl BinaryRuntime {
    /// Build from the configured kind.
    pub(crate) fn new(kind: &OciRuntimeKind, state_root: &Path) -> Self {
        let (binary, hide) = match kind {
            OciRuntimeKind::Runc => (PathBuf::from("runc"), false),
            OciRuntimeKind::Crun => (PathBuf::from("crun"), true),
            OciRuntimeKind::Binary(p) => (p.clone(), false),
            // Only reached when built without the `youki` feature (see `runtime`).
            OciRuntimeKind::Youki => (PathBuf::from("youki"), false),
        };
        BinaryRuntime {
            binary,
            state_root: state_root.to_path_buf(),
            hide_unified_cgroup: hide,
        }
    }

    /// Rebuild from `helper_args` (inside helper processes).
    pub(crate) fn from_helper_args(binary: &str, state_root: &str, hide: bool) -> Self {
        BinaryRuntime {
            binary: PathBuf::from(binary),
            state_root: PathBuf::from(state_root),
            hide_unified_cgroup: hide,
        }
    }
}

impl OciRuntime for BinaryRuntime {
    fn name(&self) -> String {
        self.binary
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    fn command(&self, args: &[String]) -> Command {
        let mut full: Vec<String> = vec!["--root".into(), self.state_root.display().to_string()];
        full.extend(args.iter().cloned());
        if self.hide_unified_cgroup {
            // crun refuses hybrid cgroup layouts; hide cgroup2 in a private mount namespace.
            let mut cmd = Command::new("unshare");
            cmd.args(["--mount", "--propagation", "slave", "--", "sh", "-c"])
                .arg("umount -l /sys/fs/cgroup/unified 2>/dev/null; exec \"$@\"")
                .arg("sh")
                .arg(&self.binary)
                .args(full);
            cmd
        } else {
            let mut cmd = Command::new(&self.binary);
            cmd.args(full);
            cmd
        }
    }

    fn exec_fifo(&self, id: &str) -> Option<PathBuf> {
        (self.name() == "runc").then(|| self.state_root.join(id).join("exec.fifo"))
    }

    fn start_in_process(&self, id: &str) -> Option<std::io::Result<()>> {
        let fifo = self.exec_fifo(id).filter(|f| f.exists())?;
        Some(start_via_exec_fifo(&fifo))
    }

    fn helper_args(&self) -> Vec<String> {
        vec![
            "--oci-binary".into(),
            self.binary.display().to_string(),
            "--oci-root".into(),
            self.state_root.display().to_string(),
            "--oci-hide-unified".into(),
            self.hide_unified_cgroup.to_string(),
        ]
    }
}

/// Start a created runc container the way `runc start` does, without starting a
/// Go program: open its exec FIFO for reading (which releases the process blocked
/// opening it for writing), take the byte it writes, and remove the FIFO (which
/// is how runc tells "created" from "running").
pub(crate) fn start_via_exec_fifo(fifo: &Path) -> std::io::Result<()> {
    use std::io::Read;
    use std::os::fd::AsRawFd;

    use crate::sys::fd;
    let mut f = fd::open_fifo_reader(fifo)?;
    let mut pfd = [fd::poll_fd(f.as_raw_fd(), fd::POLLIN)];
    // Linux reports no POLLHUP to a reader that opened before any writer, so this
    // waits for the process's byte (or for it to die holding the FIFO open).
    if fd::poll(&mut pfd, 5000)? == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "container process never opened its exec fifo",
        ));
    }
    let mut buf = [0u8; 16];
    let n = f.read(&mut buf)?;
    if n == 0 {
        return Err(std::io::Error::other(
            "container process exited before it was started",
        ));
    }
    match std::fs::remove_file(fifo) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_runc_exec_line() {
        let rt = BinaryRuntime::new(&OciRuntimeKind::Runc, Path::new("/r"));
        let opts = ExecOptions {
            tty: true,
            detach: true,
            console_socket: Some("/s".into()),
            pid_file: None,
        };
        let cmd = rt.exec("c1", &["sh".into()], &opts);
        let args: Vec<String> = cmd
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            [
                "--root",
                "/r",
                "exec",
                "--tty",
                "--detach",
                "--console-socket",
                "/s",
                "c1",
                "sh"
            ]
        );
    }
}
