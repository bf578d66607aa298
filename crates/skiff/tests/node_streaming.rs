//! The node agent's streaming paths and image pulls, end to end with real parts: kubectl logs
//! (-f, --tail, --timestamps), exec exit codes, exec -ti through `script`, attach,
//! port-forward, cp, proxy + pods/proxy, the Python client's `stream` exec, and pulls from a
//! real registry through a registries.yaml mirror (incl. ErrImagePull/ImagePullBackOff).
#![allow(clippy::unwrap_used, missing_docs)] // test code: a failed unwrap is a failed test

mod common;
mod node_support;

use common::{bootcamp_archive, free_port, http_get, repo_root, Cluster};
use node_support::*;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn web_pod(c: &Cluster) -> String {
    format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  nodeName: {node}
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: {IMAGE}
    ports:
    - containerPort: 8080
---
apiVersion: v1
kind: Pod
metadata:
  name: logger
spec:
  nodeName: {node}
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: {IMAGE}
    command: ["sh", "-c", "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.3; done"]
---
apiVersion: v1
kind: Pod
metadata:
  name: attacher
spec:
  nodeName: {node}
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: {IMAGE}
    stdin: true
    command: ["sh", "-c", "while read l; do echo got:$l; done"]
"#,
        node = c.node_name
    )
}

/// Spawns the real kubectl with piped stdio.
fn spawn(c: &Cluster, args: &[&str]) -> std::process::Child {
    Command::new(KUBECTL)
        .args(args)
        .env("KUBECONFIG", &c.kubeconfig)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kubectl")
}

