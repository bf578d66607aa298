//! StartContainer (the OCI `start`, or its in-process equivalent), StopContainer (stop
//! signal, grace period, SIGKILL), RemoveContainer and ReopenContainerLog.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::error::RuntimeError;
use crate::rootfs;
use crate::runtime::Runtime;
use crate::state::{now_ns, read_json, write_json, ContainerPhase, ContainerRecord, ExitRecord};
use crate::sys::process::parse_signal;
use crate::sys::Signal;

impl Runtime {
    /// StartContainer: let the created container's process run (`start`).
    pub(crate) async fn start_container(&self, id: &str) -> Result<(), RuntimeError> {
        let mut rec = self.container(id)?;
        if rec.phase != ContainerPhase::Created {
            return Err(RuntimeError::FailedPrecondition(format!(
                "container {} is not in created state",
                rec.id
            )));
        }
        // Taken before the process is released, so a quick exit never precedes it.
        let started_at = now_ns();
        let result = self.oci_start(&rec.id).await?;
        rec.phase = ContainerPhase::Started;
        let msg = match result {
            Ok(()) => {
                rec.started_at = started_at;
                self.save_container(&rec)?;
                return Ok(());
            }
            Err(msg) => msg,
        };
        if let Some(pid) = rec.pid {
            let _ = self.sys.kill(pid, Signal::SIGKILL);
        }
        rec.start_error = Some(msg.clone());
        if !self.wait_exit(&rec, Duration::from_secs(5)).await {
            write_json(
                &self.layout.exit_file(&rec.id),
                &ExitRecord {
                    exit_code: 128,
                    finished_at: now_ns(),
                    oom_killed: false,
                },
            )?;
        }
        self.save_container(&rec)?;
        Err(RuntimeError::Internal(format!(
            "starting container {}: {msg}",
            rec.id
        )))
    }

    /// Release container `id`'s process, in process when the OCI runtime allows it, else
    /// with its `start`; the inner error is the start failure to report.
    async fn oci_start(&self, id: &str) -> Result<Result<(), String>, RuntimeError> {
        let (oci, cid) = (self.oci.clone(), id.to_string());
        let direct = tokio::task::spawn_blocking(move || oci.start_in_process(&cid))
            .await
            .map_err(|e| RuntimeError::Internal(e.to_string()))?;
        if let Some(r) = direct {
            return Ok(r.map_err(|e| format!("{} start failed: {e}", self.oci.name())));
        }
        let out = tokio::process::Command::from(self.oci.start(id))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .await
            .map_err(RuntimeError::io(format!("running {}", self.oci.name())))?;
        // A process that exits at once lets the monitor clean the OCI state up
        // before `start` removes exec.fifo; the container did start.
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() || stderr.contains("exec.fifo: no such file") {
            Ok(Ok(()))
        } else {
            Ok(Err(format!(
                "{} start failed: {}",
                self.oci.name(),
                stderr.trim()
            )))
        }
    }

    /// Wait until the container has an exit record; false after `timeout`.
    pub(super) async fn wait_exit(&self, rec: &ContainerRecord, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut step = Duration::from_millis(2);
        loop {
            if self.exit_of(rec).is_some() {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(step).await;
            step = (step * 2).min(Duration::from_millis(50));
        }
    }

    /// StopContainer: the stop signal, then SIGKILL after `timeout` seconds.
    pub(crate) async fn stop_container(&self, id: &str, timeout: i64) -> Result<(), RuntimeError> {
        let rec = match self.container(id) {
            Ok(r) => r,
            Err(RuntimeError::NotFound(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
        if rec.phase != ContainerPhase::Started || self.exit_of(&rec).is_some() {
            return Ok(());
        }
        let Some(pid) = rec.pid else { return Ok(()) };
        if timeout > 0 {
            let sig = parse_signal(&rec.stop_signal).unwrap_or(Signal::SIGTERM);
            let _ = self.sys.kill(pid, sig);
            if self
                .wait_exit(&rec, Duration::from_secs(timeout as u64))
                .await
            {
                return Ok(());
            }
        }
        let _ = self.sys.kill(pid, Signal::SIGKILL);
        if self.wait_exit(&rec, Duration::from_secs(10)).await {
            Ok(())
        } else {
            Err(RuntimeError::Timeout(format!(
                "container {} did not exit after SIGKILL",
                rec.id
            )))
        }
    }

    /// RemoveContainer: kill if needed, delete the OCI state, rootfs and directory.
    pub(crate) async fn remove_container(&self, id: &str) -> Result<(), RuntimeError> {
        let rec = match self.container(id) {
            Ok(r) => r,
            Err(RuntimeError::NotFound(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
        self.stop_container(&rec.id, 0).await?;
        if rec.phase == ContainerPhase::Created {
            if let Some(pid) = rec.pid {
                // Created, never started: kill the waiting process; its monitor cleans up.
                let _ = self.sys.kill(pid, Signal::SIGKILL);
                let mut r = rec.clone();
                r.phase = ContainerPhase::Started;
                self.wait_exit(&r, Duration::from_secs(5)).await;
            }
        }
        // The monitor removes its sockets when it exits; a killed one leaves them.
        let _ = std::fs::remove_file(self.layout.attach_socket(&rec.id));
        let _ = std::fs::remove_file(self.layout.console_socket(&rec.id));
        // The monitor cleans up after a normal exit; only leftovers need the OCI runtime.
        let started = (rec.phase == ContainerPhase::Started || rec.pid.is_some())
            && (read_json::<ExitRecord>(&self.layout.exit_file(&rec.id))
                .ok()
                .flatten()
                .is_none()
                || self.layout.oci_state_dir().join(&rec.id).exists());
        self.delete_container_files(&rec.id, started).await?;
        self.lock_containers()?.remove(&rec.id);
        if let Ok(mut exits) = self.exits.lock() {
            exits.remove(&rec.id);
        }
        Ok(())
    }

    /// Delete the OCI state (when `oci_state` says there may be some), then the rootfs and
    /// directory: moved to the trash and finished in the background, since unmounting an
    /// overlay syncs its upper filesystem (tens of ms).
    async fn delete_container_files(&self, id: &str, oci_state: bool) -> Result<(), RuntimeError> {
        let (oci, sys, cid) = (self.oci.clone(), self.sys.clone(), id.to_string());
        let dir = self.layout.container_dir(id);
        let trash = self.layout.trash_dir().join(id);
        tokio::task::spawn_blocking(move || -> Result<(), RuntimeError> {
            if oci_state {
                oci.delete(&cid)?;
            }
            if std::fs::rename(&dir, &trash).is_ok() {
                std::thread::spawn(move || {
                    if let Err(e) = rootfs::remove(&*sys, &trash) {
                        tracing::warn!(error = %e, "removing container directory");
                    }
                });
                return Ok(());
            }
            rootfs::remove(&*sys, &dir)?;
            Ok(())
        })
        .await
        .map_err(|e| RuntimeError::Internal(e.to_string()))?
    }

    /// ReopenContainerLog: ask the monitor to reopen its log file.
    pub(crate) fn reopen_log(&self, id: &str) -> Result<(), RuntimeError> {
        let rec = self.container(id)?;
        if self.exit_of(&rec).is_some() || rec.phase != ContainerPhase::Started {
            return Err(RuntimeError::FailedPrecondition(
                "container is not running".into(),
            ));
        }
        if let Some(m) = rec.monitor_pid {
            let _ = self.sys.kill(m, Signal::SIGUSR1);
        }
        Ok(())
    }
}
