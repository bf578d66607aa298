//! WATCH: initial events, replay from the shared watch cache (or the store when the
//! cache does not reach back), selector transitions, bookmarks, Table events, timeouts.

use super::read::Selectors;
use super::{render, Ctx};
use crate::httputil::{stream_response, Output, Resp};
use crate::objects;
use crate::status::{ApiError, ApiResult};
use crate::watchcache::{event_line, CachedEvent, WatchType};
use bytes::Bytes;
use futures::StreamExt;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;

/// Per-watcher filtering and encoding.
struct Encoder {
    ns_prefix: String,
    sel: Selectors,
    output: Output,
    headers_sent: bool,
    kind: &'static str,
    api_version: String,
}

impl Encoder {
    fn object_json(&mut self, ctx: &Ctx, obj: &Value, raw: Option<&Bytes>) -> Bytes {
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
    fn encode(&mut self, ctx: &Ctx, ev: &CachedEvent) -> Option<Bytes> {
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

    fn bookmark(&self, rev: i64, initial_end: bool) -> Bytes {
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

fn error_line(e: &ApiError) -> Bytes {
    event_line(
        "ERROR",
        &serde_json::to_vec(&e.to_status()).unwrap_or_default(),
    )
}

/// Serves a watch request.
pub async fn serve(ctx: &Ctx) -> ApiResult<Resp> {
    let sel = Selectors::from_ctx(ctx)?;
    let mut sel = sel;
    if let Some(name) = ctx.name.as_deref() {
        // watch on /watch/.../name: a field selector on the name.
        let f = match ctx.query.nonempty("fieldSelector") {
            Some(s) => format!("{s},metadata.name={name}"),
            None => format!("metadata.name={name}"),
        };
        sel.field = Some(
            crate::resources::FieldSelector::parse(&f)
                .map_err(|e| ApiError::bad_request(e.to_string()))?,
        );
    }
    if let Output::Table(_) = ctx.output {
        render::check_table_options(ctx)?;
    }
    let rv = ctx.query.nonempty("resourceVersion").map(String::from);
    let initial_given = ctx.query.nonempty("sendInitialEvents").is_some();
    let send_initial = ctx.query.flag("sendInitialEvents");
    let rv_match = ctx.query.nonempty("resourceVersionMatch");
    if initial_given && rv_match != Some("NotOlderThan") {
        return Err(ApiError::new(422, "Invalid", "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"));
    }
    if !initial_given && rv_match.is_some() {
        return Err(ApiError::new(422, "Invalid", "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"));
    }
    let bookmarks = ctx.query.flag("allowWatchBookmarks");
    let timeout = ctx
        .query
        .nonempty("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or_else(|| Duration::from_secs(1800 + rand::random::<u64>() % 1800));
    let prefix = objects::resource_prefix(ctx.res);
    let cache = ctx.state.watches.get(&ctx.state.store, &prefix).await?;
    let start_rev: Option<i64> = match rv.as_deref() {
        None | Some("0") => None,
        Some(r) => Some(
            r.parse()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version: {r}")))?,
        ),
    };
    // Initial ADDED events: as asked by sendInitialEvents, else only without a resourceVersion.
    let initial = if initial_given {
        send_initial
    } else {
        start_rev.is_none()
    };
    let encoder = Encoder {
        ns_prefix: objects::list_prefix(ctx.res, ctx.ns.as_deref()),
        sel,
        output: ctx.output,
        headers_sent: false,
        kind: ctx.res.kind,
        api_version: ctx.res.api_version(),
    };
    // The initial state, read at one revision.
    let mut initial_items = Vec::new();
    let after = if initial {
        let list = ctx
            .state
            .store
            .list(&encoder.ns_prefix, None, 0, None)
            .await?;
        // Kept raw: decoded one at a time while streaming.
        initial_items = list.items;
        list.revision.max(start_rev.unwrap_or(0))
    } else {
        start_rev.unwrap_or(0)
    };
    let (tx, rx) = mpsc::channel::<Bytes>(256);
    let task_ctx = Ctx {
        state: ctx.state.clone(),
        res: ctx.res,
        ns: ctx.ns.clone(),
        name: ctx.name.clone(),
        sub: None,
        rest: String::new(),
        query: ctx.query.clone(),
        output: ctx.output,
        headers: http::HeaderMap::new(),
        method: ctx.method.clone(),
        warnings: Default::default(),
    };
    let deadline = Instant::now() + timeout;
    let bookmarks = bookmarks.then_some(deadline);
    tokio::spawn(async move {
        let _ = tokio::time::timeout_at(
            deadline,
            run(
                task_ctx,
                cache,
                encoder,
                initial_items,
                after,
                send_initial,
                bookmarks,
                tx,
            ),
        )
        .await;
    });
    let ct = match ctx.output {
        Output::Table(_) | Output::Metadata(_) => "application/json;stream=watch",
        _ => "application/json",
    };
    Ok(stream_response(ct, rx))
}

#[allow(clippy::too_many_arguments)]
async fn run(
    ctx: Ctx,
    cache: Arc<crate::watchcache::WatchCache>,
    mut enc: Encoder,
    initial: Vec<skiff_store::KeyValue>,
    after: i64,
    send_initial: bool,
    bookmarks: Option<Instant>,
    tx: mpsc::Sender<Bytes>,
) {
    let mut last = after;
    let mut buf: Vec<u8> = Vec::new();
    let raw_out = matches!(enc.output, Output::Json | Output::Yaml);
    for kv in initial {
        if buf.len() > 256 * 1024
            && tx
                .send(Bytes::from(std::mem::take(&mut buf)))
                .await
                .is_err()
        {
            return;
        }
        if !enc.sel.is_empty() || !raw_out {
            let decoded = match enc.output {
                Output::Metadata(_) => objects::decode(&kv),
                _ => objects::decode_lean(&kv),
            };
            let Ok(obj) = decoded else { continue };
            if !enc.sel.matches(&obj) {
                continue;
            }
            if !raw_out {
                let body = enc.object_json(&ctx, &obj, None);
                buf.extend_from_slice(&event_line("ADDED", &body));
                continue;
            }
        }
        let mut raw = Vec::with_capacity(kv.value.len() + 32);
        objects::write_with_rv(&kv.value, kv.mod_revision, &mut raw);
        buf.extend_from_slice(&event_line("ADDED", &raw));
    }
    if send_initial {
        buf.extend_from_slice(&enc.bookmark(after, true));
    }
    if !buf.is_empty()
        && tx
            .send(Bytes::from(std::mem::take(&mut buf)))
            .await
            .is_err()
    {
        return;
    }
    let mut next_bm = bookmarks.and_then(next_bookmark);
    loop {
        // Live events from the shared cache, re-subscribing after lag.
        let Some(sub) = cache.subscribe(last) else {
            break;
        };
        for ev in &sub.backlog {
            if ev.rev > last {
                last = ev.rev;
                if let Some(line) = enc.encode(&ctx, ev) {
                    buf.extend_from_slice(&line);
                }
            }
        }
        if !buf.is_empty()
            && tx
                .send(Bytes::from(std::mem::take(&mut buf)))
                .await
                .is_err()
        {
            return;
        }
        let mut rx = sub.rx;
        loop {
            tokio::select! {
                r = rx.recv() => match r {
                    Ok(ev) => {
                        let mut batch = vec![ev];
                        while batch.len() < 512 {
                            match rx.try_recv() {
                                Ok(e) => batch.push(e),
                                Err(_) => break,
                            }
                        }
                        for ev in batch {
                            if ev.rev <= last {
                                continue;
                            }
                            last = ev.rev;
                            if let Some(line) = enc.encode(&ctx, &ev) {
                                buf.extend_from_slice(&line);
                            }
                        }
                        if !buf.is_empty() && tx.send(Bytes::from(std::mem::take(&mut buf))).await.is_err() {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => break,
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = sleep_until_opt(next_bm) => {
                    let rev = last.max(cache.last_rev());
                    last = rev;
                    if tx.send(enc.bookmark(rev, false)).await.is_err() {
                        return;
                    }
                    next_bm = bookmarks.and_then(next_bookmark);
                }
                _ = tx.closed() => return,
            }
        }
    }
    // The cache does not reach back to `last`: read the store's history directly.
    store_watch(&ctx, &mut enc, last, bookmarks, &tx).await;
}

/// When to send the next bookmark: roughly every minute, and once 2 s before the
/// watch's deadline (as upstream's watch cache does); `None` when neither is ahead.
fn next_bookmark(deadline: Instant) -> Option<Instant> {
    let now = Instant::now();
    let pre_timeout = deadline.checked_sub(Duration::from_secs(2))?;
    let t = (now + Duration::from_secs(60)).min(pre_timeout);
    (t > now).then_some(t)
}

async fn sleep_until_opt(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

async fn store_watch(
    ctx: &Ctx,
    enc: &mut Encoder,
    after: i64,
    bookmarks: Option<Instant>,
    tx: &mpsc::Sender<Bytes>,
) {
    let prefix = objects::resource_prefix(ctx.res);
    let mut stream = match ctx.state.store.watch(&prefix, after).await {
        Ok(s) => s,
        Err(e) => {
            let _ = tx.send(error_line(&ApiError::from(e))).await;
            return;
        }
    };
    let mut last = after;
    let mut next_bm = bookmarks.and_then(next_bookmark);
    loop {
        tokio::select! {
            item = stream.next() => match item {
                Some(Ok(ev)) => {
                    let Some(ce) = CachedEvent::from_store(ev) else { continue };
                    last = ce.rev;
                    if let Some(line) = enc.encode(ctx, &ce) {
                        if tx.send(line).await.is_err() {
                            return;
                        }
                    }
                }
                Some(Err(e)) => {
                    let _ = tx.send(error_line(&ApiError::from(e))).await;
                    return;
                }
                None => return,
            },
            _ = sleep_until_opt(next_bm) => {
                if tx.send(enc.bookmark(last, false)).await.is_err() {
                    return;
                }
                next_bm = bookmarks.and_then(next_bookmark);
            }
            _ = tx.closed() => return,
        }
    }
}
