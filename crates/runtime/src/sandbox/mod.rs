//! Pod sandboxes: network namespace + CNI, the infra process holding IPC/UTS,
//! per-pod /etc files and /dev/shm; run, stop and remove (status and list in `status`).

mod pod;
mod status;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use k8s_cri::v1::PodSandboxConfig;
use tokio::io::AsyncBufReadExt;
use tokio::process::ChildStdout;

pub(crate) use pod::{namespace_options, NODE, POD, TARGET};

use crate::error::RuntimeError;
use crate::runtime::Runtime;
use crate::state::{new_id, now_ns, SandboxRecord};
use crate::sys::Signal;

/// How long the infra process may take to report its namespaces ready.
const INFRA_READY_TIMEOUT: Duration = Duration::from_secs(10);

impl Runtime {
    /// RunPodSandbox.
    pub(crate) async fn run_sandbox(
        &self,
        config: PodSandboxConfig,
        runtime_handler: String,
    ) -> Result<String, RuntimeError> {
        let id = new_id();
        let dir = self.layout.sandbox_dir(&id);
        std::fs::create_dir_all(dir.join("shm")).map_err(RuntimeError::io("sandbox dir"))?;
        let netns = if pod::host_network(&config) {
            PathBuf::new()
        } else {
            self.layout.netns_path(&id)
        };
        let mut rec = SandboxRecord {
            id: id.clone(),
            runtime_handler,
            created_at: now_ns(),
            stopped: false,
            netns,
            ip: None,
            cni_result: None,
            infra_pid: None,
            ns_pid: None,
            infra_start: 0,
            cgroup_parent: pod::cgroup_parent(&config),
            config,
        };
        match self.setup_sandbox(&mut rec, &dir).await {
            Ok(()) => {
                self.save_sandbox(&rec)?;
                Ok(id)
            }
            Err(e) => {
                tracing::warn!(sandbox = %id, error = %e, "sandbox setup failed; cleaning up");
                self.teardown_network(&rec).await;
                self.kill_infra(&rec).await;
                self.cleanup_dir(&dir);
                Err(e)
            }
        }
    }

    /// Mount /dev/shm, make the netns, start the infra process and (meanwhile) wire the
    /// network, then write the pod's /etc files. What is done is recorded in `rec`.
    async fn setup_sandbox(&self, rec: &mut SandboxRecord, dir: &Path) -> Result<(), RuntimeError> {
        self.sys
            .mount_shm(&dir.join("shm"))
            .map_err(|e| RuntimeError::Internal(format!("mounting shm: {e}")))?;
        let hostnet = rec.netns.as_os_str().is_empty();
        if !hostnet {
            let (sys, p) = (self.sys.clone(), rec.netns.clone());
            tokio::task::spawn_blocking(move || sys.create_netns(&p))
                .await
                .map_err(|e| RuntimeError::Internal(e.to_string()))??;
        }
        let stdout = self.start_infra(rec)?;
        // CNI runs while the infra process sets itself up.
        if !hostnet {
            let res = self
                .cni()
                .add(&rec.id, &rec.netns, &rec.config.port_mappings)
                .await?;
            rec.ip = Some(res.ip);
            rec.cni_result = Some(res.raw);
        }
        let ns_pid = infra_ready(stdout)
            .await
            .ok_or_else(|| RuntimeError::Internal("infra process failed to start".into()))?;
        rec.ns_pid = ns_pid.or(rec.infra_pid);
        rec.infra_start = rec
            .infra_pid
            .and_then(|p| self.sys.process_start_time(p))
            .unwrap_or(0);
        write_pod_files(rec, dir)
    }

