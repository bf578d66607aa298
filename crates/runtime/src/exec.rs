//! ExecSync and the preparation of streaming Exec/Attach/PortForward sessions.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;

use crate::error::RuntimeError;
use crate::oci::ExecOptions;
use crate::runtime::Runtime;
use crate::streaming::StreamRequest;

/// Cap on captured ExecSync output per stream.
const MAX_OUTPUT: u64 = 16 * 1024 * 1024;

/// Result of ExecSync.
pub(crate) struct ExecSyncOutput {
    /// Captured stdout.
    pub(crate) stdout: Vec<u8>,
    /// Captured stderr.
    pub(crate) stderr: Vec<u8>,
    /// Exit code.
    pub(crate) exit_code: i32,
}

impl Runtime {
    fn running_container(&self, id: &str) -> Result<String, RuntimeError> {
        let rec = self.container(id)?;
        if rec.phase != crate::state::ContainerPhase::Started || self.exit_of(&rec).is_some() {
            return Err(RuntimeError::FailedPrecondition(format!(
                "container {} is not running",
                rec.id
            )));
        }
        Ok(rec.id)
    }

    /// ExecSync: run `cmd` in the container and capture its output.
    pub(crate) async fn exec_sync(
        &self,
        id: &str,
        cmd: Vec<String>,
        timeout_secs: i64,
    ) -> Result<ExecSyncOutput, RuntimeError> {
        let cid = self.running_container(id)?;
        if cmd.is_empty() {
            return Err(RuntimeError::InvalidArgument("empty command".into()));
        }
        let mut command =
            tokio::process::Command::from(self.oci.exec(&cid, &cmd, &ExecOptions::default()));
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(RuntimeError::io("starting exec"))?;
        let mut out = child.stdout.take();
        let mut err = child.stderr.take();
        let work = async {
            let mut o = Vec::new();
            let mut e = Vec::new();
            let read_o = async {
                if let Some(s) = out.as_mut() {
                    let _ = s.take(MAX_OUTPUT).read_to_end(&mut o).await;
                }
            };
            let read_e = async {
                if let Some(s) = err.as_mut() {
                    let _ = s.take(MAX_OUTPUT).read_to_end(&mut e).await;
                }
            };
            tokio::join!(read_o, read_e);
            let status = child.wait().await;
            (o, e, status)
        };
        let result = if timeout_secs > 0 {
            tokio::time::timeout(Duration::from_secs(timeout_secs as u64), work)
                .await
                .map_err(|_| {
                    RuntimeError::Timeout(format!(
                        "command {cmd:?} timed out after {timeout_secs}s"
                    ))
                })?
        } else {
            work.await
        };
        let (stdout, stderr, status) = result;
        let status = status.map_err(RuntimeError::io("waiting for exec"))?;
        use std::os::unix::process::ExitStatusExt;
        let exit_code = status
            .code()
            .or_else(|| status.signal().map(|s| 128 + s))
            .unwrap_or(255);
        Ok(ExecSyncOutput {
            stdout,
            stderr,
            exit_code,
        })
    }

    /// Exec: a one-time streaming URL.
    pub(crate) fn prepare_exec(
        &self,
        id: &str,
        cmd: Vec<String>,
        tty: bool,
        stdin: bool,
    ) -> Result<String, RuntimeError> {
        let container_id = self.running_container(id)?;
        if cmd.is_empty() {
            return Err(RuntimeError::InvalidArgument("empty command".into()));
        }
        self.streams.register(StreamRequest::Exec {
            container_id,
            cmd,
            tty,
            stdin,
        })
    }

    /// Attach: a one-time streaming URL for the container's stdio. Stdin is only
    /// forwarded when the container was created with `stdin` (else ignored); with a terminal
    /// everything arrives on stdout.
    pub(crate) fn prepare_attach(
        &self,
        id: &str,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    ) -> Result<String, RuntimeError> {
        let container_id = self.running_container(id)?;
        let rec = self.container(&container_id)?;
        let socket = self.layout.attach_socket(&rec.id);
        if !socket.exists() {
            return Err(RuntimeError::FailedPrecondition(format!(
                "container {} has no attach socket (started by an older runtime?)",
                rec.id
            )));
        }
        self.streams.register(StreamRequest::Attach {
            socket,
            stdin: stdin && rec.config.stdin,
            stdout,
            stderr: stderr && !rec.config.tty,
        })
    }

    /// PortForward: a one-time streaming URL.
    pub(crate) fn prepare_port_forward(
        &self,
        sandbox_id: &str,
        ports: &[i32],
    ) -> Result<String, RuntimeError> {
        let sb = self.sandbox(sandbox_id)?;
        if sb.netns.as_os_str().is_empty() || !sb.netns.exists() {
            return Err(RuntimeError::FailedPrecondition(format!(
                "sandbox {} has no network namespace",
                sb.id
            )));
        }
        let ports = ports
            .iter()
            .filter_map(|p| u16::try_from(*p).ok())
            .collect();
        self.streams.register(StreamRequest::PortForward {
            netns: sb.netns.clone(),
            ports,
        })
    }
}
