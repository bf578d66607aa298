//! WATCH: initial events, replay from the shared watch cache (or the store when the
//! cache does not reach back), selector transitions, bookmarks, Table events, timeouts.

use super::read::Selectors;
use super::watch_event::{error_line, Encoder};
use super::{render, Ctx};
use crate::httputil::{stream_response, Output, Resp};
use crate::objects;
use crate::status::{ApiError, ApiResult};
use crate::watchcache::{event_line, CachedEvent, Subscription, WatchCache};
use bytes::Bytes;
use futures::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;

/// What a watch request asks for.
struct WatchOpts {
    sel: Selectors,
    /// `resourceVersion`: events after it (`None` for "0" or none).
    start_rev: Option<i64>,
    /// Whether `sendInitialEvents` was given at all.
    initial_given: bool,
    /// `sendInitialEvents=true`: initial events, then a bookmark marking their end.
    send_initial: bool,
    /// `allowWatchBookmarks`.
    bookmarks: bool,
    /// `timeoutSeconds`, else 30–60 minutes as upstream picks.
    timeout: Duration,
}

impl WatchOpts {
    fn from_ctx(ctx: &Ctx) -> ApiResult<WatchOpts> {
        let mut sel = Selectors::from_ctx(ctx)?;
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
        let initial_given = ctx.query.nonempty("sendInitialEvents").is_some();
        let rv_match = ctx.query.nonempty("resourceVersionMatch");
        if initial_given && rv_match != Some("NotOlderThan") {
            return Err(ApiError::new(422, "Invalid", "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"));
        }
        if !initial_given && rv_match.is_some() {
            return Err(ApiError::new(422, "Invalid", "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"));
        }
        let timeout = ctx
            .query
            .nonempty("timeoutSeconds")
            .and_then(|t| t.parse::<u64>().ok())
            .map(Duration::from_secs)
            .unwrap_or_else(|| Duration::from_secs(1800 + rand::random::<u64>() % 1800));
        let start_rev = match ctx.query.nonempty("resourceVersion") {
            None | Some("0") => None,
            Some(r) => Some(
                r.parse()
                    .map_err(|_| ApiError::bad_request(format!("invalid resource version: {r}")))?,
            ),
        };
        Ok(WatchOpts {
            sel,
            start_rev,
            initial_given,
            send_initial: ctx.query.flag("sendInitialEvents"),
            bookmarks: ctx.query.flag("allowWatchBookmarks"),
            timeout,
        })
    }

    /// Initial ADDED events: as `sendInitialEvents` asks, else only without a resourceVersion.
    fn wants_initial(&self) -> bool {
        if self.initial_given {
            self.send_initial
        } else {
            self.start_rev.is_none()
        }
    }
}

/// Serves a watch request.
pub async fn serve(ctx: &Ctx) -> ApiResult<Resp> {
    let opts = WatchOpts::from_ctx(ctx)?;
    let prefix = objects::resource_prefix(ctx.res);
    let cache = ctx.state.watches.get(&ctx.state.store, &prefix).await?;
    let initial = opts.wants_initial();
    let enc = Encoder {
        ns_prefix: objects::list_prefix(ctx.res, ctx.ns.as_deref()),
        sel: opts.sel,
        output: ctx.output,
        headers_sent: false,
        kind: ctx.res.kind,
        api_version: ctx.res.api_version(),
    };
    // The initial state, read at one revision; kept raw, decoded one at a time while streaming.
    let (items, after) = if initial {
        let list = ctx.state.store.list(&enc.ns_prefix, None, 0, None).await?;
        let after = list.revision.max(opts.start_rev.unwrap_or(0));
        (list.items, after)
    } else {
        (Vec::new(), opts.start_rev.unwrap_or(0))
    };
    let (tx, rx) = mpsc::channel::<Bytes>(256);
    let deadline = Instant::now() + opts.timeout;
    let watcher = Watcher {
        ctx: ctx.for_object(ctx.ns.clone(), ctx.name.clone()),
        enc,
        bookmarks: opts.bookmarks.then_some(deadline),
        next_bm: None,
        tx,
    };
    let send_initial = opts.send_initial;
    tokio::spawn(async move {
        let run = watcher.run(cache, items, after, send_initial);
        let _ = tokio::time::timeout_at(deadline, run).await;
    });
    let ct = match ctx.output {
        Output::Table(_) | Output::Metadata(_) => "application/json;stream=watch",
        _ => "application/json",
    };
    Ok(stream_response(ct, rx))
}

