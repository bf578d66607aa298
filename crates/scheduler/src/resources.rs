//! Resource arithmetic: what a pod requests and what a node offers.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Node, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::quantity::{milli, value};

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
    /// Reads a `requests`/`allocatable` map.
    pub fn from_map(map: Option<&BTreeMap<String, Quantity>>) -> Self {
        let mut r = Resources::default();
        for (name, q) in map.into_iter().flatten() {
            match name.as_str() {
                "cpu" => r.milli_cpu = milli(q),
                "memory" => r.memory = value(q),
                "ephemeral-storage" => r.ephemeral_storage = value(q),
                "pods" => r.pods = value(q),
                other if is_scalar(other) => {
                    r.scalar.insert(other.to_string(), value(q));
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

fn container_requests(c: &Container) -> Resources {
    Resources::from_map(c.resources.as_ref().and_then(|r| r.requests.as_ref()))
}

/// Effective requests of a pod, following upstream's rule: the sum of the app containers
/// (plus sidecars, i.e. init containers with `restartPolicy: Always`), or the largest init
/// container step if that is bigger, plus the pod overhead.
pub fn pod_requests(pod: &Pod) -> Resources {
    let Some(spec) = pod.spec.as_ref() else {
        return Resources::default();
    };
    let mut reqs = Resources::default();
    for c in &spec.containers {
        reqs.add(&container_requests(c));
    }
    let mut sidecars = Resources::default();
    let mut init_max = Resources::default();
    for c in spec.init_containers.iter().flatten() {
        let mut step = container_requests(c);
        if c.restart_policy.as_deref() == Some("Always") {
            sidecars.add(&step);
            step = sidecars.clone();
        } else {
            step.add(&sidecars);
        }
        init_max.max_with(&step);
    }
    reqs.add(&sidecars);
    reqs.max_with(&init_max);
    if let Some(overhead) = spec.overhead.as_ref() {
        reqs.add(&Resources::from_map(Some(overhead)));
    }
    reqs
}

/// CPU and memory requests used for scoring: containers without a request count as
/// 100m CPU / 200Mi memory (upstream's "non-zero" requests).
pub fn pod_non_zero_requests(pod: &Pod) -> (i64, i64) {
    let Some(spec) = pod.spec.as_ref() else {
        return (0, 0);
    };
    let nz = |c: &Container| {
        let r = container_requests(c);
        let has = |k: &str| {
            c.resources
                .as_ref()
                .and_then(|r| r.requests.as_ref())
                .is_some_and(|m| m.contains_key(k))
        };
        (
            if has("cpu") {
                r.milli_cpu
            } else {
                DEFAULT_MILLI_CPU_REQUEST
            },
            if has("memory") {
                r.memory
            } else {
                DEFAULT_MEMORY_REQUEST
            },
        )
    };
    let (mut cpu, mut mem) = (0, 0);
    for c in &spec.containers {
        let (a, b) = nz(c);
        cpu += a;
        mem += b;
    }
    for c in spec.init_containers.iter().flatten() {
        let (a, b) = nz(c);
        cpu = cpu.max(a);
        mem = mem.max(b);
    }
    (cpu, mem)
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
