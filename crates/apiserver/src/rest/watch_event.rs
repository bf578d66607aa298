//! Encoding a watch's events for one watcher: namespace and selector filtering (with
//! ADDED/DELETED for objects entering or leaving the selection), raw JSON, Table or
//! PartialObjectMetadata bodies, bookmarks and errors.

use super::read::Selectors;
use super::{render, Ctx};
use crate::httputil::Output;
use crate::objects;
use crate::status::ApiError;
use crate::watchcache::{event_line, CachedEvent, WatchType};
use bytes::Bytes;
use serde_json::{json, Value};

/// Per-watcher filtering and encoding.
pub struct Encoder {
    /// Keys of the watched namespace (or resource) start with this.
    pub ns_prefix: String,
    /// Label and field selectors.
    pub sel: Selectors,
    /// The negotiated representation.
    pub output: Output,
    /// Whether a Table's column definitions went out already.
    pub headers_sent: bool,
    /// The resource's kind (in bookmarks).
    pub kind: &'static str,
    /// The resource's apiVersion (in bookmarks).
    pub api_version: String,
}

impl Encoder {
    /// The object as the watcher sees it: raw JSON, a Table row, or PartialObjectMetadata.
    pub fn object_json(&mut self, ctx: &Ctx, obj: &Value, raw: Option<&Bytes>) -> Bytes {
        match self.output {
            Output::Table(v) => {
                let meta = json!({"resourceVersion": obj.pointer("/metadata/resourceVersion").cloned().unwrap_or(Value::Null)});
                let t = render::table(ctx, &[obj], meta, v, !self.headers_sent);
                self.headers_sent = true;
                Bytes::from(serde_json::to_vec(&t).unwrap_or_default())
            }
            Output::Metadata(v) => {
                Bytes::from(serde_json::to_vec(&render::partial(obj, v)).unwrap_or_default())
            }
            _ => raw
                .cloned()
                .unwrap_or_else(|| Bytes::from(serde_json::to_vec(obj).unwrap_or_default())),
        }
    }

    /// The line to send for an event, if this watcher sees it.
    pub fn encode(&mut self, ctx: &Ctx, ev: &CachedEvent) -> Option<Bytes> {
        if !ev.key.starts_with(&self.ns_prefix) {
            return None;
        }
        let plain = self.sel.is_empty() && matches!(self.output, Output::Json | Output::Yaml);
        if plain {
            return Some(ev.line.clone());
        }
        let ty = if self.sel.is_empty() {
            Some(ev.kind)
        } else {
            let now = self.sel.matches(ev.obj());
            let before = ev
                .prev
                .as_ref()
                .and_then(|p| objects::parse_lean(p).ok())
                .map(|p| self.sel.matches(&p))
                .unwrap_or(false);
            match (ev.kind, now, before) {
                (WatchType::Deleted, true, _) => Some(WatchType::Deleted),
                (WatchType::Deleted, false, _) => None,
                (_, true, true) => Some(WatchType::Modified),
                (_, true, false) => Some(WatchType::Added),
                (_, false, true) => Some(WatchType::Deleted),
                (_, false, false) => None,
            }
        }?;
        let body = match self.output {
            // PartialObjectMetadata carries managedFields, which the cached tree lacks.
            Output::Metadata(_) => self.object_json(ctx, &ev.full_obj(), None),
            _ => self.object_json(ctx, ev.obj(), Some(&ev.obj_json)),
        };
        Some(event_line(ty.as_str(), &body))
    }

    /// A BOOKMARK event at `rev` (marking the end of the initial events when `initial_end`).
    pub fn bookmark(&self, rev: i64, initial_end: bool) -> Bytes {
        let mut meta = json!({"resourceVersion": rev.to_string(), "creationTimestamp": null});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let obj = match self.output {
            Output::Table(v) => {
                json!({"kind": "Table", "apiVersion": format!("meta.k8s.io/{v}"), "metadata": {"resourceVersion": rev.to_string()}, "columnDefinitions": null, "rows": null})
            }
            Output::Metadata(v) => {
                json!({"kind": "PartialObjectMetadata", "apiVersion": format!("meta.k8s.io/{v}"), "metadata": meta})
            }
            _ => json!({"kind": self.kind, "apiVersion": self.api_version, "metadata": meta}),
        };
        event_line("BOOKMARK", &serde_json::to_vec(&obj).unwrap_or_default())
    }
}

/// An ERROR event carrying the Status of `e`.
pub fn error_line(e: &ApiError) -> Bytes {
    event_line(
        "ERROR",
        &serde_json::to_vec(&e.to_status()).unwrap_or_default(),
    )
}
