//! DELETE and deletecollection: preconditions, graceful pod deletion, finalizers,
//! propagation policy finalizers, namespace termination.

use super::read::Selectors;
use super::update::{commit, Commit};
use super::{render, Ctx};
use crate::httputil::{json_response, Resp};
use crate::objects::{self, meta_mut, meta_str};
use crate::status::{ApiError, ApiResult};
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

fn rfc3339_in(secs: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(secs))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Deletes (or marks for deletion) the named object. Returns the object and
/// whether it is gone now.
pub async fn delete_named(ctx: &Ctx, opts: &DeleteOpts) -> ApiResult<(Value, bool)> {
    let res = ctx.res;
    if res.group.is_empty()
        && res.kind == "Namespace"
        && matches!(ctx.name(), "default" | "kube-system" | "kube-public")
    {
        return Err(ApiError::forbidden(
            "",
            "namespaces",
            ctx.name(),
            "this namespace may not be deleted",
        ));
    }
    for _ in 0..16 {
        let (kv, obj) = ctx.load().await?;
        let uid = meta_str(&obj, "uid").unwrap_or("");
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
            let cur = kv.mod_revision.to_string();
            if *p != cur {
                return Err(ApiError::conflict(res.group, res.plural, ctx.name(), &format!("Precondition failed: ResourceVersion in precondition: {p}, ResourceVersion in object meta: {cur}")));
            }
        }
        let mut new = obj.clone();
        match opts.propagation.as_deref() {
            Some("Foreground") => add_finalizer(&mut new, "foregroundDeletion"),
            Some("Orphan") => add_finalizer(&mut new, "orphan"),
            _ => {}
        }
        let deleting = obj.pointer("/metadata/deletionTimestamp").is_some();
        let is_pod = res.group.is_empty() && res.kind == "Pod";
        let mut pending = false;
        if is_pod {
            let bound = obj
                .pointer("/spec/nodeName")
                .and_then(Value::as_str)
                .map(|n| !n.is_empty())
                .unwrap_or(false);
            let done = matches!(
                obj.pointer("/status/phase").and_then(Value::as_str),
                Some("Succeeded") | Some("Failed")
            );
            let default = obj
                .pointer("/spec/terminationGracePeriodSeconds")
                .and_then(Value::as_i64)
                .unwrap_or(30);
            let grace = if !bound || done {
                0
            } else {
                opts.grace.unwrap_or(default).max(0)
            };
            let current = obj
                .pointer("/metadata/deletionGracePeriodSeconds")
                .and_then(Value::as_i64);
            if grace > 0 {
                if deleting && current.map(|c| c <= grace).unwrap_or(false) {
                    return Ok((obj, false));
                }
                if let Some(m) = meta_mut(&mut new) {
                    m.insert("deletionTimestamp".into(), json!(rfc3339_in(grace)));
                    m.insert("deletionGracePeriodSeconds".into(), json!(grace));
                }
                pending = true;
            }
        }
        if !pending && res.group.is_empty() && res.kind == "Namespace" {
            let spec_fins = new
                .pointer("/spec/finalizers")
                .and_then(Value::as_array)
                .map(|a| !a.is_empty())
                .unwrap_or(false);
            if spec_fins {
                if !deleting {
                    if let Some(m) = meta_mut(&mut new) {
                        m.insert("deletionTimestamp".into(), json!(objects::now_rfc3339()));
                        m.insert("deletionGracePeriodSeconds".into(), json!(0));
                    }
                }
                new["status"] = json!({"phase": "Terminating"});
                pending = true;
            }
        }
        if !pending && !objects::finalizers(&new).is_empty() {
            if let Some(m) = meta_mut(&mut new) {
                if !deleting {
                    m.insert("deletionTimestamp".into(), json!(objects::now_rfc3339()));
                }
                m.insert("deletionGracePeriodSeconds".into(), json!(0));
            }
            pending = true;
        }
        if pending {
            // Written directly: deletion metadata is server-owned and the update path keeps it.
            if ctx.dry_run() || opts.dry_run {
                return Ok((new, false));
            }
            match commit_raw(ctx, kv.mod_revision, &obj, new).await? {
                Commit::Done(v) => return Ok((v, false)),
                Commit::Conflict => continue,
            }
        }
        if ctx.dry_run() || opts.dry_run {
            return Ok((obj, true));
        }
        match ctx
            .state
            .store
            .delete(&ctx.key(), Some(kv.mod_revision))
            .await
        {
            Ok(d) => {
                let mut o = obj;
                objects::set_rv(&mut o, d.mod_revision);
                return Ok((o, true));
            }
            Err(StoreError::Conflict { .. }) => continue,
            Err(StoreError::NotFound(_)) => return Err(ctx.not_found()),
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::conflict_modified(
        res.group,
        res.plural,
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

fn returns_object(ctx: &Ctx) -> bool {
    ctx.res.group.is_empty()
        && matches!(ctx.res.plural, "pods" | "services" | "namespaces" | "nodes")
}

/// DELETE of one object.
pub async fn delete(ctx: &Ctx, body: &[u8]) -> ApiResult<Resp> {
    let opts = DeleteOpts::parse(ctx, body)?;
    let (obj, gone) = delete_named(ctx, &opts).await?;
    if !gone || returns_object(ctx) {
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
        let sub = Ctx {
            state: ctx.state.clone(),
            res: ctx.res,
            ns: meta_str(&obj, "namespace")
                .map(String::from)
                .or_else(|| ctx.ns.clone()),
            name: meta_str(&obj, "name").map(String::from),
            sub: None,
            rest: String::new(),
            query: ctx.query.clone(),
            output: ctx.output,
            headers: ctx.headers.clone(),
            method: ctx.method.clone(),
            warnings: Default::default(),
        };
        match delete_named(&sub, &opts).await {
            Ok((o, _)) => deleted.push(o),
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    let meta = json!({"resourceVersion": list.revision.to_string()});
    super::render::list(ctx, deleted, meta)
}