#[test]
fn logs_exec_attach_port_forward_cp_proxy_and_python_stream() {
    let c = cluster_with(&[]);
    apply(&c, &web_pod(&c));
    for name in ["web", "logger", "attacher"] {
        wait_pod(&c, name, "Running", 60, running_ready);
    }

    // logs --tail, --timestamps, -f.
    std::thread::sleep(Duration::from_secs(2));
    let tail = ok(&c, &["logs", "logger", "--tail", "3"]);
    assert_eq!(tail.lines().count(), 3, "{tail:?}");
    assert!(tail.lines().all(|l| l.starts_with("line ")), "{tail:?}");
    let stamped = ok(&c, &["logs", "logger", "--timestamps", "--tail", "2"]);
    for line in stamped.lines() {
        let (ts, rest) = line.split_once(' ').unwrap_or_default();
        assert!(
            chrono_like(ts) && rest.starts_with("line "),
            "bad timestamped line {line:?}"
        );
    }
    let mut follow = spawn(&c, &["logs", "-f", "logger", "--tail", "1"]);
    std::thread::sleep(Duration::from_secs(3));
    let _ = follow.kill();
    let out = follow.wait_with_output().expect("logs -f");
    let followed = String::from_utf8_lossy(&out.stdout);
    let numbers: Vec<u64> = followed
        .lines()
        .filter_map(|l| l.strip_prefix("line ").and_then(|n| n.parse().ok()))
        .collect();
    assert!(
        numbers.len() >= 5,
        "logs -f streamed too little: {followed:?}"
    );
    assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1), "{numbers:?}");

    // exec: output, stderr and exit codes.
    assert_eq!(
        ok(
            &c,
            &["exec", "web", "--", "sh", "-c", "echo out; echo err >&2"]
        ),
        "out\n"
    );
    let failed = kubectl(&c, &["exec", "web", "--", "sh", "-c", "exit 7"]);
    assert_eq!(failed.status.code(), Some(7), "{failed:?}");
    let missing = kubectl(&c, &["exec", "web", "--", "/no/such/binary"]);
    assert!(!missing.status.success(), "{missing:?}");
    let piped = {
        let mut child = spawn(&c, &["exec", "-i", "web", "--", "sh", "-c", "tr a-z A-Z"]);
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(b"shout\n")
            .expect("write");
        child.wait_with_output().expect("exec -i")
    };
    assert_eq!(
        String::from_utf8_lossy(&piped.stdout),
        "SHOUT\n",
        "{piped:?}"
    );

    // exec -ti through a real pty (script), with the TTY and exit code.
    let command = format!("{KUBECTL} exec -ti web -- bash");
    let mut script = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("KUBECONFIG", &c.kubeconfig)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script");
    {
        let mut stdin = script.stdin.take().expect("stdin");
        std::thread::sleep(Duration::from_secs(2));
        let _ = stdin.write_all(b"tty; echo sum=$((40+2)); exit 3\n");
        std::thread::sleep(Duration::from_secs(2));
    }
    let out = script.wait_with_output().expect("script output");
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(
        screen.contains("/dev/pts/") && screen.contains("sum=42"),
        "{screen}"
    );
    assert_eq!(out.status.code(), Some(3), "exec -ti exit code: {screen}");

    // attach -i: our line reaches the container's stdin; its answer comes back.
    let mut attach = spawn(&c, &["attach", "-i", "attacher"]);
    {
        let mut stdin = attach.stdin.take().expect("stdin");
        std::thread::sleep(Duration::from_secs(2));
        let _ = stdin.write_all(b"hello\n");
        std::thread::sleep(Duration::from_secs(2));
        let _ = attach.kill();
    }
    let out = attach.wait_with_output().expect("attach");
    let attached = String::from_utf8_lossy(&out.stdout);
    assert!(
        attached.contains("got:hello"),
        "attach stdout: {attached:?} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(ok(&c, &["logs", "attacher"]).contains("got:hello"));

    // port-forward.
    let local = free_port();
    let mut forward = spawn(&c, &["port-forward", "pod/web", &format!("{local}:8080")]);
    let mut answer = String::new();
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(200));
        answer = http_get(local, "/");
        if answer.contains("Hello") {
            break;
        }
    }
    let second = http_get(local, "/");
    let _ = forward.kill();
    let _ = forward.wait();
    assert!(
        answer.contains("Hello Kubernetes bootcamp! | Running on: web | v=1"),
        "{answer}"
    );
    assert!(
        second.contains("Hello Kubernetes bootcamp!"),
        "second connection: {second}"
    );

    // cp both ways (tar over exec).
    let local_file = c.dir.path().join("to-pod.txt");
    std::fs::write(&local_file, "copied into the pod\n").unwrap();
    ok(
        &c,
        &["cp", &local_file.to_string_lossy(), "web:/tmp/in.txt"],
    );
    assert_eq!(
        ok(&c, &["exec", "web", "--", "cat", "/tmp/in.txt"]),
        "copied into the pod\n"
    );
    let back = c.dir.path().join("from-pod.txt");
    ok(&c, &["cp", "web:/tmp/in.txt", &back.to_string_lossy()]);
    assert_eq!(
        std::fs::read_to_string(&back).unwrap_or_default(),
        "copied into the pod\n"
    );

    // kubectl proxy + pods/proxy, with and without a port.
    let proxy_port = free_port();
    let mut proxy = Command::new(KUBECTL)
        .args(["proxy", &format!("--port={proxy_port}")])
        .env("KUBECONFIG", &c.kubeconfig)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("kubectl proxy");
    let mut via_proxy = String::new();
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(200));
        via_proxy = http_get(proxy_port, "/api/v1/namespaces/default/pods/web/proxy/");
        if via_proxy.contains("Hello") {
            break;
        }
    }
    let with_port = http_get(
        proxy_port,
        "/api/v1/namespaces/default/pods/web:8080/proxy/",
    );
    let _ = proxy.kill();
    let _ = proxy.wait();
    assert!(via_proxy.contains("Running on: web"), "{via_proxy}");
    assert!(with_port.contains("Running on: web"), "{with_port}");

    // The Python client's stream exec.
    let python = format!(
        r#"
from kubernetes import client, config
from kubernetes.stream import stream
config.load_kube_config(config_file={kc:?})
api = client.CoreV1Api()
out = stream(api.connect_get_namespaced_pod_exec, "web", "default",
             command=["sh", "-c", "echo py-$((6*7))"], stderr=True, stdin=False, stdout=True, tty=False)
print("RESULT:" + out.strip())
"#,
        kc = c.kubeconfig.to_string_lossy()
    );
    let out = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(&python)
        .output()
        .expect("python3");
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.contains("RESULT:py-42"),
        "python stream: {printed} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    teardown(c);
}

/// An RFC 3339 timestamp with nanoseconds, as `kubectl logs --timestamps` prints.
fn chrono_like(ts: &str) -> bool {
    ts.len() >= 20 && ts.as_bytes()[4] == b'-' && ts.contains('T') && ts.ends_with('Z')
}

