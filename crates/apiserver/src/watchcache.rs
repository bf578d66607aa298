//! One shared store watch per resource prefix, fanned out to every API watcher of
//! that resource through a broadcast channel, with a bounded replay buffer.

use crate::objects;
use bytes::Bytes;
use futures::StreamExt;
use serde_json::Value;
use skiff_store::{Event, EventKind, Store, StoreError};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// Events kept for watchers that start a little in the past.
const BUFFER: usize = 4096;
/// Broadcast capacity; a watcher further behind than this re-syncs from the buffer.
const CHANNEL: usize = 8192;

/// What happened, in API terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchType {
    /// ADDED.
    Added,
    /// MODIFIED.
    Modified,
    /// DELETED.
    Deleted,
}

impl WatchType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            WatchType::Added => "ADDED",
            WatchType::Modified => "MODIFIED",
            WatchType::Deleted => "DELETED",
        }
    }
}

/// One decoded store event, shared by all watchers.
pub struct CachedEvent {
    /// Revision of the change (the object's resourceVersion).
    pub rev: i64,
    /// Event type before any selector filtering.
    pub kind: WatchType,
    /// Storage key.
    pub key: String,
    /// The object (for deletes: its last state), resourceVersion set, without
    /// `metadata.managedFields`; parsed on first use (selectors, Table rows). Lean
    /// because the buffer keeps thousands of events and a full tree is ~30 KB a pod.
    obj: std::sync::OnceLock<Value>,
    /// The previous value, raw, for selector transitions.
    pub prev: Option<Vec<u8>>,
    /// `{"type":…,"object":…}\n`, ready to send to an unfiltered JSON watcher.
    pub line: Bytes,
    /// The object's JSON (a slice of `line`).
    pub obj_json: Bytes,
}

impl CachedEvent {
    /// The decoded object, without `metadata.managedFields`.
    pub fn obj(&self) -> &Value {
        self.obj
            .get_or_init(|| objects::parse_lean(&self.obj_json).unwrap_or(Value::Null))
    }

    /// The whole decoded object (not cached).
    pub fn full_obj(&self) -> Value {
        serde_json::from_slice(&self.obj_json).unwrap_or(Value::Null)
    }
}

impl CachedEvent {
    /// Decodes a store event.
    pub fn from_store(ev: Event) -> Option<CachedEvent> {
        let kind = match (ev.kind, &ev.prev) {
            (EventKind::Delete, _) => WatchType::Deleted,
            (EventKind::Put, None) => WatchType::Added,
            (EventKind::Put, Some(_)) => WatchType::Modified,
        };
        if serde_json::from_slice::<serde::de::IgnoredAny>(&ev.kv.value).is_err() {
            return None;
        }
        let mut raw = Vec::with_capacity(ev.kv.value.len() + 32);
        objects::write_with_rv(&ev.kv.value, ev.kv.mod_revision, &mut raw);
        let line = event_line(kind.as_str(), &raw);
        let start = line.len() - raw.len() - 2;
        let obj_json = line.slice(start..line.len() - 2);
        Some(CachedEvent {
            rev: ev.kv.mod_revision,
            kind,
            key: ev.kv.key,
            obj: std::sync::OnceLock::new(),
            prev: ev.prev.map(|p| p.value),
            line,
            obj_json,
        })
    }
}

/// `{"type":"T","object":OBJ}\n`.
pub fn event_line(ty: &str, obj_json: &[u8]) -> Bytes {
    let mut v = Vec::with_capacity(obj_json.len() + 32);
    v.extend_from_slice(b"{\"type\":\"");
    v.extend_from_slice(ty.as_bytes());
    v.extend_from_slice(b"\",\"object\":");
    v.extend_from_slice(obj_json);
    v.extend_from_slice(b"}\n");
    Bytes::from(v)
}

struct Inner {
    buf: VecDeque<Arc<CachedEvent>>,
    /// Every event with a revision above this is in `buf` or still to come.
    from_rev: i64,
    tx: broadcast::Sender<Arc<CachedEvent>>,
    alive: bool,
}

/// The shared watch of one prefix.
pub struct WatchCache {
    inner: Mutex<Inner>,
}

/// A new subscriber's starting point.
pub struct Subscription {
    /// Buffered events after the asked revision.
    pub backlog: Vec<Arc<CachedEvent>>,
    /// Live events (may repeat some of the backlog; skip by revision).
    pub rx: broadcast::Receiver<Arc<CachedEvent>>,
}

impl WatchCache {
    /// Subscribes for events after `after_rev`; `None` when the buffer no longer
    /// reaches back that far (use a direct store watch) or the cache died.
    pub fn subscribe(&self, after_rev: i64) -> Option<Subscription> {
        let g = self.inner.lock().ok()?;
        if !g.alive || after_rev < g.from_rev {
            return None;
        }
        let backlog = g
            .buf
            .iter()
            .filter(|e| e.rev > after_rev)
            .cloned()
            .collect();
        Some(Subscription {
            backlog,
            rx: g.tx.subscribe(),
        })
    }

    /// The newest revision the cache has seen (or started at).
    pub fn last_rev(&self) -> i64 {
        self.inner
            .lock()
            .map(|g| g.buf.back().map(|e| e.rev).unwrap_or(g.from_rev))
            .unwrap_or(0)
    }
}

/// All watch caches, by prefix.
#[derive(Default)]
pub struct WatchCaches {
    caches: tokio::sync::Mutex<HashMap<String, Arc<WatchCache>>>,
}

impl WatchCaches {
    /// The cache of `prefix`, started on first use.
    pub async fn get(
        &self,
        store: &Arc<dyn Store>,
        prefix: &str,
    ) -> Result<Arc<WatchCache>, StoreError> {
        let mut map = self.caches.lock().await;
        if let Some(c) = map.get(prefix) {
            if c.inner.lock().map(|g| g.alive).unwrap_or(false) {
                return Ok(c.clone());
            }
        }
        let rev = store.current_revision().await?;
        let mut stream = store.watch(prefix, rev).await?;
        let (tx, _) = broadcast::channel(CHANNEL);
        let cache = Arc::new(WatchCache {
            inner: Mutex::new(Inner {
                buf: VecDeque::with_capacity(256),
                from_rev: rev,
                tx,
                alive: true,
            }),
        });
        map.insert(prefix.to_string(), cache.clone());
        let c = cache.clone();
        let p = prefix.to_string();
        tokio::spawn(async move {
            while let Some(item) = stream.next().await {
                let ev = match item {
                    Ok(ev) => ev,
                    Err(e) => {
                        tracing::warn!(prefix = %p, error = %e, "watch cache source failed");
                        break;
                    }
                };
                let Some(ce) = CachedEvent::from_store(ev) else {
                    continue;
                };
                let ce = Arc::new(ce);
                let Ok(mut g) = c.inner.lock() else { break };
                if g.buf.len() >= BUFFER {
                    if let Some(old) = g.buf.pop_front() {
                        g.from_rev = old.rev;
                    }
                }
                g.buf.push_back(ce.clone());
                let _ = g.tx.send(ce);
            }
            if let Ok(mut g) = c.inner.lock() {
                g.alive = false;
                // Dropping the sender ends every subscriber's stream.
                let (tx, _) = broadcast::channel(1);
                g.tx = tx;
            }
        });
        Ok(cache)
    }
}
