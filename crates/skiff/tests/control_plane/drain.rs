//! cordon and drain with the real kubectl: pods are evicted through pods/eviction and their
//! ReplicaSet re-creates them on other nodes.

use k8s_openapi::api::core::v1::Node;
use kube::api::Api;

use crate::sim::{cluster, live, node_of, ready, wait_for};

const MANIFEST: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 6
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: c
        image: nginx
        resources:
          requests: {cpu: 100m}
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cordon_and_drain_move_pods_elsewhere() {
    let c = cluster().await;
    for n in ["node1", "node2", "node3"] {
        c.add_node(n, "4", "110").await;
    }
    c.ok_in(&["apply", "-f", "-"], Some(MANIFEST)).await;
    c.ok(&["rollout", "status", "deployment/web", "--timeout=60s"])
        .await;
    wait_for(30, "pods spread to node1", || async {
        let pods = c.pods("default").await;
        let on1 = pods
            .iter()
            .filter(|p| live(p) && node_of(p) == "node1")
            .count();
        (on1 > 0).then_some(()).ok_or(format!("{on1} on node1"))
    })
    .await;

    let out = c.ok(&["cordon", "node1"]).await;
    assert!(out.contains("node/node1 cordoned"), "{out}");
    let nodes: Api<Node> = Api::all(c.client.clone());
    wait_for(30, "unschedulable taint", || async {
        let n = nodes.get("node1").await.map_err(|e| e.to_string())?;
        let spec = n.spec.unwrap_or_default();
        let tainted = spec
            .taints
            .iter()
            .flatten()
            .any(|t| t.key == "node.kubernetes.io/unschedulable" && t.effect == "NoSchedule");
        (spec.unschedulable == Some(true) && tainted)
            .then_some(())
            .ok_or(format!("{:?}", spec.taints))
    })
    .await;
    let out = c
        .ok(&["drain", "node1", "--ignore-daemonsets", "--timeout=60s"])
        .await;
    assert!(out.contains("node/node1 drained"), "{out}");
    let evs = c.events("default").await;
    wait_for(60, "6 ready pods off node1", || async {
        let pods = c.pods("default").await;
        let live_pods: Vec<_> = pods.iter().filter(|p| live(p)).collect();
        let off = live_pods
            .iter()
            .filter(|p| ready(p) && node_of(p) != "node1")
            .count();
        (off == 6 && live_pods.len() == 6)
            .then_some(())
            .ok_or(format!("{off} ready elsewhere of {}", live_pods.len()))
    })
    .await;
    let _ = evs;
    let out = c.ok(&["uncordon", "node1"]).await;
    assert!(out.contains("node/node1 uncordoned"), "{out}");
    wait_for(30, "unschedulable taint removed", || async {
        let n = nodes.get("node1").await.map_err(|e| e.to_string())?;
        let spec = n.spec.unwrap_or_default();
        (spec.unschedulable != Some(true) && spec.taints.iter().flatten().next().is_none())
            .then_some(())
            .ok_or(format!("{:?}", spec.taints))
    })
    .await;
}
