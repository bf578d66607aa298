//! GET of one object and LIST with selectors, paging and resourceVersion semantics.

use super::{render, Ctx};
use crate::httputil::{Output, Resp};
use crate::objects;
use crate::resources::{FieldSelector, LabelSelector};
use crate::status::{ApiError, ApiResult};
use base64::Engine;
use serde_json::{json, Value};
use skiff_store::StoreError;

/// GET of the named object (also `/status`).
pub async fn get(ctx: &Ctx) -> ApiResult<Resp> {
    let (_, obj) = ctx.load().await?;
    render::one(ctx, 200, &obj)
}

/// Parsed label and field selectors of a request.
pub struct Selectors {
    /// Label selector (None when empty).
    pub label: Option<LabelSelector>,
    /// Field selector (None when empty).
    pub field: Option<FieldSelector>,
}

impl Selectors {
    /// Parses `labelSelector` and `fieldSelector`.
    pub fn from_ctx(ctx: &Ctx) -> ApiResult<Selectors> {
        let label = match ctx.query.nonempty("labelSelector") {
            Some(s) => {
                Some(LabelSelector::parse(s).map_err(|e| ApiError::bad_request(e.to_string()))?)
            }
            None => None,
        };
        let field = match ctx.query.nonempty("fieldSelector") {
            Some(s) => {
                Some(FieldSelector::parse(s).map_err(|e| ApiError::bad_request(e.to_string()))?)
            }
            None => None,
        };
        Ok(Selectors {
            label: label.filter(|l| !l.is_empty()),
            field,
        })
    }

    /// True when no selector is set.
    pub fn is_empty(&self) -> bool {
        self.label.is_none() && self.field.is_none()
    }

    /// Whether an object passes both selectors.
    pub fn matches(&self, obj: &Value) -> bool {
        self.label
            .as_ref()
            .map(|l| l.matches(objects::labels(obj)))
            .unwrap_or(true)
            && self.field.as_ref().map(|f| f.matches(obj)).unwrap_or(true)
    }
}

