//! Pod sandboxes: network namespace + CNI, the infra process holding IPC/UTS,
//! per-pod /etc files and /dev/shm; run, stop, remove, status and list.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use k8s_cri::v1::{
    DnsConfig, LinuxPodSandboxStatus, Namespace, NamespaceOption, PodSandbox, PodSandboxConfig,
    PodSandboxFilter, PodSandboxNetworkStatus, PodSandboxStatus,
};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::io::AsyncBufReadExt;

use crate::error::RuntimeError;
use crate::netns;
use crate::runtime::Runtime;
use crate::state::{new_id, now_ns, process_alive, process_start_time, SandboxRecord};

/// CRI NamespaceMode values.
pub const POD: i32 = 0;
/// One namespace per container.
pub const CONTAINER: i32 = 1;
/// The node's namespace.
pub const NODE: i32 = 2;
/// Another container's namespace (`target_id`).
pub const TARGET: i32 = 3;

/// The pod's namespace options; without any, every namespace is per pod except
/// PID, which is per container (what the kubelet sends by default).
pub fn namespace_options(cfg: &PodSandboxConfig) -> NamespaceOption {
    cfg.linux
        .as_ref()
        .and_then(|l| l.security_context.as_ref())
        .and_then(|s| s.namespace_options.clone())
        .unwrap_or(NamespaceOption {
            pid: CONTAINER,
            ..Default::default()
        })
}

fn host_network(cfg: &PodSandboxConfig) -> bool {
    namespace_options(cfg).network == NODE
}

/// `/etc/resolv.conf` text for a DNS config (the host's file when there is none).
pub fn resolv_conf(dns: Option<&DnsConfig>) -> String {
    let Some(dns) = dns.filter(|d| !d.servers.is_empty() || !d.searches.is_empty()) else {
        return std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    };
    let mut out = String::new();
    if !dns.searches.is_empty() {
        out.push_str(&format!("search {}\n", dns.searches.join(" ")));
    }
    for s in &dns.servers {
        out.push_str(&format!("nameserver {s}\n"));
    }
    if !dns.options.is_empty() {
        out.push_str(&format!("options {}\n", dns.options.join(" ")));
    }
    out
}

/// `/etc/hosts` text for a pod.
pub fn hosts_file(ip: Option<&str>, hostname: &str) -> String {
    let mut out = String::from(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n",
    );
    if let (Some(ip), false) = (ip, hostname.is_empty()) {
        out.push_str(&format!("{ip}\t{hostname}\n"));
    }
    out
}

