//! DELETE and deletecollection: preconditions, propagation policy finalizers, the
//! kind's graceful deletion (pods, namespaces), finalizers.

use super::read::Selectors;
use super::update::{commit, Commit};
use super::{render, Ctx};
use crate::httputil::{json_response, Resp};
use crate::objects::{self, meta_mut, meta_str};
use crate::status::{ApiError, ApiResult};
use crate::strategy::{is_deleting, mark_deleted, Deletion, Strategy};
use serde_json::{json, Value};
use skiff_store::StoreError;

/// DeleteOptions from the body and the query.
#[derive(Debug, Default, Clone)]
pub struct DeleteOpts {
    /// gracePeriodSeconds.
    pub grace: Option<i64>,
    /// propagationPolicy (or orphanDependents mapped onto it).
    pub propagation: Option<String>,
    /// preconditions.uid.
    pub pre_uid: Option<String>,
    /// preconditions.resourceVersion.
    pub pre_rv: Option<String>,
    /// `dryRun: ["All"]` in the body (kubectl sends it there, not in the query).
    pub dry_run: bool,
}

impl DeleteOpts {
    /// Reads options from a DeleteOptions body and query parameters.
    pub fn parse(ctx: &Ctx, body: &[u8]) -> ApiResult<DeleteOpts> {
        let mut o = DeleteOpts::default();
        if !body.iter().all(u8::is_ascii_whitespace) {
            let v: Value = if body.starts_with(b"k8s\x00") {
                skiff_api::decode_protobuf_object(body).map_err(|e| {
                    ApiError::bad_request(format!(
                        "the server could not decode the request body: {e}"
                    ))
                })?
            } else {
                serde_json::from_slice(body)
                    .or_else(|_| serde_yaml::from_slice(body))
                    .map_err(|e| {
                        ApiError::bad_request(format!(
                            "the server could not decode the request body: {e}"
                        ))
                    })?
            };
            o = Self::from_value(&v);
        }
        if let Some(g) = ctx
            .query
            .nonempty("gracePeriodSeconds")
            .and_then(|g| g.parse().ok())
        {
            o.grace = Some(g);
        }
        if let Some(p) = ctx.query.nonempty("propagationPolicy") {
            o.propagation = Some(p.to_string());
        }
        if ctx.query.get("orphanDependents") == Some("true") && o.propagation.is_none() {
            o.propagation = Some("Orphan".into());
        }
        if let Some(p) = &o.propagation {
            if !matches!(p.as_str(), "Orphan" | "Background" | "Foreground") {
                return Err(ApiError::new(422, "Invalid", format!("DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"{p}\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\"")));
            }
        }
        Ok(o)
    }

    /// Reads a DeleteOptions object (also the body of an Eviction).
    pub fn from_value(v: &Value) -> DeleteOpts {
        let mut o = DeleteOpts {
            grace: v.get("gracePeriodSeconds").and_then(Value::as_i64),
            propagation: v
                .get("propagationPolicy")
                .and_then(Value::as_str)
                .map(String::from),
            pre_uid: v
                .pointer("/preconditions/uid")
                .and_then(Value::as_str)
                .map(String::from),
            pre_rv: v
                .pointer("/preconditions/resourceVersion")
                .and_then(Value::as_str)
                .map(String::from),
            dry_run: v
                .get("dryRun")
                .and_then(Value::as_array)
                .is_some_and(|d| d.iter().any(|x| x == "All")),
        };
        if v.get("orphanDependents").and_then(Value::as_bool) == Some(true)
            && o.propagation.is_none()
        {
            o.propagation = Some("Orphan".into());
        }
        o
    }
}

fn add_finalizer(obj: &mut Value, f: &str) {
    let mut fins = objects::finalizers(obj);
    if !fins.iter().any(|x| x == f) {
        fins.push(f.to_string());
    }
    if let Some(m) = meta_mut(obj) {
        m.insert("finalizers".into(), json!(fins));
    }
}

