//! Containers: create (rootfs + spec + the monitor running the OCI `create`),
//! start (OCI `start`), stop with grace period, remove, status and list.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use k8s_cri::v1::{
    Container, ContainerConfig, ContainerFilter, ContainerStatus, ImageSpec, PodSandboxConfig,
};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::io::AsyncBufReadExt;

use crate::error::RuntimeError;
use crate::rootfs;
use crate::runtime::Runtime;
use crate::spec::{self, PidNamespace, SpecInputs};
use crate::state::{
    new_id, now_ns, process_alive, read_json, write_json, ContainerPhase, ContainerRecord,
    ExitRecord,
};

/// CRI container states.
const CREATED: i32 = 0;
const RUNNING: i32 = 1;
const EXITED: i32 = 2;

impl Runtime {
    /// CreateContainer.
    pub async fn create_container(
        &self,
        sandbox_id: &str,
        config: ContainerConfig,
        _sandbox_config: Option<PodSandboxConfig>,
    ) -> Result<String, RuntimeError> {
        let sb = self.sandbox(sandbox_id)?;
        if sb.stopped {
            return Err(RuntimeError::FailedPrecondition(format!(
                "sandbox {} is not ready",
                sb.id
            )));
        }
        let image_name = config
            .image
            .as_ref()
            .map(|i| i.image.clone())
            .unwrap_or_default();
        let image = self
            .cfg
            .images
            .get(&image_name)
            .ok_or_else(|| RuntimeError::NotFound(format!("image {image_name:?}")))?;
        let layers = self.cfg.images.layer_paths(&image);
        let id = new_id();
        let dir = self.layout.container_dir(&id);
        std::fs::create_dir_all(&dir).map_err(RuntimeError::io("container dir"))?;
        let result = (|| -> Result<ContainerRecord, RuntimeError> {
            let root = rootfs::mount_overlay(&dir, &layers)?;
            let cgroup_path = format!("{}/{}", sb.cgroup_parent.trim_end_matches('/'), id);
            let sandbox_dir = self.layout.sandbox_dir(&sb.id);
            let netns = (!sb.netns.as_os_str().is_empty()).then_some(sb.netns.as_path());
            let spec = spec::build(&SpecInputs {
                config: &config,
                sandbox: &sb.config,
                image: &image.config,
                rootfs: &root,
                netns,
                ns_pid: sb.ns_pid.or(sb.infra_pid).unwrap_or(0),
                pid_ns: self.pid_namespace(&config, &sb)?,
                sandbox_dir: &sandbox_dir,
                cgroup_path: &cgroup_path,
                memsw: Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists(),
            })?;
            write_json(&dir.join("config.json"), &spec)?;
            let log_dir = &sb.config.log_directory;
            let log_path = if !log_dir.is_empty() && !config.log_path.is_empty() {
                Path::new(log_dir)
                    .join(&config.log_path)
                    .display()
                    .to_string()
            } else if !config.log_path.is_empty() {
                self.cfg
                    .pod_log_dir
                    .join(&config.log_path)
                    .display()
                    .to_string()
            } else {
                String::new()
            };
            Ok(ContainerRecord {
                id: id.clone(),
                sandbox_id: sb.id.clone(),
                image_id: image.id.clone(),
                image_name: image_name.clone(),
                created_at: now_ns(),
                started_at: 0,
                phase: ContainerPhase::Created,
                pid: None,
                monitor_pid: None,
                log_path,
                stop_signal: image
                    .config
                    .stop_signal
                    .clone()
                    .unwrap_or_else(|| "SIGTERM".into()),
                cgroup_path,
                start_error: None,
                config,
            })
        })();
        let result = match result {
            Ok(mut rec) => self.spawn_monitor(&mut rec).await.map(|()| rec),
            Err(e) => Err(e),
        };
        match result {
            Ok(rec) => {
                self.save_container(&rec)?;
                Ok(id)
            }
            Err(e) => {
                let _ = rootfs::remove(&dir);
                Err(e)
            }
        }
    }

