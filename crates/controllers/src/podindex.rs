//! Indexes over the shared pod cache — by controlling owner UID, by node, and orphans by
//! namespace — so a sync touches only the pods it is about, not every cached pod.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use k8s_openapi::api::core::v1::Pod;
use kube::runtime::reflector::{ObjectRef, Store};

use skiff_api::owner::controller_ref;

/// Where one pod is filed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    namespace: String,
    owner: Option<String>,
    node: Option<String>,
}

#[derive(Debug, Default)]
struct Maps {
    entries: HashMap<String, Entry>,
    by_owner: HashMap<String, HashSet<String>>,
    by_node: HashMap<String, HashSet<String>>,
    orphans: HashMap<String, HashSet<String>>,
}

fn file(map: &mut HashMap<String, HashSet<String>>, k: &str, key: &str) {
    map.entry(k.to_string())
        .or_default()
        .insert(key.to_string());
}

fn unfile(map: &mut HashMap<String, HashSet<String>>, k: &str, key: &str) {
    if let Some(set) = map.get_mut(k) {
        set.remove(key);
        if set.is_empty() {
            map.remove(k);
        }
    }
}

impl Maps {
    fn insert(&mut self, key: String, e: Entry) {
        if self.entries.get(&key) == Some(&e) {
            return;
        }
        self.remove(&key);
        match &e.owner {
            Some(o) => file(&mut self.by_owner, o, &key),
            None => file(&mut self.orphans, &e.namespace, &key),
        }
        if let Some(n) = &e.node {
            file(&mut self.by_node, n, &key);
        }
        self.entries.insert(key, e);
    }

    fn remove(&mut self, key: &str) {
        let Some(e) = self.entries.remove(key) else {
            return;
        };
        match &e.owner {
            Some(o) => unfile(&mut self.by_owner, o, key),
            None => unfile(&mut self.orphans, &e.namespace, key),
        }
        if let Some(n) = &e.node {
            unfile(&mut self.by_node, n, key);
        }
    }
}

fn entry_of(pod: &Pod) -> (String, Entry) {
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let key = format!("{ns}/{}", pod.metadata.name.as_deref().unwrap_or(""));
    let e = Entry {
        namespace: ns,
        owner: controller_ref(&pod.metadata).map(|o| o.uid.clone()),
        node: pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .filter(|n| !n.is_empty()),
    };
    (key, e)
}

/// The pod indexes, fed by the pod informer and read next to its store.
#[derive(Debug, Default, Clone)]
pub struct PodIndex {
    maps: Arc<RwLock<Maps>>,
}

impl PodIndex {
    /// Files (or re-files) a pod seen in the watch.
    pub fn apply(&self, pod: &Pod) {
        let (key, e) = entry_of(pod);
        if let Ok(mut m) = self.maps.write() {
            m.insert(key, e);
        }
    }

    /// Forgets a deleted pod.
    pub fn delete(&self, pod: &Pod) {
        let (key, _) = entry_of(pod);
        if let Ok(mut m) = self.maps.write() {
            m.remove(&key);
        }
    }

    /// Rebuilds the index from a full listing (after the watch re-listed).
    pub fn rebuild(&self, pods: &[Arc<Pod>]) {
        let mut fresh = Maps::default();
        for p in pods {
            let (key, e) = entry_of(p);
            fresh.insert(key, e);
        }
        if let Ok(mut m) = self.maps.write() {
            *m = fresh;
        }
    }

    fn keys(&self, pick: impl Fn(&Maps) -> Option<&HashSet<String>>) -> Vec<String> {
        self.maps
            .read()
            .ok()
            .and_then(|m| pick(&m).map(|s| s.iter().cloned().collect()))
            .unwrap_or_default()
    }

    /// Keys (`ns/name`) of pods whose controller has `uid`.
    pub fn owned_by(&self, uid: &str) -> Vec<String> {
        self.keys(|m| m.by_owner.get(uid))
    }

    /// Keys of pods bound to `node`.
    pub fn on_node(&self, node: &str) -> Vec<String> {
        self.keys(|m| m.by_node.get(node))
    }

    /// Keys of pods in `ns` without a controller.
    pub fn orphans_in(&self, ns: &str) -> Vec<String> {
        self.keys(|m| m.orphans.get(ns))
    }

    /// Looks keys up in the store (keys whose pod has gone are skipped).
    pub fn resolve(store: &Store<Pod>, keys: &[String]) -> Vec<Arc<Pod>> {
        keys.iter()
            .filter_map(|k| {
                let (ns, name) = k.split_once('/')?;
                store.get(&ObjectRef::new(name).within(ns))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, owner: Option<&str>, node: Option<&str>) -> Pod {
        let refs = owner.map(|u| json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "r", "uid": u, "controller": true}]));
        serde_json::from_value(
            json!({"metadata": {"name": name, "namespace": "ns", "ownerReferences": refs},
            "spec": {"nodeName": node, "containers": []}}),
        )
        .unwrap()
    }

    #[test]
    fn files_and_refiles() {
        let ix = PodIndex::default();
        ix.apply(&pod("a", Some("u1"), None));
        ix.apply(&pod("b", None, Some("n1")));
        assert_eq!(ix.owned_by("u1"), vec!["ns/a"]);
        assert_eq!(ix.orphans_in("ns"), vec!["ns/b"]);
        assert_eq!(ix.on_node("n1"), vec!["ns/b"]);
        // Bound, then adopted: moves between sets.
        ix.apply(&pod("a", Some("u1"), Some("n1")));
        ix.apply(&pod("b", Some("u1"), Some("n1")));
        let mut owned = ix.owned_by("u1");
        owned.sort();
        assert_eq!(owned, vec!["ns/a", "ns/b"]);
        assert!(ix.orphans_in("ns").is_empty());
        assert_eq!(ix.on_node("n1").len(), 2);
        ix.delete(&pod("a", Some("u1"), Some("n1")));
        assert_eq!(ix.owned_by("u1"), vec!["ns/b"]);
        ix.rebuild(&[Arc::new(pod("c", None, None))]);
        assert!(ix.owned_by("u1").is_empty());
        assert_eq!(ix.orphans_in("ns"), vec!["ns/c"]);
    }
}
