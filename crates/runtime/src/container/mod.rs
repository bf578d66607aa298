//! Containers: create (rootfs + spec + the monitor running the OCI `create`); start, stop
//! and remove live in `lifecycle`, status and list in `status`.

mod lifecycle;
mod status;

use std::path::Path;
use std::process::Stdio;

use k8s_cri::v1::{ContainerConfig, PodSandboxConfig};
use skiff_images::Image;
use tokio::io::AsyncBufReadExt;

use crate::error::RuntimeError;
use crate::rootfs;
use crate::runtime::Runtime;
use crate::sandbox::{namespace_options, NODE, POD, TARGET};
use crate::spec::{self, PidNamespace, SpecInputs};
use crate::state::{new_id, now_ns, write_json, ContainerPhase, ContainerRecord, SandboxRecord};

impl Runtime {
    /// CreateContainer.
    pub(crate) async fn create_container(
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
        let id = new_id();
        let dir = self.layout.container_dir(&id);
        std::fs::create_dir_all(&dir).map_err(RuntimeError::io("container dir"))?;
        let result = match self.prepare_container(&id, &dir, &sb, &image, image_name, config) {
            Ok(mut rec) => self.spawn_monitor(&mut rec).await.map(|()| rec),
            Err(e) => Err(e),
        };
        match result {
            Ok(rec) => {
                self.save_container(&rec)?;
                Ok(id)
            }
            Err(e) => {
                let _ = rootfs::remove(&*self.sys, &dir);
                Err(e)
            }
        }
    }

    /// Mount the rootfs and write the bundle's config.json; the record of the container.
    fn prepare_container(
        &self,
        id: &str,
        dir: &Path,
        sb: &SandboxRecord,
        image: &Image,
        image_name: String,
        config: ContainerConfig,
    ) -> Result<ContainerRecord, RuntimeError> {
        let layers = self.cfg.images.layer_paths(image);
        let root = rootfs::mount_overlay(&*self.sys, dir, &layers)?;
        let cgroup_path = format!("{}/{}", sb.cgroup_parent.trim_end_matches('/'), id);
        let netns = (!sb.netns.as_os_str().is_empty()).then_some(sb.netns.as_path());
        let spec = spec::build(&SpecInputs {
            config: &config,
            sandbox: &sb.config,
            image: &image.config,
            rootfs: &root,
            netns,
            ns_pid: sb.ns_pid.or(sb.infra_pid).unwrap_or(0),
            pid_ns: self.pid_namespace(&config, sb)?,
            sandbox_dir: &self.layout.sandbox_dir(&sb.id),
            cgroup_path: &cgroup_path,
            memsw: crate::sys::cgroup::memsw_available(),
        })?;
        write_json(&dir.join("config.json"), &spec)?;
        Ok(ContainerRecord {
            id: id.to_string(),
            sandbox_id: sb.id.clone(),
            image_id: image.id.clone(),
            image_name,
            created_at: now_ns(),
            started_at: 0,
            phase: ContainerPhase::Created,
            pid: None,
            monitor_pid: None,
            log_path: self.log_path(&sb.config, &config),
            stop_signal: image
                .config
                .stop_signal
                .clone()
                .unwrap_or_else(|| "SIGTERM".into()),
            cgroup_path,
            start_error: None,
            config,
        })
    }

    /// The container's log file: under the pod's log directory, else the default one;
    /// "" when the kubelet names none.
    fn log_path(&self, sandbox: &PodSandboxConfig, config: &ContainerConfig) -> String {
        if config.log_path.is_empty() {
            return String::new();
        }
        let dir = if sandbox.log_directory.is_empty() {
            self.cfg.pod_log_dir.as_path()
        } else {
            Path::new(&sandbox.log_directory)
        };
        dir.join(&config.log_path).display().to_string()
    }

    /// The PID namespace a container asks for (CRI NamespaceMode of `pid`).
    fn pid_namespace(
        &self,
        config: &ContainerConfig,
        sb: &SandboxRecord,
    ) -> Result<PidNamespace, RuntimeError> {
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

    /// The monitor's command line for container `rec`.
    fn monitor_command(&self, rec: &ContainerRecord) -> tokio::process::Command {
        let flag = |b: bool| if b { "true" } else { "false" };
        let mut cmd = tokio::process::Command::new(&self.cfg.helper_exe);
        cmd.arg("runtime-helper")
            .arg("monitor")
            .arg("--id")
            .arg(&rec.id)
            .arg("--bundle")
            .arg(self.layout.container_dir(&rec.id))
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
        cmd.args(self.oci.helper_args());
        cmd
    }

    /// Start the monitor, which runs the OCI runtime's `create` and then holds the
    /// container's stdio; fills in the PIDs or fails with the monitor's report.
    async fn spawn_monitor(&self, rec: &mut ContainerRecord) -> Result<(), RuntimeError> {
        let dir = self.layout.container_dir(&rec.id);
        let errlog = std::fs::File::create(dir.join("monitor.err"))
            .map_err(RuntimeError::io("monitor log"))?;
        let mut child = self
            .monitor_command(rec)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(errlog))
            .spawn()
            .map_err(RuntimeError::io("starting monitor"))?;
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
}
