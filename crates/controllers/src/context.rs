//! What every controller shares: the client, the informer caches, the config, events.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use kube::runtime::reflector::Store;
use skiff_client::events::Recorder;

use crate::config::ControllersConfig;

pub use skiff_client::informer::{get, key_of, split_key};

/// Error of one sync of one key.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// An API call failed.
    #[error(transparent)]
    Kube(#[from] kube::Error),
    /// Serialising an object failed.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

/// Result of a sync: `Some(d)` asks to be called again after `d`.
pub type SyncResult = Result<Option<Duration>, SyncError>;

/// Shared state of the controller manager.
pub struct Ctx {
    /// API client.
    pub client: kube::Client,
    /// Configuration.
    pub cfg: ControllersConfig,
    /// Event recorder (component `controller-manager`-like names per controller are in the reason).
    pub recorder: Recorder,
    /// Pods cache.
    pub pods: Store<Pod>,
    /// Indexes over the pods cache (by owner, by node, orphans by namespace).
    pub pod_index: crate::podindex::PodIndex,
    /// ReplicaSets cache.
    pub replicasets: Store<ReplicaSet>,
    /// Deployments cache.
    pub deployments: Store<Deployment>,
    /// Nodes cache.
    pub nodes: Store<Node>,
    /// Node leases cache (kube-node-lease).
    pub leases: Store<Lease>,
    /// Namespaces cache.
    pub namespaces: Store<Namespace>,
}

impl Ctx {
    /// Cached pods whose controller has `uid`.
    pub fn pods_owned_by(&self, uid: &str) -> Vec<Arc<Pod>> {
        crate::podindex::PodIndex::resolve(&self.pods, &self.pod_index.owned_by(uid))
    }

    /// Cached pods bound to `node`.
    pub fn pods_on_node(&self, node: &str) -> Vec<Arc<Pod>> {
        crate::podindex::PodIndex::resolve(&self.pods, &self.pod_index.on_node(node))
    }

    /// Cached pods of `ns` without a controller.
    pub fn orphan_pods_in(&self, ns: &str) -> Vec<Arc<Pod>> {
        crate::podindex::PodIndex::resolve(&self.pods, &self.pod_index.orphans_in(ns))
    }
}

/// Expected additions, expected deletions, and when they were recorded.
type Pending = (HashSet<String>, HashSet<String>, Instant);

/// Pending creations/deletions per controller key, so a controller does not act twice
/// while its watch lags (upstream's ControllerExpectations, tracked by pod name).
#[derive(Default)]
pub struct Expectations {
    inner: Mutex<HashMap<String, Pending>>,
}

/// Expectations older than this are dropped (upstream: 5 minutes).
pub const EXPECTATIONS_TTL: Duration = Duration::from_secs(300);

impl Expectations {
    /// Records names we created and deleted.
    pub fn expect(
        &self,
        key: &str,
        adds: impl IntoIterator<Item = String>,
        dels: impl IntoIterator<Item = String>,
    ) {
        if let Ok(mut g) = self.inner.lock() {
            let e = g
                .entry(key.to_string())
                .or_insert_with(|| (HashSet::new(), HashSet::new(), Instant::now()));
            e.0.extend(adds);
            e.1.extend(dels);
            e.2 = Instant::now();
        }
    }

    /// Whether all expected creations are seen and deletions gone; `present(name)` says
    /// whether the cache holds a live (not deleting) object of that name.
    pub fn satisfied(&self, key: &str, present: impl Fn(&str) -> bool) -> bool {
        let Ok(mut g) = self.inner.lock() else {
            return true;
        };
        let Some(e) = g.get_mut(key) else { return true };
        e.0.retain(|n| !present(n));
        e.1.retain(|n| present(n));
        let done = (e.0.is_empty() && e.1.is_empty()) || e.2.elapsed() > EXPECTATIONS_TTL;
        if done {
            g.remove(key);
        }
        done
    }

    /// Drops the expectations of a key.
    pub fn forget(&self, key: &str) {
        if let Ok(mut g) = self.inner.lock() {
            g.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expectations_track_names() {
        let e = Expectations::default();
        assert!(e.satisfied("k", |_| false));
        e.expect("k", ["a".to_string(), "b".to_string()], ["old".to_string()]);
        assert!(!e.satisfied("k", |n| n == "a" || n == "old"));
        assert!(!e.satisfied("k", |n| n == "b" || n == "old"));
        assert!(e.satisfied("k", |n| n == "b"));
        assert_eq!(split_key("ns/x"), (Some("ns"), "x"));
        assert_eq!(split_key("x"), (None, "x"));
    }
}
