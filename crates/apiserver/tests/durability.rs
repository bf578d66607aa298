//! `kill -9` durability of the whole API server: clients create objects over HTTPS,
//! every acknowledged create is recorded, the server process is killed with SIGKILL
//! mid-stream, restarted on the same data dir, and every acknowledged object must be
//! there with the uid it was acknowledged with.
//!
//! The server runs in a child process: this test binary re-executes itself with
//! `SKIFF_APISERVER_CHILD_DIR` set, which turns `child_server_process` into a server.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, PostParams};
use skiff_apiserver::{start, ApiServerConfig};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "SKIFF_APISERVER_CHILD_DIR";

/// Not a test of its own: the body of the child server process.
#[test]
fn child_server_process() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let dir = PathBuf::from(dir);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async move {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let store = skiff_store::SqliteStore::open(&dir.join("server/db/state.db")).expect("store");
        let server = start(ApiServerConfig {
            data_dir: dir.clone(),
            bind_address: "127.0.0.1".parse().expect("ip"),
            port: 0,
            store: Arc::new(store),
            tls_sans: vec![],
            service_cidr: "10.43.0.0/16".into(),
            token: None,
            default_tolerations: Default::default(),
        })
        .await
        .expect("start");
        let kc = server.kubeconfig_yaml(&server.url());
        let tmp = dir.join("kubeconfig.tmp");
        std::fs::write(&tmp, kc).expect("kubeconfig");
        std::fs::rename(&tmp, dir.join("kubeconfig")).expect("rename");
        // Serve until killed.
        std::future::pending::<()>().await;
    });
}

struct ChildServer {
    child: Child,
    kubeconfig: PathBuf,
}

impl ChildServer {
    fn spawn(dir: &Path) -> ChildServer {
        let kubeconfig = dir.join("kubeconfig");
        let _ = std::fs::remove_file(&kubeconfig);
        let exe = std::env::current_exe().expect("current exe");
        let child = Command::new(exe)
            .args(["--exact", "child_server_process", "--test-threads=1"])
            .env(CHILD_ENV, dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child server");
        let t0 = Instant::now();
        while !kubeconfig.exists() {
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "child server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        ChildServer { child, kubeconfig }
    }

    async fn client(&self) -> kube::Client {
        let kc = kube::config::Kubeconfig::read_from(&self.kubeconfig).expect("kubeconfig");
        let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
            .await
            .expect("config");
        kube::Client::try_from(cfg).expect("client")
    }

    /// SIGKILL (std's `Child::kill` sends SIGKILL on Unix) and reap.
    fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        self.kill9();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_keeps_every_acknowledged_create() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = ChildServer::spawn(dir.path());
    let client = server.client().await;
    let acked: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let mut tasks = Vec::new();
    for w in 0..8 {
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
        let acked = acked.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0.. {
                let cm: ConfigMap = serde_json::from_value(serde_json::json!({
                    "metadata": {"name": format!("cm-{w}-{i}")},
                    "data": {"writer": w.to_string(), "seq": i.to_string()},
                }))
                .expect("configmap");
                match cms.create(&PostParams::default(), &cm).await {
                    Ok(c) => {
                        let uid = c.metadata.uid.unwrap_or_default();
                        acked
                            .lock()
                            .expect("lock")
                            .insert(format!("cm-{w}-{i}"), uid);
                    }
                    // The server died: stop this writer.
                    Err(_) => return,
                }
            }
        }));
    }
    // Kill mid-stream, once a good number of creates have been acknowledged.
    let t0 = Instant::now();
    while acked.lock().expect("lock").len() < 400 && t0.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill9();
    for t in tasks {
        t.await.expect("writer");
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(
        acked.len() >= 400,
        "only {} creates acknowledged",
        acked.len()
    );

    let restarted = ChildServer::spawn(dir.path());
    let client = restarted.client().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let list = cms.list(&ListParams::default()).await.expect("list");
    let stored: HashMap<String, String> = list
        .items
        .into_iter()
        .map(|c| {
            (
                c.metadata.name.unwrap_or_default(),
                c.metadata.uid.unwrap_or_default(),
            )
        })
        .collect();
    let mut missing = Vec::new();
    for (name, uid) in &acked {
        match stored.get(name) {
            Some(u) if u == uid => {}
            Some(u) => panic!("{name}: acknowledged uid {uid}, stored uid {u}"),
            None => missing.push(name.clone()),
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged creates lost after kill -9: {:?}",
        missing.len(),
        acked.len(),
        &missing[..missing.len().min(10)]
    );
    // At most the in-flight creates (one per writer) may exist without an acknowledgement.
    assert!(
        stored.len() <= acked.len() + 8 + 1,
        "{} stored vs {} acknowledged",
        stored.len(),
        acked.len()
    );
}
