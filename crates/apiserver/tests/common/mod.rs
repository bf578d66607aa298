//! Shared e2e harness: a real API server on the SQLite store in a temp dir, plus
//! helpers to run the real kubectl against it.
#![allow(dead_code)]

use skiff_apiserver::{start, ApiServerConfig, RunningApiServer};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

/// A running server and its temp dir.
pub struct TestServer {
    pub server: RunningApiServer,
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
}

pub async fn start_server() -> TestServer {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().expect("tempdir");
    let store =
        skiff_store::SqliteStore::open(&dir.path().join("server/db/state.db")).expect("store");
    let server = start(ApiServerConfig {
        data_dir: dir.path().to_path_buf(),
        bind_address: "127.0.0.1".parse().expect("ip"),
        port: 0,
        store: Arc::new(store),
        tls_sans: vec![],
        service_cidr: "10.43.0.0/16".into(),
        token: None,
    })
    .await
    .expect("start");
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, server.kubeconfig_yaml(&server.url())).expect("kubeconfig");
    TestServer {
        server,
        dir,
        kubeconfig,
    }
}

impl TestServer {
    /// Runs kubectl (default /usr/bin/kubectl) with this server's kubeconfig.
    pub async fn kubectl_with(&self, bin: &str, args: &[&str], stdin: Option<&str>) -> Output {
        let kc = self.kubeconfig.clone();
        let bin = bin.to_string();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let stdin = stdin.map(String::from);
        let home = self.dir.path().join("home");
        tokio::task::spawn_blocking(move || run_kubectl(&bin, &kc, &home, &args, stdin.as_deref()))
            .await
            .expect("join")
    }

    pub async fn kubectl(&self, args: &[&str]) -> Output {
        self.kubectl_with("/usr/bin/kubectl", args, None).await
    }

    pub async fn kubectl_in(&self, args: &[&str], stdin: &str) -> Output {
        self.kubectl_with("/usr/bin/kubectl", args, Some(stdin))
            .await
    }

    /// kubectl that must succeed; returns stdout.
    pub async fn ok(&self, args: &[&str]) -> String {
        let o = self.kubectl(args).await;
        assert!(
            o.status.success(),
            "kubectl {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&o.stderr),
            String::from_utf8_lossy(&o.stdout)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    pub async fn ok_in(&self, args: &[&str], stdin: &str) -> String {
        let o = self.kubectl_in(args, stdin).await;
        assert!(
            o.status.success(),
            "kubectl {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&o.stderr),
            String::from_utf8_lossy(&o.stdout)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
}

fn run_kubectl(bin: &str, kc: &Path, home: &Path, args: &[String], stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut cmd = Command::new(bin);
    cmd.env("KUBECONFIG", kc).env("HOME", home).args(args);
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("spawn kubectl");
    if let Some(mut si) = child.stdin.take() {
        if let Some(s) = stdin {
            let _ = si.write_all(s.as_bytes());
        }
    }
    child.wait_with_output().expect("kubectl output")
}

pub const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: busybox:1.36
        ports:
        - containerPort: 80
"#;
