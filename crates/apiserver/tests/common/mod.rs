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
    /// The store behind the server (tests compact it).
    pub store: Arc<skiff_store::SqliteStore>,
}

pub async fn start_server() -> TestServer {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(
        skiff_store::SqliteStore::open(&dir.path().join("server/db/state.db")).expect("store"),
    );
    let server = start(ApiServerConfig {
        data_dir: dir.path().to_path_buf(),
        bind_address: "127.0.0.1".parse().expect("ip"),
        port: 0,
        store: store.clone(),
        tls_sans: vec![],
        service_cidr: "10.43.0.0/16".into(),
        token: None,
        default_tolerations: Default::default(),
    })
    .await
    .expect("start");
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, server.kubeconfig_yaml(&server.url())).expect("kubeconfig");
    TestServer {
        server,
        dir,
        kubeconfig,
        store,
    }
}

impl TestServer {
    /// A kube-rs client for this server (admin token, cluster CA).
    pub async fn client(&self) -> kube::Client {
        let kc = kube::config::Kubeconfig::read_from(&self.kubeconfig).expect("kubeconfig");
        let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
            .await
            .expect("config");
        kube::Client::try_from(cfg).expect("client")
    }

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

/// A raw request through a kube-rs client: (status code, body as JSON or a string).
pub async fn call(
    c: &kube::Client,
    method: &str,
    path: &str,
    content_type: &str,
    body: impl Into<Vec<u8>>,
) -> (u16, serde_json::Value) {
    use http_body_util::BodyExt;
    let req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", content_type)
        .header("accept", "application/json")
        .body(kube::client::Body::from(body.into()))
        .expect("request");
    let resp = c.send(req).await.expect("send");
    let code = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    let v = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&bytes).into()));
    (code, v)
}

/// A JSON request (GET/DELETE with an empty body allowed).
pub async fn json(
    c: &kube::Client,
    method: &str,
    path: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let b = if body.is_null() {
        Vec::new()
    } else {
        serde_json::to_vec(&body).expect("json")
    };
    call(c, method, path, "application/json", b).await
}

/// Opens a watch and collects its event lines until `until` says stop, the stream
/// ends or `limit` passes.
pub async fn watch_lines(
    c: &kube::Client,
    path: &str,
    limit: std::time::Duration,
    mut until: impl FnMut(&[serde_json::Value]) -> bool,
) -> (Vec<serde_json::Value>, bool) {
    use http_body_util::BodyExt;
    let req = http::Request::builder()
        .method("GET")
        .uri(path)
        .header("accept", "application/json")
        .body(kube::client::Body::from(Vec::new()))
        .expect("request");
    let resp = c.send(req).await.expect("send");
    assert_eq!(resp.status().as_u16(), 200, "watch {path}");
    let mut body = resp.into_body();
    let mut buf = Vec::new();
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(Some(Ok(f))) => {
                if let Some(d) = f.data_ref() {
                    buf.extend_from_slice(d);
                }
                while let Some(i) = buf.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = buf.drain(..=i).collect();
                    events.push(serde_json::from_slice(&line).expect("event json"));
                }
                if until(&events) {
                    return (events, false);
                }
            }
            Ok(_) => return (events, true),
            Err(_) => return (events, false),
        }
    }
}
