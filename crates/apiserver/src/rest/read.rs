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

/// LIST of a collection.
pub async fn list(ctx: &Ctx) -> ApiResult<Resp> {
    let sel = Selectors::from_ctx(ctx)?;
    let limit: usize = ctx
        .query
        .nonempty("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let prefix = objects::list_prefix(ctx.res, ctx.ns.as_deref());
    let (mut start_after, mut revision) = match ctx.query.nonempty("continue") {
        Some(tok) => {
            let (k, r) = parse_continue(tok, &prefix)?;
            (Some(k), Some(r))
        }
        None => {
            let rv = ctx.query.nonempty("resourceVersion");
            match (rv, ctx.query.nonempty("resourceVersionMatch")) {
                (Some(rv), Some("Exact")) => (None, Some(parse_rv(rv)?)),
                (None, Some(m)) => {
                    return Err(ApiError::bad_request(format!("resourceVersionMatch \"{m}\" is forbidden unless resourceVersion is provided")));
                }
                (Some(rv), _) => {
                    parse_rv(rv)?;
                    (None, None)
                }
                _ => (None, None),
            }
        }
    };
    let mut table = match ctx.output {
        Output::Table(v) => {
            render::check_table_options(ctx)?;
            Some(render::TableWriter::new(ctx, v))
        }
        _ => None,
    };
    // Objects are decoded one at a time, only for selectors and Table cells.
    let need_obj = !sel.is_empty() || table.is_some();
    let page = if limit == 0 {
        0
    } else if sel.is_empty() {
        limit
    } else {
        limit.max(500)
    };
    let mut kept = Vec::new();
    let mut count = 0usize;
    let mut cont = None;
    let mut list_rev;
    loop {
        let r = ctx.state.store.list(&prefix, start_after.as_deref(), page, revision).await.map_err(|e| match e {
            StoreError::Compacted { .. } if ctx.query.nonempty("continue").is_some() => ApiError::new(410, "Expired", "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue value from the response to a previous list."),
            other => ApiError::from(other),
        })?;
        list_rev = r.revision;
        revision = Some(r.revision);
        let n = r.items.len();
        let mut last_key = None;
        let mut full = false;
        for (i, kv) in r.items.into_iter().enumerate() {
            last_key = Some(kv.key.clone());
            if need_obj {
                let Ok(obj) = objects::decode_lean(&kv) else {
                    continue;
                };
                if !sel.matches(&obj) {
                    continue;
                }
                match table.as_mut() {
                    Some(t) => t.push(ctx, &kv.value, kv.mod_revision, &obj),
                    None => kept.push(kv),
                }
            } else {
                kept.push(kv);
            }
            count += 1;
            if limit > 0 && count >= limit {
                full = i + 1 < n || r.more;
                break;
            }
        }
        if full {
            cont = last_key.map(|k| continue_token(list_rev, &k));
            break;
        }
        if !r.more || page == 0 {
            break;
        }
        start_after = last_key;
    }
    let mut meta = json!({"resourceVersion": list_rev.to_string()});
    if let Some(c) = cont {
        meta["continue"] = json!(c);
    }
    if let Some(t) = table {
        return Ok(t.finish(ctx, &meta));
    }
    if ctx.output == Output::Json {
        let raws: Vec<(&[u8], i64)> = kept
            .iter()
            .map(|kv| (kv.value.as_slice(), kv.mod_revision))
            .collect();
        return Ok(render::raw_list(ctx, &raws, &meta));
    }
    let objs = kept
        .iter()
        .filter_map(|kv| objects::decode(kv).ok())
        .collect();
    render::list(ctx, objs, meta)
}
