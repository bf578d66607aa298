//! API server benchmark: pod creates/s and latency over HTTPS at 1 and 32 clients,
//! LIST of 10,000 pods, watch fan-out to 200 watchers of a 10,000-write burst, idle RSS.
//! Run: `cargo run -p skiff-apiserver --release --example apiserver_bench`.
//! The server runs in a child process (this binary with `serve DIR`), so the RSS
//! figures are the server's alone.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use skiff_apiserver::{start, ApiServerConfig};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

struct Conn {
    port: u16,
    token: String,
    tls: Arc<rustls::ClientConfig>,
}

impl Conn {
    async fn open(&self) -> Sender {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .expect("connect");
        tcp.set_nodelay(true).expect("nodelay");
        let sn = rustls::pki_types::ServerName::try_from("127.0.0.1").expect("sn");
        let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
            .connect(sn, tcp)
            .await
            .expect("tls");
        let (s, c) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .expect("handshake");
        tokio::spawn(c);
        s
    }

    fn req(
        &self,
        method: &str,
        path: &str,
        body: Vec<u8>,
        accept: &str,
    ) -> http::Request<Full<Bytes>> {
        http::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "127.0.0.1")
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", "application/json")
            .header("accept", accept)
            .body(Full::new(Bytes::from(body)))
            .expect("request")
    }
}

fn pod(ns: &str, name: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": "bench", "tier": "web"}},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36", "command": ["sleep", "3600"],
                 "ports": [{"containerPort": 80}], "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}
    }))
    .expect("json")
}

async fn create_ns(c: &Conn, ns: &str) {
    let mut s = c.open().await;
    let body = serde_json::to_vec(
        &serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
    )
    .expect("json");
    let r = s
        .send_request(c.req("POST", "/api/v1/namespaces", body, "application/json"))
        .await
        .expect("ns");
    assert_eq!(r.status(), 201);
    let _ = r.into_body().collect().await;
}

