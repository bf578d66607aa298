//! Test harness: a busybox rootfs layer, a runtime served on a unique socket with a
//! unique bridge and CIDR, a real tonic client, and cleanup of everything it made.
#![allow(clippy::unwrap_used, missing_docs)] // test code: a failed unwrap is a failed test
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use k8s_cri::v1::image_service_client::ImageServiceClient;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use k8s_cri::v1::*;
use skiff_images::ImageConfig;
use skiff_runtime::{CniSettings, DirImageSource, OciRuntimeKind, RuntimeConfig};
use tonic::transport::{Channel, Endpoint, Uri};

pub const IMAGE: &str = "busybox:test";

/// A runtime under test.
pub struct Harness {
    pub root: PathBuf,
    pub net: u8,
    pub images: DirImageSource,
    pub oci: OciRuntimeKind,
    pub rt: RuntimeServiceClient<Channel>,
    pub img: ImageServiceClient<Channel>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

/// Build a busybox rootfs layer under `dir`.
pub fn busybox_layer(dir: &Path) -> PathBuf {
    let layer = dir.join("layer");
    let bin = layer.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(layer.join("etc")).unwrap();
    std::fs::create_dir_all(layer.join("tmp")).unwrap();
    std::fs::copy("/bin/busybox", bin.join("busybox")).unwrap();
    let list = std::process::Command::new("/bin/busybox")
        .arg("--list")
        .output()
        .unwrap();
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if applet != "busybox" {
            let _ = std::os::unix::fs::symlink("busybox", bin.join(applet));
        }
    }
    std::fs::write(
        layer.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/var/www:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
    )
    .unwrap();
    std::fs::write(
        layer.join("etc/group"),
        "root:x:0:\nwww:x:33:\nnogroup:x:65534:\n",
    )
    .unwrap();
    layer
}

pub fn helper_exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_skiff-runtime-test-helper"))
}

pub fn config(root: &Path, net: u8, images: &DirImageSource) -> RuntimeConfig {
    let mut cfg = RuntimeConfig::new(root.join("runtime"), Arc::new(images.clone()), helper_exe());
    cfg.socket = root.join("cri.sock");
    cfg.cni_conf = CniSettings {
        bridge: format!("sktest{net}"),
        pod_cidr: Some(format!("10.200.{net}.0/24")),
        network_name: format!("sktest{net}"),
        ..Default::default()
    };
    cfg.pod_log_dir = root.join("logs");
    cfg
}

