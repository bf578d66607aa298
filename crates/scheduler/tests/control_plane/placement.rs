//! Control-plane e2e: a real API server (SQLite store), the scheduler and the controllers
//! in-process, and simulated nodes (Node objects + Leases renewed by the test; pods marked
//! Running/Ready through pods/status, KWOK-style).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;
use skiff_apiserver::{start, ApiServerConfig, RunningApiServer};

struct Cluster {
    _server: RunningApiServer,
    _dir: tempfile::TempDir,
    client: kube::Client,
    stop: tokio::sync::watch::Sender<bool>,
}

async fn cluster() -> Cluster {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("server/db")).unwrap();
    let store = skiff_store::SqliteStore::open(&dir.path().join("server/db/state.db")).unwrap();
    let server = start(ApiServerConfig {
        data_dir: dir.path().to_path_buf(),
        bind_address: "127.0.0.1".parse().unwrap(),
        port: 0,
        store: Arc::new(store),
        tls_sans: vec![],
        service_cidr: "10.43.0.0/16".into(),
        token: None,
    })
    .await
    .unwrap();
    let kc: kube::config::Kubeconfig =
        serde_yaml::from_str(&server.kubeconfig_yaml(&server.url())).unwrap();
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap();
    let client = kube::Client::try_from(cfg).unwrap();
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
        node_monitor_grace_period: Duration::from_secs(4),
        node_monitor_period: Duration::from_secs(1),
        ..Default::default()
    };
    tokio::spawn(skiff_controllers::run(client.clone(), ccfg, wait(rx)));
    Cluster {
        _server: server,
        _dir: dir,
        client,
        stop,
    }
}

