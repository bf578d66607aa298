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

/// GET /stats/summary.
pub async fn summary(State(st): State<AppState>) -> Response {
    let now = Utc::now();
    let ts = now.timestamp_nanos_opt().unwrap_or_default();
    let m = gather(&st.cfg.root_dir);
    let node_cpu = node_cpu_ns();
    let node_rate = node_cpu.and_then(|c| st.cpu.rate("node", ts, c));
    let working_set = m.memory.saturating_sub(m.memory_available);
    let mut pods: BTreeMap<String, (Value, u64, u64, Vec<Value>)> = BTreeMap::new();
    if let Ok(stats) = st.cri.list_container_stats().await {
        for s in stats {
            let Some(attrs) = s.attributes.as_ref() else {
                continue;
            };
            let l = &attrs.labels;
            let (Some(uid), Some(name), Some(ns)) = (
                l.get(labels::POD_UID),
                l.get(labels::POD_NAME),
                l.get(labels::POD_NAMESPACE),
            ) else {
                continue;
            };
            let cname = l.get(labels::CONTAINER_NAME).cloned().unwrap_or_default();
            let cpu_total = s
                .cpu
                .as_ref()
                .and_then(|c| c.usage_core_nano_seconds.as_ref())
                .map(|v| v.value)
                .unwrap_or(0);
            let cpu_ts = s
                .cpu
                .as_ref()
                .map(|c| c.timestamp)
                .filter(|t| *t > 0)
                .unwrap_or(ts);
            let rate = s
                .cpu
                .as_ref()
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
            let entry = pods.entry(uid.clone()).or_insert_with(|| {
                (
                    json!({"name": name, "namespace": ns, "uid": uid}),
                    0,
                    0,
                    vec![],
                )
            });
            entry.1 += rate;
            entry.2 += mem;
            entry.3.push(json!({
                "name": cname,
                "startTime": now.to_rfc3339(),
                "cpu": {"time": now.to_rfc3339(), "usageNanoCores": rate, "usageCoreNanoSeconds": cpu_total},
                "memory": {"time": now.to_rfc3339(), "workingSetBytes": mem},
            }));
        }
    }
    let pods: Vec<Value> = pods
        .into_values()
        .map(|(pod_ref, cpu, mem, containers)| {
            json!({
                "podRef": pod_ref,
                "startTime": now.to_rfc3339(),
                "containers": containers,
                "cpu": {"time": now.to_rfc3339(), "usageNanoCores": cpu},
                "memory": {"time": now.to_rfc3339(), "workingSetBytes": mem},
            })
        })
        .collect();
    Json(json!({
        "node": {
            "nodeName": st.cfg.node_name,
            "startTime": now.to_rfc3339(),
            "cpu": {
                "time": now.to_rfc3339(),
                "usageNanoCores": node_rate.unwrap_or(0),
                "usageCoreNanoSeconds": node_cpu.unwrap_or(0),
            },
            "memory": {
                "time": now.to_rfc3339(),
                "availableBytes": m.memory_available,
                "usageBytes": working_set,
                "workingSetBytes": working_set,
            },
            "fs": {
                "time": now.to_rfc3339(),
                "availableBytes": m.disk_available,
                "capacityBytes": m.disk,
                "usedBytes": m.disk.saturating_sub(m.disk_available),
            },
        },
        "pods": pods,
    }))
    .into_response()
}
