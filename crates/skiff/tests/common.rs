//! Shared harness for the end-to-end suites: a real `skiff server` in a temp dir with its
//! own ports, bridge and CIDR, torn down (containers, mounts, netns, links) when dropped.
#![allow(clippy::unwrap_used, missing_docs)] // test code: a failed unwrap is a failed test
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Path of the repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Builds (once per checkout, cached under target/) the bootcamp image archive for `version`.
pub fn bootcamp_archive(version: &str) -> PathBuf {
    let out = repo_root().join(format!(
        "target/e2e-images/kubernetes-bootcamp-{version}.tar"
    ));
    let lock = repo_root().join("target/e2e-images/.lock");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let lock_file = std::fs::File::create(&lock).unwrap();
    // Serialise builds between parallel test processes.
    let _guard = FileLock::exclusive(&lock_file);
    if !out.exists() {
        let tmp = out.with_extension("tmp");
        let status = Command::new("bash")
            .arg(repo_root().join("examples/bootcamp/build-image.sh"))
            .arg(&tmp)
            .arg(version)
            .status()
            .expect("run build-image.sh");
        assert!(status.success(), "build-image.sh failed");
        std::fs::rename(&tmp, &out).unwrap();
    }
    out
}

struct FileLock<'a>(&'a std::fs::File);
impl<'a> FileLock<'a> {
    fn exclusive(file: &'a std::fs::File) -> Self {
        file.lock().expect("lock");
        FileLock(file)
    }
}
impl Drop for FileLock<'_> {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

/// A running `skiff server` with its node agent.
pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
    pub port: u16,
    pub bridge: String,
    pub node_name: String,
    child: Child,
    /// The server's command line (for `restart_with`).
    args: Vec<String>,
}