async fn add_node(client: &kube::Client, name: &str, cpu: &str, pods: &str) {
    let nodes: Api<Node> = Api::all(client.clone());
    let n: Node = serde_json::from_value(json!({"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "status": {"capacity": {"cpu": cpu, "memory": "8Gi", "pods": pods}, "allocatable": {"cpu": cpu, "memory": "8Gi", "pods": pods},
                   "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "ok"}]}}))
    .unwrap();
    let created = nodes.create(&PostParams::default(), &n).await.unwrap();
    // Status may be dropped on create: set it through the subresource.
    let st = serde_json::to_value(&n.status).unwrap();
    let _ = nodes
        .patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": st})),
        )
        .await;
    let _ = created;
}

async fn renew_leases(
    client: kube::Client,
    names: Vec<String>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let leases: Api<k8s_openapi::api::coordination::v1::Lease> =
        Api::namespaced(client, "kube-node-lease");
    loop {
        for n in &names {
            if *stop.borrow() {
                return;
            }
            let now = k8s_openapi::jiff::Timestamp::now();
            let spec = json!({"holderIdentity": n, "leaseDurationSeconds": 40, "renewTime": k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime(now)});
            let body = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": n, "namespace": "kube-node-lease"}, "spec": spec});
            if leases
                .patch(n, &PatchParams::default(), &Patch::Merge(body.clone()))
                .await
                .is_err()
            {
                let l: k8s_openapi::api::coordination::v1::Lease =
                    serde_json::from_value(body).unwrap();
                let _ = leases.create(&PostParams::default(), &l).await;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {},
            _ = stop.changed() => return,
        }
    }
}

/// Marks bound pods Running and Ready (the simulated kubelet), for nodes in `alive`.
async fn kubelet_sim(
    client: kube::Client,
    alive: Arc<std::sync::Mutex<Vec<String>>>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let pods: Api<Pod> = Api::all(client.clone());
    loop {
        if let Ok(list) = pods.list(&ListParams::default()).await {
            for p in list.items {
                let node = p
                    .spec
                    .as_ref()
                    .and_then(|s| s.node_name.clone())
                    .unwrap_or_default();
                let live = alive.lock().unwrap().contains(&node);
                let ready = p
                    .status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
                if node.is_empty() || !live || ready || p.metadata.deletion_timestamp.is_some() {
                    continue;
                }
                let ns = p.metadata.namespace.clone().unwrap_or_default();
                let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
                let now = k8s_openapi::jiff::Timestamp::now().to_string();
                let st = json!({"status": {"phase": "Running", "conditions": [
                    {"type": "PodScheduled", "status": "True"},
                    {"type": "Ready", "status": "True", "lastTransitionTime": now},
                    {"type": "ContainersReady", "status": "True", "lastTransitionTime": now}]}});
                let _ = api
                    .patch_status(
                        p.metadata.name.as_deref().unwrap_or(""),
                        &PatchParams::default(),
                        &Patch::Merge(st),
                    )
                    .await;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(300)) => {},
            _ = stop.changed() => return,
        }
    }
}

async fn bound_pods(client: &kube::Client, ns: &str) -> Vec<Pod> {
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    api.list(&ListParams::default()).await.unwrap().items
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_placement_rollout_and_node_loss() {
    let c = cluster().await;
    let names: Vec<String> = (1..=3).map(|i| format!("node{i}")).collect();
    for n in &names {
        add_node(&c.client, n, "2", "110").await;
    }
    tokio::spawn(renew_leases(
        c.client.clone(),
        vec!["node1".into(), "node2".into()],
        c.stop.subscribe(),
    ));
    let node3_stop = tokio::sync::watch::channel(false);
    tokio::spawn(renew_leases(
        c.client.clone(),
        vec!["node3".into()],
        node3_stop.1.clone(),
    ));
    let alive = Arc::new(std::sync::Mutex::new(names.clone()));
    tokio::spawn(kubelet_sim(
        c.client.clone(),
        alive.clone(),
        c.stop.subscribe(),
    ));

    // 5 replicas × 1 cpu on 3 nodes × 2 cpu: at most 2 per node.
    let deps: Api<Deployment> = Api::namespaced(c.client.clone(), "default");
    let d: Deployment = serde_json::from_value(json!({"metadata": {"name": "web"}, "spec": {"replicas": 5,
        "selector": {"matchLabels": {"app": "web"}},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
            "tolerations": [{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 2}],
            "containers": [{"name": "c", "image": "nginx", "resources": {"requests": {"cpu": "1"}}}]}}}}))
    .unwrap();
    deps.create(&PostParams::default(), &d).await.unwrap();
    let t0 = Instant::now();
    loop {
        let pods = bound_pods(&c.client, "default").await;
        let bound: Vec<&Pod> = pods
            .iter()
            .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_some())
            .collect();
        let mut per: HashMap<String, usize> = HashMap::new();
        for p in &bound {
            *per.entry(p.spec.as_ref().unwrap().node_name.clone().unwrap())
                .or_default() += 1;
        }
        assert!(per.values().all(|v| *v <= 2), "capacity exceeded: {per:?}");
        let st = deps.get("web").await.unwrap().status.unwrap_or_default();
        if bound.len() == 5 && st.available_replicas == Some(5) {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "deployment not available: {} bound, status {st:?}",
            bound.len()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // Node3 goes silent: its pods are evicted after tolerationSeconds and replaced elsewhere
    // — but capacity is 4 on the remaining nodes, so 4 run and one stays pending.
    let _ = node3_stop.0.send(true);
    alive.lock().unwrap().retain(|n| n != "node3");
    let t1 = Instant::now();
    loop {
        let nodes: Api<Node> = Api::all(c.client.clone());
        let n3 = nodes.get("node3").await.unwrap();
        let unreachable = n3
            .spec
            .as_ref()
            .and_then(|s| s.taints.as_ref())
            .is_some_and(|t| {
                t.iter()
                    .any(|t| t.key == "node.kubernetes.io/unreachable" && t.effect == "NoExecute")
            });
        let pods = bound_pods(&c.client, "default").await;
        let on_healthy = pods
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .filter(|p| {
                p.spec
                    .as_ref()
                    .and_then(|s| s.node_name.as_deref())
                    .is_some_and(|n| n != "node3")
            })
            .count();
        let live_on_3 = pods
            .iter()
            .filter(|p| {
                p.metadata.deletion_timestamp.is_none()
                    && p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some("node3")
            })
            .count();
        if unreachable && on_healthy == 4 && live_on_3 == 0 {
            break;
        }
        assert!(
            t1.elapsed() < Duration::from_secs(60),
            "node loss not handled: unreachable={unreachable} healthy={on_healthy} on3={live_on_3}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let _ = c.stop.send(true);
}
