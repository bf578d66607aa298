//! The e2e harness: a real API server (SQLite store) with the scheduler and the controllers
//! in-process, simulated nodes (Node objects and Leases renewed while the node is "alive";
//! pods on alive nodes marked Running/Ready and graceful deletions finished, KWOK-style),
//! and the real kubectl.

use std::collections::BTreeSet;
use std::future::Future;
use std::path::PathBuf;
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Event, Node, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;
use skiff_apiserver::{start, ApiServerConfig, RunningApiServer};

/// One control plane plus its simulated nodes.
pub struct Cluster {
    _server: RunningApiServer,
    pub dir: tempfile::TempDir,
    pub client: kube::Client,
    pub kubeconfig: PathBuf,
    /// Nodes whose Lease is renewed and whose pods are run.
    pub alive: Arc<Mutex<BTreeSet<String>>>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Starts the API server, the scheduler, the controllers (node monitor grace 3s) and the
/// node simulator.
pub async fn cluster() -> Cluster {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("server/db")).expect("mkdir");
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
        default_tolerations: Default::default(),
    })
    .await
    .expect("apiserver");
    let yaml = server.kubeconfig_yaml(&server.url());
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, &yaml).expect("kubeconfig");
    let kc: kube::config::Kubeconfig = serde_yaml::from_str(&yaml).expect("kubeconfig yaml");
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .expect("client config");
    let client = kube::Client::try_from(cfg).expect("client");
    let (stop, rx) = tokio::sync::watch::channel(false);
    let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|v| *v).await;
    };
    let scfg = skiff_scheduler::SchedulerConfig {
        leader_elect: true,
        ..Default::default()
    };
    tokio::spawn(skiff_scheduler::run(client.clone(), scfg, wait(rx.clone())));
    let ccfg = skiff_controllers::ControllersConfig {
        node_monitor_grace_period: Duration::from_secs(3),
        node_monitor_period: Duration::from_secs(1),
        leader_elect: true,
        ..Default::default()
    };
    tokio::spawn(skiff_controllers::run(
        client.clone(),
        ccfg,
        wait(rx.clone()),
    ));
    let alive = Arc::new(Mutex::new(BTreeSet::new()));
    tokio::spawn(node_sim(client.clone(), alive.clone(), rx));
    Cluster {
        _server: server,
        dir,
        client,
        kubeconfig,
        alive,
        stop,
    }
}

impl Cluster {
    /// Registers a Ready node with `cpu` cores, 8Gi and `pods` slots, and keeps it alive.
    pub async fn add_node(&self, name: &str, cpu: &str, pods: &str) {
        let nodes: Api<Node> = Api::all(self.client.clone());
        let status = json!({"capacity": {"cpu": cpu, "memory": "8Gi", "pods": pods},
            "allocatable": {"cpu": cpu, "memory": "8Gi", "pods": pods},
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                "message": "kubelet is posting ready status",
                "lastHeartbeatTime": k8s_openapi::jiff::Timestamp::now().to_string()}]});
        let n: Node = serde_json::from_value(json!({"metadata": {"name": name,
            "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}},
            "status": status}))
        .expect("node");
        nodes
            .create(&PostParams::default(), &n)
            .await
            .expect("create node");
        nodes
            .patch_status(
                name,
                &PatchParams::default(),
                &Patch::Merge(json!({ "status": status })),
            )
            .await
            .expect("node status");
        renew_lease(&self.client, name).await;
        self.alive.lock().expect("alive").insert(name.to_string());
    }

    /// The node's kubelet is back: posts Ready=True and renews its Lease again.
    pub async fn add_node_back(&self, name: &str) {
        let nodes: Api<Node> = Api::all(self.client.clone());
        let now = k8s_openapi::jiff::Timestamp::now().to_string();
        let conds = json!([{"type": "Ready", "status": "True", "reason": "KubeletReady",
            "message": "kubelet is posting ready status", "lastHeartbeatTime": now,
            "lastTransitionTime": now}]);
        nodes
            .patch_status(
                name,
                &PatchParams::default(),
                &Patch::Merge(json!({"status": {"conditions": conds}})),
            )
            .await
            .expect("node status");
        renew_lease(&self.client, name).await;
        self.alive.lock().expect("alive").insert(name.to_string());
    }

    /// The node stops renewing its Lease and stops running pods.
    pub fn silence(&self, name: &str) {
        self.alive.lock().expect("alive").remove(name);
    }

    /// Runs the real kubectl against this cluster.
    pub async fn kubectl_with(&self, bin: &str, args: &[&str], stdin: Option<&str>) -> Output {
        use std::io::Write;
        let mut cmd = std::process::Command::new(bin);
        cmd.env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", self.dir.path().join("home"))
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let stdin = stdin.map(String::from);
        tokio::task::spawn_blocking(move || {
            let mut child = cmd.spawn().expect("spawn kubectl");
            if let Some(mut w) = child.stdin.take() {
                if let Some(s) = stdin {
                    let _ = w.write_all(s.as_bytes());
                }
            }
            child.wait_with_output().expect("kubectl output")
        })
        .await
        .expect("join")
    }

    /// kubectl that must succeed; returns stdout.
    pub async fn ok(&self, args: &[&str]) -> String {
        self.ok_in(args, None).await
    }

    /// kubectl with stdin that must succeed; returns stdout.
    pub async fn ok_in(&self, args: &[&str], stdin: Option<&str>) -> String {
        let o = self.kubectl_with("/usr/bin/kubectl", args, stdin).await;
        assert!(
            o.status.success(),
            "kubectl {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&o.stderr),
            String::from_utf8_lossy(&o.stdout)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Pods of a namespace.
    pub async fn pods(&self, ns: &str) -> Vec<Pod> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        api.list(&ListParams::default())
            .await
            .expect("list pods")
            .items
    }

    /// Events of a namespace.
    pub async fn events(&self, ns: &str) -> Vec<Event> {
        let api: Api<Event> = Api::namespaced(self.client.clone(), ns);
        api.list(&ListParams::default())
            .await
            .expect("list events")
            .items
    }
}