    /// The PID namespace a container asks for (CRI NamespaceMode of `pid`).
    fn pid_namespace(
        &self,
        config: &ContainerConfig,
        sb: &crate::state::SandboxRecord,
    ) -> Result<PidNamespace, RuntimeError> {
        use crate::sandbox::{namespace_options, NODE, POD, TARGET};
        let ns = config
            .linux
            .as_ref()
            .and_then(|l| l.security_context.as_ref())
            .and_then(|s| s.namespace_options.clone());
        let Some(ns) = ns else {
            return Ok(PidNamespace::Own);
        };
        Ok(match ns.pid {
            NODE => PidNamespace::Host,
            POD if namespace_options(&sb.config).pid == POD => {
                let pid = sb.ns_pid.ok_or_else(|| {
                    RuntimeError::FailedPrecondition(format!(
                        "sandbox {} has no shared PID namespace",
                        sb.id
                    ))
                })?;
                PidNamespace::Join(format!("/proc/{pid}/ns/pid").into())
            }
            TARGET => {
                let target = self.container(&ns.target_id)?;
                let pid = target.pid.filter(|_| self.exit_of(&target).is_none());
                let pid = pid.ok_or_else(|| {
                    RuntimeError::FailedPrecondition(format!(
                        "target container {} is not running",
                        ns.target_id
                    ))
                })?;
                PidNamespace::Join(format!("/proc/{pid}/ns/pid").into())
            }
            _ => PidNamespace::Own,
        })
    }

