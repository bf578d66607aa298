//! /stats/summary: node and pod CPU and memory, from cgroup v1 accounting
//! and /proc for the node, and CRI container stats for pods.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde_json::{json, Value};

use super::AppState;
use crate::cri::labels;
use crate::node::gather;

/// Previous (timestamp ns, cumulative cpu ns) samples by key, for rates.
#[derive(Clone, Default)]
pub struct CpuSamples(Arc<Mutex<BTreeMap<String, (i64, u64)>>>);

impl CpuSamples {
    /// Record a sample and return nanocores since the previous one.
    pub fn rate(&self, key: &str, ts: i64, total: u64) -> Option<u64> {
        let mut m = self.0.lock().ok()?;
        let prev = m.insert(key.to_string(), (ts, total));
        let (pts, ptotal) = prev?;
        let dt = ts - pts;
        if dt <= 0 || total < ptotal {
            return None;
        }
        Some(((total - ptotal) as u128 * 1_000_000_000 / dt as u128) as u64)
    }
}

fn node_cpu_ns() -> Option<u64> {
    for p in [
        "/sys/fs/cgroup/cpuacct/cpuacct.usage",
        "/sys/fs/cgroup/cpu,cpuacct/cpuacct.usage",
    ] {
        if let Ok(s) = std::fs::read_to_string(p) {
            return s.trim().parse().ok();
        }
    }
    // cgroup v2: usage_usec
    let s = std::fs::read_to_string("/sys/fs/cgroup/cpu.stat").ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("usage_usec "))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|us| us * 1000)
}

/// One container's figures from CRI stats.
struct ContainerFigures {
    pod_uid: String,
    pod_ref: Value,
    /// nanocores.
    cpu: u64,
    /// working set bytes.
    mem: u64,
    entry: Value,
}

/// A container's entry, or `None` when the kubelet does not manage it.
fn container_figures(
    st: &AppState,
    s: &k8s_cri::v1::ContainerStats,
    now: &str,
    ts: i64,
) -> Option<ContainerFigures> {
    let attrs = s.attributes.as_ref()?;
    let l = &attrs.labels;
    let uid = l.get(labels::POD_UID)?;
    let name = l.get(labels::POD_NAME)?;
    let ns = l.get(labels::POD_NAMESPACE)?;
    let cname = l.get(labels::CONTAINER_NAME).cloned().unwrap_or_default();
    let cpu = s.cpu.as_ref();
    let cpu_total = cpu
        .and_then(|c| c.usage_core_nano_seconds.as_ref())
        .map(|v| v.value)
        .unwrap_or(0);
    let cpu_ts = cpu.map(|c| c.timestamp).filter(|t| *t > 0).unwrap_or(ts);
    let rate = cpu
        .and_then(|c| c.usage_nano_cores.as_ref())
        .map(|v| v.value)
        .or_else(|| st.cpu.rate(&attrs.id, cpu_ts, cpu_total))
        .unwrap_or(0);
    let mem = s
        .memory
        .as_ref()
        .and_then(|m| m.working_set_bytes.as_ref())
        .map(|v| v.value)
        .unwrap_or(0);
    Some(ContainerFigures {
        pod_uid: uid.clone(),
        pod_ref: json!({"name": name, "namespace": ns, "uid": uid}),
        cpu: rate,
        mem,
        entry: json!({
            "name": cname,
            "startTime": now,
            "cpu": {"time": now, "usageNanoCores": rate, "usageCoreNanoSeconds": cpu_total},
            "memory": {"time": now, "workingSetBytes": mem},
        }),
    })
}

/// Per-pod entries: the pod's containers with their sums.
async fn pods(st: &AppState, now: &str, ts: i64) -> Vec<Value> {
    let mut pods: BTreeMap<String, (Value, u64, u64, Vec<Value>)> = BTreeMap::new();
    if let Ok(stats) = st.cri.list_container_stats().await {
        for f in stats
            .iter()
            .filter_map(|s| container_figures(st, s, now, ts))
        {
            let entry = pods
                .entry(f.pod_uid)
                .or_insert_with(|| (f.pod_ref, 0, 0, vec![]));
            entry.1 += f.cpu;
            entry.2 += f.mem;
            entry.3.push(f.entry);
        }
    }
    pods.into_values()
        .map(|(pod_ref, cpu, mem, containers)| {
            json!({
                "podRef": pod_ref,
                "startTime": now,
                "containers": containers,
                "cpu": {"time": now, "usageNanoCores": cpu},
                "memory": {"time": now, "workingSetBytes": mem},
            })
        })
        .collect()
}

/// The node's entry: CPU from cgroup accounting, memory and disk from the machine.
fn node(st: &AppState, now: &str, ts: i64) -> Value {
    let m = gather(&st.cfg.root_dir);
    let node_cpu = node_cpu_ns();
    let node_rate = node_cpu.and_then(|c| st.cpu.rate("node", ts, c));
    let working_set = m.memory.saturating_sub(m.memory_available);
    json!({
        "nodeName": st.cfg.node_name,
        "startTime": now,
        "cpu": {
            "time": now,
            "usageNanoCores": node_rate.unwrap_or(0),
            "usageCoreNanoSeconds": node_cpu.unwrap_or(0),
        },
        "memory": {
            "time": now,
            "availableBytes": m.memory_available,
            "usageBytes": working_set,
            "workingSetBytes": working_set,
        },
        "fs": {
            "time": now,
            "availableBytes": m.disk_available,
            "capacityBytes": m.disk,
            "usedBytes": m.disk.saturating_sub(m.disk_available),
        },
    })
}

/// GET /stats/summary.
pub async fn summary(State(st): State<AppState>) -> Response {
    let now = Utc::now();
    let ts = now.timestamp_nanos_opt().unwrap_or_default();
    let now = now.to_rfc3339();
    let node = node(&st, &now, ts);
    let pods = pods(&st, &now, ts).await;
    Json(json!({"node": node, "pods": pods})).into_response()
}
