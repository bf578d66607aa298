//! A shared-informer factory (client-go's `SharedInformerFactory`): one informer per kind
//! (and namespace), handed to every controller that asks, started together.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use k8s_openapi::NamespaceResourceScope;
use kube::api::Api;
use kube::Resource;
use tokio::task::JoinHandle;

use crate::informer::{SharedInformer, Watchable};

/// Which watch an informer is: the kind, and the namespace it is limited to (if any).
type Key = (TypeId, Option<String>);

/// An informer of some kind, as the factory keeps it.
trait AnyInformer: Send + Sync {
    fn start(&self) -> Option<JoinHandle<()>>;
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
}

impl<K: Watchable> AnyInformer for SharedInformer<K> {
    fn start(&self) -> Option<JoinHandle<()>> {
        SharedInformer::start(self)
    }

    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}

/// Hands out one [`SharedInformer`] per kind and namespace; clones share informers.
#[derive(Clone)]
pub struct SharedInformerFactory {
    client: kube::Client,
    informers: Arc<Mutex<HashMap<Key, Arc<dyn AnyInformer>>>>,
}

impl SharedInformerFactory {
    /// A factory whose informers watch through `client`.
    pub fn new(client: kube::Client) -> Self {
        SharedInformerFactory {
            client,
            informers: Arc::default(),
        }
    }

    /// The informer of `K` across all namespaces (created on first use).
    pub fn informer<K: Watchable>(&self) -> Arc<SharedInformer<K>> {
        self.get_or_insert(None, || Api::all(self.client.clone()))
    }

    /// The informer of namespaced `K` limited to namespace `ns` (created on first use).
    pub fn namespaced<K>(&self, ns: &str) -> Arc<SharedInformer<K>>
    where
        K: Watchable + Resource<Scope = NamespaceResourceScope>,
    {
        self.get_or_insert(Some(ns), || Api::namespaced(self.client.clone(), ns))
    }

    fn get_or_insert<K: Watchable>(
        &self,
        ns: Option<&str>,
        api: impl Fn() -> Api<K>,
    ) -> Arc<SharedInformer<K>> {
        let key = (TypeId::of::<K>(), ns.map(str::to_string));
        let mut map = self
            .informers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = map.get(&key) {
            // The key holds K's TypeId, so this downcast always succeeds.
            if let Ok(informer) = found.clone().into_any().downcast::<SharedInformer<K>>() {
                return informer;
            }
        }
        let informer = Arc::new(SharedInformer::new(api()));
        map.insert(key, informer.clone());
        informer
    }

    /// Starts every informer not started yet; returns their watch tasks.
    pub fn start(&self) -> Vec<JoinHandle<()>> {
        let map = self
            .informers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.values().filter_map(|i| i.start()).collect()
    }

    /// How many distinct watches the factory holds.
    pub fn len(&self) -> usize {
        self.informers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether no informer was asked for yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;
    use k8s_openapi::api::coordination::v1::Lease;
    use k8s_openapi::api::core::v1::{Node, Pod};

    #[tokio::test]
    async fn one_informer_per_kind_and_namespace_started_once() {
        let (client, _requests) = testing::client(|_| testing::status(404, "NotFound"));
        let f = SharedInformerFactory::new(client);
        assert!(f.is_empty());
        let pods = f.informer::<Pod>();
        assert!(Arc::ptr_eq(&pods, &f.informer::<Pod>()));
        let node_leases = f.namespaced::<Lease>("kube-node-lease");
        assert!(Arc::ptr_eq(
            &node_leases,
            &f.namespaced::<Lease>("kube-node-lease")
        ));
        assert!(!Arc::ptr_eq(&node_leases, &f.informer::<Lease>()));
        let tasks = f.start();
        assert_eq!((f.len(), tasks.len()), (3, 3));
        assert!(pods.started() && node_leases.started());
        // a kind asked for after start is started by the next start alone
        let nodes = f.informer::<Node>();
        assert!(!nodes.started());
        let more = f.start();
        assert_eq!(more.len(), 1);
        assert!(nodes.started());
        tasks.into_iter().chain(more).for_each(|t| t.abort());
    }
}