/// Fails unless the object still has the uid and resourceVersion the request requires.
fn check_preconditions(ctx: &Ctx, opts: &DeleteOpts, rev: i64, obj: &Value) -> ApiResult<()> {
    let res = ctx.res;
    let uid = meta_str(obj, "uid").unwrap_or("");
    if let Some(p) = &opts.pre_uid {
        if p != uid {
            return Err(ApiError::conflict(
                res.group,
                res.plural,
                ctx.name(),
                &format!(
                    "Precondition failed: UID in precondition: {p}, UID in object meta: {uid}"
                ),
            ));
        }
    }
    if let Some(p) = &opts.pre_rv {
        let cur = rev.to_string();
        if *p != cur {
            return Err(ApiError::conflict(res.group, res.plural, ctx.name(), &format!("Precondition failed: ResourceVersion in precondition: {p}, ResourceVersion in object meta: {cur}")));
        }
    }
    Ok(())
}

/// What deleting `obj` does: the propagation policy's finalizer, the kind's graceful
/// deletion, and finally finalizers, which keep a marked object until they are gone.
/// The object to write goes into `new`.
fn plan(strategy: &dyn Strategy, opts: &DeleteOpts, obj: &Value, new: &mut Value) -> Deletion {
    match opts.propagation.as_deref() {
        Some("Foreground") => add_finalizer(new, "foregroundDeletion"),
        Some("Orphan") => add_finalizer(new, "orphan"),
        _ => {}
    }
    match strategy.begin_delete(obj, new, opts.grace) {
        Deletion::Now if !objects::finalizers(new).is_empty() => {
            mark_deleted(new, objects::now_rfc3339(), 0, is_deleting(obj));
            Deletion::Pending
        }
        d => d,
    }
}

/// Removes the object if it is still at `rev`; `None` when it moved on.
async fn remove(ctx: &Ctx, rev: i64, obj: Value) -> ApiResult<Option<Value>> {
    match ctx.state.store.delete(&ctx.key(), Some(rev)).await {
        Ok(d) => {
            let mut o = obj;
            objects::set_rv(&mut o, d.mod_revision);
            Ok(Some(o))
        }
        Err(StoreError::Conflict { .. }) => Ok(None),
        Err(StoreError::NotFound(_)) => Err(ctx.not_found()),
        Err(e) => Err(e.into()),
    }
}

/// Deletes (or marks for deletion) the named object. Returns the object and
/// whether it is gone now.
pub async fn delete_named(ctx: &Ctx, opts: &DeleteOpts) -> ApiResult<(Value, bool)> {
    let strategy = ctx.strategy();
    strategy.check_delete(ctx.name())?;
    let dry_run = ctx.dry_run() || opts.dry_run;
    for _ in 0..16 {
        let (kv, obj) = ctx.load().await?;
        check_preconditions(ctx, opts, kv.mod_revision, &obj)?;
        let mut new = obj.clone();
        match plan(strategy, opts, &obj, &mut new) {
            Deletion::AlreadyPending => return Ok((obj, false)),
            Deletion::Pending if dry_run => return Ok((new, false)),
            // Written directly: deletion metadata is server-owned and the update path keeps it.
            Deletion::Pending => match commit_raw(ctx, kv.mod_revision, &obj, new).await? {
                Commit::Done(v) => return Ok((v, false)),
                Commit::Conflict => continue,
            },
            Deletion::Now if dry_run => return Ok((obj, true)),
            Deletion::Now => {
                if let Some(gone) = remove(ctx, kv.mod_revision, obj).await? {
                    return Ok((gone, true));
                }
            }
        }
    }
    Err(ApiError::conflict_modified(
        ctx.res.group,
        ctx.res.plural,
        ctx.name(),
    ))
}

async fn commit_raw(ctx: &Ctx, rev: i64, old: &Value, new: Value) -> ApiResult<Commit> {
    if old == &new {
        return Ok(Commit::Done(new));
    }
    // Not through `prepare`: it would restore the old deletion metadata.
    commit(ctx, rev, old, new).await
}

