//! Test hosts on one machine for the multi-node suites: each node is a network namespace
//! with a veth into a bridge in the root namespace (a per-test `172.30.X.0/24`, no default
//! route), its own data dir, CNI bridge, cgroup root and pod CIDR, running `skiff server`
//! or `skiff agent` under `nsenter --net` (not `ip netns exec`, whose private /sys hides
//! the cgroup hierarchies the OCI runtime needs). Everything is torn down by PID and by
//! name, and [`Hosts::leftovers`] lists what is not gone.

#![allow(dead_code, clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use crate::common::{bootcamp_archive, leftovers, repo_root};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The real kubectl.
pub const KUBECTL: &str = "/usr/bin/kubectl";
/// The pre-imported image (busybox + bash + the bootcamp app).
pub const IMAGE: &str = "gcr.io/google-samples/kubernetes-bootcamp:v1";
/// The join token of every test cluster.
const TOKEN: &str = "multinode-test-token";

/// Runs a command, returning its output (never panics on a non-zero exit).
pub fn sh(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running {program}: {e}"))
}

fn must(program: &str, args: &[&str]) {
    let out = sh(program, args);
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One node: a network namespace and the skiff process inside it.
pub struct Host {
    /// Node name.
    pub name: String,
    /// Network namespace name (`/run/netns/<netns>`).
    pub netns: String,
    /// Its address on the test bridge.
    pub ip: String,
    /// `--data-dir`.
    pub data_dir: PathBuf,
    /// Its CNI bridge (inside its namespace).
    pub cni_bridge: String,
    /// Its `--cgroup-root`.
    pub cgroup_root: String,
    child: Option<Child>,
}

/// A set of test hosts on one bridge, with a server on the first.
pub struct Hosts {
    /// The X of 172.30.X.0/24 and of the cluster CIDR 10.(20+X).0.0/16.
    pub x: u8,
    /// The bridge in the root namespace.
    pub bridge: String,
    /// The hosts, the server first.
    pub hosts: Vec<Host>,
    /// Kubeconfig for kubectl in the root namespace (server at its host address).
    pub kubeconfig: PathBuf,
    dir: tempfile::TempDir,
}

impl Hosts {
    /// Claims a free X (by creating its bridge) and makes `n` hosts on it, no process yet.
    pub fn new(n: usize) -> Hosts {
        let start = (std::process::id() % 20) as u8;
        let x = (0..20u8)
            .map(|i| (start + i) % 20)
            .find(|x| {
                sh(
                    "ip",
                    &["link", "add", &format!("skmn{x}"), "type", "bridge"],
                )
                .status
                .success()
            })
            .expect("a free test network (skmn0..skmn19 all taken)");
        let bridge = format!("skmn{x}");
        must(
            "ip",
            &["addr", "add", &format!("172.30.{x}.1/24"), "dev", &bridge],
        );
        must("ip", &["link", "set", &bridge, "up"]);
        let dir = tempfile::Builder::new()
            .prefix("skiff-mn-")
            .tempdir()
            .unwrap();
        let mut hosts = Hosts {
            x,
            bridge,
            hosts: Vec::new(),
            kubeconfig: dir.path().join("kubeconfig.yaml"),
            dir,
        };
        for i in 0..n {
            hosts.add_host(i);
        }
        hosts
    }

    fn add_host(&mut self, i: usize) {
        let x = self.x;
        let netns = format!("skmn{x}h{i}");
        let veth = format!("skmn{x}v{i}");
        let ip = format!("172.30.{x}.{}", 10 + i);
        must("ip", &["netns", "add", &netns]);
        must(
            "ip",
            &[
                "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &netns,
            ],
        );
        must("ip", &["link", "set", &veth, "master", &self.bridge, "up"]);
        must(
            "ip",
            &[
                "-n",
                &netns,
                "addr",
                "add",
                &format!("{ip}/24"),
                "dev",
                "eth0",
            ],
        );
        must("ip", &["-n", &netns, "link", "set", "eth0", "up"]);
        must("ip", &["-n", &netns, "link", "set", "lo", "up"]);
        let data_dir = self.dir.path().join(format!("host{i}"));
        let images = data_dir.join("agent/images");
        std::fs::create_dir_all(&images).unwrap();
        let archive = bootcamp_archive("v1");
        std::fs::copy(&archive, images.join(archive.file_name().unwrap())).unwrap();
        self.hosts.push(Host {
            name: if i == 0 {
                format!("mn{x}-server")
            } else {
                format!("mn{x}-agent{i}")
            },
            netns,
            ip,
            data_dir,
            cni_bridge: format!("skmn{x}b{i}"),
            cgroup_root: format!("/skiff-mn{x}-{i}"),
            child: None,
        });
    }

    /// The cluster CIDR of this test.
    pub fn cluster_cidr(&self) -> String {
        format!("10.{}.0.0/16", 20 + self.x)
    }

    fn node_flags(&self, h: &Host) -> Vec<String> {
        let mut args: Vec<String> = Vec::new();
        for (flag, value) in [
            ("--data-dir", h.data_dir.to_string_lossy().to_string()),
            ("--node-name", h.name.clone()),
            ("--node-ip", h.ip.clone()),
            ("--cni-bridge", h.cni_bridge.clone()),
            ("--cgroup-root", h.cgroup_root.clone()),
            ("--cluster-cidr", self.cluster_cidr()),
            ("--flannel-backend", "host-gw".into()),
            ("--private-registry", "/nonexistent/registries.yaml".into()),
            ("--token", TOKEN.into()),
        ] {
            args.push(flag.into());
            args.push(value);
        }
        args
    }

    /// Starts `skiff server` on host 0 (`extra` flags appended) and waits for its kubeconfig.
    pub fn start_server(&mut self, extra: &[&str]) {
        let h = &self.hosts[0];
        let written = h.data_dir.join("kubeconfig.yaml");
        let mut args = vec!["server".to_string()];
        args.extend(self.node_flags(h));
        for (flag, value) in [
            ("--bind-address", "0.0.0.0".to_string()),
            ("--tls-san", h.ip.clone()),
            ("--service-cidr", format!("10.{}.0.0/16", 60 + self.x)),
            ("--write-kubeconfig", written.to_string_lossy().to_string()),
        ] {
            args.push(flag.into());
            args.push(value);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        self.spawn(0, &args);
        let server_ip = self.hosts[0].ip.clone();
        self.wait_until("the server's kubeconfig", Duration::from_secs(60), |_| {
            written.exists()
        });
        let yaml = std::fs::read_to_string(&written).unwrap();
        let yaml = yaml.replace("https://127.0.0.1:", &format!("https://{server_ip}:"));
        std::fs::write(&self.kubeconfig, yaml).unwrap();
    }

    /// Starts `skiff agent` on host `i`, joining the server on host 0.
    pub fn start_agent(&mut self, i: usize, extra: &[&str]) {
        let server = format!("https://{}:6443", self.hosts[0].ip);
        let mut args = vec!["agent".to_string(), "--server".into(), server];
        args.extend(self.node_flags(&self.hosts[i]));
        args.extend(extra.iter().map(|s| s.to_string()));
        self.spawn(i, &args);
    }

    fn spawn(&mut self, i: usize, args: &[String]) {
        let h = &mut self.hosts[i];
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join(format!("host{i}.log")))
            .unwrap();
        let child = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", h.netns))
            .arg("--")
            .arg(env!("CARGO_BIN_EXE_skiff"))
            .args(args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start skiff in its host");
        h.child = Some(child);
    }

    /// Stops host `i`'s skiff process (SIGTERM, SIGKILL after 10 s) and everything it ran.
    pub fn stop_host(&mut self, i: usize) {
        let h = &mut self.hosts[i];
        if let Some(mut child) = h.child.take() {
            let _ = sh("kill", &[&child.id().to_string()]);
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let netns = format!("--net=/run/netns/{}", h.netns);
        let killall = repo_root().join("scripts/killall.sh");
        let _ = sh(
            "nsenter",
            &[
                &netns,
                "--",
                "bash",
                &killall.to_string_lossy(),
                &h.data_dir.to_string_lossy(),
                &h.cni_bridge,
            ],
        );
        remove_cgroup_tree(&h.cgroup_root);
    }

    /// Runs kubectl against the cluster.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        Command::new(KUBECTL)
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .stdin(Stdio::null())
            .output()
            .expect("run kubectl")
    }

    /// kubectl's stdout, panicking with stderr and the logs on failure.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            out.status.success(),
            "kubectl {args:?}: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log_tails(20)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `kubectl apply -f -` with `yaml` on stdin.
    pub fn apply(&self, yaml: &str) {
        crate::common::kubectl_apply(&self.kubeconfig, yaml);
    }

    /// `kubectl get … -o json`, parsed (Null on failure).
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["get"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-o", "json"]);
        serde_json::from_slice(&self.kubectl(&all).stdout).unwrap_or(serde_json::Value::Null)
    }

    /// Polls `check` until it holds, else panics with every host's log tail.
    pub fn wait_until(&self, what: &str, timeout: Duration, check: impl Fn(&Self) -> bool) {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if check(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        panic!("timed out waiting for {what}\n{}", self.log_tails(40));
    }

    /// The last `n` lines of each host's log.
    pub fn log_tails(&self, n: usize) -> String {
        (0..self.hosts.len())
            .map(|i| {
                let log = std::fs::read_to_string(self.dir.path().join(format!("host{i}.log")))
                    .unwrap_or_default();
                let lines: Vec<&str> = log.lines().collect();
                let tail = lines[lines.len().saturating_sub(n)..].join("\n");
                format!("--- host{i} ({}) ---\n{tail}", self.hosts[i].name)
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Routes of host `i` with Skiff's route protocol, as `ip route` prints them.
    pub fn pod_routes(&self, i: usize) -> Vec<String> {
        let out = sh(
            "ip",
            &["-n", &self.hosts[i].netns, "route", "show", "proto", "77"],
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Everything of this test still on the machine after teardown.
    pub fn leftovers(&self) -> Vec<String> {
        let x = self.x;
        let mut found = leftovers(self.dir.path());
        let text = |program: &str, args: &[&str]| {
            String::from_utf8_lossy(&sh(program, args).stdout).into_owned()
        };
        let ours = |l: &str| l.contains(&format!("skmn{x}h")) || l.contains(&format!("skmn{x}v"));
        found.extend(
            text("ip", &["netns", "list"])
                .lines()
                .filter(|l| ours(l))
                .map(|l| format!("netns: {l}")),
        );
        found.extend(
            text("ip", &["-o", "link"])
                .lines()
                .filter(|l| ours(l) || l.contains(&format!("skmn{x}:")))
                .map(|l| format!("link: {l}")),
        );
        found.extend(
            text("ip", &["route"])
                .lines()
                .filter(|l| {
                    l.contains(&format!("172.30.{x}.")) || l.contains(&format!("10.{}.", 20 + x))
                })
                .map(|l| format!("route: {l}")),
        );
        found.extend(
            text("iptables", &["-w", "-t", "nat", "-S"])
                .lines()
                .filter(|l| {
                    l.contains(&format!("skmn{x}b")) || l.contains(&format!("10.{}.", 20 + x))
                })
                .map(|l| format!("iptables: {l}")),
        );
        for h in &self.hosts {
            for root in cgroup_roots(&h.cgroup_root) {
                if root.exists() {
                    found.push(format!("cgroup: {}", root.display()));
                }
            }
        }
        found
    }
}

/// The directories of cgroup `path` in every mounted hierarchy.
fn cgroup_roots(path: &str) -> Vec<PathBuf> {
    let rel = path.trim_start_matches('/');
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/sys/fs/cgroup")
        .into_iter()
        .flatten()
        .flatten()
    {
        out.push(entry.path().join(rel));
    }
    out.push(Path::new("/sys/fs/cgroup").join(rel));
    out
}

/// Removes the (empty) cgroup tree under `path` in every hierarchy, deepest first.
fn remove_cgroup_tree(path: &str) {
    for root in cgroup_roots(path) {
        if !root.is_dir() || root == Path::new("/sys/fs/cgroup") {
            continue;
        }
        let _ = sh(
            "find",
            &[
                &root.to_string_lossy(),
                "-depth",
                "-type",
                "d",
                "-exec",
                "rmdir",
                "{}",
                ";",
            ],
        );
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        for i in (0..self.hosts.len()).rev() {
            self.stop_host(i);
        }
        for (i, h) in self.hosts.iter().enumerate() {
            // The root-side end first: a namespace's own links vanish only when the
            // kernel gets round to destroying it.
            let _ = sh("ip", &["link", "del", &format!("skmn{}v{i}", self.x)]);
            let _ = sh("ip", &["netns", "del", &h.netns]);
        }
        let _ = sh("ip", &["link", "del", &self.bridge]);
        let left = self.leftovers();
        if !left.is_empty() && !std::thread::panicking() {
            panic!("the test left behind: {left:#?}");
        }
    }
}
