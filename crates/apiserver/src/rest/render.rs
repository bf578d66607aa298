//! Turning objects into responses: plain JSON/YAML, Table, PartialObjectMetadata.

use super::Ctx;
use crate::httputil::{bytes_response, json_response, object_response, Output, Resp};
use crate::resources::{cells, columns, ResourceInfo};
use crate::status::{ApiError, ApiResult};
use serde_json::{json, Map, Value};

/// `PartialObjectMetadata` of an object.
pub fn partial(obj: &Value, version: &str) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": format!("meta.k8s.io/{version}"),
        "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

/// Column definitions as JSON.
pub fn column_defs(res: &ResourceInfo) -> Value {
    Value::Array(
        columns(res)
            .iter()
            .map(|c| json!({"name": c.name, "type": c.type_, "format": c.format, "description": c.description, "priority": c.priority}))
            .collect(),
    )
}

/// One Table row.
pub fn row(ctx: &Ctx, obj: &Value, version: &str, now: chrono::DateTime<chrono::Utc>) -> Value {
    let mut r = json!({"cells": cells(ctx.res, obj, now)});
    match ctx.query.get("includeObject") {
        Some("None") => {}
        Some("Object") => r["object"] = obj.clone(),
        _ => r["object"] = partial(obj, version),
    }
    r
}

/// A Table of `objs`.
pub fn table(ctx: &Ctx, objs: &[&Value], list_meta: Value, version: &str, headers: bool) -> Value {
    let now = chrono::Utc::now();
    let rows: Vec<Value> = objs.iter().map(|o| row(ctx, o, version, now)).collect();
    let mut t = json!({
        "kind": "Table",
        "apiVersion": format!("meta.k8s.io/{version}"),
        "metadata": list_meta,
        "rows": rows,
    });
    t["columnDefinitions"] = if headers {
        column_defs(ctx.res)
    } else {
        Value::Null
    };
    if !headers {
        if let Some(m) = t.as_object_mut() {
            m.remove("columnDefinitions");
        }
    }
    t
}

/// Validates `includeObject`.
pub fn check_table_options(ctx: &Ctx) -> ApiResult<()> {
    match ctx.query.get("includeObject") {
        None | Some("") | Some("None") | Some("Object") | Some("Metadata") => Ok(()),
        Some(o) => Err(ApiError::bad_request(format!(
            "unrecognized includeObject value: \"{o}\""
        ))),
    }
}

/// Responds with one object in the negotiated representation.
pub fn one(ctx: &Ctx, code: u16, obj: &Value) -> ApiResult<Resp> {
    Ok(match ctx.output {
        Output::Table(v) => {
            check_table_options(ctx)?;
            let rv = obj
                .pointer("/metadata/resourceVersion")
                .cloned()
                .unwrap_or(Value::Null);
            let mut meta = Map::new();
            meta.insert("resourceVersion".into(), rv);
            json_response(code, &table(ctx, &[obj], Value::Object(meta), v, true))
        }
        Output::Metadata(v) => json_response(code, &partial(obj, v)),
        other => object_response(code, other, obj),
    })
}

/// Responds with a list of decoded objects.
pub fn list(ctx: &Ctx, items: Vec<Value>, list_meta: Value) -> ApiResult<Resp> {
    match ctx.output {
        Output::Table(v) => {
            check_table_options(ctx)?;
            let refs: Vec<&Value> = items.iter().collect();
            Ok(json_response(200, &table(ctx, &refs, list_meta, v, true)))
        }
        Output::Metadata(v) => {
            let items: Vec<Value> = items.iter().map(|o| partial(o, v)).collect();
            Ok(json_response(
                200,
                &json!({"kind": "PartialObjectMetadataList", "apiVersion": format!("meta.k8s.io/{v}"), "metadata": list_meta, "items": items}),
            ))
        }
        other => {
            let l = json!({"kind": ctx.res.list_kind, "apiVersion": ctx.res.api_version(), "metadata": list_meta, "items": items});
            Ok(object_response(200, other, &l))
        }
    }
}