/// DELETE of one object.
pub async fn delete(ctx: &Ctx, body: &[u8]) -> ApiResult<Resp> {
    let opts = DeleteOpts::parse(ctx, body)?;
    let (obj, gone) = delete_named(ctx, &opts).await?;
    if !gone || ctx.strategy().returns_deleted_object() {
        return render::one(ctx, 200, &obj);
    }
    let details = json!({"name": ctx.name(), "group": ctx.res.group, "kind": ctx.res.plural, "uid": meta_str(&obj, "uid").unwrap_or("")});
    Ok(json_response(200, &render::success(details)))
}

/// DELETE of a collection (with selectors).
pub async fn delete_collection(ctx: &Ctx, body: &[u8]) -> ApiResult<Resp> {
    let opts = DeleteOpts::parse(ctx, body)?;
    let sel = Selectors::from_ctx(ctx)?;
    let prefix = objects::list_prefix(ctx.res, ctx.ns.as_deref());
    let list = ctx.state.store.list(&prefix, None, 0, None).await?;
    let mut deleted = Vec::new();
    for kv in &list.items {
        let Ok(obj) = objects::decode(kv) else {
            continue;
        };
        if !sel.matches(&obj) {
            continue;
        }
        let ns = meta_str(&obj, "namespace")
            .map(String::from)
            .or_else(|| ctx.ns.clone());
        let sub = ctx.for_object(ns, meta_str(&obj, "name").map(String::from));
        match delete_named(&sub, &opts).await {
            Ok((o, _)) => deleted.push(o),
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    let meta = json!({"resourceVersion": list.revision.to_string()});
    super::render::list(ctx, deleted, meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kind with no rules of its own.
    struct Plain;
    impl Strategy for Plain {}

    #[test]
    fn finalizers_and_propagation_keep_the_object() {
        let obj = |fins: Value, deleting: bool| {
            let mut o = json!({"metadata": {"name": "x", "finalizers": fins}});
            if deleting {
                o["metadata"]["deletionTimestamp"] = json!("2020-01-01T00:00:00Z");
            }
            o
        };
        // (stored object, propagation) → (outcome, finalizers written, timestamp kept)
        let cases = [
            (obj(json!([]), false), None, Deletion::Now, json!([])),
            (
                obj(json!(["a"]), false),
                None,
                Deletion::Pending,
                json!(["a"]),
            ),
            (
                obj(json!([]), false),
                Some("Orphan"),
                Deletion::Pending,
                json!(["orphan"]),
            ),
            (
                obj(json!([]), false),
                Some("Foreground"),
                Deletion::Pending,
                json!(["foregroundDeletion"]),
            ),
            (
                obj(json!(["orphan"]), false),
                Some("Orphan"),
                Deletion::Pending,
                json!(["orphan"]),
            ),
            (
                obj(json!([]), false),
                Some("Background"),
                Deletion::Now,
                json!([]),
            ),
            (
                obj(json!(["a"]), true),
                None,
                Deletion::Pending,
                json!(["a"]),
            ),
        ];
        for (stored, propagation, want, fins) in cases {
            let opts = DeleteOpts {
                propagation: propagation.map(String::from),
                ..Default::default()
            };
            let mut new = stored.clone();
            assert_eq!(
                plan(&Plain, &opts, &stored, &mut new),
                want,
                "{stored} {propagation:?}"
            );
            assert_eq!(new["metadata"]["finalizers"], fins);
            if want == Deletion::Pending {
                assert_eq!(new["metadata"]["deletionGracePeriodSeconds"], 0);
                let ts = &new["metadata"]["deletionTimestamp"];
                if is_deleting(&stored) {
                    assert_eq!(ts, &stored["metadata"]["deletionTimestamp"]);
                } else {
                    assert!(ts.is_string());
                }
            }
        }
    }
}