/// Creates `per_client * clients` pods; returns (elapsed, sorted latencies).
async fn creates(
    c: &Arc<Conn>,
    ns: &str,
    tag: &str,
    clients: usize,
    per_client: usize,
) -> (Duration, Vec<Duration>) {
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..clients {
        let c = c.clone();
        let ns = ns.to_string();
        let tag = tag.to_string();
        tasks.push(tokio::spawn(async move {
            let mut s = c.open().await;
            let mut lat = Vec::with_capacity(per_client);
            for i in 0..per_client {
                let path = format!("/api/v1/namespaces/{ns}/pods");
                let t = Instant::now();
                let r = s
                    .send_request(c.req(
                        "POST",
                        &path,
                        pod(&ns, &format!("p-{tag}-{w}-{i}")),
                        "application/json",
                    ))
                    .await
                    .expect("send");
                let st = r.status();
                let _ = r.into_body().collect().await;
                assert_eq!(st, 201);
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("join"));
    }
    all.sort();
    (t0.elapsed(), all)
}

fn pct(l: &[Duration], p: f64) -> f64 {
    l[((l.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1000.0
}

/// VmRSS and RssAnon of a process, MB.
fn rss_mb(pid: u32) -> (f64, f64) {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        s.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
            .unwrap_or(0.0)
    };
    (field("VmRSS:"), field("RssAnon:"))
}

fn print_rss(what: &str, pid: u32) {
    let (rss, anon) = rss_mb(pid);
    println!("server RSS {what}: {rss:.1} MB (anon {anon:.1} MB)");
}

/// Child mode: serve on a fresh store under `dir`, write `dir/ready` (port, token, CA).
async fn serve(dir: std::path::PathBuf) {
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
    let ready = serde_json::json!({"port": server.port(), "token": server.admin_token(), "ca": server.ca_pem()});
    std::fs::write(dir.join("ready.tmp"), ready.to_string()).expect("ready");
    std::fs::rename(dir.join("ready.tmp"), dir.join("ready")).expect("ready");
    std::future::pending::<()>().await;
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("serve") {
        serve(args.get(2).expect("serve DIR").into()).await;
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = std::process::Command::new(std::env::current_exe().expect("exe"))
        .arg("serve")
        .arg(dir.path())
        .spawn()
        .expect("spawn server");
    let pid = child.id();
    let ready = dir.path().join("ready");
    let t0 = Instant::now();
    while !ready.exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "server did not start"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&ready).expect("ready")).expect("ready json");
    tokio::time::sleep(Duration::from_millis(500)).await;
    print_rss("idle after start", pid);
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pemfile::certs(&mut info["ca"].as_str().unwrap_or("").as_bytes()) {
        roots.add(c.expect("ca")).expect("root");
    }
    let tls = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let c = Arc::new(Conn {
        port: info["port"].as_u64().expect("port") as u16,
        token: info["token"].as_str().expect("token").to_string(),
        tls: Arc::new(tls),
    });
    create_ns(&c, "b1").await;
    create_ns(&c, "burst").await;

    let (el, lat) = creates(&c, "b1", "a", 1, 500).await;
    println!(
        "creates, 1 client: {:.0}/s, p50 {:.2} ms, p99 {:.2} ms",
        lat.len() as f64 / el.as_secs_f64(),
        pct(&lat, 0.5),
        pct(&lat, 0.99)
    );
    let (el, lat) = creates(&c, "b1", "b", 32, 300).await;
    println!(
        "creates, 32 clients: {:.0}/s, p50 {:.2} ms, p99 {:.2} ms",
        lat.len() as f64 / el.as_secs_f64(),
        pct(&lat, 0.5),
        pct(&lat, 0.99)
    );
    // Top up to 10,000 pods.
    let (_, _) = creates(&c, "b1", "c", 10, 10).await;
    print_rss("after 10,000 creates", pid);
    let mut s = c.open().await;
    for (label, accept) in [
        ("JSON", "application/json"),
        ("Table", "application/json;as=Table;v=v1;g=meta.k8s.io"),
    ] {
        let mut times = Vec::new();
        let mut n = 0;
        for _ in 0..5 {
            let t = Instant::now();
            let r = s
                .send_request(c.req("GET", "/api/v1/namespaces/b1/pods", vec![], accept))
                .await
                .expect("list");
            let b = r.into_body().collect().await.expect("body").to_bytes();
            times.push(t.elapsed());
            let v: serde_json::Value = serde_json::from_slice(&b).expect("json");
            n = v["items"]
                .as_array()
                .or(v["rows"].as_array())
                .map(|a| a.len())
                .unwrap_or(0);
        }
        times.sort();
        println!(
            "LIST {n} pods ({label}): median {:.1} ms",
            times[2].as_secs_f64() * 1000.0
        );
    }

    print_rss("after the LISTs", pid);
    // Watch fan-out.
    let r = s
        .send_request(c.req(
            "GET",
            "/api/v1/namespaces/burst/pods",
            vec![],
            "application/json",
        ))
        .await
        .expect("list");
    let b = r.into_body().collect().await.expect("body").to_bytes();
    let rv = serde_json::from_slice::<serde_json::Value>(&b).expect("json")["metadata"]
        ["resourceVersion"]
        .as_str()
        .unwrap_or("0")
        .to_string();
    let watchers = 200;
    let burst = 10_000usize;
    let done = Arc::new(AtomicUsize::new(0));
    let mut ws = Vec::new();
    for _ in 0..watchers {
        let c = c.clone();
        let rv = rv.clone();
        let done = done.clone();
        let mut s = c.open().await;
        let r = s
            .send_request(c.req(
                "GET",
                &format!("/api/v1/namespaces/burst/pods?watch=true&resourceVersion={rv}"),
                vec![],
                "application/json",
            ))
            .await
            .expect("watch");
        ws.push(tokio::spawn(async move {
            let _keep = s;
            let mut body = r.into_body();
            let mut seen = 0usize;
            while seen < burst {
                match tokio::time::timeout(Duration::from_secs(60), body.frame()).await {
                    Ok(Some(Ok(f))) => {
                        if let Some(d) = f.data_ref() {
                            seen += d.iter().filter(|b| **b == b'\n').count();
                        }
                    }
                    _ => break,
                }
            }
            done.fetch_add(1, Ordering::SeqCst);
            seen
        }));
    }
    let t0 = Instant::now();
    let (wel, _) = creates(&c, "burst", "d", 32, burst / 32 + 1).await;
    let mut complete = 0;
    let mut min_seen = usize::MAX;
    for w in ws {
        let n = w.await.expect("join");
        min_seen = min_seen.min(n);
        if n >= burst {
            complete += 1;
        }
    }
    println!(
        "watch fan-out: {complete}/{watchers} watchers got all {burst} events (min seen {min_seen}); burst written in {:.2} s, all delivered after {:.2} s",
        wel.as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
    print_rss("right after the watch burst", pid);
    drop(s);
    tokio::time::sleep(Duration::from_secs(5)).await;
    print_rss("5 s later, connections closed", pid);
    let _ = child.kill();
    let _ = child.wait();
}
