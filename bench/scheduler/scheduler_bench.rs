//! Scheduler and controllers benchmark on simulated nodes, everything through the API:
//! (1) a backlog of pending pods drained by the scheduler (pods/s bound), (2) pods created
//! while the scheduler runs (create→bound throughput), (3) a Deployment of N replicas (time
//! until all bound); RSS of the scheduler+controllers process.
//!
//! Three processes: this one (load generator and clock), an API server (SQLite store) and
//! the scheduler+controllers, so the RSS measured is theirs alone.
//! Run: `cargo run -p skiff --release --example scheduler_bench -- --nodes 1000 --pods 10000`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{stream, StreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::watcher::{self, Event};
use serde_json::json;

const CONCURRENCY: usize = 32;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn num(name: &str, default: usize) -> usize {
    arg(name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn client_from(kubeconfig: &Path) -> kube::Client {
    let yaml = std::fs::read_to_string(kubeconfig).expect("kubeconfig");
    let kc: kube::config::Kubeconfig = serde_yaml::from_str(&yaml).expect("kubeconfig yaml");
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .expect("client config");
    kube::Client::try_from(cfg).expect("client")
}

/// Blocks until stdin closes (the parent holds the other end).
async fn until_stdin_closes() {
    let _ = tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
    })
    .await;
}

async fn role_server(dir: PathBuf) {
    std::fs::create_dir_all(dir.join("server/db")).expect("mkdir");
    let store = skiff_store::SqliteStore::open(&dir.join("server/db/state.db")).expect("store");
    let server = skiff_apiserver::start(skiff_apiserver::ApiServerConfig {
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
    .expect("apiserver");
    let tmp = dir.join("kubeconfig.tmp");
    std::fs::write(&tmp, server.kubeconfig_yaml(&server.url())).expect("write kubeconfig");
    std::fs::rename(&tmp, dir.join("kubeconfig")).expect("rename kubeconfig");
    until_stdin_closes().await;
}

async fn role_control(kubeconfig: PathBuf) {
    let client = client_from(&kubeconfig).await;
    let stop = || until_stdin_closes();
    let scfg = skiff_scheduler::SchedulerConfig::default();
    let ccfg = skiff_controllers::ControllersConfig {
        // Simulated nodes post no heartbeats; keep them Ready for the whole run.
        node_monitor_grace_period: Duration::from_secs(24 * 3600),
        cluster_cidr: "10.0.0.0/8".into(),
        ..Default::default()
    };
    let s = tokio::spawn(skiff_scheduler::run(client.clone(), scfg, stop()));
    let c = tokio::spawn(skiff_controllers::run(client, ccfg, stop()));
    let _ = tokio::join!(s, c);
}

fn spawn_role(role: &str, value: &Path) -> Child {
    let exe = std::env::current_exe().expect("current exe");
    Command::new(exe)
        .args(["--role", role, "--path"])
        .arg(value)
        .stdin(Stdio::piped())
        .spawn()
        .expect("spawn role")
}

fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// User+system CPU seconds a process has used so far.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|i| f.get(*i).and_then(|v| v.parse::<u64>().ok()))
        .sum();
    ticks as f64 / 100.0
}

async fn create_nodes(client: &kube::Client, n: usize) {
    let api: Api<Node> = Api::all(client.clone());
    stream::iter(0..n)
        .for_each_concurrent(CONCURRENCY, |i| {
            let api = api.clone();
            async move {
                let name = format!("sim-{i:05}");
                let status = json!({"capacity": {"cpu": "32", "memory": "256Gi", "pods": "110"},
                    "allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"},
                    "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]});
                let cidr = format!("10.{}.{}.0/24", 1 + i / 256, i % 256);
                let node: Node = serde_json::from_value(json!({"metadata": {"name": name,
                    "labels": {"kubernetes.io/hostname": name, "type": "kwok"}},
                    "spec": {"podCIDR": cidr, "podCIDRs": [cidr]}, "status": status}))
                .expect("node");
                api.create(&PostParams::default(), &node)
                    .await
                    .expect("create node");
                api.patch_status(
                    &name,
                    &PatchParams::default(),
                    &Patch::Merge(json!({ "status": status })),
                )
                .await
                .expect("node status");
            }
        })
        .await;
}

fn pod(name: &str) -> Pod {
    serde_json::from_value(
        json!({"metadata": {"name": name, "labels": {"bench": "sched"}},
        "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10",
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]}}),
    )
    .expect("pod")
}