pub async fn connect(socket: &Path) -> Channel {
    let path = socket.to_path_buf();
    for _ in 0..1000 {
        if path.exists() {
            let p2 = path.clone();
            let ch = Endpoint::try_from("http://[::]:50051")
                .unwrap()
                .connect_with_connector(tower::service_fn(move |_: Uri| {
                    let p = p2.clone();
                    async move {
                        Ok::<_, std::io::Error>(TokioIo::new(
                            tokio::net::UnixStream::connect(p).await?,
                        ))
                    }
                }))
                .await;
            if let Ok(ch) = ch {
                return ch;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("CRI socket {} never came up", path.display());
}

impl Harness {
    /// Start a runtime; `net` picks bridge `sktest<net>` and CIDR 10.200.<net>.0/24.
    /// The OCI runtime is the `skiff` binary's default (youki, when this build has it)
    /// unless `SKIFF_TEST_OCI=runc|crun|youki` says otherwise: CI runs the suites once
    /// more with `SKIFF_TEST_OCI=runc`.
    pub async fn start(net: u8) -> Harness {
        let kind = match std::env::var("SKIFF_TEST_OCI").as_deref() {
            Ok("runc") => OciRuntimeKind::Runc,
            Ok("crun") => OciRuntimeKind::Crun,
            Ok("youki") => OciRuntimeKind::Youki,
            Ok(other) if !other.is_empty() => panic!("SKIFF_TEST_OCI={other}: runc, crun or youki"),
            _ if cfg!(feature = "youki") => OciRuntimeKind::Youki,
            _ => OciRuntimeKind::Runc,
        };
        Self::start_with(net, kind).await
    }

    /// Start a runtime using the given low-level OCI runtime.
    pub async fn start_with(net: u8, oci: OciRuntimeKind) -> Harness {
        let root = PathBuf::from(format!("/tmp/skiff-rt-test-{net}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let layer = busybox_layer(&root);
        let images = DirImageSource::new(&root);
        images.add(
            IMAGE,
            vec![layer],
            ImageConfig {
                cmd: vec!["sh".into()],
                ..Default::default()
            },
        );
        let mut h = Harness {
            root,
            net,
            images,
            oci,
            rt: RuntimeServiceClient::new(Channel::from_static("http://[::]:1").connect_lazy()),
            img: ImageServiceClient::new(Channel::from_static("http://[::]:1").connect_lazy()),
            shutdown: None,
            server: None,
        };
        h.start_server().await;
        h
    }

    /// (Re)start the server on the same root.
    pub async fn start_server(&mut self) {
        let mut cfg = config(&self.root, self.net, &self.images);
        cfg.oci_runtime = self.oci.clone();
        let socket = cfg.socket.clone();
        let _ = std::fs::remove_file(&socket);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            if let Err(e) = skiff_runtime::serve(cfg, async {
                let _ = rx.await;
            })
            .await
            {
                eprintln!("serve: {e}");
            }
        });
        let ch = connect(&socket).await;
        self.rt = RuntimeServiceClient::new(ch.clone());
        self.img = ImageServiceClient::new(ch);
        self.shutdown = Some(tx);
        self.server = Some(server);
    }

    /// Stop the server (containers keep running).
    pub async fn stop_server(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(s) = self.server.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), s).await;
        }
    }

    pub fn pod_config(&self, name: &str) -> PodSandboxConfig {
        PodSandboxConfig {
            metadata: Some(PodSandboxMetadata {
                name: name.into(),
                uid: format!("uid-{name}-{}", self.net),
                namespace: "default".into(),
                attempt: 0,
            }),
            hostname: name.into(),
            log_directory: self.root.join("logs").join(name).display().to_string(),
            dns_config: Some(DnsConfig {
                servers: vec!["10.43.0.10".into()],
                searches: vec!["default.svc.cluster.local".into()],
                options: vec!["ndots:5".into()],
            }),
            labels: HashMap::from([("app".to_string(), name.to_string())]),
            linux: Some(LinuxPodSandboxConfig {
                security_context: Some(LinuxSandboxSecurityContext {
                    namespace_options: Some(NamespaceOption {
                        pid: 1,
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    pub async fn run_pod(&mut self, name: &str) -> (String, PodSandboxConfig) {
        let cfg = self.pod_config(name);
        self.run_pod_with(cfg).await
    }

    /// RunPodSandbox with a config the test adjusted (from `pod_config`).
    pub async fn run_pod_with(&mut self, cfg: PodSandboxConfig) -> (String, PodSandboxConfig) {
        let id = self
            .rt
            .run_pod_sandbox(RunPodSandboxRequest {
                config: Some(cfg.clone()),
                runtime_handler: String::new(),
            })
            .await
            .unwrap()
            .into_inner()
            .pod_sandbox_id;
        (id, cfg)
    }

    pub fn container_config(&self, name: &str, cmd: &[&str]) -> ContainerConfig {
        ContainerConfig {
            metadata: Some(ContainerMetadata {
                name: name.into(),
                attempt: 0,
            }),
            image: Some(ImageSpec {
                image: IMAGE.into(),
                ..Default::default()
            }),
            command: cmd.iter().map(|s| s.to_string()).collect(),
            log_path: format!("{name}/0.log"),
            linux: Some(LinuxContainerConfig {
                resources: Some(LinuxContainerResources::default()),
                security_context: Some(LinuxContainerSecurityContext {
                    namespace_options: Some(NamespaceOption {
                        pid: 1,
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
            }),
            ..Default::default()
        }
    }

    pub async fn create(
        &mut self,
        pod: &(String, PodSandboxConfig),
        config: ContainerConfig,
    ) -> String {
        self.rt
            .create_container(CreateContainerRequest {
                pod_sandbox_id: pod.0.clone(),
                config: Some(config),
                sandbox_config: Some(pod.1.clone()),
            })
            .await
            .unwrap()
            .into_inner()
            .container_id
    }

    pub async fn run(
        &mut self,
        pod: &(String, PodSandboxConfig),
        config: ContainerConfig,
    ) -> String {
        let id = self.create(pod, config).await;
        self.rt
            .start_container(StartContainerRequest {
                container_id: id.clone(),
            })
            .await
            .unwrap();
        id
    }

    pub async fn status(&mut self, id: &str) -> ContainerStatus {
        self.rt
            .container_status(ContainerStatusRequest {
                container_id: id.into(),
                verbose: false,
            })
            .await
            .unwrap()
            .into_inner()
            .status
            .unwrap()
    }

    /// Poll until the container exited (or panic after `secs`).
    pub async fn wait_exit(&mut self, id: &str, secs: u64) -> ContainerStatus {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.status(id).await;
            if s.state == ContainerState::ContainerExited as i32 {
                return s;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "container {id} did not exit"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn exec(&mut self, id: &str, cmd: &[&str]) -> ExecSyncResponse {
        self.rt
            .exec_sync(ExecSyncRequest {
                container_id: id.into(),
                cmd: cmd.iter().map(|s| s.to_string()).collect(),
                timeout: 10,
            })
            .await
            .unwrap()
            .into_inner()
    }

    pub async fn pod_ip(&mut self, id: &str) -> String {
        self.rt
            .pod_sandbox_status(PodSandboxStatusRequest {
                pod_sandbox_id: id.into(),
                verbose: false,
            })
            .await
            .unwrap()
            .into_inner()
            .status
            .unwrap()
            .network
            .unwrap()
            .ip
    }

    /// Remove every sandbox through CRI, stop the server, delete bridge and root.
    pub async fn cleanup(mut self) {
        if let Ok(list) = self
            .rt
            .list_pod_sandbox(ListPodSandboxRequest { filter: None })
            .await
        {
            for sb in list.into_inner().items {
                let _ = self
                    .rt
                    .remove_pod_sandbox(RemovePodSandboxRequest {
                        pod_sandbox_id: sb.id,
                    })
                    .await;
            }
        }
        self.stop_server().await;
        self.force_cleanup();
    }

    /// Best-effort synchronous cleanup (also run on drop, e.g. after a panic).
    fn force_cleanup(&mut self) {
        let rtroot = self.root.join("runtime");
        if let Ok(rd) = std::fs::read_dir(rtroot.join("containers")) {
            for e in rd.flatten() {
                let id = e.file_name().to_string_lossy().into_owned();
                let _ = std::process::Command::new("runc")
                    .arg("--root")
                    .arg(rtroot.join("oci"))
                    .args(["delete", "--force", &id])
                    .output();
                let _ =
                    nix::mount::umount2(&e.path().join("rootfs"), nix::mount::MntFlags::MNT_DETACH);
            }
        }
        kill_youki_containers(&rtroot.join("oci"));
        let sandbox_ids: Vec<String> = std::fs::read_dir(rtroot.join("sandboxes"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        remove_cni_rules(&sandbox_ids);
        if let Ok(rd) = std::fs::read_dir(rtroot.join("sandboxes")) {
            for e in rd.flatten() {
                if let Ok(text) = std::fs::read_to_string(e.path().join("sandbox.json")) {
                    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
                        if let Some(pid) = v["infra_pid"].as_i64() {
                            let _ = nix::sys::signal::kill(
                                nix::unistd::Pid::from_raw(pid as i32),
                                nix::sys::signal::Signal::SIGKILL,
                            );
                        }
                        if let Some(parent) = v["cgroup_parent"].as_str() {
                            remove_cgroup_tree(parent);
                        }
                    }
                }
                let _ =
                    nix::mount::umount2(&e.path().join("shm"), nix::mount::MntFlags::MNT_DETACH);
            }
        }
        if let Ok(rd) = std::fs::read_dir(rtroot.join("netns")) {
            for e in rd.flatten() {
                let _ = nix::mount::umount2(&e.path(), nix::mount::MntFlags::MNT_DETACH);
            }
        }
        let _ = std::process::Command::new("ip")
            .args(["link", "del", &format!("sktest{}", self.net)])
            .output();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// After a failed test: kill the containers libcontainer created (its state holds the
/// pid; `runc delete` cannot read it), if the pid still is that container.
fn kill_youki_containers(oci_root: &Path) {
    for entry in std::fs::read_dir(oci_root).into_iter().flatten().flatten() {
        let Ok(text) = std::fs::read_to_string(entry.path().join("state.json")) else {
            continue;
        };
        let Ok(state) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        let (Some(id), Some(pid)) = (state["id"].as_str(), state["pid"].as_i64()) else {
            continue;
        };
        let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
        if cgroup.contains(id) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// After a failed test: the (now empty) cgroups below `parent` in every hierarchy.
fn remove_cgroup_tree(parent: &str) {
    std::thread::sleep(std::time::Duration::from_millis(100));
    for hierarchy in std::fs::read_dir("/sys/fs/cgroup")
        .into_iter()
        .flatten()
        .flatten()
    {
        let top = hierarchy.path().join(parent.trim_start_matches('/'));
        for child in std::fs::read_dir(&top).into_iter().flatten().flatten() {
            let _ = std::fs::remove_dir(child.path());
        }
        let _ = std::fs::remove_dir(&top);
    }
}

/// After a failed test: the CNI plugins' NAT rules for these sandboxes (no CNI DEL ran).
fn remove_cni_rules(sandbox_ids: &[String]) {
    if sandbox_ids.is_empty() {
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/cni-rules-cleanup.sh");
    let _ = std::process::Command::new("bash")
        .arg(script)
        .args(sandbox_ids)
        .output();
}

impl Drop for Harness {
    fn drop(&mut self) {
        if self.root.exists() {
            self.force_cleanup();
        }
    }
}
