//! The `Store` contract, checked against a real etcd (`--features etcd`).
//!
//! Each test starts its own `etcd` on free loopback ports with a temporary
//! data directory and kills it (by PID) when done.
#![allow(clippy::unwrap_used, missing_docs)] // test code: a failed unwrap is a failed test
#![cfg(feature = "etcd")]

mod conformance;

use skiff_store::{EtcdStore, Store, StoreError};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A private etcd server, killed on drop.
struct EtcdServer {
    child: Child,
    endpoint: String,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

impl EtcdServer {
    async fn start() -> (EtcdServer, Arc<dyn Store>) {
        let dir = tempfile::tempdir().unwrap();
        let (client, peer) = (free_port(), free_port());
        let endpoint = format!("http://127.0.0.1:{client}");
        let peer_url = format!("http://127.0.0.1:{peer}");
        let child = Command::new("etcd")
            .args(["--name", "skiff-test", "--data-dir"])
            .arg(dir.path().join("etcd"))
            .args([
                "--listen-client-urls",
                &endpoint,
                "--advertise-client-urls",
                &endpoint,
            ])
            .args([
                "--listen-peer-urls",
                &peer_url,
                "--initial-advertise-peer-urls",
                &peer_url,
            ])
            .args(["--initial-cluster", &format!("skiff-test={peer_url}")])
            .args(["--heartbeat-interval", "10", "--election-timeout", "100"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("etcd is installed (Debian etcd-server)");
        let server = EtcdServer {
            child,
            endpoint,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(store) = EtcdStore::connect(&[server.endpoint.as_str()]).await {
                if store.current_revision().await.is_ok() {
                    return (server, Arc::new(store));
                }
            }
            assert!(Instant::now() < deadline, "etcd did not become ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let (_etcd, s) = EtcdServer::start().await;
            conformance::$name(&*s, "/registry/t").await;
        }
    )*};
}

conformance!(
    create_and_get,
    update_cas,
    delete_semantics,
    list_semantics,
    future_revision,
    watch_replay_then_live,
    compaction,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_cas_one_winner() {
    let (_etcd, s) = EtcdServer::start().await;
    conformance::concurrent_cas_one_winner(s, "/registry/t").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_concurrent_writers() {
    let (_etcd, s) = EtcdServer::start().await;
    conformance::watch_concurrent_writers(s, "/registry/t").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_etcd_is_a_backend_error() {
    let port = free_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    match EtcdStore::connect(&[endpoint.as_str()]).await {
        Err(StoreError::Backend(_)) => {}
        other => panic!("expected a backend error, got {other:?}"),
    }
}