    /// Start the monitor, which runs the OCI runtime's `create` and then holds the
    /// container's stdio; fills in the PIDs or fails with the monitor's report.
    async fn spawn_monitor(&self, rec: &mut ContainerRecord) -> Result<(), RuntimeError> {
        let dir = self.layout.container_dir(&rec.id);
        let errlog = std::fs::File::create(dir.join("monitor.err"))
            .map_err(RuntimeError::io("monitor log"))?;
        let flag = |b: bool| if b { "true" } else { "false" };
        let mut cmd = tokio::process::Command::new(&self.cfg.helper_exe);
        cmd.arg("runtime-helper")
            .arg("monitor")
            .arg("--id")
            .arg(&rec.id)
            .arg("--bundle")
            .arg(&dir)
            .arg("--exit-file")
            .arg(self.layout.exit_file(&rec.id))
            .arg("--log")
            .arg(&rec.log_path)
            .arg("--log-max-size")
            .arg(self.cfg.log_max_size.to_string())
            .arg("--log-max-files")
            .arg(self.cfg.log_max_files.to_string())
            .arg("--cgroup")
            .arg(&rec.cgroup_path)
            .arg("--attach-socket")
            .arg(self.layout.attach_socket(&rec.id))
            .arg("--tty")
            .arg(flag(rec.config.tty))
            .arg("--stdin")
            .arg(flag(rec.config.stdin))
            .arg("--stdin-once")
            .arg(flag(rec.config.stdin_once));
        if rec.config.tty {
            cmd.arg("--console-socket")
                .arg(self.layout.console_socket(&rec.id));
        }
        cmd.args(self.oci.helper_args())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(errlog));
        let mut child = cmd.spawn().map_err(RuntimeError::io("starting monitor"))?;
        rec.monitor_pid = child.id().map(|p| p as i32);
        let stdout = child.stdout.take();
        tokio::spawn(async move {
            let _ = child.wait().await;
        });
        let line = match stdout {
            Some(out) => tokio::io::BufReader::new(out)
                .lines()
                .next_line()
                .await
                .ok()
                .flatten()
                .unwrap_or_default(),
            None => String::new(),
        };
        if let Some(pid) = line
            .strip_prefix("created ")
            .and_then(|p| p.trim().parse().ok())
        {
            rec.pid = Some(pid);
            return Ok(());
        }
        let msg = line
            .strip_prefix("error ")
            .map(str::to_string)
            .unwrap_or_else(|| {
                std::fs::read_to_string(dir.join("monitor.err"))
                    .unwrap_or_else(|_| "monitor exited without reporting".into())
            });
        Err(RuntimeError::Internal(format!(
            "creating container {}: {msg}",
            rec.id
        )))
    }

    /// StartContainer: let the created container's process run (`start`).
    pub async fn start_container(&self, id: &str) -> Result<(), RuntimeError> {
        let mut rec = self.container(id)?;
        if rec.phase != ContainerPhase::Created {
            return Err(RuntimeError::FailedPrecondition(format!(
                "container {} is not in created state",
                rec.id
            )));
        }
        // Taken before the process is released, so a quick exit never precedes it.
        let started_at = now_ns();
        let (oci, cid) = (self.oci.clone(), rec.id.clone());
        let direct = tokio::task::spawn_blocking(move || oci.start_in_process(&cid))
            .await
            .map_err(|e| RuntimeError::Internal(e.to_string()))?;
        let result = match direct {
            Some(r) => r.map_err(|e| format!("{} start failed: {e}", self.oci.name())),
            None => {
                let out = tokio::process::Command::from(self.oci.start(&rec.id))
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
                    Ok(())
                } else {
                    Err(format!(
                        "{} start failed: {}",
                        self.oci.name(),
                        stderr.trim()
                    ))
                }
            }
        };
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
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
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

    /// The exit record of a started container, if it has exited.
    pub fn exit_of(&self, rec: &ContainerRecord) -> Option<ExitRecord> {
        if rec.phase != ContainerPhase::Started {
            return None;
        }
        // An exit is final: remember it instead of re-reading the file on every list.
        if let Some(e) = self.exits.lock().ok().and_then(|m| m.get(&rec.id).cloned()) {
            return Some(e);
        }
        if let Ok(Some(e)) = read_json::<ExitRecord>(&self.layout.exit_file(&rec.id)) {
            if let Ok(mut exits) = self.exits.lock() {
                exits.insert(rec.id.clone(), e.clone());
            }
            return Some(e);
        }
        // Monitor and container both gone without a record: report an unknown exit.
        let pid_alive = rec.pid.is_some_and(|p| process_alive(p, 0));
        let monitor_alive = rec.monitor_pid.is_some_and(|p| process_alive(p, 0));
        if !pid_alive && !monitor_alive {
            return Some(ExitRecord {
                exit_code: 255,
                finished_at: now_ns(),
                oom_killed: false,
            });
        }
        None
    }

    async fn wait_exit(&self, rec: &ContainerRecord, timeout: Duration) -> bool {
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
    pub async fn stop_container(&self, id: &str, timeout: i64) -> Result<(), RuntimeError> {
        let rec = match self.container(id) {
            Ok(r) => r,
            Err(RuntimeError::NotFound(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
        if rec.phase != ContainerPhase::Started || self.exit_of(&rec).is_some() {
            return Ok(());
        }
        let Some(pid) = rec.pid else { return Ok(()) };
        let pid = Pid::from_raw(pid);
        if timeout > 0 {
            let sig = parse_signal(&rec.stop_signal).unwrap_or(Signal::SIGTERM);
            let _ = kill(pid, sig);
            if self
                .wait_exit(&rec, Duration::from_secs(timeout as u64))
                .await
            {
                return Ok(());
            }
        }
        let _ = kill(pid, Signal::SIGKILL);
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
    pub async fn remove_container(&self, id: &str) -> Result<(), RuntimeError> {
        let rec = match self.container(id) {
            Ok(r) => r,
            Err(RuntimeError::NotFound(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
        self.stop_container(&rec.id, 0).await?;
        if rec.phase == ContainerPhase::Created {
            if let Some(pid) = rec.pid {
                // Created, never started: kill the waiting process; its monitor cleans up.
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
                let mut r = rec.clone();
                r.phase = ContainerPhase::Started;
                self.wait_exit(&r, Duration::from_secs(5)).await;
            }
        }
        let oci = self.oci.clone();
        let cid = rec.id.clone();
        let dir = self.layout.container_dir(&rec.id);
        let trash = self.layout.trash_dir();
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
        tokio::task::spawn_blocking(move || -> Result<(), RuntimeError> {
            if started {
                oci.delete(&cid)?;
            }
            // Unmounting an overlay syncs its upper filesystem (tens of ms): move the
            // directory to the trash and finish in the background.
            let trash = trash.join(&cid);
            if std::fs::rename(&dir, &trash).is_ok() {
                std::thread::spawn(move || {
                    if let Err(e) = rootfs::remove(&trash) {
                        tracing::warn!(error = %e, "removing container directory");
                    }
                });
                return Ok(());
            }
            rootfs::remove(&dir)?;
            Ok(())
        })
        .await
        .map_err(|e| RuntimeError::Internal(e.to_string()))??;
        self.lock_containers()?.remove(&rec.id);
        if let Ok(mut exits) = self.exits.lock() {
            exits.remove(&rec.id);
        }
        Ok(())
    }

    fn state_of(&self, rec: &ContainerRecord) -> (i32, Option<ExitRecord>) {
        match rec.phase {
            ContainerPhase::Created => (CREATED, None),
            ContainerPhase::Started => match self.exit_of(rec) {
                Some(e) => (EXITED, Some(e)),
                None => (RUNNING, None),
            },
        }
    }

    /// ContainerStatus.
    pub fn container_status(&self, id: &str) -> Result<ContainerStatus, RuntimeError> {
        let rec = self.container(id)?;
        let (state, exit) = self.state_of(&rec);
        let (reason, message) = match (&exit, &rec.start_error) {
            (Some(_), Some(err)) => ("StartError".to_string(), err.clone()),
            (Some(e), None) if e.oom_killed => ("OOMKilled".to_string(), String::new()),
            (Some(e), None) if e.exit_code == 0 => ("Completed".to_string(), String::new()),
            (Some(_), None) => ("Error".to_string(), String::new()),
            (None, _) => (String::new(), String::new()),
        };
        Ok(ContainerStatus {
            id: rec.id.clone(),
            metadata: rec.config.metadata.clone(),
            state,
            created_at: rec.created_at,
            started_at: rec.started_at,
            finished_at: exit.as_ref().map(|e| e.finished_at).unwrap_or(0),
            exit_code: exit.as_ref().map(|e| e.exit_code).unwrap_or(0),
            image: Some(ImageSpec {
                image: rec.image_name.clone(),
                ..Default::default()
            }),
            image_ref: rec.image_id.clone(),
            reason,
            message,
            labels: rec.config.labels.clone(),
            annotations: rec.config.annotations.clone(),
            mounts: rec.config.mounts.clone(),
            log_path: rec.log_path.clone(),
            resources: rec
                .config
                .linux
                .as_ref()
                .map(|l| k8s_cri::v1::ContainerResources {
                    linux: l.resources.clone(),
                    windows: None,
                }),
            image_id: rec.image_id.clone(),
            user: None,
        })
    }

    /// ListContainers.
    pub fn list_containers(
        &self,
        filter: Option<&ContainerFilter>,
    ) -> Result<Vec<Container>, RuntimeError> {
        let all: Vec<_> = self.lock_containers()?.values().cloned().collect();
        let mut out = Vec::new();
        for rec in all {
            // Cheap filters first: the state costs file and /proc reads per container,
            // and the kubelet lists per pod (quadratic in pods otherwise).
            if let Some(f) = filter {
                if !f.id.is_empty() && !rec.id.starts_with(&f.id) {
                    continue;
                }
                if !f.pod_sandbox_id.is_empty() && !rec.sandbox_id.starts_with(&f.pod_sandbox_id) {
                    continue;
                }
                if !f
                    .label_selector
                    .iter()
                    .all(|(k, v)| rec.config.labels.get(k) == Some(v))
                {
                    continue;
                }
            }
            let (state, _) = self.state_of(&rec);
            if filter.is_some_and(|f| f.state.as_ref().is_some_and(|s| s.state != state)) {
                continue;
            }
            out.push(Container {
                id: rec.id.clone(),
                pod_sandbox_id: rec.sandbox_id.clone(),
                metadata: rec.config.metadata.clone(),
                image: Some(ImageSpec {
                    image: rec.image_name.clone(),
                    ..Default::default()
                }),
                image_ref: rec.image_id.clone(),
                state,
                created_at: rec.created_at,
                labels: rec.config.labels.clone(),
                annotations: rec.config.annotations.clone(),
                image_id: rec.image_id.clone(),
            });
        }
        out.sort_by_key(|c| c.created_at);
        Ok(out)
    }

    /// ReopenContainerLog: ask the monitor to reopen its log file.
    pub fn reopen_log(&self, id: &str) -> Result<(), RuntimeError> {
        let rec = self.container(id)?;
        if self.exit_of(&rec).is_some() || rec.phase != ContainerPhase::Started {
            return Err(RuntimeError::FailedPrecondition(
                "container is not running".into(),
            ));
        }
        if let Some(m) = rec.monitor_pid {
            let _ = kill(Pid::from_raw(m), Signal::SIGUSR1);
        }
        Ok(())
    }
}

/// Parse `SIGTERM`, `TERM`, `15`.
pub fn parse_signal(s: &str) -> Option<Signal> {
    if let Ok(n) = s.parse::<i32>() {
        return Signal::try_from(n).ok();
    }
    let up = s.to_ascii_uppercase();
    let name = if up.starts_with("SIG") {
        up
    } else {
        format!("SIG{up}")
    };
    name.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_signals() {
        assert_eq!(parse_signal("SIGQUIT"), Some(Signal::SIGQUIT));
        assert_eq!(parse_signal("term"), Some(Signal::SIGTERM));
        assert_eq!(parse_signal("9"), Some(Signal::SIGKILL));
        assert_eq!(parse_signal("nope"), None);
    }
}
