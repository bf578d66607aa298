//! Shared informers: one watch per kind feeding a reflector store and notifying every
//! registered handler, so several controllers share one cache per kind (client-go's
//! `SharedIndexInformer`); plus the `namespace/name` keys work queues carry.

use std::fmt::Debug;
use std::sync::{Arc, Mutex, PoisonError};

use futures::StreamExt;
use kube::api::Api;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use kube::Resource;
use serde::de::DeserializeOwned;
use tokio::task::JoinHandle;
use tracing::warn;

/// Called for every object the watch delivers; `deleted` is true for deletions.
pub type Handler<K> = Arc<dyn Fn(&K, bool) + Send + Sync>;

/// Called with the whole store after every (re-)list, so indexes can rebuild.
pub type OnSynced<K> = Arc<dyn Fn(&[Arc<K>]) + Send + Sync>;

/// What an informer's objects must be.
pub trait Watchable:
    Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static
{
}

impl<K> Watchable for K where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static
{
}

struct Listeners<K> {
    handlers: Vec<Handler<K>>,
    on_synced: Vec<OnSynced<K>>,
    synced: bool,
}

/// One watch of one kind, its store, and the handlers it notifies.
pub struct SharedInformer<K: Watchable> {
    api: Api<K>,
    reader: Store<K>,
    writer: Mutex<Option<reflector::store::Writer<K>>>,
    listeners: Arc<Mutex<Listeners<K>>>,
}

impl<K: Watchable> SharedInformer<K> {
    /// An informer over `api` (not yet watching: see [`SharedInformer::start`]).
    pub fn new(api: Api<K>) -> Self {
        let (reader, writer) = reflector::store::<K>();
        SharedInformer {
            api,
            reader,
            writer: Mutex::new(Some(writer)),
            listeners: Arc::new(Mutex::new(Listeners {
                handlers: Vec::new(),
                on_synced: Vec::new(),
                synced: false,
            })),
        }
    }

    /// The shared cache (ready once the first list is in: `wait_until_ready`).
    pub fn store(&self) -> Store<K> {
        self.reader.clone()
    }

    /// Registers `handler`; a handler added after the first list is first told about
    /// every cached object, like upstream's late `AddEventHandler`. Handlers run on the
    /// watch task and must not block (enqueue a key and return).
    pub fn add_handler(&self, handler: Handler<K>) {
        let mut l = self
            .listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if l.synced {
            self.reader.state().iter().for_each(|o| handler(o, false));
        }
        l.handlers.push(handler);
    }

    /// Registers a callback run with the whole store after every (re-)list.
    pub fn add_on_synced(&self, on_synced: OnSynced<K>) {
        let mut l = self
            .listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if l.synced {
            on_synced(&self.reader.state());
        }
        l.on_synced.push(on_synced);
    }

    /// Whether [`SharedInformer::start`] has been called.
    pub fn started(&self) -> bool {
        self.writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none()
    }

    /// Starts the watch (once: later calls return `None`).
    pub fn start(&self) -> Option<JoinHandle<()>> {
        let writer = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()?;
        let (api, reader, listeners) = (
            self.api.clone(),
            self.reader.clone(),
            self.listeners.clone(),
        );
        Some(tokio::spawn(watch(api, writer, reader, listeners)))
    }
}

async fn watch<K: Watchable>(
    api: Api<K>,
    mut writer: reflector::store::Writer<K>,
    reader: Store<K>,
    listeners: Arc<Mutex<Listeners<K>>>,
) {
    // Like upstream's informers, drop managedFields: controllers never read them and
    // they are a large share of every cached object.
    let stream = watcher::watcher(api, watcher::Config::default())
        .modify(|o: &mut K| o.meta_mut().managed_fields = None)
        .default_backoff();
    tokio::pin!(stream);
    while let Some(ev) = stream.next().await {
        let ev = match ev {
            Ok(ev) => ev,
            Err(e) => {
                warn!(kind = %K::kind(&()), error = %e, "watch");
                continue;
            }
        };
        writer.apply_watcher_event(&ev);
        // Handlers are called outside the lock, so that they may register others.
        let (handlers, on_synced) = {
            let mut l = listeners.lock().unwrap_or_else(PoisonError::into_inner);
            if matches!(ev, Event::InitDone) {
                l.synced = true;
            }
            (l.handlers.clone(), l.on_synced.clone())
        };
        match &ev {
            Event::Apply(o) | Event::InitApply(o) => handlers.iter().for_each(|h| h(o, false)),
            Event::Delete(o) => handlers.iter().for_each(|h| h(o, true)),
            Event::InitDone => {
                let all = reader.state();
                on_synced.iter().for_each(|f| f(&all));
            }
            Event::Init => {}
        }
    }
}

/// Starts watching `api`; returns the store, the task feeding it, and calls `handlers`.
pub fn spawn<K: Watchable>(api: Api<K>, handlers: Vec<Handler<K>>) -> (Store<K>, JoinHandle<()>) {
    spawn_indexed(api, handlers, None)
}

