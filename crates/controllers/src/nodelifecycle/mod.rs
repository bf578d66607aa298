//! The node lifecycle controller: watches node Leases, marks silent nodes Ready=Unknown,
//! keeps condition taints in line, evicts pods that do not tolerate NoExecute taints, marks
//! pods on unreachable nodes not ready, and allocates pod CIDRs.

pub mod logic;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Node, NodeCondition, Pod, PodCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::json;
use tracing::{debug, info, warn};

use crate::context::{get, Ctx};
use logic::{allocate_cidr, eviction, reconcile_taints, wanted_taints, Eviction};
use skiff_client::events::EventType;

type Heartbeat = (Option<i64>, Option<i64>);

/// Runs the monitor loop forever.
pub async fn run(ctx: Arc<Ctx>) {
    let mut seen: HashMap<String, (Heartbeat, Instant)> = HashMap::new();
    let tick = ctx.cfg.node_monitor_period.min(Duration::from_secs(1));
    let mut last_monitor = Instant::now() - ctx.cfg.node_monitor_period;
    loop {
        tokio::time::sleep(tick).await;
        let nodes = ctx.nodes.state();
        allocate_cidrs(&ctx, &nodes).await;
        if last_monitor.elapsed() >= ctx.cfg.node_monitor_period {
            last_monitor = Instant::now();
            for n in &nodes {
                if let Err(e) = monitor(&ctx, n, &mut seen).await {
                    warn!(node = ?n.metadata.name, error = %e, "node monitor");
                }
            }
            let names: HashSet<String> = nodes
                .iter()
                .filter_map(|n| n.metadata.name.clone())
                .collect();
            seen.retain(|k, _| names.contains(k));
        }
        if ctx.cfg.pod_eviction {
            evict(&ctx, &nodes).await;
        }
    }
}

fn ready_condition(n: &Node) -> Option<&NodeCondition> {
    n.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")
}

async fn monitor(
    ctx: &Ctx,
    node: &Node,
    seen: &mut HashMap<String, (Heartbeat, Instant)>,
) -> Result<(), kube::Error> {
    let name = node.metadata.name.clone().unwrap_or_default();
    let api: Api<Node> = Api::all(ctx.client.clone());
    let lease = get(&ctx.leases, "kube-node-lease", &name).and_then(|l| {
        l.spec
            .as_ref()
            .and_then(|s| s.renew_time.as_ref().map(|t| t.0.as_microsecond()))
    });
    let hb =
        ready_condition(node).and_then(|c| c.last_heartbeat_time.as_ref().map(|t| t.0.as_second()));
    let now_i = Instant::now();
    let entry = seen.entry(name.clone()).or_insert(((lease, hb), now_i));
    if entry.0 != (lease, hb) {
        *entry = ((lease, hb), now_i);
    }
    let stale = now_i.duration_since(entry.1) > ctx.cfg.node_monitor_grace_period;
    let now = Timestamp::now();
    let mut ready = ready_condition(node).map(|c| c.status.clone());
    if stale && ready.as_deref() != Some("Unknown") {
        info!(node = %name, "node stopped posting status; marking Ready=Unknown");
        let mut conds = node
            .status
            .as_ref()
            .and_then(|s| s.conditions.clone())
            .unwrap_or_default();
        for t in ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"] {
            let c = NodeCondition {
                type_: t.into(),
                status: "Unknown".into(),
                reason: Some("NodeStatusUnknown".into()),
                message: Some("Kubelet stopped posting node status.".into()),
                last_transition_time: Some(Time(now)),
                last_heartbeat_time: conds
                    .iter()
                    .find(|c| c.type_ == t)
                    .and_then(|c| c.last_heartbeat_time.clone()),
            };
            conds.retain(|x| x.type_ != t);
            conds.push(c);
        }
        api.patch_status(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"conditions": conds}})),
        )
        .await?;
        ctx.recorder
            .record(
                node,
                EventType::Normal,
                "NodeNotReady",
                &format!("Node {name} status is now: NodeNotReady"),
            )
            .await;
        ready = Some("Unknown".into());
        mark_pods_not_ready(ctx, &name).await;
    }
    let spec = node.spec.clone().unwrap_or_default();
    let wanted = wanted_taints(ready.as_deref(), spec.unschedulable == Some(true));
    if let Some(taints) = reconcile_taints(spec.taints.as_deref().unwrap_or(&[]), &wanted, now) {
        api.patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"taints": taints}})),
        )
        .await?;
    }
    Ok(())
}

