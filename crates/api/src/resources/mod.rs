//! Pod resource arithmetic as upstream's `component-helpers/resource`: resource lists, the
//! requests and limits a pod's containers declare (read from typed or raw JSON pods), and the
//! pod's effective requests and limits (init containers, sidecars, overhead).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Pod, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as WireQuantity;
use serde_json::Value;

use crate::quantity::{parse_wire, Quantity};

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

// Effective requests and limits (upstream's `PodRequests`/`PodLimits`): the larger of the
// app containers' sum and the largest init-container step, sidecars (restartable init
// containers) counted with everything that starts after them, plus `spec.overhead`.

/// Options of the computation (upstream's `PodResourcesOptions`, without the in-place resize
/// and pod-level resource parts Skiff does not serve).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodResourcesOptions {
    /// Leave `spec.overhead` out.
    pub exclude_overhead: bool,
    /// Amounts assumed for a container that requests nothing of a resource (the scheduler's
    /// 100m CPU / 200Mi memory for scoring); a request set explicitly, even to zero, is kept.
    pub non_missing_container_requests: ResourceList,
}

/// Sum of the app containers and sidecars, or the largest init-container step if larger.
fn aggregate(
    pod: &PodResources,
    get: impl Fn(&ContainerResources) -> ResourceList,
) -> ResourceList {
    let mut result = ResourceList::new();
    for c in &pod.containers {
        add_into(&mut result, &get(c));
    }
    // While the i-th init container runs, every sidecar before it runs too.
    let mut sidecars = ResourceList::new();
    let mut init_max = ResourceList::new();
    for c in &pod.init_containers {
        let own = get(c);
        let step = if c.restartable {
            add_into(&mut result, &own);
            add_into(&mut sidecars, &own);
            sidecars.clone()
        } else {
            let mut step = own;
            add_into(&mut step, &sidecars);
            step
        };
        max_into(&mut init_max, &step);
    }
    max_into(&mut result, &init_max);
    result
}

impl PodResources {
    /// The pod's effective requests.
    pub fn requests(&self, opts: &PodResourcesOptions) -> ResourceList {
        let mut reqs = aggregate(self, |c| {
            let mut r = c.requests.clone();
            for (name, q) in &opts.non_missing_container_requests {
                r.entry(name.clone()).or_insert(*q);
            }
            r
        });
        if !opts.exclude_overhead {
            add_into(&mut reqs, &self.overhead);
        }
        reqs
    }

    /// The pod's effective limits; overhead is added only to resources that have a limit.
    pub fn limits(&self, opts: &PodResourcesOptions) -> ResourceList {
        let mut limits = aggregate(self, |c| c.limits.clone());
        if !opts.exclude_overhead {
            for (name, q) in &self.overhead {
                if let Some(have) = limits.get_mut(name) {
                    *have = have.add(q);
                }
            }
        }
        limits
    }
}

/// Effective requests of a typed pod.
pub fn pod_requests(pod: &Pod, opts: &PodResourcesOptions) -> ResourceList {
    PodResources::from_pod(pod).requests(opts)
}

/// Effective limits of a typed pod.
pub fn pod_limits(pod: &Pod, opts: &PodResourcesOptions) -> ResourceList {
    PodResources::from_pod(pod).limits(opts)
}

/// Effective requests of a raw JSON pod.
pub fn pod_requests_json(pod: &Value, opts: &PodResourcesOptions) -> ResourceList {
    PodResources::from_json(pod).requests(opts)
}

/// Effective limits of a raw JSON pod.
pub fn pod_limits_json(pod: &Value, opts: &PodResourcesOptions) -> ResourceList {
    PodResources::from_json(pod).limits(opts)
}

#[cfg(test)]
mod tests;