/// Like [`spawn`], also calling `on_synced` with the store's content after each list.
pub fn spawn_indexed<K: Watchable>(
    api: Api<K>,
    handlers: Vec<Handler<K>>,
    on_synced: Option<OnSynced<K>>,
) -> (Store<K>, JoinHandle<()>) {
    let informer = SharedInformer::new(api);
    handlers.into_iter().for_each(|h| informer.add_handler(h));
    if let Some(f) = on_synced {
        informer.add_on_synced(f);
    }
    let task = informer.start().unwrap_or_else(|| tokio::spawn(async {}));
    (informer.store(), task)
}

/// `namespace/name` (or `name` for cluster-scoped objects): a work queue key.
pub fn key_of<K: Resource>(obj: &K) -> String {
    let m = obj.meta();
    match &m.namespace {
        Some(ns) => format!("{ns}/{}", m.name.as_deref().unwrap_or("")),
        None => m.name.clone().unwrap_or_default(),
    }
}

/// Splits a key into (namespace, name).
pub fn split_key(key: &str) -> (Option<&str>, &str) {
    match key.split_once('/') {
        Some((ns, n)) => (Some(ns), n),
        None => (None, key),
    }
}

/// Looks a namespaced object up in a store.
pub fn get<K: Resource<DynamicType = ()> + Clone>(
    store: &Store<K>,
    ns: &str,
    name: &str,
) -> Option<Arc<K>> {
    store.get(&ObjectRef::new(name).within(ns))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, Reply};
    use k8s_openapi::api::core::v1::{Namespace, Pod};
    use kube::api::ObjectMeta;
    use kube::ResourceExt;
    use serde_json::json;
    use std::collections::BTreeSet;
    use tokio::sync::mpsc;

    fn pod(name: &str) -> serde_json::Value {
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "ns", "resourceVersion": "5"}})
    }

    /// A fake API server listing pods a and b, then watching: c is added.
    fn pods_api() -> (kube::Client, mpsc::UnboundedReceiver<testing::Request>) {
        testing::client(|r| {
            if r.query.contains("watch=true") {
                Reply::Watch(vec![json!({"type": "ADDED", "object": pod("c")})])
            } else {
                Reply::Json(
                    200,
                    json!({"apiVersion": "v1", "kind": "PodList",
                    "metadata": {"resourceVersion": "5"}, "items": [pod("a"), pod("b")]}),
                )
            }
        })
    }

    type Seen = mpsc::UnboundedReceiver<(usize, String, bool)>;

    fn recording_handler(id: usize) -> (Handler<Pod>, Seen) {
        let (tx, rx) = mpsc::unbounded_channel();
        let h: Handler<Pod> = Arc::new(move |p: &Pod, deleted| {
            let _ = tx.send((id, p.name_any(), deleted));
        });
        (h, rx)
    }

    async fn names(rx: &mut Seen, n: usize) -> BTreeSet<(usize, String, bool)> {
        let mut out = BTreeSet::new();
        for _ in 0..n {
            out.insert(rx.recv().await.unwrap());
        }
        out
    }

    fn want(id: usize, names: &[&str]) -> BTreeSet<(usize, String, bool)> {
        names.iter().map(|n| (id, n.to_string(), false)).collect()
    }

    #[tokio::test]
    async fn one_watch_feeds_every_handler_and_the_store() {
        let (client, mut requests) = pods_api();
        let informer = SharedInformer::new(Api::<Pod>::all(client));
        let (h0, mut rx0) = recording_handler(0);
        let (h1, mut rx1) = recording_handler(1);
        informer.add_handler(h0);
        informer.add_handler(h1);
        let (synced_tx, mut synced) = mpsc::unbounded_channel();
        informer.add_on_synced(Arc::new(move |all: &[Arc<Pod>]| {
            let _ = synced_tx.send(all.len());
        }));
        let task = informer.start().unwrap();
        assert!(informer.start().is_none(), "started once");
        assert_eq!(names(&mut rx0, 3).await, want(0, &["a", "b", "c"]));
        assert_eq!(names(&mut rx1, 3).await, want(1, &["a", "b", "c"]));
        assert_eq!(
            synced.recv().await,
            Some(2),
            "on_synced sees the listed pods"
        );
        assert_eq!(informer.store().state().len(), 3);
        // a handler added later is told about what is cached
        let (late, mut rx2) = recording_handler(2);
        informer.add_handler(late);
        assert_eq!(names(&mut rx2, 3).await, want(2, &["a", "b", "c"]));
        // one list and one watch served everybody
        let list = requests.recv().await.unwrap();
        let watch = requests.recv().await.unwrap();
        assert!(!list.query.contains("watch=true"), "{}", list.query);
        assert!(watch.query.contains("watch=true"), "{}", watch.query);
        assert!(requests.try_recv().is_err());
        task.abort();
    }

    #[test]
    fn keys_round_trip() {
        let pod = Pod {
            metadata: ObjectMeta {
                name: Some("web".into()),
                namespace: Some("ns".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some("ns".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let cases = [
            (key_of(&pod), (Some("ns"), "web")),
            (key_of(&ns), (None, "ns")),
        ];
        for (key, want) in cases {
            assert_eq!(split_key(&key), want, "{key}");
        }
    }
}
