//! The scheduler's in-memory view of nodes and the pods bound (or assumed bound) to them,
//! kept up to date from watch events; never listed per pod.

use std::collections::{HashMap, HashSet};
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

/// One node slot: its info, and whether the node object exists (a "ghost" slot holds
/// pods seen bound to a node not (yet, or any more) known).
struct Slot {
    info: NodeInfo,
    present: bool,
}

/// Nodes and their pods. Nodes live in a vector (indexed by name) so that listing them for
/// each pod is a linear walk, not a map lookup per node.
#[derive(Default)]
pub struct Cache {
    slots: Vec<Slot>,
    index: HashMap<String, usize>,
    present: usize,
    /// pod key → (node name, assumed but not yet seen bound).
    placed: HashMap<String, (String, bool)>,
}

impl Cache {
    fn slot_mut(&mut self, name: &str) -> Option<&mut Slot> {
        let i = *self.index.get(name)?;
        self.slots.get_mut(i)
    }

    fn insert_slot(&mut self, name: &str, info: NodeInfo, present: bool) {
        self.index.insert(name.to_string(), self.slots.len());
        self.slots.push(Slot { info, present });
        if present {
            self.present += 1;
        }
    }

    /// Drops the slot of `name` (swap-remove, fixing the moved slot's index).
    fn drop_slot(&mut self, name: &str) {
        let Some(i) = self.index.remove(name) else {
            return;
        };
        let slot = self.slots.swap_remove(i);
        if slot.present {
            self.present -= 1;
        }
        if let Some(moved) = self.slots.get(i) {
            self.index.insert(moved.info.name().to_string(), i);
        }
    }

    /// Adds or replaces a node.
    pub fn upsert_node(&mut self, node: Node) {
        let name = node.metadata.name.clone().unwrap_or_default();
        let node = Arc::new(node);
        let mut newly_present = false;
        match self.slot_mut(&name) {
            Some(slot) => {
                slot.info.set_node(node);
                newly_present = !slot.present;
                slot.present = true;
            }
            None => self.insert_slot(&name, NodeInfo::new(node), true),
        }
        if newly_present {
            self.present += 1;
        }
    }

    /// Removes a node (its pods stay accounted, in a ghost slot, until they go).
    pub fn remove_node(&mut self, name: &str) {
        let Some(slot) = self.slot_mut(name) else {
            return;
        };
        let was_present = std::mem::replace(&mut slot.present, false);
        let empty = slot.info.pods.is_empty();
        if was_present {
            self.present -= 1;
        }
        if empty {
            self.drop_slot(name);
        }
    }

    /// Drops nodes not in `keep` (after a re-list).
    pub fn retain_nodes(&mut self, keep: &HashSet<String>) {
        let gone: Vec<String> = self
            .slots
            .iter()
            .filter(|s| s.present && !keep.contains(s.info.name()))
            .map(|s| s.info.name().to_string())
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
        if self.placed.get(key).is_some_and(|(old, _)| old != node) {
            self.remove_pod(key);
        }
        if !self.index.contains_key(node) {
            let mut n = Node::default();
            n.metadata.name = Some(node.to_string());
            self.insert_slot(node, NodeInfo::new(Arc::new(n)), false);
        }
        if let Some(slot) = self.slot_mut(node) {
            slot.info.add_pod(key, summary);
        }
        self.placed
            .insert(key.to_string(), (node.to_string(), assumed));
    }

    /// Accounts a pod on `node` before the binding is confirmed by the watch.
    pub fn assume(&mut self, key: &str, node: &str, summary: PodSummary) {
        self.place(key, node, summary, true);
    }

    /// Removes a pod's accounting (deleted, terminal, or a failed binding).
    pub fn remove_pod(&mut self, key: &str) {
        let Some((node, _)) = self.placed.remove(key) else {
            return;
        };
        let empty_ghost = match self.slot_mut(&node) {
            Some(slot) => {
                slot.info.remove_pod(key);
                slot.info.pods.is_empty() && !slot.present
            }
            None => false,
        };
        if empty_ghost {
            self.drop_slot(&node);
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

    /// Existing nodes, in a stable order (insertion order, until a node is removed).
    pub fn nodes(&self) -> Vec<&NodeInfo> {
        self.slots
            .iter()
            .filter(|s| s.present)
            .map(|s| &s.info)
            .collect()
    }

    /// One node's info.
    pub fn node(&self, name: &str) -> Option<&NodeInfo> {
        let slot = self.slots.get(*self.index.get(name)?)?;
        slot.present.then_some(&slot.info)
    }

    /// Number of existing nodes.
    pub fn num_nodes(&self) -> usize {
        self.present
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

    #[test]
    fn removal_keeps_the_index_consistent() {
        let mut c = Cache::default();
        for n in ["a", "b", "c"] {
            c.upsert_node(node(n));
        }
        c.upsert_pod(&pod("x", Some("c"), "Running"));
        c.remove_node("a");
        assert_eq!(c.num_nodes(), 2);
        assert_eq!(c.node("c").unwrap().requested.milli_cpu, 500);
        // c keeps its pod while removed (ghost), then goes with it.
        c.remove_node("c");
        assert!(c.node("c").is_none());
        assert_eq!(c.nodes().len(), 1);
        c.upsert_pod(&pod("x", Some("c"), "Succeeded"));
        c.upsert_node(node("c"));
        assert_eq!(c.node("c").unwrap().requested.milli_cpu, 0);
        let mut names: Vec<&str> = c.nodes().iter().map(|n| n.name()).collect();
        names.sort();
        assert_eq!(names, vec!["b", "c"]);
    }
}
