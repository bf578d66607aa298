//! A pod's effective requests and limits (upstream's `PodRequests`/`PodLimits`): the larger of
//! the app containers' sum and the largest init-container step, sidecars (restartable init
//! containers) counted with everything that starts after them, plus `spec.overhead`.

use k8s_openapi::api::core::v1::Pod;
use serde_json::Value;

use super::{add_into, max_into, ContainerResources, PodResources, ResourceList};

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