/// Starts `skiff server` with `args`, appending its stderr to `<dir>/server.log`.
fn spawn_server(dir: &Path, args: &[String]) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("server.log"))
        .unwrap();
    Command::new(env!("CARGO_BIN_EXE_skiff"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start skiff server")
}

impl Cluster {
    /// Starts a server with an agent; `airgap` archives are pre-imported.
    pub fn start(airgap: &[PathBuf]) -> Cluster {
        Self::start_with(airgap, &[])
    }

    pub fn start_with(airgap: &[PathBuf], extra: &[&str]) -> Cluster {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let pid = std::process::id();
        let dir = tempfile::Builder::new()
            .prefix("skiff-e2e-")
            .tempdir()
            .unwrap();
        let images = dir.path().join("agent/images");
        std::fs::create_dir_all(&images).unwrap();
        for archive in airgap {
            std::fs::copy(archive, images.join(archive.file_name().unwrap())).unwrap();
        }
        let port = free_port();
        let kubelet_port = free_port();
        let kubeconfig = dir.path().join("kubeconfig.yaml");
        // Unique bridge name (≤ 15 chars) and pod CIDR per cluster, so suites run in parallel.
        let tag = (pid % 1000) * 10 + n % 10;
        let bridge = format!("sk{tag}");
        let octet = 100 + (pid as u32 * 7 + n * 13) % 150;
        let node_name = format!("node-{tag}");
        let mut args: Vec<String> = vec!["server".into(), "--data-dir".into()];
        args.push(dir.path().to_string_lossy().to_string());
        for (flag, value) in [
            ("--https-listen-port", port.to_string()),
            ("--bind-address", "127.0.0.1".to_string()),
            (
                "--write-kubeconfig",
                kubeconfig.to_string_lossy().to_string(),
            ),
            ("--kubelet-port", kubelet_port.to_string()),
            ("--cni-bridge", bridge.clone()),
            ("--cluster-cidr", format!("10.{octet}.0.0/16")),
            ("--node-name", node_name.clone()),
            ("--node-ip", "127.0.0.1".to_string()),
        ] {
            args.push(flag.into());
            args.push(value);
        }
        // No registries file unless `extra` names one.
        if !extra.contains(&"--private-registry") {
            args.extend([
                "--private-registry".to_string(),
                "/nonexistent/registries.yaml".to_string(),
            ]);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let child = spawn_server(dir.path(), &args);
        let cluster = Cluster {
            dir,
            kubeconfig,
            port,
            bridge,
            node_name,
            child,
            args,
        };
        cluster.wait_until("kubeconfig written", Duration::from_secs(30), |c| {
            c.kubeconfig.exists()
        });
        cluster
    }

    /// Stops the server process (SIGTERM, then SIGKILL after 15 s); containers keep running.
    pub fn stop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server again on the same data dir and ports; `extra` flags are appended
    /// (e.g. `--disable-agent`). Call `stop` first.
    pub fn restart_with(&mut self, extra: &[&str]) {
        let mut args = self.args.clone();
        args.extend(extra.iter().map(|s| s.to_string()));
        self.child = spawn_server(self.dir.path(), &args);
        let port = self.port;
        self.wait_until("API server back", Duration::from_secs(30), |_| {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
    }

    /// PID of the server process.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Runs a kubectl-like command (`program` = /usr/bin/kubectl or the skiff binary with "kubectl").
    pub fn kubectl(&self, kubectl: &[&str], args: &[&str]) -> Output {
        Command::new(kubectl[0])
            .args(&kubectl[1..])
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .stdin(Stdio::null())
            .output()
            .expect("run kubectl")
    }

    /// Polls `check` until it holds or `timeout` passes (then panics with the server log tail).
    pub fn wait_until(&self, what: &str, timeout: Duration, check: impl Fn(&Self) -> bool) {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if check(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "timed out waiting for {what}\n--- server log tail ---\n{}",
            self.log_tail(40)
        );
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Stop the server gracefully, then everything that outlives it by design (container
        // monitors, containers, sandboxes, mounts, the bridge) with the project's killall.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let sandboxes: Vec<String> =
            std::fs::read_dir(self.dir.path().join("agent/runtime/sandboxes"))
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
        let _ = Command::new("bash")
            .arg(repo_root().join("scripts/killall.sh"))
            .arg(self.dir.path())
            .arg(&self.bridge)
            .status();
        // Every test also checks that killall leaves no CNI iptables rules behind.
        let left = cni_rules_of(&sandboxes);
        if !left.is_empty() && !std::thread::panicking() {
            panic!("CNI iptables rules left behind: {left:#?}");
        }
    }
}

/// NAT rules the CNI plugins made for any of these sandbox ids (`id: "<id>"` comments).
pub fn cni_rules_of(sandboxes: &[String]) -> Vec<String> {
    let out = Command::new("iptables")
        .args(["-w", "-t", "nat", "-S"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    out.lines()
        .filter(|l| {
            sandboxes
                .iter()
                .any(|id| l.contains(&format!("id: \\\"{id}\\\"")))
        })
        .map(str::to_string)
        .collect()
}

/// Plain HTTP GET on loopback (no client crate needed): returns status line + body.
pub fn http_get(port: u16, path: &str) -> String {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    let _ = stream.read_to_string(&mut out);
    out
}

/// What a torn-down cluster left behind under `root`: mounts and processes naming it.
pub fn leftovers(root: &Path) -> Vec<String> {
    let root = root.to_string_lossy().to_string();
    let mut found = vec![];
    if let Ok(mounts) = std::fs::read_to_string("/proc/self/mounts") {
        found.extend(
            mounts
                .lines()
                .filter(|l| l.contains(&root))
                .map(|l| format!("mount: {l}")),
        );
    }
    if let Ok(procs) = std::fs::read_dir("/proc") {
        for entry in procs.flatten() {
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.contains(&root) {
                found.push(format!(
                    "process {}: {cmdline}",
                    entry.file_name().to_string_lossy()
                ));
            }
        }
    }
    found
}

/// One container's OCI state as the node's low-level runtime left it.
pub struct OciState {
    /// Container id (its directory name).
    pub id: String,
    /// `youki` (the OCI state document: `status`, `pid`), `runc` (`init_process_pid`) or
    /// `unknown`.
    pub backend: &'static str,
    /// The container's init pid (0 when not recorded).
    pub pid: u64,
}

impl OciState {
    /// Whether the recorded process still runs (and is not a zombie).
    pub fn alive(&self) -> bool {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).unwrap_or_default();
        self.pid > 0 && !stat.is_empty() && !stat.contains(") Z ")
    }
}

/// The containers with OCI state under `oci_root` (`<data-dir>/agent/runtime/oci`).
pub fn oci_states(oci_root: &Path) -> Vec<OciState> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(oci_root).into_iter().flatten().flatten() {
        let Ok(text) = std::fs::read_to_string(entry.path().join("state.json")) else {
            continue;
        };
        let Ok(doc) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        let (backend, pid) = if let Some(pid) = doc.get("init_process_pid") {
            ("runc", pid.as_u64())
        } else if doc.get("status").is_some() && doc.get("pid").is_some() {
            ("youki", doc["pid"].as_u64())
        } else {
            ("unknown", None)
        };
        out.push(OciState {
            id: entry.file_name().to_string_lossy().into_owned(),
            backend,
            pid: pid.unwrap_or_default(),
        });
    }
    out
}

/// The real kubectl's `apply -f -` with `yaml` on stdin against `kubeconfig`; panics (with
/// kubectl's stderr and the YAML) when it fails.
pub fn kubectl_apply(kubeconfig: &Path, yaml: &str) {
    let mut child = Command::new("/usr/bin/kubectl")
        .args(["apply", "-f", "-"])
        .env("KUBECONFIG", kubeconfig)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl apply");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(yaml.as_bytes())
        .expect("write yaml");
    let out = child.wait_with_output().expect("kubectl apply output");
    assert!(
        out.status.success(),
        "apply failed: {}\n{yaml}",
        String::from_utf8_lossy(&out.stderr)
    );
}
