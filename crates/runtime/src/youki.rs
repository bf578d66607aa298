//! youki's `libcontainer` as an `OciRuntime`: containers are created inside the
//! monitor process (no runtime binary start-up), started by writing to the
//! container's notify socket, deleted in-process; `exec` and the command-line verbs
//! run `<helper> runtime-helper youki …` (a small runc-compatible front end).

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::Command;

use libcontainer::container::builder::ContainerBuilder;
use libcontainer::container::{Container, ContainerStatus};
use libcontainer::syscall::syscall::SyscallType;

use crate::oci::{CreateOptions, CreateStdio, OciError, OciRuntime};

/// Name used in logs, `Version` and `--oci-kind`.
pub(crate) const NAME: &str = "youki";

/// libcontainer with its state under `state_root`.
#[derive(Clone, Debug)]
pub(crate) struct YoukiRuntime {
    /// State directory (one sub-directory per container).
    pub(crate) state_root: PathBuf,
    /// Executable providing `runtime-helper youki …` (exec).
    pub(crate) helper_exe: PathBuf,
}

fn failed(verb: &str, e: impl std::fmt::Display) -> OciError {
    OciError::Failed {
        binary: NAME.into(),
        verb: verb.into(),
        message: e.to_string(),
    }
}

impl YoukiRuntime {
    /// State directory of container `id`.
    fn container_root(&self, id: &str) -> PathBuf {
        self.state_root.join(id)
    }

    /// Create container `id` from `bundle` in this process; its init waits on the
    /// notify socket until `start`. Forks and clones: call it only from a
    /// single-threaded helper process.
    pub(crate) fn create_here(
        &self,
        id: &str,
        bundle: &Path,
        opts: &CreateOptions,
        stdio: CreateStdio,
    ) -> Result<(), OciError> {
        std::fs::create_dir_all(&self.state_root).map_err(|e| failed("create", e))?;
        let null = || -> Result<OwnedFd, OciError> {
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/null")
                .map(OwnedFd::from)
                .map_err(|e| failed("create", e))
        };
        let stdin = stdio.stdin.map_or_else(null, Ok)?;
        let stdout = stdio.stdout.map_or_else(null, Ok)?;
        let stderr = stdio.stderr.map_or_else(null, Ok)?;
        let builder = ContainerBuilder::new(id.to_string(), SyscallType::default())
            .with_root_path(&self.state_root)
            .and_then(|b| b.with_pid_file(Some(&opts.pid_file)))
            .map_err(|e| failed("create", e))?
            .with_console_socket(opts.console_socket.as_ref())
            .with_stdin(stdin)
            .with_stdout(stdout)
            .with_stderr(stderr)
            .validate_id()
            .map_err(|e| failed("create", e))?;
        // libcontainer sets the environment in hash order; keep the spec's (see executor).
        let spec = libcontainer::oci_spec::runtime::Spec::load(bundle.join("config.json"))
            .map_err(|e| failed("create", e))?;
        let env = spec
            .process()
            .as_ref()
            .and_then(|p| p.env().clone())
            .unwrap_or_default();
        builder
            .with_executor(crate::youki_executor::SkiffExecutor::new(&env, None))
            .as_init(bundle)
            .with_systemd(false)
            .with_detach(true)
            .build()
            .map(|_| ())
            .map_err(|e| failed("create", e))
    }

    /// Release a created container: what `Container::start` does, without its
    /// `chdir` (this runs on a multi-threaded runtime). The state is marked Running
    /// first: once released, a short-lived process may exit and its monitor remove
    /// the state directory at any moment. The notify socket is reached through
    /// `/proc/self/fd` (its path may exceed `sun_path`).
    pub(crate) fn start_here(&self, id: &str) -> std::io::Result<()> {
        use std::io::Write;
        let root = self.container_root(id);
        Container::load(root.clone())
            .and_then(|mut c| c.set_status(ContainerStatus::Running).save())
            .map_err(std::io::Error::other)?;
        let dir = std::fs::File::open(&root)?;
        let sock = format!(
            "/proc/self/fd/{}/{}",
            dir.as_raw_fd(),
            libcontainer::notify_socket::NOTIFY_FILE
        );
        let mut stream = std::os::unix::net::UnixStream::connect(sock)?;
        stream.write_all(b"start container")
    }
}

impl OciRuntime for YoukiRuntime {
    fn name(&self) -> String {
        NAME.into()
    }

    fn command(&self, args: &[String]) -> Command {
        let mut cmd = Command::new(&self.helper_exe);
        cmd.args(["runtime-helper", "youki", "--root"])
            .arg(&self.state_root)
            .args(args);
        cmd
    }

    fn helper_args(&self) -> Vec<String> {
        vec![
            "--oci-kind".into(),
            NAME.into(),
            "--oci-root".into(),
            self.state_root.display().to_string(),
            "--oci-helper".into(),
            self.helper_exe.display().to_string(),
        ]
    }

    fn create_container(
        &self,
        id: &str,
        bundle: &Path,
        opts: &CreateOptions,
        stdio: CreateStdio,
    ) -> Result<(), OciError> {
        self.create_here(id, bundle, opts, stdio)
    }

    fn start_in_process(&self, id: &str) -> Option<std::io::Result<()>> {
        Some(self.start_here(id))
    }

    fn delete(&self, id: &str) -> Result<(), OciError> {
        let root = self.container_root(id);
        if !root.exists() {
            return Ok(());
        }
        match Container::load(root.clone()) {
            Ok(mut c) => c.delete(true).map_err(|e| failed("delete", e)),
            // Half-written state (creation interrupted): nothing runs from it.
            Err(_) => std::fs::remove_dir_all(&root).map_err(|e| failed("delete", e)),
        }
    }
}
