//! POST: create an object (generateName, namespace checks, server metadata, the kind's
//! strategy, defaulting, validation) and the type checks shared with updates.

use super::{render, Ctx};
use crate::httputil::Resp;
use crate::objects::{self, meta_mut, meta_str};
use crate::resources::{apply_defaults, find_resource, strict_unknown_fields, FieldCause};
use crate::status::{ApiError, ApiResult, Cause};
use serde_json::{json, Value};
use skiff_store::StoreError;

/// Checks apiVersion/kind of a body and fills them in when absent.
pub fn check_type(ctx: &Ctx, obj: &mut Value) -> ApiResult<()> {
    let want_av = ctx.res.api_version();
    let Some(m) = obj.as_object_mut() else {
        return Err(ApiError::bad_request(
            "the object provided is not a JSON object",
        ));
    };
    match m.get("apiVersion").and_then(Value::as_str) {
        Some(av) if av != want_av => {
            return Err(ApiError::bad_request(format!("the API version in the data ({av}) does not match the expected API version ({want_av})")));
        }
        _ => {}
    }
    match m.get("kind").and_then(Value::as_str) {
        Some(k) if k != ctx.res.kind => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind ({})",
                ctx.res.kind
            )));
        }
        _ => {}
    }
    m.insert("apiVersion".into(), json!(want_av));
    m.insert("kind".into(), json!(ctx.res.kind));
    Ok(())
}

/// Reconciles the body's namespace with the path's.
pub fn check_namespace(ctx: &Ctx, obj: &mut Value) -> ApiResult<()> {
    let body_ns = meta_str(obj, "namespace").unwrap_or("").to_string();
    let Some(m) = meta_mut(obj) else {
        return Ok(());
    };
    if !ctx.res.namespaced {
        m.remove("namespace");
        return Ok(());
    }
    let path_ns = ctx.ns.clone().unwrap_or_default();
    if path_ns.is_empty() {
        return Err(ApiError::bad_request(
            "the namespace of the object must be set in the URL for namespaced resources",
        ));
    }
    if !body_ns.is_empty() && body_ns != path_ns {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    m.insert("namespace".into(), json!(path_ns));
    Ok(())
}

/// Unknown-field handling per `fieldValidation` (Strict → 400, Warn → warnings).
pub fn field_validation(ctx: &Ctx, obj: &Value) -> ApiResult<()> {
    let mode = ctx.query.get("fieldValidation").unwrap_or("Warn");
    if mode == "Ignore" {
        return Ok(());
    }
    let unknown = strict_unknown_fields(ctx.res, obj);
    if unknown.is_empty() {
        return Ok(());
    }
    if mode == "Strict" {
        let msgs: Vec<String> = unknown
            .iter()
            .map(|f| format!("unknown field \"{f}\""))
            .collect();
        return Err(ApiError::bad_request(format!(
            "strict decoding error: {}",
            msgs.join(", ")
        )));
    }
    for f in unknown {
        ctx.warn(format!("unknown field \"{f}\""));
    }
    Ok(())
}

async fn check_target_namespace(ctx: &Ctx, name: &str) -> ApiResult<()> {
    let Some(ns) = ctx.ns.as_deref().filter(|_| ctx.res.namespaced) else {
        return Ok(());
    };
    let Some(nsres) = find_resource("", "v1", "namespaces") else {
        return Ok(());
    };
    let kv = ctx
        .state
        .store
        .get(&objects::object_key(nsres, None, ns), None)
        .await?;
    let Some(kv) = kv else {
        return Err(ApiError::not_found("", "namespaces", ns));
    };
    let nsobj = objects::decode(&kv).map_err(ApiError::internal)?;
    let terminating = nsobj.pointer("/metadata/deletionTimestamp").is_some()
        || nsobj.pointer("/status/phase").and_then(Value::as_str) == Some("Terminating");
    if terminating {
        let mut e = ApiError::forbidden(
            ctx.res.group,
            ctx.res.plural,
            name,
            &format!(
                "unable to create new content in namespace {ns} because it is being terminated"
            ),
        );
        e.details.causes.push(Cause {
            reason: "NamespaceTerminating".into(),
            field: "metadata.namespace".into(),
            message: format!("namespace {ns} is being terminated"),
        });
        return Err(e);
    }
    Ok(())
}

/// The name of a new object, or the `generateName` prefix to make one from.
struct NewName {
    name: String,
    generate: String,
}

impl NewName {
    fn of(ctx: &Ctx, obj: &Value) -> ApiResult<NewName> {
        let name = meta_str(obj, "name").unwrap_or("").to_string();
        let generate = meta_str(obj, "generateName").unwrap_or("").to_string();
        if name.is_empty() && generate.is_empty() {
            return Err(ctx.invalid(
                "",
                vec![FieldCause {
                    reason: "FieldValueRequired".into(),
                    field: "metadata.name".into(),
                    message: "Required value: name or generateName is required".into(),
                }],
            ));
        }
        Ok(NewName { name, generate })
    }

    /// The name to try: the given one, or a fresh generated one.
    fn pick(&self) -> String {
        if self.name.is_empty() {
            skiff_api::names::generate_name(&self.generate)
        } else {
            self.name.clone()
        }
    }

    /// The name validation errors are about.
    fn shown(&self) -> &str {
        if self.name.is_empty() {
            &self.generate
        } else {
            &self.name
        }
    }
}

/// Server-owned metadata of a new object: a fresh uid and creation time, nothing the
/// client sent of the rest; generation 1 for kinds that track it.
fn init_metadata(obj: &mut Value, tracks_generation: bool) -> ApiResult<()> {
    let has_spec = obj.get("spec").is_some();
    let m = meta_mut(obj).ok_or_else(|| ApiError::bad_request("metadata must be an object"))?;
    for k in [
        "uid",
        "resourceVersion",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
    ] {
        m.remove(k);
    }
    m.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
    m.insert("creationTimestamp".into(), json!(objects::now_rfc3339()));
    if has_spec && tracks_generation {
        m.insert("generation".into(), json!(1));
    }
    Ok(())
}

/// Validates the object as it will be stored (with a generated name in place).
fn validate_new(ctx: &Ctx, obj: &Value, names: &NewName) -> ApiResult<()> {
    let mut probe = obj.clone();
    if names.name.is_empty() {
        if let Some(m) = meta_mut(&mut probe) {
            m.insert(
                "name".into(),
                json!(skiff_api::names::generate_name(&names.generate)),
            );
        }
    }
    let causes = ctx.strategy().validate(ctx.res, &probe);
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ctx.invalid(names.shown(), causes))
    }
}