/// Node name of a pod ("" when unbound).
pub fn node_of(p: &Pod) -> &str {
    p.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .unwrap_or("")
}

/// Whether the pod is Ready.
pub fn ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Whether the pod is not being deleted.
pub fn live(p: &Pod) -> bool {
    p.metadata.deletion_timestamp.is_none()
}

/// Polls `check` every 200ms until it returns `Some`, failing with `what` after `secs`.
pub async fn wait_for<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let t0 = Instant::now();
    loop {
        match check().await {
            Ok(v) => return v,
            Err(state) => assert!(
                t0.elapsed() < Duration::from_secs(secs),
                "timed out waiting for {what}: {state}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn renew_lease(client: &kube::Client, name: &str) {
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let spec = json!({"holderIdentity": name, "leaseDurationSeconds": 40,
        "renewTime": MicroTime(k8s_openapi::jiff::Timestamp::now())});
    let body = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": name, "namespace": "kube-node-lease"}, "spec": spec});
    if leases
        .patch(name, &PatchParams::default(), &Patch::Merge(body.clone()))
        .await
        .is_err()
    {
        if let Ok(l) = serde_json::from_value::<Lease>(body) {
            let _ = leases.create(&PostParams::default(), &l).await;
        }
    }
}

/// The simulated kubelets: renew Leases of alive nodes, mark their bound pods Running and
/// Ready, and finish graceful deletions of their pods.
async fn node_sim(
    client: kube::Client,
    alive: Arc<Mutex<BTreeSet<String>>>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let pods: Api<Pod> = Api::all(client.clone());
    let mut last_renew = Instant::now();
    loop {
        let nodes: BTreeSet<String> = alive.lock().map(|a| a.clone()).unwrap_or_default();
        if last_renew.elapsed() > Duration::from_millis(500) {
            last_renew = Instant::now();
            for n in &nodes {
                renew_lease(&client, n).await;
            }
        }
        if let Ok(list) = pods.list(&ListParams::default()).await {
            for p in list.items {
                if !nodes.contains(node_of(&p)) {
                    continue;
                }
                let ns = p.metadata.namespace.clone().unwrap_or_default();
                let name = p.metadata.name.clone().unwrap_or_default();
                let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
                if !live(&p) {
                    let _ = api
                        .delete(&name, &DeleteParams::default().grace_period(0))
                        .await;
                } else if !ready(&p) {
                    let now = k8s_openapi::jiff::Timestamp::now().to_string();
                    let st = json!({"status": {"phase": "Running", "podIP": "10.42.0.9",
                        "startTime": now, "conditions": [
                        {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
                        {"type": "Initialized", "status": "True", "lastTransitionTime": now},
                        {"type": "Ready", "status": "True", "lastTransitionTime": now},
                        {"type": "ContainersReady", "status": "True", "lastTransitionTime": now}]}});
                    let _ = api
                        .patch_status(&name, &PatchParams::default(), &Patch::Merge(st))
                        .await;
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(150)) => {},
            _ = stop.changed() => return,
        }
    }
}
