//! `kubectl get -w` / `--watch-only`: a watch from the list's resourceVersion, each
//! event's Table rows printed as they come (with an EVENT column under
//! `--output-watch-events`), reusing the column definitions the server sends once.

use crate::client::{enc, Api, TABLE_ACCEPT};
use crate::cmd::get::query;
use crate::cmd::targets::Request;
use crate::ctx::{out, CmdError, CmdResult, Ctx};
use crate::print::table::{self, TableOpts};
use crate::print::tabwriter::TabWriter;
use futures::{AsyncBufReadExt, StreamExt};
use serde_json::Value;

/// Prints watch events as table rows.
struct EventPrinter<'a> {
    opts: &'a TableOpts,
    tw: &'a mut TabWriter,
    /// `--output-watch-events`: a leading EVENT column.
    with_events: bool,
    /// Whether the headers have been printed.
    headers_done: bool,
    /// The latest column definitions (the server sends them only once).
    col_defs: Option<Value>,
}

/// Watches the (single) requested type and prints each event; `printed` says whether
/// the listing printed headers, and its column definitions.
pub async fn watch_loop(
    ctx: &Ctx,
    api: &Api,
    reqs: &[Request],
    ns: Option<&str>,
    opts: &TableOpts,
    tw: &mut TabWriter,
    printed: (bool, Option<Value>),
) -> CmdResult {
    let (headers_done, col_defs) = printed;
    let Some(req) = reqs.first() else {
        return Ok(());
    };
    if reqs.len() > 1 {
        return Err(CmdError::Msg(
            "you may only specify a single resource type".into(),
        ));
    }
    let opts = &TableOpts {
        with_namespace: opts.with_namespace && req.res.namespaced,
        ..opts.clone()
    };
    let path = watch_path(ctx, api, req, ns).await;
    let stream = api
        .stream(&path, TABLE_ACCEPT)
        .await
        .map_err(CmdError::from)?;
    let mut printer = EventPrinter {
        opts,
        tw,
        with_events: ctx.p.flag("output-watch-events"),
        headers_done,
        col_defs,
    };
    let mut lines = stream.lines();
    while let Some(line) = lines.next().await {
        let Ok(line) = line else { break };
        let Ok(ev) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        printer.event(&ev);
    }
    Ok(())
}

/// The watch request: from the list's resourceVersion, since what exists now was
/// printed (or, with `--watch-only`, is not wanted); a named object by field selector.
async fn watch_path(ctx: &Ctx, api: &Api, req: &Request, ns: Option<&str>) -> String {
    let res = &req.res;
    let ns_ref = if res.namespaced { ns } else { None };
    let mut extra = String::new();
    if let Some(n) = req.names.first() {
        extra.push_str(&format!("fieldSelector=metadata.name%3D{}&", enc(n)));
    }
    let list_path = format!(
        "{}{}",
        res.path(ns_ref, None),
        query(ctx, &format!("{extra}limit=1"))
    );
    let rv = api
        .get(&list_path)
        .await
        .ok()
        .and_then(|l| {
            l.pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_default();
    extra.push_str("watch=true");
    if !rv.is_empty() {
        extra.push_str(&format!("&resourceVersion={rv}"));
    }
    format!("{}{}", res.path(ns_ref, None), query(ctx, &extra))
}

impl EventPrinter<'_> {
    /// Prints one watch event (bookmarks, errors and non-Table objects print nothing).
    fn event(&mut self, ev: &Value) {
        let typ = ev.get("type").and_then(Value::as_str).unwrap_or("");
        if typ == "BOOKMARK" || typ == "ERROR" {
            return;
        }
        let mut obj = ev.get("object").cloned().unwrap_or(Value::Null);
        if obj.get("kind").and_then(Value::as_str) != Some("Table") {
            return;
        }
        // the server sends column definitions only once: reuse them
        match obj.get("columnDefinitions").and_then(Value::as_array) {
            Some(d) if !d.is_empty() => self.col_defs = Some(Value::Array(d.clone())),
            _ => {
                if let Some(d) = &self.col_defs {
                    obj["columnDefinitions"] = d.clone();
                }
            }
        }
        if !self.headers_done && !self.opts.no_headers {
            let mut h = table::headers(&obj, self.opts);
            if self.with_events {
                h.insert(0, "EVENT   ".into());
            }
            self.tw.row(&h);
            self.headers_done = true;
        }
        for mut r in table::rows(&obj, self.opts) {
            if self.with_events {
                // kubectl pads the event column to its longest value
                r.insert(0, format!("{typ:<8}"));
            }
            self.tw.row(&r);
        }
        out(&self.tw.flush());
    }
}
