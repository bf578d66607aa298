//! Resource arithmetic: what a pod requests and what a node offers.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use skiff_api::quantity::{self, Format};
use skiff_api::resources::{self as api_resources, PodResourcesOptions, ResourceList};

/// Default CPU request (millicores) assumed for scoring a container without one.
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
/// Default memory request (bytes) assumed for scoring a container without one.
pub const DEFAULT_MEMORY_REQUEST: i64 = 200 * 1024 * 1024;

/// A set of resource amounts: CPU in millicores, the rest in whole units.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    /// Millicores.
    pub milli_cpu: i64,
    /// Bytes.
    pub memory: i64,
    /// Bytes.
    pub ephemeral_storage: i64,
    /// Pod slots (only meaningful for allocatable).
    pub pods: i64,
    /// Extended resources (e.g. `nvidia.com/gpu`), whole units.
    pub scalar: BTreeMap<String, i64>,
}

impl Resources {
    /// Reads a `requests`/`allocatable` map; a malformed amount counts as 0.
    pub fn from_map(map: Option<&BTreeMap<String, Quantity>>) -> Self {
        let list: ResourceList = map.map(api_resources::from_wire).unwrap_or_default();
        let mut r = Self::from_list(&list);
        // names whose amount did not parse still count, as 0
        for name in map.into_iter().flatten().map(|(k, _)| k) {
            if is_scalar(name) && !list.contains_key(name) {
                r.scalar.insert(name.clone(), 0);
            }
        }
        r
    }

    /// Reads a parsed resource list: CPU in millicores, the rest in whole units rounded up.
    pub fn from_list(list: &ResourceList) -> Self {
        let mut r = Resources::default();
        for (name, q) in list {
            match name.as_str() {
                "cpu" => r.milli_cpu = q.milli_value(),
                "memory" => r.memory = q.value(),
                "ephemeral-storage" => r.ephemeral_storage = q.value(),
                "pods" => r.pods = q.value(),
                other if is_scalar(other) => {
                    r.scalar.insert(other.to_string(), q.value());
                }
                _ => {}
            }
        }
        r
    }

    /// Adds `o` to `self`.
    pub fn add(&mut self, o: &Resources) {
        self.milli_cpu += o.milli_cpu;
        self.memory += o.memory;
        self.ephemeral_storage += o.ephemeral_storage;
        self.pods += o.pods;
        for (k, v) in &o.scalar {
            *self.scalar.entry(k.clone()).or_default() += v;
        }
    }

    /// Subtracts `o` from `self`.
    pub fn sub(&mut self, o: &Resources) {
        self.milli_cpu -= o.milli_cpu;
        self.memory -= o.memory;
        self.ephemeral_storage -= o.ephemeral_storage;
        self.pods -= o.pods;
        for (k, v) in &o.scalar {
            *self.scalar.entry(k.clone()).or_default() -= v;
        }
    }

    /// Element-wise maximum.
    pub fn max_with(&mut self, o: &Resources) {
        self.milli_cpu = self.milli_cpu.max(o.milli_cpu);
        self.memory = self.memory.max(o.memory);
        self.ephemeral_storage = self.ephemeral_storage.max(o.ephemeral_storage);
        for (k, v) in &o.scalar {
            let e = self.scalar.entry(k.clone()).or_default();
            *e = (*e).max(*v);
        }
    }

    /// True when nothing is requested.
    pub fn is_zero(&self) -> bool {
        self.milli_cpu == 0
            && self.memory == 0
            && self.ephemeral_storage == 0
            && self.scalar.values().all(|v| *v == 0)
    }
}

fn is_scalar(name: &str) -> bool {
    name.contains('/') || name.starts_with("hugepages-")
}

/// Effective requests of a pod (upstream's `PodRequests`, in skiff-api): the sum of the app
/// containers and sidecars, or the largest init container step if that is bigger, plus the
/// pod overhead.
pub fn pod_requests(pod: &Pod) -> Resources {
    Resources::from_list(&api_resources::pod_requests(
        pod,
        &PodResourcesOptions::default(),
    ))
}

