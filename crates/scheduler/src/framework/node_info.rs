//! What the scheduler knows about one node: the object, its allocatable resources and the
//! aggregate of pods bound (or assumed) to it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod};

use crate::resources::{node_allocatable, pod_non_zero_requests, pod_requests, Resources};

/// A host port in use: (protocol, host IP, port).
pub type HostPort = (String, String, i32);

/// The per-pod facts a node keeps to account for it.
#[derive(Debug, Clone, Default)]
pub struct PodSummary {
    /// Effective requests.
    pub requests: Resources,
    /// Non-zero CPU/memory requests (for scoring).
    pub non_zero: (i64, i64),
    /// Host ports the pod uses.
    pub host_ports: Vec<HostPort>,
    /// UID of the controlling owner, if any.
    pub owner: Option<String>,
}

impl PodSummary {
    /// Computes the summary of a pod.
    pub fn of(pod: &Pod) -> Self {
        PodSummary {
            requests: pod_requests(pod),
            non_zero: pod_non_zero_requests(pod),
            host_ports: host_ports(pod),
            owner: controller_uid(pod),
        }
    }
}

/// UID of the pod's controlling owner reference.
pub fn controller_uid(pod: &Pod) -> Option<String> {
    pod.metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))
        .map(|o| o.uid.clone())
}

/// The host ports a pod asks for (containers and init containers).
pub fn host_ports(pod: &Pod) -> Vec<HostPort> {
    let Some(spec) = pod.spec.as_ref() else {
        return Vec::new();
    };
    spec.containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .flat_map(|c| c.ports.iter().flatten())
        .filter(|p| p.host_port.unwrap_or(0) > 0)
        .map(|p| {
            (
                p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                p.host_ip
                    .clone()
                    .filter(|ip| !ip.is_empty())
                    .unwrap_or_else(|| "0.0.0.0".into()),
                p.host_port.unwrap_or(0),
            )
        })
        .collect()
}

/// A node plus the aggregate of its pods.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    /// The node object.
    pub node: Arc<Node>,
    /// Allocatable resources (pods = pod slots).
    pub allocatable: Resources,
    /// Sum of requests of pods on the node.
    pub requested: Resources,
    /// Sum of non-zero CPU/memory requests (for scoring).
    pub non_zero_requested: (i64, i64),
    /// Pods on the node, by `namespace/name`.
    pub pods: HashMap<String, PodSummary>,
    /// Host ports in use.
    pub used_ports: HashSet<HostPort>,
    /// How many pods of each controlling owner (by UID) run here.
    pub owner_counts: HashMap<String, u32>,
}

impl NodeInfo {
    /// A node with no pods.
    pub fn new(node: Arc<Node>) -> Self {
        NodeInfo {
            allocatable: node_allocatable(&node),
            node,
            requested: Resources::default(),
            non_zero_requested: (0, 0),
            pods: HashMap::new(),
            used_ports: HashSet::new(),
            owner_counts: HashMap::new(),
        }
    }

    /// Replaces the node object, keeping the pods.
    pub fn set_node(&mut self, node: Arc<Node>) {
        self.allocatable = node_allocatable(&node);
        self.node = node;
    }

    /// The node's name.
    pub fn name(&self) -> &str {
        self.node.metadata.name.as_deref().unwrap_or("")
    }

    /// Accounts a pod on this node (replacing an earlier entry under the same key).
    pub fn add_pod(&mut self, key: &str, summary: PodSummary) {
        self.remove_pod(key);
        self.requested.add(&summary.requests);
        self.non_zero_requested.0 += summary.non_zero.0;
        self.non_zero_requested.1 += summary.non_zero.1;
        for p in &summary.host_ports {
            self.used_ports.insert(p.clone());
        }
        if let Some(o) = &summary.owner {
            *self.owner_counts.entry(o.clone()).or_default() += 1;
        }
        self.pods.insert(key.to_string(), summary);
    }

    /// Removes a pod's accounting; returns whether it was there.
    pub fn remove_pod(&mut self, key: &str) -> bool {
        let Some(s) = self.pods.remove(key) else {
            return false;
        };
        self.requested.sub(&s.requests);
        self.non_zero_requested.0 -= s.non_zero.0;
        self.non_zero_requested.1 -= s.non_zero.1;
        for p in &s.host_ports {
            self.used_ports.remove(p);
        }
        if let Some(o) = &s.owner {
            if let Some(c) = self.owner_counts.get_mut(o) {
                *c -= 1;
                if *c == 0 {
                    self.owner_counts.remove(o);
                }
            }
        }
        true
    }
}
