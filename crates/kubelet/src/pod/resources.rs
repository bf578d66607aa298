//! Resource requests and limits: the pod's QoS class (upstream's rule, in skiff-api) and the
//! CRI LinuxContainerResources of each container (shares, quota, memory, OOM score).

use k8s_cri::v1 as cri;
use k8s_openapi::api::core::v1::{Container, Pod};
use skiff_api::qos::{pod_qos_class, QosClass};
use skiff_api::quantity::Quantity;
use skiff_api::resources::ContainerResources;

const CPU_PERIOD: i64 = 100_000;
const MIN_SHARES: i64 = 2;

/// Request and limit of `key` (millicores for cpu, else whole units); a limit without a
/// request stands for the request, as API defaulting makes it.
fn requests_and_limits(c: &ContainerResources, key: &str) -> (Option<i128>, Option<i128>) {
    let amount = |q: &Quantity| {
        i128::from(if key == "cpu" {
            q.milli_value()
        } else {
            q.value()
        })
    };
    let limit = c.limits.get(key).map(amount);
    let request = c.defaulted_requests().get(key).map(amount);
    (request, limit)
}

/// Guaranteed, Burstable or BestEffort.
pub fn qos_class(pod: &Pod) -> &'static str {
    pod_qos_class(pod).as_str()
}

/// CRI resources of one container; `node_memory` is the node's capacity in bytes.
pub fn linux_resources(pod: &Pod, c: &Container, node_memory: i64) -> cri::LinuxContainerResources {
    let res = ContainerResources::from_container(c);
    let (cpu_req, cpu_lim) = requests_and_limits(&res, "cpu");
    let (mem_req, mem_lim) = requests_and_limits(&res, "memory");
    let shares = match cpu_req {
        Some(m) if m > 0 => std::cmp::max(MIN_SHARES, (m * 1024 / 1000) as i64),
        _ => MIN_SHARES,
    };
    let quota = cpu_lim
        .filter(|m| *m > 0)
        .map(|m| std::cmp::max(1000, (m as i64) * CPU_PERIOD / 1000))
        .unwrap_or(0);
    let oom_score_adj = match pod_qos_class(pod) {
        QosClass::Guaranteed => -997,
        QosClass::BestEffort => 1000,
        QosClass::Burstable => {
            let req = mem_req.unwrap_or(0) as i64;
            let adj = if node_memory > 0 {
                1000 - (1000 * req) / node_memory
            } else {
                1000
            };
            adj.clamp(3, 999)
        }
    };
    cri::LinuxContainerResources {
        cpu_period: if quota > 0 { CPU_PERIOD } else { 0 },
        cpu_quota: quota,
        cpu_shares: shares,
        memory_limit_in_bytes: mem_lim.unwrap_or(0) as i64,
        oom_score_adj,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(res: serde_json::Value) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "i", "resources": res}]}
        }))
        .unwrap_or_default()
    }

    #[test]
    fn qos_and_cri_resources() {
        let be = pod(serde_json::json!({}));
        assert_eq!(qos_class(&be), "BestEffort");
        let g = pod(serde_json::json!({"limits": {"cpu": "500m", "memory": "64Mi"}}));
        assert_eq!(qos_class(&g), "Guaranteed");
        let b = pod(
            serde_json::json!({"requests": {"cpu": "250m", "memory": "1Gi"}, "limits": {"cpu": "1"}}),
        );
        assert_eq!(qos_class(&b), "Burstable");

        let c = &g
            .spec
            .as_ref()
            .map(|s| s.containers[0].clone())
            .unwrap_or_default();
        let r = linux_resources(&g, c, 8 << 30);
        assert_eq!(r.cpu_shares, 512);
        assert_eq!(r.cpu_quota, 50_000);
        assert_eq!(r.cpu_period, 100_000);
        assert_eq!(r.memory_limit_in_bytes, 64 << 20);
        assert_eq!(r.oom_score_adj, -997);

        let c = &b
            .spec
            .as_ref()
            .map(|s| s.containers[0].clone())
            .unwrap_or_default();
        let r = linux_resources(&b, c, 8 << 30);
        assert_eq!(r.cpu_shares, 256);
        assert_eq!(r.memory_limit_in_bytes, 0);
        assert_eq!(r.oom_score_adj, 875);

        let c = &be
            .spec
            .as_ref()
            .map(|s| s.containers[0].clone())
            .unwrap_or_default();
        let r = linux_resources(&be, c, 8 << 30);
        assert_eq!((r.cpu_shares, r.cpu_quota, r.oom_score_adj), (2, 0, 1000));
    }
}