async fn mark_pods_not_ready(ctx: &Ctx, node: &str) {
    let now = Timestamp::now();
    for p in ctx.pods_on_node(node) {
        let mut conds: Vec<PodCondition> = p
            .status
            .as_ref()
            .and_then(|s| s.conditions.clone())
            .unwrap_or_default();
        let Some(c) = conds.iter_mut().find(|c| c.type_ == "Ready") else {
            continue;
        };
        if c.status == "False" {
            continue;
        }
        c.status = "False".into();
        c.last_transition_time = Some(Time(now));
        let ns = p.metadata.namespace.clone().unwrap_or_default();
        let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
        let name = p.metadata.name.clone().unwrap_or_default();
        if let Err(e) = api
            .patch_status(
                &name,
                &PatchParams::default(),
                &Patch::Merge(json!({"status": {"conditions": conds}})),
            )
            .await
        {
            debug!(pod = %name, error = %e, "marking pod not ready");
        }
    }
}

async fn evict(ctx: &Ctx, nodes: &[Arc<Node>]) {
    let tainted: HashMap<String, Vec<k8s_openapi::api::core::v1::Taint>> = nodes
        .iter()
        .filter_map(|n| {
            let t: Vec<_> = n
                .spec
                .as_ref()?
                .taints
                .clone()?
                .into_iter()
                .filter(|t| t.effect == "NoExecute")
                .collect();
            (!t.is_empty()).then(|| (n.metadata.name.clone().unwrap_or_default(), t))
        })
        .collect();
    if tainted.is_empty() {
        return;
    }
    let now = Timestamp::now();
    for (node, taints) in &tainted {
        for p in ctx.pods_on_node(node) {
            evict_if_intolerant(ctx, &p, node, taints, now).await;
        }
    }
}

async fn evict_if_intolerant(
    ctx: &Ctx,
    p: &Pod,
    node: &str,
    taints: &[k8s_openapi::api::core::v1::Taint],
    now: Timestamp,
) {
    if p.metadata.deletion_timestamp.is_some() {
        return;
    }
    let tols = p
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.clone())
        .unwrap_or_default();
    if eviction(taints, &tols, now) == Eviction::Now {
        let ns = p.metadata.namespace.clone().unwrap_or_default();
        let name = p.metadata.name.clone().unwrap_or_default();
        info!(pod = %format!("{ns}/{name}"), node, "evicting pod from NoExecute-tainted node");
        let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
        match api.delete(&name, &DeleteParams::default()).await {
            Ok(_) => {
                ctx.recorder
                    .record(
                        p,
                        EventType::Normal,
                        "TaintManagerEviction",
                        &format!("Marking for deletion Pod {ns}/{name}"),
                    )
                    .await
            }
            Err(e) => debug!(pod = %name, error = %e, "evicting"),
        }
    }
}

async fn allocate_cidrs(ctx: &Ctx, nodes: &[Arc<Node>]) {
    let mut used: HashSet<String> = nodes
        .iter()
        .filter_map(|n| n.spec.as_ref()?.pod_cidr.clone())
        .collect();
    let api: Api<Node> = Api::all(ctx.client.clone());
    for n in nodes.iter().filter(|n| {
        n.spec
            .as_ref()
            .and_then(|s| s.pod_cidr.as_deref())
            .is_none_or(str::is_empty)
    }) {
        let Some(cidr) = allocate_cidr(&ctx.cfg.cluster_cidr, &used) else {
            warn!(node = ?n.metadata.name, "cluster CIDR exhausted");
            return;
        };
        let name = n.metadata.name.clone().unwrap_or_default();
        let patch = json!({"spec": {"podCIDR": cidr, "podCIDRs": [cidr]}});
        match api
            .patch(&name, &PatchParams::default(), &Patch::Merge(patch))
            .await
        {
            Ok(_) => {
                used.insert(cidr);
            }
            Err(e) => debug!(node = %name, error = %e, "assigning pod CIDR"),
        }
    }
}