/// A docker-registry on a free port, stopped when dropped.
struct Registry {
    dir: tempfile::TempDir,
    port: u16,
}

impl Registry {
    fn start() -> Registry {
        let dir = tempfile::Builder::new()
            .prefix("skiff-registry-")
            .tempdir()
            .unwrap();
        let port = free_port();
        let status = Command::new("sh")
            .arg(repo_root().join("tests/fixtures/registry.sh"))
            .args(["start", &dir.path().to_string_lossy(), &port.to_string()])
            .stdout(Stdio::null())
            .status()
            .expect("registry.sh");
        assert!(status.success(), "registry did not start");
        Registry { dir, port }
    }

    fn push(&self, archive: &std::path::Path, name: &str) {
        let status = Command::new("sh")
            .arg(repo_root().join("tests/fixtures/push-image.sh"))
            .arg(archive)
            .arg(format!("127.0.0.1:{}", self.port))
            .arg(name)
            .status()
            .expect("push-image.sh");
        assert!(status.success(), "push failed");
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = Command::new("sh")
            .arg(repo_root().join("tests/fixtures/registry.sh"))
            .args(["stop", &self.dir.path().to_string_lossy()])
            .status();
    }
}

#[test]
fn pulls_through_a_registry_mirror_and_backs_off_on_missing_images() {
    let registry = Registry::start();
    registry.push(&bootcamp_archive("v1"), "skiff/bootcamp:v1");
    let config_dir = tempfile::tempdir().unwrap();
    let registries = config_dir.path().join("registries.yaml");
    std::fs::write(
        &registries,
        format!(
            "mirrors:\n  registry.test:\n    endpoint:\n      - \"http://127.0.0.1:{}\"\n",
            registry.port
        ),
    )
    .unwrap();
    // No air-gap images: everything comes from the registry.
    let c = Cluster::start_with(&[], &["--private-registry", &registries.to_string_lossy()]);
    c.wait_until("node Ready", Duration::from_secs(60), |c| {
        String::from_utf8_lossy(&kubectl(c, &["get", "nodes"]).stdout).contains(" Ready ")
    });
    let pods = format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: pulled
spec:
  nodeName: {node}
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: registry.test/skiff/bootcamp:v1
    imagePullPolicy: Always
---
apiVersion: v1
kind: Pod
metadata:
  name: missing
spec:
  nodeName: {node}
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: registry.test/skiff/missing:v1
"#,
        node = c.node_name
    );
    apply(&c, &pods);
    let p = wait_pod(&c, "pulled", "Running", 120, running_ready);
    let cs = container_status(&p, "web");
    assert_eq!(cs["image"], "registry.test/skiff/bootcamp:v1");
    assert!(
        cs["imageID"]
            .as_str()
            .is_some_and(|i| i.contains("sha256:")),
        "{cs}"
    );
    let reasons = event_reasons(&c, "pulled");
    for r in ["Pulling", "Pulled", "Created", "Started"] {
        assert!(reasons.iter().any(|x| x == r), "no {r}: {reasons:?}");
    }
    let described = ok(&c, &["describe", "pod", "pulled"]);
    assert!(
        described.contains("Pulling image \"registry.test/skiff/bootcamp:v1\""),
        "{described}"
    );
    assert!(
        described.contains("Successfully pulled image"),
        "{described}"
    );

    // The missing image: ErrImagePull, then ImagePullBackOff with a BackOff event.
    let start = Instant::now();
    let mut seen = std::collections::BTreeSet::new();
    while start.elapsed() < Duration::from_secs(60) && seen.len() < 2 {
        let p = pod(&c, "missing");
        if let Some(reason) = container_status(&p, "main")["state"]["waiting"]["reason"].as_str() {
            if reason == "ErrImagePull" || reason == "ImagePullBackOff" {
                seen.insert(reason.to_string());
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        seen.contains("ImagePullBackOff"),
        "saw only {seen:?}\n{}",
        c.log_tail(20)
    );
    let reasons = wait_event(&c, "missing", "BackOff", 30);
    assert!(reasons.iter().any(|r| r == "Failed"), "{reasons:?}");
    let table = ok(&c, &["get", "pod", "missing"]);
    assert!(
        table.contains("ImagePullBackOff") || table.contains("ErrImagePull"),
        "{table}"
    );
    teardown(c);
    drop(registry);
}

/// `skiff image …` on a fresh data dir whose registries.yaml mirrors `registry.test` to
/// the test registry.
struct ImageCli {
    dir: tempfile::TempDir,
}

impl ImageCli {
    fn new(registry: &Registry) -> ImageCli {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("registries.yaml"),
            format!(
                "mirrors:\n  registry.test:\n    endpoint:\n      - \"http://127.0.0.1:{}\"\n",
                registry.port
            ),
        )
        .unwrap();
        ImageCli { dir }
    }

    /// Runs `skiff image ARGS`: (success, stdout + stderr).
    fn run(&self, args: &[&str]) -> (bool, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_skiff"))
            .arg("image")
            .arg("--data-dir")
            .arg(self.dir.path().join("data"))
            .arg("--private-registry")
            .arg(self.dir.path().join("registries.yaml"))
            .args(args)
            .output()
            .expect("skiff image");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    }
}

