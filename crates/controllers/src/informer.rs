//! Shared informers: one watch per kind feeding a reflector store and notifying handlers,
//! so several controllers share one cache per kind.

use std::fmt::Debug;
use std::sync::Arc;

use futures::StreamExt;
use kube::api::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use kube::Resource;
use serde::de::DeserializeOwned;
use tracing::warn;

/// Called for every object the watch delivers; `deleted` is true for deletions.
pub type Handler<K> = Arc<dyn Fn(&K, bool) + Send + Sync>;

/// Called with the whole store after every (re-)list, so indexes can rebuild.
pub type OnSynced<K> = Arc<dyn Fn(&[Arc<K>]) + Send + Sync>;

/// Starts watching `api`; returns the store, the task feeding it, and calls `handlers`.
pub fn spawn<K>(api: Api<K>, handlers: Vec<Handler<K>>) -> (Store<K>, tokio::task::JoinHandle<()>)
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    spawn_indexed(api, handlers, None)
}

/// Like [`spawn`], also calling `on_synced` with the store's content after each list.
pub fn spawn_indexed<K>(
    api: Api<K>,
    handlers: Vec<Handler<K>>,
    on_synced: Option<OnSynced<K>>,
) -> (Store<K>, tokio::task::JoinHandle<()>)
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let (reader, mut writer) = reflector::store::<K>();
    let synced_view = reader.clone();
    let task = tokio::spawn(async move {
        // Like upstream's informers, drop managedFields: controllers never read them and
        // they are a large share of every cached object.
        let stream = watcher::watcher(api, watcher::Config::default())
            .modify(|o: &mut K| o.meta_mut().managed_fields = None)
            .default_backoff();
        tokio::pin!(stream);
        while let Some(ev) = stream.next().await {
            match ev {
                Ok(ev) => {
                    writer.apply_watcher_event(&ev);
                    match &ev {
                        Event::Apply(o) | Event::InitApply(o) => {
                            handlers.iter().for_each(|h| h(o, false))
                        }
                        Event::Delete(o) => handlers.iter().for_each(|h| h(o, true)),
                        Event::InitDone => {
                            if let Some(f) = &on_synced {
                                f(&synced_view.state());
                            }
                        }
                        Event::Init => {}
                    }
                }
                Err(e) => warn!(kind = %K::kind(&()), error = %e, "watch"),
            }
        }
    });
    (reader, task)
}