/// Writes the new object, retrying generated names that are taken.
async fn store_new(ctx: &Ctx, obj: Value, names: &NewName) -> ApiResult<Value> {
    for _attempt in 0..8 {
        let mut o = obj.clone();
        let n = names.pick();
        if let Some(m) = meta_mut(&mut o) {
            m.insert("name".into(), json!(n));
        }
        if ctx.dry_run() {
            return Ok(o);
        }
        let key = objects::object_key(ctx.res, ctx.ns.as_deref(), &n);
        match ctx.state.store.create(&key, objects::encode(&o)).await {
            Ok(kv) => {
                objects::set_rv(&mut o, kv.mod_revision);
                return Ok(o);
            }
            Err(StoreError::AlreadyExists(_)) if names.name.is_empty() => continue,
            Err(StoreError::AlreadyExists(_)) => {
                return Err(ApiError::already_exists(ctx.res.group, ctx.res.plural, &n))
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::already_exists(
        ctx.res.group,
        ctx.res.plural,
        &names.generate,
    ))
}

/// Prepares and stores a new object; returns it as stored.
pub async fn create_object(ctx: &Ctx, mut obj: Value) -> ApiResult<Value> {
    let strategy = ctx.strategy();
    check_type(ctx, &mut obj)?;
    check_namespace(ctx, &mut obj)?;
    field_validation(ctx, &obj)?;
    let names = NewName::of(ctx, &obj)?;
    check_target_namespace(ctx, &names.name).await?;
    init_metadata(&mut obj, strategy.tracks_generation())?;
    strategy.prepare_for_create(&mut obj);
    apply_defaults(ctx.res, &mut obj);
    ctx.track_fields(None, &mut obj, None);
    validate_new(ctx, &obj, &names)?;
    strategy.canonicalize(&mut obj);
    // Held until the object (and what it allocated) is stored.
    let _allocated = strategy.allocate(ctx, &mut obj).await?;
    store_new(ctx, obj, &names).await
}

/// POST handler.
pub async fn create(ctx: &Ctx, obj: Value) -> ApiResult<Resp> {
    let o = create_object(ctx, obj).await?;
    render::one(ctx, 201, &o)
}