/// One watcher's task: its request, encoder, bookmark deadline and stream.
struct Watcher {
    ctx: Ctx,
    enc: Encoder,
    /// The watch's deadline when bookmarks were asked for.
    bookmarks: Option<Instant>,
    /// When the next bookmark is due.
    next_bm: Option<Instant>,
    tx: mpsc::Sender<Bytes>,
}

/// Whether to go on after a step of the watch.
enum Flow {
    /// The client is gone (or the cache closed): stop.
    Stop,
    /// Fell behind the shared cache: subscribe again.
    Lagged,
}

impl Watcher {
    async fn run(
        mut self,
        cache: Arc<WatchCache>,
        initial: Vec<skiff_store::KeyValue>,
        after: i64,
        send_initial: bool,
    ) {
        if !self.send_initial(initial, after, send_initial).await {
            return;
        }
        let mut last = after;
        self.next_bm = self.bookmarks.and_then(next_bookmark);
        // Live events from the shared cache, re-subscribing after lag.
        while let Some(sub) = cache.subscribe(last) {
            if let Flow::Stop = self.follow(&cache, sub, &mut last).await {
                return;
            }
        }
        // The cache does not reach back to `last`: read the store's history directly.
        store_watch(&self.ctx, &mut self.enc, last, self.bookmarks, &self.tx).await;
    }

    /// Sends the ADDED events of the initial list (and the end-of-initial bookmark);
    /// false when the client went away.
    async fn send_initial(
        &mut self,
        initial: Vec<skiff_store::KeyValue>,
        after: i64,
        end_bookmark: bool,
    ) -> bool {
        let mut buf: Vec<u8> = Vec::new();
        for kv in initial {
            if buf.len() > 256 * 1024 && !self.flush(&mut buf).await {
                return false;
            }
            if let Some(line) = self.initial_line(&kv) {
                buf.extend_from_slice(&line);
            }
        }
        if end_bookmark {
            buf.extend_from_slice(&self.enc.bookmark(after, true));
        }
        self.flush(&mut buf).await
    }

    /// The ADDED line of one stored object, unless the selectors skip it.
    fn initial_line(&mut self, kv: &skiff_store::KeyValue) -> Option<Bytes> {
        let raw_out = matches!(self.enc.output, Output::Json | Output::Yaml);
        if !self.enc.sel.is_empty() || !raw_out {
            let decoded = match self.enc.output {
                Output::Metadata(_) => objects::decode(kv),
                _ => objects::decode_lean(kv),
            };
            let obj = decoded.ok()?;
            if !self.enc.sel.matches(&obj) {
                return None;
            }
            if !raw_out {
                let body = self.enc.object_json(&self.ctx, &obj, None);
                return Some(event_line("ADDED", &body));
            }
        }
        let mut raw = Vec::with_capacity(kv.value.len() + 32);
        objects::write_with_rv(&kv.value, kv.mod_revision, &mut raw);
        Some(event_line("ADDED", &raw))
    }

    /// Sends what `buf` holds (if anything); false when the client went away.
    async fn flush(&self, buf: &mut Vec<u8>) -> bool {
        buf.is_empty() || self.tx.send(Bytes::from(std::mem::take(buf))).await.is_ok()
    }

    /// Encodes the events after `last` into `buf`.
    fn encode_new(&mut self, events: &[Arc<CachedEvent>], last: &mut i64, buf: &mut Vec<u8>) {
        for ev in events {
            if ev.rev <= *last {
                continue;
            }
            *last = ev.rev;
            if let Some(line) = self.enc.encode(&self.ctx, ev) {
                buf.extend_from_slice(&line);
            }
        }
    }

    /// Relays one subscription: its backlog, then live events in batches, with bookmarks.
    async fn follow(&mut self, cache: &WatchCache, sub: Subscription, last: &mut i64) -> Flow {
        let mut buf: Vec<u8> = Vec::new();
        self.encode_new(&sub.backlog, last, &mut buf);
        if !self.flush(&mut buf).await {
            return Flow::Stop;
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
                        self.encode_new(&batch, last, &mut buf);
                        if !self.flush(&mut buf).await {
                            return Flow::Stop;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => return Flow::Lagged,
                    Err(broadcast::error::RecvError::Closed) => return Flow::Stop,
                },
                _ = sleep_until_opt(self.next_bm) => {
                    *last = (*last).max(cache.last_rev());
                    if self.tx.send(self.enc.bookmark(*last, false)).await.is_err() {
                        return Flow::Stop;
                    }
                    self.next_bm = self.bookmarks.and_then(next_bookmark);
                }
                _ = self.tx.closed() => return Flow::Stop,
            }
        }
    }
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