fn continue_token(rev: i64, key: &str) -> String {
    let v = json!({"v": "meta.k8s.io/v1", "rv": rev, "start": key});
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

fn parse_continue(tok: &str, prefix: &str) -> ApiResult<(String, i64)> {
    let bad = || {
        ApiError::bad_request("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
    };
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(tok.trim_end_matches('='))
        .map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&raw).map_err(|_| bad())?;
    let key = v["start"].as_str().ok_or_else(bad)?.to_string();
    let rev = v["rv"].as_i64().ok_or_else(bad)?;
    if !key.starts_with(prefix) {
        return Err(bad());
    }
    Ok((key, rev))
}

fn parse_rv(s: &str) -> ApiResult<i64> {
    s.parse::<i64>().map_err(|_| {
        ApiError::invalid(
            "",
            "",
            "",
            vec![crate::status::Cause {
                reason: "FieldValueInvalid".into(),
                field: "resourceVersion".into(),
                message: format!("Invalid value: \"{s}\""),
            }],
        )
    })
}

/// Where a LIST starts: after a continue token's key at its revision, or at the
/// beginning (at an exact `resourceVersion` when `resourceVersionMatch=Exact`).
fn list_start(ctx: &Ctx, prefix: &str) -> ApiResult<(Option<String>, Option<i64>)> {
    if let Some(tok) = ctx.query.nonempty("continue") {
        let (k, r) = parse_continue(tok, prefix)?;
        return Ok((Some(k), Some(r)));
    }
    let rv = ctx.query.nonempty("resourceVersion");
    match (rv, ctx.query.nonempty("resourceVersionMatch")) {
        (Some(rv), Some("Exact")) => Ok((None, Some(parse_rv(rv)?))),
        (None, Some(m)) => Err(ApiError::bad_request(format!(
            "resourceVersionMatch \"{m}\" is forbidden unless resourceVersion is provided"
        ))),
        (Some(rv), _) => {
            parse_rv(rv)?;
            Ok((None, None))
        }
        _ => Ok((None, None)),
    }
}

/// One page of the store, with upstream's 410 for a continue token older than compaction.
async fn store_page(
    ctx: &Ctx,
    prefix: &str,
    start_after: Option<&str>,
    page: usize,
    revision: Option<i64>,
) -> ApiResult<skiff_store::ListResult> {
    ctx.state.store.list(prefix, start_after, page, revision).await.map_err(|e| match e {
        StoreError::Compacted { .. } if ctx.query.nonempty("continue").is_some() => ApiError::new(410, "Expired", "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue value from the response to a previous list."),
        other => ApiError::from(other),
    })
}

/// The items a LIST keeps: raw stored values, or Table rows written as they come.
struct Collected {
    sel: Selectors,
    table: Option<render::TableWriter>,
    kept: Vec<skiff_store::KeyValue>,
    count: usize,
    limit: usize,
}

impl Collected {
    /// Keeps `kv` if it passes the selectors. Objects are decoded one at a time, only
    /// for selectors and Table cells.
    fn keep(&mut self, ctx: &Ctx, kv: skiff_store::KeyValue) -> bool {
        if self.sel.is_empty() && self.table.is_none() {
            self.kept.push(kv);
            return true;
        }
        let Ok(obj) = objects::decode_lean(&kv) else {
            return false;
        };
        if !self.sel.matches(&obj) {
            return false;
        }
        match self.table.as_mut() {
            Some(t) => t.push(ctx, &kv.value, kv.mod_revision, &obj),
            None => self.kept.push(kv),
        }
        true
    }

    /// Takes a page of items; returns the last key looked at and whether the limit was
    /// reached with items left over (then the response carries a continue token).
    fn take(
        &mut self,
        ctx: &Ctx,
        items: Vec<skiff_store::KeyValue>,
        more: bool,
    ) -> (Option<String>, bool) {
        let n = items.len();
        let mut last_key = None;
        for (i, kv) in items.into_iter().enumerate() {
            last_key = Some(kv.key.clone());
            if !self.keep(ctx, kv) {
                continue;
            }
            self.count += 1;
            if self.limit > 0 && self.count >= self.limit {
                return (last_key, i + 1 < n || more);
            }
        }
        (last_key, false)
    }

    /// The response: a Table, raw JSON, or decoded objects in another representation.
    fn respond(self, ctx: &Ctx, meta: Value) -> ApiResult<Resp> {
        if let Some(t) = self.table {
            return Ok(t.finish(ctx, &meta));
        }
        if ctx.output == Output::Json {
            let raws: Vec<(&[u8], i64)> = self
                .kept
                .iter()
                .map(|kv| (kv.value.as_slice(), kv.mod_revision))
                .collect();
            return Ok(render::raw_list(ctx, &raws, &meta));
        }
        let objs = self
            .kept
            .iter()
            .filter_map(|kv| objects::decode(kv).ok())
            .collect();
        render::list(ctx, objs, meta)
    }
}

/// LIST of a collection.
pub async fn list(ctx: &Ctx) -> ApiResult<Resp> {
    let sel = Selectors::from_ctx(ctx)?;
    let limit: usize = ctx
        .query
        .nonempty("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let prefix = objects::list_prefix(ctx.res, ctx.ns.as_deref());
    let (mut start_after, mut revision) = list_start(ctx, &prefix)?;
    let table = match ctx.output {
        Output::Table(v) => {
            render::check_table_options(ctx)?;
            Some(render::TableWriter::new(ctx, v))
        }
        _ => None,
    };
    // Selectors may drop items: read larger pages then.
    let page = match limit {
        0 => 0,
        _ if sel.is_empty() => limit,
        _ => limit.max(500),
    };
    let mut got = Collected {
        sel,
        table,
        kept: Vec::new(),
        count: 0,
        limit,
    };
    let (list_rev, cont) = loop {
        let r = store_page(ctx, &prefix, start_after.as_deref(), page, revision).await?;
        revision = Some(r.revision);
        let (last_key, full) = got.take(ctx, r.items, r.more);
        if full {
            break (r.revision, last_key.map(|k| continue_token(r.revision, &k)));
        }
        if !r.more || page == 0 {
            break (r.revision, None);
        }
        start_after = last_key;
    };
    let mut meta = json!({"resourceVersion": list_rev.to_string()});
    if let Some(c) = cont {
        meta["continue"] = json!(c);
    }
    got.respond(ctx, meta)
}
