//! PUT (and the shared update pipeline used by PATCH and subresources): keeps
//! server-owned metadata, bumps generation, splits status from spec, applies the kind's
//! update strategy, validates, writes with compare-and-swap and deletes objects whose
//! last finalizer went away.

use super::create::{check_namespace, check_type, field_validation};
use super::{render, Ctx};
use crate::httputil::Resp;
use crate::objects::{self, meta_mut, meta_str};
use crate::resources::apply_defaults;
use crate::status::{ApiError, ApiResult};
use serde_json::{json, Value};
use skiff_store::StoreError;

/// Which part of the object an update may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The main resource: everything but status (for kinds with a status subresource).
    Main,
    /// `/status`: only status.
    Status,
    /// `namespaces/<n>/finalize`: only spec.finalizers.
    Finalize,
    /// `pods/<n>/binding`: the main resource, where setting `spec.nodeName` is allowed.
    Binding,
}

const SERVER_META: &[&str] = &[
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "selfLink",
];

/// The URL's name wins; a different name in the body is an error.
fn check_name(ctx: &Ctx, new: &mut Value) -> ApiResult<()> {
    let url_name = ctx.name();
    match meta_str(new, "name") {
        Some(n) if !n.is_empty() && n != url_name => {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({n}) does not match the name on the URL ({url_name})"
            )));
        }
        _ => {}
    }
    if let Some(m) = meta_mut(new) {
        m.insert("name".into(), json!(url_name));
    }
    Ok(())
}

/// The part of `new` that `mode` may change, over `old`.
fn take_allowed(ctx: &Ctx, old: &Value, mut new: Value, mode: Mode) -> Value {
    match mode {
        Mode::Main | Mode::Binding => {
            if ctx.res.subresources.contains(&"status") {
                match old.get("status") {
                    Some(s) => new["status"] = s.clone(),
                    None => {
                        if let Some(m) = new.as_object_mut() {
                            m.remove("status");
                        }
                    }
                }
            }
            new
        }
        Mode::Status => {
            let mut o = old.clone();
            o["status"] = new.get("status").cloned().unwrap_or(Value::Null);
            if o["status"].is_null() {
                if let Some(m) = o.as_object_mut() {
                    m.remove("status");
                }
            }
            o
        }
        Mode::Finalize => {
            let mut o = old.clone();
            let f = new
                .pointer("/spec/finalizers")
                .cloned()
                .unwrap_or(json!([]));
            if !o.get("spec").map(Value::is_object).unwrap_or(false) {
                o["spec"] = json!({});
            }
            o["spec"]["finalizers"] = f;
            o
        }
    }
}

/// Server-owned metadata always comes from the stored object; a spec change bumps the
/// generation.
fn keep_server_metadata(ctx: &Ctx, old: &Value, out: &mut Value) {
    let old_meta = old.get("metadata").cloned().unwrap_or(json!({}));
    if let Some(m) = meta_mut(out) {
        for k in SERVER_META {
            match old_meta.get(*k) {
                Some(v) => {
                    m.insert((*k).to_string(), v.clone());
                }
                None => {
                    m.remove(*k);
                }
            }
        }
        if ctx.res.namespaced {
            if let Some(ns) = old_meta.get("namespace") {
                m.insert("namespace".into(), ns.clone());
            }
        }
    }
    if let Some(g) = old_meta.get("generation").and_then(Value::as_i64) {
        if old.get("spec") != out.get("spec") {
            if let Some(m) = meta_mut(out) {
                m.insert("generation".into(), json!(g + 1));
            }
        }
    }
}

/// Validates the update. A binding is the one sanctioned way to set a pod's nodeName:
/// the rest of it is validated as if the old object had been bound already.
fn validate(ctx: &Ctx, old: &Value, out: &Value, mode: Mode) -> ApiResult<()> {
    let causes = if mode == Mode::Binding {
        let mut bound = old.clone();
        if let Some(node) = out.pointer("/spec/nodeName") {
            bound["spec"]["nodeName"] = node.clone();
        }
        ctx.strategy().validate_update(ctx.res, out, &bound)
    } else {
        ctx.strategy().validate_update(ctx.res, out, old)
    };
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ctx.invalid(ctx.name(), causes))
    }
}

