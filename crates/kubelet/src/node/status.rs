//! The node's status as upstream's kubelet reports it: capacity (and the
//! same allocatable), the pressure and Ready conditions, addresses, the
//! kubelet endpoint and node info.

use std::collections::BTreeMap;

use chrono::Utc;
use k8s_openapi::api::core::v1::{
    DaemonEndpoint, NodeAddress, NodeCondition, NodeDaemonEndpoints, NodeStatus, NodeSystemInfo,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::{MachineInfo, RuntimeInfo, KUBELET_VERSION};
use crate::config::KubeletConfig;

fn q(v: impl ToString) -> Quantity {
    Quantity(v.to_string())
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// The node architecture in Go's spelling.
pub fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

fn condition(
    old: Option<&NodeStatus>,
    type_: &str,
    ok_status: bool,
    reason: &str,
    message: &str,
) -> NodeCondition {
    let status = if ok_status { "True" } else { "False" };
    let now = crate::time::time(Utc::now());
    let prev = old
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == type_));
    NodeCondition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_heartbeat_time: Some(now.clone()),
        last_transition_time: match prev {
            Some(p) if p.status == status => p.last_transition_time.clone(),
            _ => Some(now),
        },
    }
}

/// A pressure condition: its type, and reason and message with and without
/// the pressure.
struct Pressure {
    type_: &'static str,
    under: (&'static str, &'static str),
    clear: (&'static str, &'static str),
}

const MEMORY: Pressure = Pressure {
    type_: "MemoryPressure",
    under: (
        "KubeletHasInsufficientMemory",
        "kubelet has insufficient memory available",
    ),
    clear: (
        "KubeletHasSufficientMemory",
        "kubelet has sufficient memory available",
    ),
};

const DISK: Pressure = Pressure {
    type_: "DiskPressure",
    under: ("KubeletHasDiskPressure", "kubelet has disk pressure"),
    clear: ("KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
};

const PID: Pressure = Pressure {
    type_: "PIDPressure",
    under: (
        "KubeletHasInsufficientPID",
        "kubelet has insufficient PID available",
    ),
    clear: (
        "KubeletHasSufficientPID",
        "kubelet has sufficient PID available",
    ),
};

impl Pressure {
    fn condition(&self, old: Option<&NodeStatus>, under: bool) -> NodeCondition {
        let (reason, message) = if under { self.under } else { self.clear };
        condition(old, self.type_, under, reason, message)
    }
}

/// The node's status as it should be now.
pub fn node_status(
    cfg: &KubeletConfig,
    m: &MachineInfo,
    rt: &RuntimeInfo,
    old: Option<&NodeStatus>,
) -> NodeStatus {
    let cap = capacity(m);
    NodeStatus {
        capacity: Some(cap.clone()),
        allocatable: Some(cap),
        conditions: Some(conditions(m, old)),
        addresses: Some(addresses(cfg)),
        daemon_endpoints: Some(NodeDaemonEndpoints {
            kubelet_endpoint: Some(DaemonEndpoint {
                port: i32::from(cfg.port),
            }),
        }),
        node_info: Some(node_info(m, rt)),
        images: old.and_then(|o| o.images.clone()),
        ..Default::default()
    }
}

fn capacity(m: &MachineInfo) -> BTreeMap<String, Quantity> {
    BTreeMap::from([
        ("cpu".into(), q(m.cpus)),
        ("memory".into(), q(format!("{}Ki", m.memory / 1024))),
        ("pods".into(), q(110)),
        (
            "ephemeral-storage".into(),
            q(format!("{}Ki", m.disk / 1024)),
        ),
        ("hugepages-1Gi".into(), q(0)),
        ("hugepages-2Mi".into(), q(0)),
    ])
}

/// Memory, disk and PID pressure by upstream's default eviction
/// thresholds, and Ready.
fn conditions(m: &MachineInfo, old: Option<&NodeStatus>) -> Vec<NodeCondition> {
    let mem_pressure = m.memory_available < 100 * 1024 * 1024;
    let disk_pressure = m.disk > 0 && m.disk_available * 10 < m.disk;
    let pid_pressure = m.pid_max > 0 && m.pids * 10 > m.pid_max * 9;
    vec![
        MEMORY.condition(old, mem_pressure),
        DISK.condition(old, disk_pressure),
        PID.condition(old, pid_pressure),
        condition(
            old,
            "Ready",
            true,
            "KubeletReady",
            "kubelet is posting ready status",
        ),
    ]
}

/// InternalIP, ExternalIP when set (`--node-external-ip`), then Hostname.
fn addresses(cfg: &KubeletConfig) -> Vec<NodeAddress> {
    let h = hostname();
    let address = |type_: &str, address: String| NodeAddress {
        type_: type_.into(),
        address,
    };
    let mut out = vec![address("InternalIP", cfg.node_ip.to_string())];
    if let Some(ip) = cfg.node_external_ip {
        out.push(address("ExternalIP", ip.to_string()));
    }
    let host = if h.is_empty() {
        cfg.node_name.clone()
    } else {
        h
    };
    out.push(address("Hostname", host));
    out
}

fn node_info(m: &MachineInfo, rt: &RuntimeInfo) -> NodeSystemInfo {
    NodeSystemInfo {
        architecture: arch().into(),
        boot_id: m.boot_id.clone(),
        container_runtime_version: rt.version.clone(),
        kernel_version: m.kernel.clone(),
        kube_proxy_version: KUBELET_VERSION.into(),
        kubelet_version: KUBELET_VERSION.into(),
        machine_id: m.machine_id.clone(),
        operating_system: "linux".into(),
        os_image: m.os_image.clone(),
        system_uuid: m.system_uuid.clone(),
        swap: None,
    }
}

/// Differences that matter (ignores heartbeat times and small usage drift).
pub fn differs(a: &NodeStatus, b: &NodeStatus) -> bool {
    let conds = |s: &NodeStatus| -> Vec<(String, String)> {
        s.conditions
            .iter()
            .flatten()
            .map(|c| (c.type_.clone(), c.status.clone()))
            .collect()
    };
    conds(a) != conds(b)
        || a.addresses != b.addresses
        || a.capacity != b.capacity
        || a.node_info != b.node_info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pressure_conditions_follow_the_thresholds() {
        let m = MachineInfo {
            memory_available: 50 << 20,
            disk: 1000,
            disk_available: 50,
            pid_max: 100,
            pids: 10,
            ..Default::default()
        };
        let got: Vec<(String, String, Option<String>)> = conditions(&m, None)
            .into_iter()
            .map(|c| (c.type_, c.status, c.reason))
            .collect();
        let want = [
            ("MemoryPressure", "True", "KubeletHasInsufficientMemory"),
            ("DiskPressure", "True", "KubeletHasDiskPressure"),
            ("PIDPressure", "False", "KubeletHasSufficientPID"),
            ("Ready", "True", "KubeletReady"),
        ];
        let want: Vec<(String, String, Option<String>)> = want
            .iter()
            .map(|(t, s, r)| (t.to_string(), s.to_string(), Some(r.to_string())))
            .collect();
        assert_eq!(got, want);
    }
}