async fn create_pods(client: &kube::Client, ns: &str, prefix: &str, n: usize) -> Duration {
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    let t0 = Instant::now();
    stream::iter(0..n)
        .for_each_concurrent(CONCURRENCY, |i| {
            let api = api.clone();
            async move {
                let p = pod(&format!("{prefix}-{i}"));
                for _ in 0..5 {
                    if api.create(&PostParams::default(), &p).await.is_ok() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                panic!("creating pod {prefix}-{i} failed 5 times");
            }
        })
        .await;
    t0.elapsed()
}

/// Bound-pod counter fed by a watch of one namespace: (first bind, count, last bind).
#[derive(Default)]
struct Bound {
    keys: HashSet<String>,
    first: Option<Instant>,
    last: Option<Instant>,
}

fn watch_bound(client: &kube::Client, ns: &str) -> Arc<Mutex<Bound>> {
    let state = Arc::new(Mutex::new(Bound::default()));
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    let st = state.clone();
    tokio::spawn(async move {
        let w = watcher::watcher(api, watcher::Config::default());
        tokio::pin!(w);
        while let Some(ev) = w.next().await {
            let pods = match ev {
                Ok(Event::Apply(p)) | Ok(Event::InitApply(p)) => vec![p],
                _ => continue,
            };
            for p in pods {
                let bound = p
                    .spec
                    .as_ref()
                    .and_then(|s| s.node_name.as_deref())
                    .is_some_and(|n| !n.is_empty());
                if bound {
                    if let Ok(mut b) = st.lock() {
                        if b.keys.insert(p.metadata.name.clone().unwrap_or_default()) {
                            let now = Instant::now();
                            b.first.get_or_insert(now);
                            b.last = Some(now);
                        }
                    }
                }
            }
        }
    });
    state
}

async fn wait_bound(state: &Arc<Mutex<Bound>>, n: usize, limit: Duration) -> (Instant, Instant) {
    let t0 = Instant::now();
    loop {
        if let Ok(b) = state.lock() {
            if b.keys.len() >= n {
                return (b.first.unwrap_or(t0), b.last.unwrap_or(t0));
            }
            assert!(
                t0.elapsed() < limit,
                "only {} of {n} pods bound after {limit:?}",
                b.keys.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn namespace(client: &kube::Client, name: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).expect("ns");
    let _ = api.create(&PostParams::default(), &ns).await;
}

async fn deployment_scenario(client: &kube::Client, replicas: usize) -> Duration {
    namespace(client, "bench-deploy").await;
    let bound = watch_bound(client, "bench-deploy");
    let api: Api<Deployment> = Api::namespaced(client.clone(), "bench-deploy");
    let d: Deployment = serde_json::from_value(json!({"metadata": {"name": "big"}, "spec": {
        "replicas": replicas, "selector": {"matchLabels": {"app": "big"}},
        "template": {"metadata": {"labels": {"app": "big"}}, "spec": {"containers": [{"name": "c",
            "image": "registry.k8s.io/pause:3.10", "resources": {"requests": {"cpu": "100m"}}}]}}}}))
    .expect("deployment");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let t0 = Instant::now();
    api.create(&PostParams::default(), &d)
        .await
        .expect("create deployment");
    let (_, last) = wait_bound(&bound, replicas, Duration::from_secs(600)).await;
    last.duration_since(t0)
}

async fn main_bench() {
    let nodes = num("--nodes", 1000);
    let pods = num("--pods", 10_000);
    let steady = num("--steady-pods", pods);
    let replicas = num("--deployment", 1000);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = spawn_role("server", dir.path());
    let kubeconfig = dir.path().join("kubeconfig");
    let t = Instant::now();
    while !kubeconfig.exists() {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let client = client_from(&kubeconfig).await;
    println!("scheduler_bench: {nodes} nodes, {pods} backlog pods, {steady} steady pods, deployment of {replicas}");

    let t = Instant::now();
    create_nodes(&client, nodes).await;
    println!(
        "nodes created: {nodes} in {:.1}s",
        t.elapsed().as_secs_f64()
    );

    namespace(&client, "bench-backlog").await;
    let bound = watch_bound(&client, "bench-backlog");
    let took = create_pods(&client, "bench-backlog", "backlog", pods).await;
    println!(
        "backlog pods created (no scheduler running): {pods} in {:.1}s = {:.0}/s",
        took.as_secs_f64(),
        pods as f64 / took.as_secs_f64()
    );

    let start = Instant::now();
    let server_cpu0 = cpu_secs(server.id());
    let mut control = spawn_role("control", &kubeconfig);
    let control_pid = control.id();
    let (first, last) = wait_bound(&bound, pods, Duration::from_secs(1200)).await;
    println!(
        "  CPU during the drain: scheduler+controllers {:.1}s, API server {:.1}s",
        cpu_secs(control_pid),
        cpu_secs(server.id()) - server_cpu0
    );
    let drain = last.duration_since(first).as_secs_f64();
    println!(
        "backlog drained: {pods} pods bound in {:.2}s after the first bind = {:.0} pods/s ({:.2}s from process start incl. initial list)",
        drain,
        pods as f64 / drain.max(1e-9),
        last.duration_since(start).as_secs_f64()
    );
    let (rss, _) = rss_kib(control_pid);
    println!(
        "scheduler+controllers RSS after backlog: {} MiB",
        rss / 1024
    );

    if steady > 0 {
        namespace(&client, "bench-steady").await;
        let bound = watch_bound(&client, "bench-steady");
        tokio::time::sleep(Duration::from_millis(500)).await;
        let t0 = Instant::now();
        let cpu0 = (cpu_secs(control_pid), cpu_secs(server.id()));
        let created = create_pods(&client, "bench-steady", "steady", steady).await;
        let (_, last) = wait_bound(&bound, steady, Duration::from_secs(1200)).await;
        let total = last.duration_since(t0).as_secs_f64();
        println!(
            "steady: {steady} pods created in {:.1}s ({:.0}/s) while scheduling; all bound {:.2}s after the first create = {:.0} pods/s end to end",
            created.as_secs_f64(),
            steady as f64 / created.as_secs_f64(),
            total,
            steady as f64 / total
        );
        println!(
            "  CPU: scheduler+controllers {:.1}s, API server {:.1}s",
            cpu_secs(control_pid) - cpu0.0,
            cpu_secs(server.id()) - cpu0.1
        );
    }

    if replicas > 0 {
        let took = deployment_scenario(&client, replicas).await;
        println!(
            "deployment of {replicas} replicas: all pods bound {:.2}s after the Deployment was created",
            took.as_secs_f64()
        );
    }
    let (rss, hwm) = rss_kib(control_pid);
    let (srss, shwm) = rss_kib(server.id());
    println!(
        "RSS scheduler+controllers: {} MiB (peak {} MiB); API server: {} MiB (peak {} MiB)",
        rss / 1024,
        hwm / 1024,
        srss / 1024,
        shwm / 1024
    );
    // Both children are ours: stop them by PID.
    for child in [&mut control, &mut server] {
        let _ = child.kill();
        let _ = child.wait();
    }
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .try_init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let path = arg("--path").map(PathBuf::from);
    match (arg("--role").as_deref(), path) {
        (Some("server"), Some(p)) => rt.block_on(role_server(p)),
        (Some("control"), Some(p)) => rt.block_on(role_control(p)),
        _ => rt.block_on(main_bench()),
    }
}