/// `skiff image pull|list|rm|import` against a node's store, the pull resolved through a
/// registries.yaml mirror and showing per-layer progress.
#[test]
fn image_cli_pulls_with_progress_lists_removes_and_imports() {
    let registry = Registry::start();
    registry.push(&bootcamp_archive("v1"), "skiff/bootcamp:v1");
    let cli = ImageCli::new(&registry);
    let image = |args: &[&str]| cli.run(args);

    let (ok_pull, out) = image(&["pull", "registry.test/skiff/bootcamp:v1"]);
    assert!(ok_pull, "{out}");
    // One "done" line per layer (the bootcamp image has two) and a summary.
    assert!(out.matches(": done (").count() >= 2, "{out}");
    assert!(
        out.contains("pulled registry.test/skiff/bootcamp:v1 (sha256:"),
        "{out}"
    );
    let (_, list) = image(&["list"]);
    assert!(
        list.lines().next().unwrap_or_default().starts_with("IMAGE"),
        "{list}"
    );
    assert!(list.contains("registry.test/skiff/bootcamp:v1"), "{list}");

    let (ok_rm, out) = image(&["rm", "registry.test/skiff/bootcamp:v1"]);
    assert!(ok_rm, "{out}");
    let (_, list) = image(&["list"]);
    assert!(!list.contains("registry.test/skiff/bootcamp:v1"), "{list}");

    let (ok_missing, out) = image(&["pull", "registry.test/skiff/missing:v1"]);
    assert!(!ok_missing, "pulling a missing image must fail: {out}");

    let (ok_import, out) = image(&["import", &bootcamp_archive("v1").to_string_lossy()]);
    assert!(ok_import, "{out}");
    let (_, list) = image(&["list"]);
    assert!(list.contains("kubernetes-bootcamp:v1"), "{list}");
}

#[test]
fn image_cli_pull_no_unpack_fetches_then_pull_unpacks_offline() {
    let registry = Registry::start();
    registry.push(&bootcamp_archive("v1"), "skiff/fetched:v1");
    let cli = ImageCli::new(&registry);
    let image = |args: &[&str]| cli.run(args);

    let (ok, out) = image(&["pull", "--no-unpack", "registry.test/skiff/fetched:v1"]);
    assert!(ok, "{out}");
    // The same per-layer progress as a pull (the bootcamp image has two layers).
    assert!(out.matches(": done (").count() >= 2, "{out}");
    assert!(
        out.contains("fetched registry.test/skiff/fetched:v1 (sha256:")
            && out.contains("not unpacked"),
        "{out}"
    );
    // Content only: not an image yet.
    let (_, list) = image(&["list"]);
    assert!(!list.contains("skiff/fetched"), "{list}");

    // With the registry gone, a pull can only succeed by unpacking the fetched blobs.
    drop(registry);
    let (ok, out) = image(&["pull", "registry.test/skiff/fetched:v1"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("pulled registry.test/skiff/fetched:v1 (sha256:"),
        "{out}"
    );
    let (_, list) = image(&["list"]);
    assert!(list.contains("registry.test/skiff/fetched:v1"), "{list}");
    let (ok, out) = image(&["rm", "registry.test/skiff/fetched:v1"]);
    assert!(ok, "{out}");
    let (_, list) = image(&["list"]);
    assert!(!list.contains("skiff/fetched"), "{list}");
}