/// Responds with a plain JSON list built from raw stored values (no re-parse).
pub fn raw_list(ctx: &Ctx, raws: &[(&[u8], i64)], list_meta: &Value) -> Resp {
    let total: usize = raws.iter().map(|(r, _)| r.len() + 32).sum();
    let mut out = Vec::with_capacity(total + 256);
    out.extend_from_slice(b"{\"kind\":\"");
    out.extend_from_slice(ctx.res.list_kind.as_bytes());
    out.extend_from_slice(b"\",\"apiVersion\":\"");
    out.extend_from_slice(ctx.res.api_version().as_bytes());
    out.extend_from_slice(b"\",\"metadata\":");
    out.extend_from_slice(&serde_json::to_vec(list_meta).unwrap_or_else(|_| b"{}".to_vec()));
    out.extend_from_slice(b",\"items\":[");
    for (i, (raw, rev)) in raws.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        crate::objects::write_with_rv(raw, *rev, &mut out);
    }
    out.extend_from_slice(b"]}");
    bytes_response(200, "application/json", out)
}

/// A Table of stored objects written row by row straight to bytes, so a LIST never
/// holds more than one decoded object. Rows of the default `includeObject=Metadata`
/// splice each object's stored metadata instead of rebuilding it.
pub struct TableWriter {
    rows: Vec<u8>,
    n: usize,
    now: chrono::DateTime<chrono::Utc>,
    include: String,
    version: &'static str,
}

impl TableWriter {
    /// An empty table for `ctx`'s resource, meta.k8s.io `version`.
    pub fn new(ctx: &Ctx, version: &'static str) -> TableWriter {
        TableWriter {
            rows: Vec::with_capacity(64 * 1024),
            n: 0,
            now: chrono::Utc::now(),
            include: ctx
                .query
                .get("includeObject")
                .unwrap_or("Metadata")
                .to_string(),
            version,
        }
    }

    /// Appends the row of one object: `raw` stored bytes at revision `rev`, `obj` decoded.
    pub fn push(&mut self, ctx: &Ctx, raw: &[u8], rev: i64, obj: &Value) {
        let out = &mut self.rows;
        if self.n > 0 {
            out.push(b',');
        }
        self.n += 1;
        out.extend_from_slice(b"{\"cells\":");
        if serde_json::to_writer(&mut *out, &cells(ctx.res, obj, self.now)).is_err() {
            out.extend_from_slice(b"[]");
        }
        match self.include.as_str() {
            "None" => {}
            "Object" => {
                out.extend_from_slice(b",\"object\":");
                crate::objects::write_with_rv(raw, rev, out);
            }
            _ => {
                out.extend_from_slice(b",\"object\":{\"kind\":\"PartialObjectMetadata\",\"apiVersion\":\"meta.k8s.io/");
                out.extend_from_slice(self.version.as_bytes());
                out.extend_from_slice(b"\",\"metadata\":");
                if !crate::objects::write_metadata_with_rv(raw, rev, out) {
                    out.extend_from_slice(b"{}");
                }
                out.push(b'}');
            }
        }
        out.push(b'}');
    }

    /// The response: the Table with `list_meta` and column definitions.
    pub fn finish(self, ctx: &Ctx, list_meta: &Value) -> Resp {
        let to_vec = |v: &Value| serde_json::to_vec(v).unwrap_or_else(|_| b"null".to_vec());
        let mut out = Vec::with_capacity(self.rows.len() + 8192);
        out.extend_from_slice(b"{\"kind\":\"Table\",\"apiVersion\":\"meta.k8s.io/");
        out.extend_from_slice(self.version.as_bytes());
        out.extend_from_slice(b"\",\"metadata\":");
        out.extend_from_slice(&to_vec(list_meta));
        out.extend_from_slice(b",\"columnDefinitions\":");
        out.extend_from_slice(&to_vec(&column_defs(ctx.res)));
        out.extend_from_slice(b",\"rows\":[");
        out.extend_from_slice(&self.rows);
        out.extend_from_slice(b"]}");
        bytes_response(200, "application/json", out)
    }
}

/// A `Status` of success.
pub fn success(details: Value) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details})
}

/// A `Status` of success carrying only a code (eviction, binding).
pub fn success_code(code: u16) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": code})
}