/// Builds the object to store from the old one and the requested new one.
pub fn prepare(ctx: &Ctx, old: &Value, mut new: Value, mode: Mode) -> ApiResult<Value> {
    check_type(ctx, &mut new)?;
    check_namespace(ctx, &mut new)?;
    check_name(ctx, &mut new)?;
    let mut out = take_allowed(ctx, old, new, mode);
    if matches!(mode, Mode::Main | Mode::Binding) {
        field_validation(ctx, &out)?;
    }
    keep_server_metadata(ctx, old, &mut out);
    apply_defaults(ctx.res, &mut out);
    let sub = match mode {
        Mode::Main => None,
        Mode::Status => Some("status"),
        Mode::Finalize => Some("finalize"),
        Mode::Binding => Some("binding"),
    };
    ctx.track_fields(Some(old), &mut out, sub);
    ctx.strategy().prepare_for_update(&mut out, old);
    validate(ctx, old, &out, mode)?;
    ctx.strategy().canonicalize(&mut out);
    Ok(out)
}

fn should_delete(ctx: &Ctx, old: &Value, new: &Value) -> bool {
    if !objects::finalizers(new).is_empty() || new.pointer("/metadata/deletionTimestamp").is_none()
    {
        return false;
    }
    ctx.strategy().deleted_by_update(old, new)
}

/// Outcome of a compare-and-swap write.
pub enum Commit {
    /// Written (or deleted); the resulting object.
    Done(Value),
    /// The stored revision moved on.
    Conflict,
}

/// Writes `new` if the object is still at `old_rev`.
pub async fn commit(ctx: &Ctx, old_rev: i64, old: &Value, new: Value) -> ApiResult<Commit> {
    let mut new = new;
    let same = {
        let mut a = old.clone();
        let mut b = new.clone();
        for v in [&mut a, &mut b] {
            if let Some(m) = meta_mut(v) {
                m.remove("resourceVersion");
            }
        }
        a == b
    };
    if same {
        return Ok(Commit::Done(old.clone()));
    }
    if ctx.dry_run() {
        return Ok(Commit::Done(new));
    }
    let key = ctx.key();
    if should_delete(ctx, old, &new) {
        return match ctx.state.store.delete(&key, Some(old_rev)).await {
            Ok(kv) => {
                objects::set_rv(&mut new, kv.mod_revision);
                Ok(Commit::Done(new))
            }
            Err(StoreError::Conflict { .. }) => Ok(Commit::Conflict),
            Err(StoreError::NotFound(_)) => Err(ctx.not_found()),
            Err(e) => Err(e.into()),
        };
    }
    match ctx
        .state
        .store
        .update(&key, objects::encode(&new), old_rev)
        .await
    {
        Ok(kv) => {
            objects::set_rv(&mut new, kv.mod_revision);
            Ok(Commit::Done(new))
        }
        Err(StoreError::Conflict { .. }) => Ok(Commit::Conflict),
        Err(StoreError::NotFound(_)) => Err(ctx.not_found()),
        Err(e) => Err(e.into()),
    }
}

/// Applies `f` to the current object and writes the result, retrying on conflicts.
pub async fn update_with<F>(ctx: &Ctx, mode: Mode, mut f: F) -> ApiResult<Value>
where
    F: FnMut(&Value) -> ApiResult<Value>,
{
    for _ in 0..16 {
        let (kv, old) = ctx.load().await?;
        let requested = f(&old)?;
        let new = prepare(ctx, &old, requested, mode)?;
        if let Commit::Done(v) = commit(ctx, kv.mod_revision, &old, new).await? {
            return Ok(v);
        }
    }
    Err(ApiError::conflict_modified(
        ctx.res.group,
        ctx.res.plural,
        ctx.name(),
    ))
}

/// PUT handler (main resource, /status, /finalize).
pub async fn put(ctx: &Ctx, body: Value, mode: Mode) -> ApiResult<Resp> {
    let body_rv = meta_str(&body, "resourceVersion")
        .filter(|s| !s.is_empty())
        .map(String::from);
    loop {
        let (kv, old) = match ctx.load().await {
            Ok(x) => x,
            Err(e)
                if e.code == 404
                    && mode == Mode::Main
                    && ctx.strategy().allow_create_on_update() =>
            {
                let o = super::create::create_object(ctx, body).await?;
                return render::one(ctx, 201, &o);
            }
            Err(e) => return Err(e),
        };
        if let Some(rv) = &body_rv {
            if *rv != kv.mod_revision.to_string() {
                return Err(ApiError::conflict_modified(
                    ctx.res.group,
                    ctx.res.plural,
                    ctx.name(),
                ));
            }
        }
        let new = prepare(ctx, &old, body.clone(), mode)?;
        match commit(ctx, kv.mod_revision, &old, new).await? {
            Commit::Done(v) => return render::one(ctx, 200, &v),
            Commit::Conflict if body_rv.is_some() => {
                return Err(ApiError::conflict_modified(
                    ctx.res.group,
                    ctx.res.plural,
                    ctx.name(),
                ));
            }
            Commit::Conflict => continue,
        }
    }
}