/// CPU and memory requests used for scoring: the same computation with containers that
/// request no CPU / memory counted as 100m / 200Mi (upstream's "non-zero" requests).
pub fn pod_non_zero_requests(pod: &Pod) -> (i64, i64) {
    let opts = PodResourcesOptions {
        non_missing_container_requests: [
            (
                "cpu".to_string(),
                quantity::Quantity::from_milli(DEFAULT_MILLI_CPU_REQUEST, Format::DecimalSi),
            ),
            (
                "memory".to_string(),
                quantity::Quantity::new(DEFAULT_MEMORY_REQUEST, Format::BinarySi),
            ),
        ]
        .into(),
        ..Default::default()
    };
    let reqs = api_resources::pod_requests(pod, &opts);
    (
        reqs.get("cpu").map_or(0, |q| q.milli_value()),
        reqs.get("memory").map_or(0, |q| q.value()),
    )
}

/// A node's allocatable resources (falling back to capacity).
pub fn node_allocatable(node: &Node) -> Resources {
    let st = node.status.as_ref();
    let map = st
        .and_then(|s| s.allocatable.as_ref())
        .or_else(|| st.and_then(|s| s.capacity.as_ref()));
    Resources::from_map(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(spec: serde_json::Value) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "p"}, "spec": spec})).unwrap()
    }

    #[test]
    fn sums_containers_and_takes_init_max() {
        let cases = [
            (
                json!({"containers": [{"name": "a", "resources": {"requests": {"cpu": "100m", "memory": "1Mi"}}},
                                   {"name": "b", "resources": {"requests": {"cpu": "200m"}}}]}),
                300,
                1 << 20,
            ),
            (
                json!({"containers": [{"name": "a", "resources": {"requests": {"cpu": "100m"}}}],
                    "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "1", "memory": "2Mi"}}}]}),
                1000,
                2 << 20,
            ),
            (
                json!({"containers": [{"name": "a", "resources": {"requests": {"cpu": "100m"}}}],
                    "initContainers": [{"name": "s", "restartPolicy": "Always", "resources": {"requests": {"cpu": "50m"}}},
                                       {"name": "i", "resources": {"requests": {"cpu": "100m"}}}]}),
                150,
                0,
            ),
            (
                json!({"containers": [{"name": "a"}], "overhead": {"cpu": "10m"}}),
                10,
                0,
            ),
        ];
        for (spec, cpu, mem) in cases {
            let r = pod_requests(&pod(spec.clone()));
            assert_eq!((r.milli_cpu, r.memory), (cpu, mem), "{spec}");
        }
    }

    #[test]
    fn from_map_reads_units_and_treats_malformed_as_zero() {
        let map: BTreeMap<String, Quantity> = [
            ("cpu", "bogus"),
            ("memory", "1Gi"),
            ("pods", "1500m"),
            ("ephemeral-storage", "1e3"),
            ("nvidia.com/gpu", "x"),
            ("hugepages-2Mi", "4Mi"),
            ("unknown", "5"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), Quantity(v.to_string())))
        .collect();
        let r = Resources::from_map(Some(&map));
        assert_eq!(
            (r.milli_cpu, r.memory, r.pods, r.ephemeral_storage),
            (0, 1 << 30, 2, 1000)
        );
        assert_eq!(
            r.scalar,
            [
                ("hugepages-2Mi".to_string(), 4 << 20),
                ("nvidia.com/gpu".to_string(), 0)
            ]
            .into()
        );
    }

    #[test]
    fn non_zero_defaults() {
        let p = pod(
            json!({"containers": [{"name": "a"}, {"name": "b", "resources": {"requests": {"cpu": "1"}}}]}),
        );
        assert_eq!(
            pod_non_zero_requests(&p),
            (1100, 2 * DEFAULT_MEMORY_REQUEST)
        );
    }
}