    /// Start `runtime-helper infra` for the sandbox; returns the pipe it reports on.
    fn start_infra(&self, rec: &mut SandboxRecord) -> Result<Option<ChildStdout>, RuntimeError> {
        let mut cmd = tokio::process::Command::new(&self.cfg.helper_exe);
        cmd.arg("runtime-helper")
            .arg("infra")
            .arg("--hostname")
            .arg(&rec.config.hostname);
        if !rec.netns.as_os_str().is_empty() {
            cmd.arg("--netns").arg(&rec.netns);
        }
        let ns = namespace_options(&rec.config);
        if ns.pid == POD {
            cmd.arg("--pid-ns").arg("true");
        }
        if ns.ipc == NODE {
            cmd.arg("--host-ipc").arg("true");
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(false)
            .spawn()
            .map_err(RuntimeError::io("starting infra process"))?;
        rec.infra_pid = child.id().map(|p| p as i32);
        let stdout = child.stdout.take();
        tokio::spawn(async move {
            let _ = child.wait().await;
        });
        Ok(stdout)
    }

    async fn teardown_network(&self, rec: &SandboxRecord) {
        if rec.netns.as_os_str().is_empty() {
            return;
        }
        if let Err(e) = self
            .cni()
            .del(
                &rec.id,
                &rec.netns,
                &rec.config.port_mappings,
                rec.cni_result.as_ref(),
            )
            .await
        {
            tracing::warn!(sandbox = %rec.id, error = %e, "CNI DEL");
        }
        if let Err(e) = self.sys.remove_netns(&rec.netns) {
            tracing::warn!(sandbox = %rec.id, error = %e, "removing netns");
        }
    }

    async fn kill_infra(&self, rec: &SandboxRecord) {
        let Some(pid) = rec.infra_pid else { return };
        if !self.sys.process_alive(pid, rec.infra_start) {
            return;
        }
        let _ = self.sys.kill(pid, Signal::SIGTERM);
        for _ in 0..100 {
            if !self.sys.process_alive(pid, rec.infra_start) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let _ = self.sys.kill(pid, Signal::SIGKILL);
    }

    /// Unmount the sandbox's /dev/shm and delete its directory.
    fn cleanup_dir(&self, dir: &Path) {
        let _ = self.sys.unmount(&dir.join("shm"));
        let _ = std::fs::remove_dir_all(dir);
    }

    /// StopPodSandbox: kill containers, release the network, stop the infra process.
    pub(crate) async fn stop_sandbox(&self, id: &str) -> Result<(), RuntimeError> {
        let mut rec = match self.sandbox(id) {
            Ok(r) => r,
            Err(RuntimeError::NotFound(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
        for c in self.containers_of(&rec.id)? {
            self.stop_container(&c.id, 0).await?;
        }
        if !rec.stopped {
            self.teardown_network(&rec).await;
            self.kill_infra(&rec).await;
            rec.stopped = true;
            self.save_sandbox(&rec)?;
        }
        Ok(())
    }

    /// RemovePodSandbox: stop, remove its containers and every trace on disk.
    pub(crate) async fn remove_sandbox(&self, id: &str) -> Result<(), RuntimeError> {
        let rec = match self.sandbox(id) {
            Ok(r) => r,
            Err(RuntimeError::NotFound(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
        self.stop_sandbox(&rec.id).await?;
        for c in self.containers_of(&rec.id)? {
            self.remove_container(&c.id).await?;
        }
        self.cleanup_dir(&self.layout.sandbox_dir(&rec.id));
        // The pod cgroup (ours or the kubelet's `/kubepods/<qos>/pod<uid>`) is empty once
        // its containers are gone; nobody else removes it (rmdir skips a busy one).
        self.sys.remove_cgroup(&rec.cgroup_parent);
        self.lock_sandboxes()?.remove(&rec.id);
        Ok(())
    }
}

/// Wait for the infra process's `ready [PID]` line; `Some(pid)` is the PID holding the pod's
/// namespaces when it names one. `None` when it never came.
async fn infra_ready(stdout: Option<ChildStdout>) -> Option<Option<i32>> {
    let mut lines = tokio::io::BufReader::new(stdout?).lines();
    let line = tokio::time::timeout(INFRA_READY_TIMEOUT, lines.next_line())
        .await
        .ok()?
        .ok()??;
    let rest = line.strip_prefix("ready")?;
    Some(rest.trim().parse().ok())
}

/// The pod's /etc/hosts, /etc/hostname and /etc/resolv.conf in its directory.
fn write_pod_files(rec: &SandboxRecord, dir: &Path) -> Result<(), RuntimeError> {
    let write = |name: &str, text: String| {
        std::fs::write(dir.join(name), text).map_err(RuntimeError::io(format!("writing {name}")))
    };
    let hostname = &rec.config.hostname;
    write("hosts", pod::hosts_file(rec.ip.as_deref(), hostname))?;
    write("hostname", format!("{hostname}\n"))?;
    write(
        "resolv.conf",
        pod::resolv_conf(rec.config.dns_config.as_ref()),
    )
}
