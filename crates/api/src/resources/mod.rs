//! Pod resource arithmetic as upstream's `component-helpers/resource`: resource lists, the
//! requests and limits a pod's containers declare (read from typed or raw JSON pods), and the
//! pod's effective requests and limits (init containers, sidecars, overhead).

mod pod;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Pod, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as WireQuantity;
use serde_json::Value;

use crate::quantity::{parse_wire, Quantity};

pub use pod::{pod_limits, pod_limits_json, pod_requests, pod_requests_json, PodResourcesOptions};

/// Resource name → amount (upstream's `v1.ResourceList`, parsed).
pub type ResourceList = BTreeMap<String, Quantity>;

/// Adds each amount of `src` to `dst`, inserting missing names (upstream's `addResourceList`).
pub fn add_into(dst: &mut ResourceList, src: &ResourceList) {
    for (name, q) in src {
        dst.entry(name.clone())
            .and_modify(|have| *have = have.add(q))
            .or_insert(*q);
    }
}

/// Raises each amount of `dst` to `src`'s where that is larger, inserting missing names
/// (upstream's `maxResourceList`).
pub fn max_into(dst: &mut ResourceList, src: &ResourceList) {
    for (name, q) in src {
        dst.entry(name.clone())
            .and_modify(|have| {
                if q > have {
                    *have = *q;
                }
            })
            .or_insert(*q);
    }
}

/// Parses a typed resource map; an amount that does not parse is left out.
pub fn from_wire(map: &BTreeMap<String, WireQuantity>) -> ResourceList {
    map.iter()
        .filter_map(|(name, q)| Some((name.clone(), Quantity::try_from(q).ok()?)))
        .collect()
}

/// Parses a JSON resource map (strings, or numbers as upstream accepts them); an amount that
/// does not parse is left out.
pub fn from_json(map: Option<&Value>) -> ResourceList {
    let Some(map) = map.and_then(Value::as_object) else {
        return ResourceList::new();
    };
    let parse = |v: &Value| match v {
        Value::String(s) => parse_wire(s).ok(),
        Value::Number(n) => parse_wire(&n.to_string()).ok(),
        _ => None,
    };
    map.iter()
        .filter_map(|(name, v)| Some((name.clone(), parse(v)?)))
        .collect()
}

/// What one container declares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerResources {
    /// `resources.requests`
    pub requests: ResourceList,
    /// `resources.limits`
    pub limits: ResourceList,
    /// An init container with `restartPolicy: Always` (a sidecar).
    pub restartable: bool,
}

impl ContainerResources {
    /// Reads a typed container.
    pub fn from_container(c: &Container) -> Self {
        let res: Option<&ResourceRequirements> = c.resources.as_ref();
        let list =
            |m: Option<&BTreeMap<String, WireQuantity>>| m.map(from_wire).unwrap_or_default();
        ContainerResources {
            requests: list(res.and_then(|r| r.requests.as_ref())),
            limits: list(res.and_then(|r| r.limits.as_ref())),
            restartable: c.restart_policy.as_deref() == Some("Always"),
        }
    }

    /// Reads a raw JSON container.
    pub fn from_json(c: &Value) -> Self {
        ContainerResources {
            requests: from_json(c.pointer("/resources/requests")),
            limits: from_json(c.pointer("/resources/limits")),
            restartable: c.get("restartPolicy").and_then(Value::as_str) == Some("Always"),
        }
    }

    /// Requests with each limit standing in for a missing request of the same resource, as
    /// upstream's defaulting (`SetDefaults_Pod`) fills them in before any rule reads them.
    pub fn defaulted_requests(&self) -> ResourceList {
        let mut out = self.requests.clone();
        for (name, q) in &self.limits {
            out.entry(name.clone()).or_insert(*q);
        }
        out
    }
}

/// What the resource rules read from a pod: its containers (ephemeral ones declare no
/// resources), init containers and `spec.overhead`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodResources {
    /// `spec.containers`
    pub containers: Vec<ContainerResources>,
    /// `spec.initContainers`, in order.
    pub init_containers: Vec<ContainerResources>,
    /// `spec.overhead`
    pub overhead: ResourceList,
}

impl PodResources {
    /// Reads a typed pod.
    pub fn from_pod(pod: &Pod) -> Self {
        let Some(spec) = pod.spec.as_ref() else {
            return PodResources::default();
        };
        PodResources {
            containers: spec
                .containers
                .iter()
                .map(ContainerResources::from_container)
                .collect(),
            init_containers: spec
                .init_containers
                .iter()
                .flatten()
                .map(ContainerResources::from_container)
                .collect(),
            overhead: spec.overhead.as_ref().map(from_wire).unwrap_or_default(),
        }
    }

    /// Reads a raw JSON pod (what the API server and kubectl hold).
    pub fn from_json(pod: &Value) -> Self {
        let list = |path: &str| -> Vec<ContainerResources> {
            pod.pointer(path)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(ContainerResources::from_json)
                .collect()
        };
        PodResources {
            containers: list("/spec/containers"),
            init_containers: list("/spec/initContainers"),
            overhead: from_json(pod.pointer("/spec/overhead")),
        }
    }
}

#[cfg(test)]
mod tests;
