//! Live differential tests that need a node: `skiff server` with its agent (root, CNI,
//! runc, the bootcamp image archive built by the skiff e2e suite), one bootcamp pod, then
//! exec (exit codes, stdin), cp both ways, port-forward, proxy to the pod, attach,
//! describe and logs: the real kubectl 1.33 and ours must agree.
//! Skipped unless root and `target/e2e-images/kubernetes-bootcamp-v1.tar` exist.

mod live;

use live::{norm, OURS, REAL};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .ok()
        .and_then(|l| l.local_addr().ok())
        .map(|a| a.port())
        .unwrap_or(0)
}

struct Node {
    child: Child,
    dir: tempfile::TempDir,
    kubeconfig: String,
    bridge: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // containers, monitors, mounts and the bridge under our data dir
        let _ = Command::new("bash")
            .arg(root().join("scripts/killall.sh"))
            .arg(self.dir.path())
            .arg(&self.bridge)
            .status();
    }
}

impl Node {
    fn start() -> Option<Node> {
        if !nix_is_root() || !Path::new(REAL).exists() {
            live::may_skip("needs root and the real kubectl");
            return None;
        }
        let Some(skiff) = live::skiff_bin() else {
            live::may_skip("the skiff binary is not built (cargo build -p skiff)");
            return None;
        };
        let archive = bootcamp_archive()?;
        let dir = tempfile::Builder::new().prefix("kc-node-").tempdir().ok()?;
        let images = dir.path().join("agent/images");
        std::fs::create_dir_all(&images).ok()?;
        std::fs::copy(&archive, images.join("bootcamp.tar")).ok()?;
        // a private copy: concurrent builds may replace target/debug/skiff
        let bin = dir.path().join("bin/skiff");
        std::fs::create_dir_all(dir.path().join("bin")).ok()?;
        std::fs::copy(&skiff, &bin).ok()?;
        let kubeconfig = dir.path().join("kubeconfig.yaml").display().to_string();
        let tag = std::process::id() % 10000;
        let bridge = format!("kc{tag}");
        let octet = 100 + tag % 150;
        let log = std::fs::File::create(dir.path().join("server.log")).ok()?;
        let child = Command::new(&bin)
            .arg("server")
            .arg("--data-dir")
            .arg(dir.path())
            .args(["--https-listen-port", &free_port().to_string()])
            .args([
                "--bind-address",
                "127.0.0.1",
                "--write-kubeconfig",
                &kubeconfig,
            ])
            .args(["--kubelet-port", &free_port().to_string()])
            .args(["--cni-bridge", &bridge])
            .args(["--cluster-cidr", &format!("10.{octet}.0.0/16")])
            .args([
                "--node-name",
                &format!("kcnode-{tag}"),
                "--node-ip",
                "127.0.0.1",
            ])
            .args(["--private-registry", "/nonexistent/registries.yaml"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .ok()?;
        Some(Node {
            child,
            dir,
            kubeconfig,
            bridge,
        })
    }

    fn kubectl(&self, bin: &str, args: &[&str], input: Option<&[u8]>) -> Output {
        let mut c = Command::new(bin)
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", self.dir.path())
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("run {bin}: {e}"));
        if let (Some(data), Some(mut stdin)) = (input, c.stdin.take()) {
            let _ = stdin.write_all(data);
        }
        c.wait_with_output()
            .unwrap_or_else(|e| panic!("wait {bin}: {e}"))
    }

    fn wait_until(&self, timeout: Duration, f: impl Fn(&Node) -> bool) -> bool {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if f(self) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        false
    }

    fn diff(&self, args: &[&str], input: Option<&[u8]>) -> Option<String> {
        // the real kubectl prints tar's leading-'/' notice only sometimes (a race
        // between its stderr and stdout copies): compare without it
        let quiet = |mut o: Output| {
            let text = String::from_utf8_lossy(&o.stdout)
                .replace("tar: removing leading '/' from member names\n", "");
            o.stdout = text.into_bytes();
            o
        };
        let a = quiet(self.kubectl(REAL, args, input));
        let b = quiet(self.kubectl(OURS, args, input));
        let same = norm(&a.stdout) == norm(&b.stdout)
            && norm(&a.stderr) == norm(&b.stderr)
            && a.status.code() == b.status.code();
        (!same).then(|| {
            format!(
                "{args:?}\n--- real {:?}\n{}{}--- ours {:?}\n{}{}",
                a.status.code(),
                norm(&a.stdout),
                norm(&a.stderr),
                b.status.code(),
                norm(&b.stdout),
                norm(&b.stderr)
            )
        })
    }
}

/// The tutorial image archive, built once per checkout (shared with the skiff e2e suites).
fn bootcamp_archive() -> Option<PathBuf> {
    let out = root().join("target/e2e-images/kubernetes-bootcamp-v1.tar");
    if !out.exists() {
        std::fs::create_dir_all(out.parent()?).ok()?;
        let tmp = out.with_extension(format!("{}.tmp", std::process::id()));
        let ok = Command::new("bash")
            .arg(root().join("examples/bootcamp/build-image.sh"))
            .arg(&tmp)
            .arg("v1")
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "examples/bootcamp/build-image.sh failed");
        std::fs::rename(&tmp, &out).ok()?;
    }
    Some(out)
}

