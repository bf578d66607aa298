//! Rolling updates with the real kubectl: set image, rollout status/history/undo/restart/
//! pause/resume, scale — availability sampled throughout.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};

use crate::sim::{cluster, live, ready, wait_for, Cluster};

const MANIFEST: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 4
  selector:
    matchLabels: {app: web}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1, maxUnavailable: 1}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: c
        image: nginx:1
        resources:
          requests: {cpu: 100m}
";

fn image(p: &Pod) -> String {
    p.spec
        .as_ref()
        .and_then(|s| s.containers.first())
        .and_then(|c| c.image.clone())
        .unwrap_or_default()
}

async fn rollout_done(c: &Cluster) {
    let out = c
        .ok(&["rollout", "status", "deployment/web", "--timeout=90s"])
        .await;
    assert!(
        out.contains("deployment \"web\" successfully rolled out"),
        "{out}"
    );
}

/// All live pods run `img`, all Ready, `n` of them.
async fn all_on(c: &Cluster, img: &str, n: usize) {
    wait_for(60, &format!("{n} ready pods on {img}"), || async {
        let pods: Vec<Pod> = c.pods("default").await.into_iter().filter(live).collect();
        let ok = pods.len() == n && pods.iter().all(|p| ready(p) && image(p) == img);
        let seen: Vec<String> = pods.iter().map(image).collect();
        ok.then_some(()).ok_or(format!("{seen:?}"))
    })
    .await;
}

async fn replicasets(c: &Cluster) -> Vec<ReplicaSet> {
    let api: Api<ReplicaSet> = Api::namespaced(c.client.clone(), "default");
    api.list(&ListParams::default()).await.expect("rs").items
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_update_undo_restart_pause_scale_with_kubectl() {
    let c = cluster().await;
    for n in ["node1", "node2", "node3"] {
        c.add_node(n, "4", "110").await;
    }
    c.ok_in(&["apply", "-f", "-"], Some(MANIFEST)).await;
    rollout_done(&c).await;
    all_on(&c, "nginx:1", 4).await;
    let table = c.ok(&["get", "deployments,rs,pods"]).await;
    assert!(table.contains("deployment.apps/web   4/4"), "{table}");

    // Sample what a user would see: never fewer than replicas-maxUnavailable Ready pods,
    // never more than replicas+maxSurge live pods.
    let stop = Arc::new(AtomicBool::new(false));
    let violations = Arc::new(Mutex::new(Vec::<String>::new()));
    let samples = Arc::new(Mutex::new(0usize));
    let monitor = {
        let (client, stop, violations, samples) = (
            c.client.clone(),
            stop.clone(),
            violations.clone(),
            samples.clone(),
        );
        tokio::spawn(async move {
            let api: Api<Pod> = Api::namespaced(client, "default");
            while !stop.load(Ordering::SeqCst) {
                if let Ok(l) = api.list(&ListParams::default()).await {
                    let live_pods: Vec<&Pod> = l.items.iter().filter(|p| live(p)).collect();
                    let ready_n = live_pods.iter().filter(|p| ready(p)).count();
                    if ready_n < 3 || live_pods.len() > 5 {
                        if let Ok(mut v) = violations.lock() {
                            v.push(format!("ready={ready_n} live={}", live_pods.len()));
                        }
                    }
                    if let Ok(mut s) = samples.lock() {
                        *s += 1;
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };

    c.ok(&["set", "image", "deployment/web", "c=nginx:2"]).await;
    rollout_done(&c).await;
    all_on(&c, "nginx:2", 4).await;
    let rss = replicasets(&c).await;
    assert_eq!(rss.len(), 2, "two ReplicaSets after one update");
    for rs in &rss {
        let hash = rs
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("pod-template-hash"))
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            rs.metadata.name.as_deref(),
            Some(format!("web-{hash}").as_str())
        );
    }
    let hist = c.ok(&["rollout", "history", "deployment/web"]).await;
    assert!(
        hist.contains("REVISION") && hist.contains("\n1 ") && hist.contains("\n2 "),
        "{hist}"
    );

    c.ok(&["rollout", "undo", "deployment/web"]).await;
    rollout_done(&c).await;
    all_on(&c, "nginx:1", 4).await;
    assert_eq!(
        replicasets(&c).await.len(),
        2,
        "undo reuses the old ReplicaSet"
    );
    let deps: Api<Deployment> = Api::namespaced(c.client.clone(), "default");
    let d = deps.get("web").await.expect("deployment");
    let rev = d
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("deployment.kubernetes.io/revision"))
        .cloned();
    assert_eq!(rev.as_deref(), Some("3"));

    c.ok(&["rollout", "restart", "deployment/web"]).await;
    rollout_done(&c).await;
    assert_eq!(
        replicasets(&c).await.len(),
        3,
        "restart makes a new ReplicaSet"
    );
    all_on(&c, "nginx:1", 4).await;

    c.ok(&["rollout", "pause", "deployment/web"]).await;
    c.ok(&["set", "image", "deployment/web", "c=nginx:3"]).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(replicasets(&c).await.len(), 3, "paused: no new ReplicaSet");
    all_on(&c, "nginx:1", 4).await;
    c.ok(&["rollout", "resume", "deployment/web"]).await;
    rollout_done(&c).await;
    all_on(&c, "nginx:3", 4).await;

    stop.store(true, Ordering::SeqCst);
    let _ = monitor.await;
    let v = violations.lock().map(|v| v.clone()).unwrap_or_default();
    let n = samples.lock().map(|s| *s).unwrap_or(0);
    assert!(n > 20, "too few samples: {n}");
    assert!(
        v.is_empty(),
        "availability violated in {} of {n} samples: {v:?}",
        v.len()
    );

    c.ok(&["scale", "deployment", "web", "--replicas=6"]).await;
    rollout_done(&c).await;
    all_on(&c, "nginx:3", 6).await;
    c.ok(&["scale", "deployment/web", "--replicas=2"]).await;
    all_on(&c, "nginx:3", 2).await;
    // The controller writes status after the pods are gone (as upstream: eventually), so
    // the exact counts are awaited rather than read once (that raced in a CI run).
    wait_for(30, "deployment status 2/2/2/2", || async {
        let st = deps.get("web").await.ok().and_then(|d| d.status);
        let counts = st.map(|st| {
            (
                st.replicas,
                st.updated_replicas,
                st.ready_replicas,
                st.available_replicas,
            )
        });
        (counts == Some((Some(2), Some(2), Some(2), Some(2))))
            .then_some(())
            .ok_or(format!("{counts:?}"))
    })
    .await;
    let d = deps.get("web").await.expect("deployment");
    let st = d.status.expect("status");
    assert_eq!(st.observed_generation, d.metadata.generation);
}
