//! The scheduler's in-memory view of nodes and the pods bound (or assumed bound) to them,
//! kept up to date from watch events; never listed per pod.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod};

use crate::framework::{NodeInfo, PodSummary};

/// `namespace/name` of a pod.
pub fn pod_key(pod: &Pod) -> String {
    format!(
        "{}/{}",
        pod.metadata.namespace.as_deref().unwrap_or("default"),
        pod.metadata.name.as_deref().unwrap_or("")
    )
}

/// Whether the pod has finished (its resources are free again).
pub fn is_terminal(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded") | Some("Failed")
    )
}

/// Nodes and their pods.
#[derive(Default)]
pub struct Cache {
    nodes: BTreeMap<String, NodeInfo>,
    present: HashSet<String>,
    /// pod key → (node name, assumed but not yet seen bound).
    placed: HashMap<String, (String, bool)>,
    node_order: Vec<String>,
    order_dirty: bool,
}

impl Cache {
    /// Adds or replaces a node.
    pub fn upsert_node(&mut self, node: Node) {
        let name = node.metadata.name.clone().unwrap_or_default();
        let node = Arc::new(node);
        match self.nodes.get_mut(&name) {
            Some(info) => info.set_node(node),
            None => {
                self.nodes.insert(name.clone(), NodeInfo::new(node));
            }
        }
        if self.present.insert(name) {
            self.order_dirty = true;
        }
    }

    /// Removes a node (its pods stay accounted until they go).
    pub fn remove_node(&mut self, name: &str) {
        if self.present.remove(name) {
            self.order_dirty = true;
        }
        if self.nodes.get(name).is_some_and(|n| n.pods.is_empty()) {
            self.nodes.remove(name);
        }
    }

    /// Drops nodes not in `keep` (after a re-list).
    pub fn retain_nodes(&mut self, keep: &HashSet<String>) {
        let gone: Vec<String> = self
            .present
            .iter()
            .filter(|n| !keep.contains(*n))
            .cloned()
            .collect();
        for n in gone {
            self.remove_node(&n);
        }
    }

    /// Applies a pod seen in a watch: bound non-terminal pods are accounted on their node.
    pub fn upsert_pod(&mut self, pod: &Pod) {
        let key = pod_key(pod);
        let node = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .filter(|n| !n.is_empty());
        match node {
            Some(n) if !is_terminal(pod) => self.place(&key, &n, PodSummary::of(pod), false),
            _ => {
                // Unbound: keep an assumption made by us; terminal: free the resources.
                if is_terminal(pod) || !self.placed.get(&key).is_some_and(|(_, assumed)| *assumed) {
                    self.remove_pod(&key);
                }
            }
        }
    }

    fn place(&mut self, key: &str, node: &str, summary: PodSummary, assumed: bool) {
        if let Some((old, _)) = self.placed.get(key) {
            if old != node {
                let old = old.clone();
                self.remove_pod(key);
                let _ = old;
            }
        }
        let info = self.nodes.entry(node.to_string()).or_insert_with(|| {
            let mut n = Node::default();
            n.metadata.name = Some(node.to_string());
            NodeInfo::new(Arc::new(n))
        });
        info.add_pod(key, summary);
        self.placed
            .insert(key.to_string(), (node.to_string(), assumed));
    }

    /// Accounts a pod on `node` before the binding is confirmed by the watch.
    pub fn assume(&mut self, key: &str, node: &str, summary: PodSummary) {
        self.place(key, node, summary, true);
    }

    /// Removes a pod's accounting (deleted, terminal, or a failed binding).
    pub fn remove_pod(&mut self, key: &str) {
        if let Some((node, _)) = self.placed.remove(key) {
            let empty_ghost = match self.nodes.get_mut(&node) {
                Some(info) => {
                    info.remove_pod(key);
                    info.pods.is_empty() && !self.present.contains(&node)
                }
                None => false,
            };
            if empty_ghost {
                self.nodes.remove(&node);
            }
        }
    }

    /// Whether the pod is accounted on some node (bound or assumed).
    pub fn is_placed(&self, key: &str) -> bool {
        self.placed.contains_key(key)
    }

    /// The pod keys accounted in the cache.
    pub fn placed_keys(&self) -> Vec<String> {
        self.placed.keys().cloned().collect()
    }

    /// Existing nodes, in a stable (name) order.
    pub fn nodes(&mut self) -> Vec<&NodeInfo> {
        if self.order_dirty {
            self.node_order = self
                .nodes
                .keys()
                .filter(|n| self.present.contains(*n))
                .cloned()
                .collect();
            self.order_dirty = false;
        }
        self.node_order
            .iter()
            .filter_map(|n| self.nodes.get(n))
            .collect()
    }

    /// One node's info.
    pub fn node(&self, name: &str) -> Option<&NodeInfo> {
        self.nodes.get(name).filter(|_| self.present.contains(name))
    }

    /// Number of existing nodes.
    pub fn num_nodes(&self) -> usize {
        self.present.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(name: &str) -> Node {
        serde_json::from_value(json!({"metadata": {"name": name}, "status": {"allocatable": {"cpu": "2", "memory": "1Gi", "pods": "10"}}})).unwrap()
    }

    fn pod(name: &str, node: Option<&str>, phase: &str) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": name, "namespace": "default"},
            "spec": {"nodeName": node, "containers": [{"name": "c", "resources": {"requests": {"cpu": "500m"}}}]},
            "status": {"phase": phase}})).unwrap()
    }

    #[test]
    fn assume_confirm_and_free() {
        let mut c = Cache::default();
        c.upsert_node(node("a"));
        let p = pod("x", None, "Pending");
        c.assume("default/x", "a", PodSummary::of(&p));
        assert_eq!(c.node("a").unwrap().requested.milli_cpu, 500);
        // A stale unbound update must not drop the assumption.
        c.upsert_pod(&p);
        assert!(c.is_placed("default/x"));
        c.upsert_pod(&pod("x", Some("a"), "Running"));
        assert_eq!(c.node("a").unwrap().requested.milli_cpu, 500);
        c.upsert_pod(&pod("x", Some("a"), "Succeeded"));
        assert_eq!(c.node("a").unwrap().requested.milli_cpu, 0);
        assert!(!c.is_placed("default/x"));
    }

    #[test]
    fn pods_before_their_node() {
        let mut c = Cache::default();
        c.upsert_pod(&pod("x", Some("late"), "Running"));
        assert_eq!(c.num_nodes(), 0);
        assert!(c.nodes().is_empty());
        c.upsert_node(node("late"));
        assert_eq!(c.nodes()[0].requested.milli_cpu, 500);
        c.remove_node("late");
        assert!(c.nodes().is_empty());
    }
}
