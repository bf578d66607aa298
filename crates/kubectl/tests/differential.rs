//! Differential tests: the real kubectl (1.33) and skiff's kubectl run on the same
//! inputs with no server (dry-run, local-only and error paths); outputs must match.

use std::path::Path;
use std::process::{Command, Output};

const REAL: &str = "/usr/lib/google-cloud-sdk/bin/kubectl.1.33";
const OURS: &str = env!("CARGO_BIN_EXE_skiff-kubectl");

fn run(bin: &str, args: &[&str], kubeconfig: &str) -> Output {
    let out = Command::new(bin)
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .env("HOME", "/nonexistent-home")
        .output();
    match out {
        Ok(o) => o,
        Err(e) => panic!("cannot run {bin}: {e}"),
    }
}

/// Strips klog lines (timestamps, pids) from stderr.
fn stable_stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter(|l| !(l.starts_with('E') && l.contains("memcache.go")))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn same(args: &[&str], kubeconfig: &str) {
    if !Path::new(REAL).exists() {
        eprintln!("skipping: {REAL} not installed");
        return;
    }
    let a = run(REAL, args, kubeconfig);
    let b = run(OURS, args, kubeconfig);
    assert_eq!(
        String::from_utf8_lossy(&b.stdout),
        String::from_utf8_lossy(&a.stdout),
        "stdout of {args:?}"
    );
    assert_eq!(stable_stderr(&b), stable_stderr(&a), "stderr of {args:?}");
    assert_eq!(b.status.code(), a.status.code(), "exit code of {args:?}");
}

fn write_kubeconfigs(dir: &Path) -> String {
    let a = dir.join("a.yaml");
    let b = dir.join("b.yaml");
    let _ = std::fs::write(&a, "apiVersion: v1\nkind: Config\nclusters:\n- name: c1\n  cluster:\n    server: https://127.0.0.1:1\n    certificate-authority-data: QUJD\ncontexts:\n- name: ctx1\n  context:\n    cluster: c1\n    user: u1\n    namespace: ns1\ncurrent-context: ctx1\nusers:\n- name: u1\n  user:\n    token: secret\n    client-key-data: QUJD\n");
    let _ = std::fs::write(&b, "apiVersion: v1\nkind: Config\nclusters:\n- name: c2\n  cluster:\n    server: http://x:8080\n    insecure-skip-tls-verify: true\ncontexts:\n- name: ctx2\n  context:\n    cluster: c2\n    user: u2\ncurrent-context: ctx2\nusers:\n- name: u2\n  user: {}\n");
    format!("{}:{}", a.display(), b.display())
}

#[test]
fn create_dry_run_matches() {
    let kc = "/nonexistent/kubeconfig";
    for o in [
        "yaml",
        "json",
        "name",
        "go-template={{.metadata.name}}",
        "jsonpath={.spec.template.spec.containers[*].name}",
    ] {
        same(
            &[
                "create",
                "deployment",
                "web",
                "--image=nginx",
                "--replicas=3",
                "--port=80",
                "--dry-run=client",
                "-o",
                o,
            ],
            kc,
        );
    }
    same(
        &[
            "create",
            "deployment",
            "web",
            "--image=nginx",
            "--dry-run=client",
        ],
        kc,
    );
    same(
        &[
            "create",
            "deployment",
            "web",
            "--image=reg:5000/a/nginx:1.2",
            "-n",
            "foo",
            "--dry-run=client",
            "-o",
            "json",
            "--",
            "sleep",
            "10",
        ],
        kc,
    );
    same(
        &[
            "create",
            "configmap",
            "c",
            "--from-literal=a=b",
            "--from-literal=z=x y",
            "--from-literal=n=123",
            "--from-literal=t=true",
            "--dry-run=client",
            "-o",
            "yaml",
        ],
        kc,
    );
    same(
        &[
            "create",
            "configmap",
            "c",
            "--from-literal=a=b",
            "-n",
            "x",
            "--dry-run=client",
            "-o",
            "json",
        ],
        kc,
    );
    same(
        &[
            "create",
            "secret",
            "generic",
            "s",
            "--from-literal=a=b",
            "--type=Opaque",
            "--dry-run=client",
            "-o",
            "yaml",
        ],
        kc,
    );
    same(
        &[
            "create",
            "namespace",
            "foo",
            "--dry-run=client",
            "-o",
            "yaml",
        ],
        kc,
    );
    same(&["create", "namespace", "foo", "--dry-run=client"], kc);
    same(
        &[
            "create",
            "configmap",
            "x",
            "--from-literal=a=b",
            "--dry-run=client",
            "-o",
            r#"go-template={{base64decode "aGk="}} {{exists . "data" "a"}} {{.data}}"#,
        ],
        kc,
    );
}

#[test]
fn config_commands_match() {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("tempdir: {e}"),
    };
    let kc = write_kubeconfigs(dir.path());
    same(&["config", "view"], &kc);
    same(&["config", "view", "--raw"], &kc);
    same(&["config", "view", "--minify", "-o", "json"], &kc);
    same(
        &["config", "view", "-o", "jsonpath={.contexts[*].name}"],
        &kc,
    );
    same(&["config", "get-contexts"], &kc);
    same(&["config", "current-context"], &kc);
    same(&["config", "view"], "/nonexistent/kubeconfig");
    same(&["config", "current-context"], "/nonexistent/kubeconfig");
    same(&["config", "get-contexts"], "/nonexistent/kubeconfig");
    same(&["version", "--client"], &kc);
}

#[test]
fn bad_input_matches() {
    let kc = "/nonexistent/kubeconfig";
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("tempdir: {e}"),
    };
    let bad = dir.path().join("bad.yaml");
    let nokind = dir.path().join("nokind.yaml");
    let _ = std::fs::write(&bad, "a: b\n c: d: e\n");
    let _ = std::fs::write(&nokind, "metadata:\n  name: x\n");
    let (bad, nokind) = (bad.display().to_string(), nokind.display().to_string());
    same(&["get", "pods", "--foo"], kc);
    same(&["get", "pods", "-x"], kc);
    same(&["get", "pods", "-n"], kc);
    same(&["foo"], kc);
    same(&["xyzzy"], kc);
    same(&["get"], kc);
    same(&["create", "deployment", "web", "--dry-run=client"], kc);
    same(
        &["create", "deployment", "--image=x", "--dry-run=client"],
        kc,
    );
    same(
        &["create", "configmap", "x", "--dry-run=client", "-o", "foo"],
        kc,
    );
    same(
        &["create", "-f", "/nonexistent/x.yaml", "--dry-run=client"],
        kc,
    );
    same(&["create", "-f", &bad, "--dry-run=client"], kc);
    same(&["create", "-f", &nokind, "--dry-run=client"], kc);
}

#[test]
fn unreachable_server_matches() {
    // missing kubeconfig: both fall back to http://localhost:8080 (nothing listens there)
    same(&["get", "pods"], "/nonexistent/kubeconfig");
    // a closed port
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()
        .and_then(|l| l.local_addr().ok())
        .map(|a| a.port())
        .unwrap_or(1);
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("tempdir: {e}"),
    };
    let kc = dir.path().join("kc");
    let _ = std::fs::write(&kc, format!("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:{port}\n    insecure-skip-tls-verify: true\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\nusers:\n- name: u\n  user:\n    token: abc\n"));
    let kc = kc.display().to_string();
    same(&["get", "pods"], &kc);
    same(&["get", "deployments", "-A"], &kc);
}