fn nix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

fn http_get(port: u16, path: &str) -> String {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n"
    );
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// Starts `kubectl BIN args` in the background and fetches `path` through `port`.
fn through(node: &Node, bin: &str, args: &[&str], port: u16, path: &str) -> String {
    let mut child = Command::new(bin)
        .args(args)
        .env("KUBECONFIG", &node.kubeconfig)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {bin}: {e}"));
    let mut answer = String::new();
    for _ in 0..30 {
        std::thread::sleep(Duration::from_millis(200));
        answer = http_get(port, path);
        if answer.contains("Hello") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    answer.lines().last().unwrap_or_default().to_string()
}

#[test]
fn streaming_commands_match_real_kubectl() {
    let Some(node) = Node::start() else { return };
    assert!(
        node.wait_until(Duration::from_secs(60), |n| {
            String::from_utf8_lossy(&n.kubectl(REAL, &["get", "nodes"], None).stdout)
                .contains(" Ready ")
        }),
        "node not Ready"
    );
    let manifest = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: kubernetes-bootcamp\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: kubernetes-bootcamp}\n  template:\n    metadata:\n      labels: {app: kubernetes-bootcamp}\n    spec:\n      containers:\n      - name: kubernetes-bootcamp\n        image: gcr.io/google-samples/kubernetes-bootcamp:v1\n        ports:\n        - containerPort: 8080\n";
    let file = node.dir.path().join("dep.yaml");
    let _ = std::fs::write(&file, manifest);
    let o = node.kubectl(REAL, &["apply", "-f", &file.display().to_string()], None);
    assert!(o.status.success());
    assert!(
        node.wait_until(Duration::from_secs(90), |n| {
            String::from_utf8_lossy(&n.kubectl(REAL, &["get", "pods"], None).stdout)
                .contains("1/1     Running")
        }),
        "pod not Running"
    );
    let pod = String::from_utf8_lossy(
        &node
            .kubectl(
                REAL,
                &["get", "pods", "-o", "jsonpath={.items[0].metadata.name}"],
                None,
            )
            .stdout,
    )
    .to_string();
    let local = node.dir.path().join("local.txt");
    let _ = std::fs::write(&local, "payload\n");
    let local = local.display().to_string();
    let remote = format!("{pod}:/tmp/copied.txt");
    let back = node.dir.path().join("back.txt").display().to_string();
    let mut diffs: Vec<String> = Vec::new();
    let cases: Vec<(Vec<&str>, Option<&[u8]>)> = vec![
        (
            vec![
                "exec",
                &pod,
                "--",
                "sh",
                "-c",
                "echo out; echo err >&2; exit 3",
            ],
            None,
        ),
        (vec!["exec", &pod, "--", "/no/such/binary"], None),
        (vec!["exec", &pod, "--", "env"], None),
        (vec!["exec", &pod, "env"], None),
        (vec!["exec", "-i", &pod, "--", "cat"], Some(b"hello\n")),
        (vec!["exec", "-i", &pod, "--", "sh"], Some(b"exit 4\n")),
        (
            vec!["exec", "deploy/kubernetes-bootcamp", "--", "hostname"],
            None,
        ),
        (vec!["cp", &local, &remote], None),
        (vec!["exec", &pod, "--", "cat", "/tmp/copied.txt"], None),
        (vec!["cp", &remote, &back], None),
        (vec!["describe", "pod", &pod], None),
        (vec!["describe", "node"], None),
        (vec!["get", "pods", "-o", "wide"], None),
        (vec!["get", "nodes", "-o", "wide"], None),
        (vec!["logs", &pod], None),
        (vec!["get", "pods", "-o", "yaml"], None),
        (vec!["get", "nodes", "-o", "json"], None),
        (vec!["describe", "deploy"], None),
        (vec!["describe", "rs"], None),
        (vec!["get", "events", "-A"], None),
        (vec!["describe", "ns", "default"], None),
    ];
    for (args, input) in &cases {
        if let Some(d) = node.diff(args, *input) {
            diffs.push(d);
        }
    }
    assert_eq!(
        std::fs::read_to_string(&back).unwrap_or_default(),
        "payload\n"
    );
    for bin in [REAL, OURS] {
        let port = free_port();
        let fwd = through(
            &node,
            bin,
            &["port-forward", &pod, &format!("{port}:8080")],
            port,
            "/",
        );
        if !fwd.contains(&format!("Running on: {pod}")) {
            diffs.push(format!("{bin} port-forward: {fwd}"));
        }
        let port = free_port();
        let px = through(
            &node,
            bin,
            &["proxy", &format!("--port={port}")],
            port,
            &format!("/api/v1/namespaces/default/pods/{pod}:8080/proxy/"),
        );
        if !px.contains(&format!("Running on: {pod}")) {
            diffs.push(format!("{bin} proxy: {px}"));
        }
    }
    // rollout status follows a scale-up until the new pod is available
    let o = node.kubectl(
        REAL,
        &["scale", "deploy/kubernetes-bootcamp", "--replicas=2"],
        None,
    );
    assert!(o.status.success());
    let ours = node.kubectl(
        OURS,
        &["rollout", "status", "deploy/kubernetes-bootcamp"],
        None,
    );
    let text = String::from_utf8_lossy(&ours.stdout).to_string();
    if !ours.status.success()
        || text.lines().last() != Some("deployment \"kubernetes-bootcamp\" successfully rolled out")
    {
        diffs.push(format!("rollout status: {ours:?}"));
    }
    if let Some(d) = node.diff(&["rollout", "status", "deploy/kubernetes-bootcamp"], None) {
        diffs.push(d);
    }
    // two pods now: logs over a selector, and following both streams at once
    let sel = "app=kubernetes-bootcamp";
    for (args, follow) in [
        (&["logs", "-l", sel, "--prefix"][..], false),
        (&["logs", "-l", sel, "--prefix", "--tail=1"], false),
        (&["logs", "-l", sel, "--all-containers", "--prefix"], false),
        (&["logs", "-f", "-l", sel, "--max-log-requests=1"], false),
        (&["logs", "-f", "-l", sel, "--prefix"], true),
        (&["logs", "-f", "-l", sel], true),
    ] {
        if let Some(d) = sorted_diff(&node, args, follow) {
            diffs.push(d);
        }
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

/// Compares both kubectls with output lines sorted (several pods' logs come in any
/// order); a following command is stopped once it has printed as many lines as the same
/// command without `-f` (or after 20 s).
fn sorted_diff(node: &Node, args: &[&str], follow: bool) -> Option<String> {
    let expected = if follow {
        let once: Vec<&str> = args.iter().copied().filter(|a| *a != "-f").collect();
        String::from_utf8_lossy(&node.kubectl(REAL, &once, None).stdout)
            .lines()
            .count()
    } else {
        0
    };
    let run = |bin: &str| -> (String, String, Option<i32>) {
        let Ok(mut c) = Command::new(bin)
            .args(args)
            .env("KUBECONFIG", &node.kubeconfig)
            .env("HOME", node.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
        else {
            return (String::new(), format!("cannot run {bin}"), None);
        };
        let mut stdout = Vec::new();
        if follow {
            let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
            let reader = c.stdout.take().map(|mut so| {
                let lines = lines.clone();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = so.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        if let Ok(mut l) = lines.lock() {
                            l.extend_from_slice(&buf[..n]);
                        }
                    }
                })
            });
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(20) {
                let seen = lines
                    .lock()
                    .map(|l| l.iter().filter(|b| **b == b'\n').count())
                    .unwrap_or(0);
                if seen >= expected {
                    break;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            let _ = c.kill();
            if let Some(r) = reader {
                let _ = r.join();
            }
            stdout = lines.lock().map(|l| l.clone()).unwrap_or_default();
        }
        let Ok(o) = c.wait_with_output() else {
            return (String::new(), format!("{bin} did not finish"), None);
        };
        if !follow {
            stdout = o.stdout.clone();
        }
        let sort = |b: &[u8]| {
            let text = norm(b);
            let mut l: Vec<&str> = text.lines().collect();
            l.sort();
            l.join("\n")
        };
        let code = if follow { None } else { o.status.code() };
        (sort(&stdout), sort(&o.stderr), code)
    };
    let (a, b) = (run(REAL), run(OURS));
    (a != b).then(|| format!("{args:?}\n--- real\n{a:?}\n--- ours\n{b:?}"))
}