impl Runtime {
    /// RunPodSandbox.
    pub async fn run_sandbox(
        &self,
        config: PodSandboxConfig,
        runtime_handler: String,
    ) -> Result<String, RuntimeError> {
        let id = new_id();
        let dir = self.layout.sandbox_dir(&id);
        std::fs::create_dir_all(dir.join("shm")).map_err(RuntimeError::io("sandbox dir"))?;
        let hostnet = host_network(&config);
        let netns_path = self.layout.netns_path(&id);
        let mut rec = SandboxRecord {
            id: id.clone(),
            runtime_handler,
            created_at: now_ns(),
            stopped: false,
            netns: if hostnet {
                PathBuf::new()
            } else {
                netns_path.clone()
            },
            ip: None,
            cni_result: None,
            infra_pid: None,
            ns_pid: None,
            infra_start: 0,
            cgroup_parent: cgroup_parent(&config),
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
                cleanup_dir(&dir);
                Err(e)
            }
        }
    }

    async fn setup_sandbox(&self, rec: &mut SandboxRecord, dir: &Path) -> Result<(), RuntimeError> {
        let shm = dir.join("shm");
        mount(
            Some("shm"),
            &shm,
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            Some("mode=1777,size=65536k"),
        )
        .map_err(|e| RuntimeError::Internal(format!("mounting shm: {e}")))?;
        let hostnet = rec.netns.as_os_str().is_empty();
        if !hostnet {
            let p = rec.netns.clone();
            tokio::task::spawn_blocking(move || netns::create(&p))
                .await
                .map_err(|e| RuntimeError::Internal(e.to_string()))??;
        }
        let hostname = rec.config.hostname.clone();
        let mut cmd = tokio::process::Command::new(&self.cfg.helper_exe);
        cmd.arg("runtime-helper")
            .arg("infra")
            .arg("--hostname")
            .arg(&hostname);
        if !hostnet {
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
        let pid = child.id().map(|p| p as i32);
        rec.infra_pid = pid;
        let stdout = child.stdout.take();
        tokio::spawn(async move {
            let _ = child.wait().await;
        });
        // CNI runs while the infra process sets itself up.
        if !hostnet {
            let res = self
                .cni()
                .add(&rec.id, &rec.netns, &rec.config.port_mappings)
                .await?;
            rec.ip = Some(res.ip);
            rec.cni_result = Some(res.raw);
        }
        let ready = match stdout {
            Some(out) => {
                let mut lines = tokio::io::BufReader::new(out).lines();
                tokio::time::timeout(Duration::from_secs(10), lines.next_line())
                    .await
                    .ok()
                    .and_then(|r| r.ok())
                    .flatten()
            }
            None => None,
        };
        let Some(rest) = ready.as_deref().and_then(|l| l.strip_prefix("ready")) else {
            return Err(RuntimeError::Internal(
                "infra process failed to start".into(),
            ));
        };
        rec.ns_pid = rest.trim().parse().ok().or(pid);
        rec.infra_start = pid.and_then(process_start_time).unwrap_or(0);
        let write = |name: &str, text: String| {
            std::fs::write(dir.join(name), text)
                .map_err(RuntimeError::io(format!("writing {name}")))
        };
        write("hosts", hosts_file(rec.ip.as_deref(), &hostname))?;
        write("hostname", format!("{hostname}\n"))?;
        write("resolv.conf", resolv_conf(rec.config.dns_config.as_ref()))?;
        Ok(())
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
        if let Err(e) = netns::remove(&rec.netns) {
            tracing::warn!(sandbox = %rec.id, error = %e, "removing netns");
        }
    }

    async fn kill_infra(&self, rec: &SandboxRecord) {
        let Some(pid) = rec.infra_pid else { return };
        if !process_alive(pid, rec.infra_start) {
            return;
        }
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        for _ in 0..100 {
            if !process_alive(pid, rec.infra_start) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }

    /// StopPodSandbox: kill containers, release the network, stop the infra process.
    pub async fn stop_sandbox(&self, id: &str) -> Result<(), RuntimeError> {
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
    pub async fn remove_sandbox(&self, id: &str) -> Result<(), RuntimeError> {
        let rec = match self.sandbox(id) {
            Ok(r) => r,
            Err(RuntimeError::NotFound(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
        self.stop_sandbox(&rec.id).await?;
        for c in self.containers_of(&rec.id)? {
            self.remove_container(&c.id).await?;
        }
        let dir = self.layout.sandbox_dir(&rec.id);
        cleanup_dir(&dir);
        // The pod cgroup (ours or the kubelet's `/kubepods/<qos>/pod<uid>`) is empty once
        // its containers are gone; nobody else removes it (rmdir skips a busy one).
        remove_cgroup_dirs(&rec.cgroup_parent);
        self.lock_sandboxes()?.remove(&rec.id);
        Ok(())
    }

    /// Whether the sandbox is ready (not stopped, infra alive).
    pub fn sandbox_ready(rec: &SandboxRecord) -> bool {
        !rec.stopped
            && rec
                .infra_pid
                .is_some_and(|p| process_alive(p, rec.infra_start))
    }

    /// PodSandboxStatus.
    pub fn sandbox_status(&self, id: &str) -> Result<PodSandboxStatus, RuntimeError> {
        let rec = self.sandbox(id)?;
        let ns = namespace_options(&rec.config);
        Ok(PodSandboxStatus {
            id: rec.id.clone(),
            metadata: rec.config.metadata.clone(),
            state: if Self::sandbox_ready(&rec) { 0 } else { 1 },
            created_at: rec.created_at,
            network: Some(PodSandboxNetworkStatus {
                ip: rec.ip.clone().unwrap_or_default(),
                additional_ips: Vec::new(),
            }),
            linux: Some(LinuxPodSandboxStatus {
                namespaces: Some(Namespace { options: Some(ns) }),
            }),
            labels: rec.config.labels.clone(),
            annotations: rec.config.annotations.clone(),
            runtime_handler: rec.runtime_handler.clone(),
        })
    }

    /// ListPodSandbox.
    pub fn list_sandboxes(
        &self,
        filter: Option<&PodSandboxFilter>,
    ) -> Result<Vec<PodSandbox>, RuntimeError> {
        let all: Vec<_> = self.lock_sandboxes()?.values().cloned().collect();
        let mut out = Vec::new();
        for rec in all {
            // Cheap filters first: the state costs a /proc read per sandbox.
            if let Some(f) = filter {
                if !f.id.is_empty() && !rec.id.starts_with(&f.id) {
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
            let state = if Self::sandbox_ready(&rec) { 0 } else { 1 };
            if filter.is_some_and(|f| f.state.as_ref().is_some_and(|s| s.state != state)) {
                continue;
            }
            out.push(PodSandbox {
                id: rec.id.clone(),
                metadata: rec.config.metadata.clone(),
                state,
                created_at: rec.created_at,
                labels: rec.config.labels.clone(),
                annotations: rec.config.annotations.clone(),
                runtime_handler: rec.runtime_handler.clone(),
            });
        }
        out.sort_by_key(|s| s.created_at);
        Ok(out)
    }
}

fn cgroup_parent(cfg: &PodSandboxConfig) -> String {
    let given = cfg
        .linux
        .as_ref()
        .map(|l| l.cgroup_parent.clone())
        .unwrap_or_default();
    if !given.is_empty() {
        return given;
    }
    let uid = cfg
        .metadata
        .as_ref()
        .map(|m| m.uid.clone())
        .unwrap_or_default();
    let uid = if uid.is_empty() {
        "pod".to_string()
    } else {
        uid
    };
    format!("/skiff/{uid}")
}

/// Remove a cgroup directory in every v1 hierarchy (parents the OCI runtime left).
pub fn remove_cgroup_dirs(rel: &str) {
    let Ok(rd) = std::fs::read_dir("/sys/fs/cgroup") else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path().join(rel.trim_start_matches('/'));
        if p.is_dir() {
            let _ = std::fs::remove_dir(&p);
        }
    }
}

fn cleanup_dir(dir: &Path) {
    let shm = dir.join("shm");
    let _ = umount2(&shm, MntFlags::MNT_DETACH);
    let _ = std::fs::remove_dir_all(dir);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_from_dns_config() {
        let dns = DnsConfig {
            servers: vec!["10.43.0.10".into()],
            searches: vec![
                "default.svc.cluster.local".into(),
                "svc.cluster.local".into(),
            ],
            options: vec!["ndots:5".into()],
        };
        assert_eq!(
            resolv_conf(Some(&dns)),
            "search default.svc.cluster.local svc.cluster.local\nnameserver 10.43.0.10\noptions ndots:5\n"
        );
    }

    #[test]
    fn hosts_has_pod_line() {
        assert!(hosts_file(Some("10.1.0.2"), "web").ends_with("10.1.0.2\tweb\n"));
        assert!(!hosts_file(None, "web").contains("web"));
    }
}
