//! Placement by requests and capacity, FailedScheduling events, and a silent node's pods
//! replaced on healthy nodes.

use std::collections::HashMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, PostParams};
use serde_json::json;

use crate::sim::{cluster, live, node_of, ready, wait_for};

fn web(replicas: i32, toleration_seconds: i64) -> Deployment {
    serde_json::from_value(json!({"metadata": {"name": "web"}, "spec": {"replicas": replicas,
        "selector": {"matchLabels": {"app": "web"}},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
            "tolerations": [
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": toleration_seconds},
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": toleration_seconds}],
            "containers": [{"name": "c", "image": "nginx", "resources": {"requests": {"cpu": "1"}}}]}}}}))
    .expect("deployment")
}

fn per_node(pods: &[Pod]) -> HashMap<String, usize> {
    let mut per: HashMap<String, usize> = HashMap::new();
    for p in pods.iter().filter(|p| live(p) && !node_of(p).is_empty()) {
        *per.entry(node_of(p).to_string()).or_default() += 1;
    }
    per
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_placement_rollout_and_node_loss() {
    let c = cluster().await;
    for n in ["node1", "node2", "node3"] {
        c.add_node(n, "2", "110").await;
    }
    // 5 replicas × 1 cpu on 3 nodes × 2 cpu: at most 2 per node.
    let deps: Api<Deployment> = Api::namespaced(c.client.clone(), "default");
    deps.create(&PostParams::default(), &web(5, 2))
        .await
        .expect("create deployment");
    wait_for(60, "5 available replicas", || async {
        let pods = c.pods("default").await;
        let per = per_node(&pods);
        assert!(per.values().all(|v| *v <= 2), "capacity exceeded: {per:?}");
        let st = deps.get("web").await.map_err(|e| e.to_string())?.status;
        let avail = st.as_ref().and_then(|s| s.available_replicas);
        (per.values().sum::<usize>() == 5 && avail == Some(5))
            .then_some(())
            .ok_or(format!("{per:?} {st:?}"))
    })
    .await;

    // node3 goes silent: Ready=Unknown, unreachable taints, its pods evicted after their 2s
    // toleration and replaced elsewhere — but only 4 fit on the remaining nodes.
    c.silence("node3");
    let nodes: Api<Node> = Api::all(c.client.clone());
    wait_for(60, "node3 unreachable and its pods replaced", || async {
        let n3 = nodes.get("node3").await.map_err(|e| e.to_string())?;
        let ready_unknown = n3
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| {
                c.iter()
                    .any(|c| c.type_ == "Ready" && c.status == "Unknown")
            });
        let taints: Vec<(String, String)> = n3
            .spec
            .as_ref()
            .and_then(|s| s.taints.clone())
            .unwrap_or_default()
            .into_iter()
            .map(|t| (t.key, t.effect))
            .collect();
        let unreachable = taints
            .iter()
            .any(|(k, e)| k == "node.kubernetes.io/unreachable" && e == "NoExecute");
        let pods = c.pods("default").await;
        let per = per_node(&pods);
        let healthy_ready = pods
            .iter()
            .filter(|p| live(p) && ready(p) && node_of(p) != "node3")
            .count();
        (ready_unknown && unreachable && healthy_ready == 4 && !per.contains_key("node3"))
            .then_some(())
            .ok_or(format!(
                "ready_unknown={ready_unknown} taints={taints:?} {per:?}"
            ))
    })
    .await;
    // The fifth replica is pending with upstream's FailedScheduling message.
    wait_for(30, "FailedScheduling for the pending replica", || async {
        let pending: Vec<String> = c
            .pods("default")
            .await
            .into_iter()
            .filter(|p| live(p) && node_of(p).is_empty())
            .filter_map(|p| p.metadata.name)
            .collect();
        let evs = c.events("default").await;
        let found = evs.iter().any(|e| {
            e.reason.as_deref() == Some("FailedScheduling")
                && pending.contains(e.involved_object.name.as_ref().unwrap_or(&String::new()))
                && e.message.as_deref().is_some_and(|m| {
                    m.starts_with("0/3 nodes are available:") && m.contains("2 Insufficient cpu")
                })
        });
        (pending.len() == 1 && found)
            .then_some(())
            .ok_or(format!("pending={pending:?}"))
    })
    .await;
    // The node comes back: its taints go and the pending replica lands there.
    c.add_node_back("node3").await;
    wait_for(60, "5 available replicas again", || async {
        let st = deps.get("web").await.map_err(|e| e.to_string())?.status;
        let per = per_node(&c.pods("default").await);
        (st.as_ref().and_then(|s| s.available_replicas) == Some(5) && per.get("node3") == Some(&1))
            .then_some(())
            .ok_or(format!("{per:?} {st:?}"))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unschedulable_pod_gets_upstream_failed_scheduling_event() {
    let c = cluster().await;
    for n in ["a", "b", "c"] {
        c.add_node(n, "2", "110").await;
    }
    c.ok(&["cordon", "c"]).await;
    let manifest = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: big\nspec:\n  containers:\n  - name: c\n    image: nginx\n    resources:\n      requests:\n        cpu: \"3\"\n";
    c.ok_in(&["apply", "-f", "-"], Some(manifest)).await;
    let want = "0/3 nodes are available: 1 node(s) were unschedulable, 2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.";
    wait_for(30, "FailedScheduling event", || async {
        let evs = c.events("default").await;
        let msgs: Vec<String> = evs
            .iter()
            .filter(|e| e.reason.as_deref() == Some("FailedScheduling"))
            .filter_map(|e| e.message.clone())
            .collect();
        msgs.iter()
            .any(|m| m == want)
            .then_some(())
            .ok_or(format!("{msgs:?}"))
    })
    .await;
    wait_for(30, "PodScheduled=False/Unschedulable", || async {
        let p = c.pods("default").await;
        let cond = p[0]
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.type_ == "PodScheduled").cloned());
        cond.as_ref()
            .is_some_and(|c| {
                c.status == "False"
                    && c.reason.as_deref() == Some("Unschedulable")
                    && c.message.as_deref() == Some(want)
            })
            .then_some(())
            .ok_or(format!("{cond:?}"))
    })
    .await;
    // kubectl describe shows the event.
    let out = c.ok(&["describe", "pod", "big"]).await;
    assert!(out.contains("FailedScheduling"), "{out}");
    // Uncordoning makes room? No: 3 cpu never fit on 2-cpu nodes. A 4-cpu node does.
    c.add_node("d", "4", "110").await;
    wait_for(30, "big bound to d", || async {
        let p = c.pods("default").await;
        (node_of(&p[0]) == "d")
            .then_some(())
            .ok_or(format!("on {:?}", node_of(&p[0])))
    })
    .await;
}
