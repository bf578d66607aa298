//! POST: create an object (generateName, namespace checks, defaulting, validation,
//! ClusterIP allocation) and the type checks shared with updates.

use super::{render, Ctx};
use crate::httputil::Resp;
use crate::objects::{self, meta_mut, meta_str};
use crate::resources::{
    apply_defaults, find_resource, strict_unknown_fields, validate_create, FieldCause,
};
use crate::status::{ApiError, ApiResult, Cause};
use serde_json::{json, Value};
use skiff_store::StoreError;

const NAME_CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// `generateName` + 5 random characters of upstream's alphabet.
pub fn generate_name(base: &str) -> String {
    let base = if base.len() > 58 { &base[..58] } else { base };
    let suffix: String = (0..5)
        .map(|_| NAME_CHARS[rand::random::<u32>() as usize % NAME_CHARS.len()] as char)
        .collect();
    format!("{base}{suffix}")
}

/// Converts validation causes into a 422.
pub fn invalid(ctx: &Ctx, name: &str, causes: Vec<FieldCause>) -> ApiError {
    let causes = causes
        .into_iter()
        .map(|c| Cause {
            reason: c.reason,
            field: c.field,
            message: c.message,
        })
        .collect();
    ApiError::invalid(ctx.res.group, ctx.res.kind, name, causes)
}

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

fn pod_qos(obj: &Value) -> &'static str {
    let cs = obj
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut any = false;
    let mut guaranteed = true;
    for c in &cs {
        let req = c.pointer("/resources/requests").and_then(Value::as_object);
        let lim = c.pointer("/resources/limits").and_then(Value::as_object);
        if req.map(|r| !r.is_empty()).unwrap_or(false)
            || lim.map(|l| !l.is_empty()).unwrap_or(false)
        {
            any = true;
        }
        let ok = ["cpu", "memory"].iter().all(|k| {
            let l = lim.and_then(|l| l.get(*k));
            l.is_some()
                && req
                    .and_then(|r| r.get(*k))
                    .map(|r| Some(r) == l)
                    .unwrap_or(true)
        });
        guaranteed &= ok;
    }
    if !any {
        "BestEffort"
    } else if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// Kind-specific preparation on create (status reset, namespace finalizer, pod phase).
fn prepare_kind(ctx: &Ctx, obj: &mut Value) {
    match (ctx.res.group, ctx.res.kind) {
        ("", "Namespace") => {
            if obj.pointer("/spec/finalizers").is_none() {
                obj["spec"] = json!({"finalizers": ["kubernetes"]});
            }
            obj["status"] = json!({"phase": "Active"});
        }
        ("", "Pod") => {
            ctx.state.default_tolerations.admit_pod(obj);
            let qos = pod_qos(obj);
            obj["status"] = json!({"phase": "Pending", "qosClass": qos});
        }
        ("apps", _) | ("batch", _) => {
            obj["status"] = json!({});
        }
        _ => {}
    }
}

async fn allocate_service(ctx: &Ctx, obj: &mut Value) -> ApiResult<()> {
    let ty = obj
        .pointer("/spec/type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
        .to_string();
    if ty == "ExternalName" {
        return Ok(());
    }
    let svcres = ctx.res;
    let all = ctx
        .state
        .store
        .list(&objects::resource_prefix(svcres), None, 0, None)
        .await?;
    let svcs: Vec<Value> = all
        .items
        .iter()
        .filter_map(|kv| objects::decode(kv).ok())
        .collect();
    let (ips, ports) = crate::ipalloc::used(&svcs);
    let given = obj
        .pointer("/spec/clusterIP")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let cidr = ctx.state.service_cidr;
    let bad_ip = |ip: &str, why: String| {
        invalid(
            ctx,
            meta_str(obj, "name").unwrap_or(""),
            vec![FieldCause {
                reason: "FieldValueInvalid".into(),
                field: "spec.clusterIPs".into(),
                message: format!("Invalid value: []string{{\"{ip}\"}}: {why}"),
            }],
        )
    };
    let ip = match given.as_str() {
        "None" => "None".to_string(),
        "" => cidr
            .allocate(&ips)
            .map(|i| i.to_string())
            .ok_or_else(|| ApiError::internal("failed to allocate a serviceIP: range is full"))?,
        ip => {
            let parsed: std::net::Ipv4Addr = ip
                .parse()
                .map_err(|_| bad_ip(ip, "must be a valid IP address".into()))?;
            if !cidr.contains(parsed) {
                return Err(bad_ip(ip, format!("failed to allocate IP {ip}: the provided IP ({ip}) is not in the valid range. The range of valid IPs is {}/{}", std::net::Ipv4Addr::from(cidr.base), cidr.bits)));
            }
            if ips.contains(ip) {
                return Err(bad_ip(
                    ip,
                    format!("failed to allocate IP {ip}: provided IP is already allocated"),
                ));
            }
            ip.to_string()
        }
    };
    let spec = obj.get_mut("spec").and_then(Value::as_object_mut);
    let Some(spec) = spec else { return Ok(()) };
    spec.insert("clusterIP".into(), json!(ip));
    spec.insert("clusterIPs".into(), json!([ip]));
    if ip != "None" {
        spec.entry("ipFamilies").or_insert(json!(["IPv4"]));
        spec.entry("ipFamilyPolicy").or_insert(json!("SingleStack"));
    }
    spec.entry("internalTrafficPolicy")
        .or_insert(json!("Cluster"));
    if ty == "NodePort" || ty == "LoadBalancer" {
        let mut used = ports;
        if let Some(ps) = spec.get_mut("ports").and_then(Value::as_array_mut) {
            for p in ps.iter_mut() {
                if p.get("nodePort").and_then(Value::as_i64).unwrap_or(0) == 0 {
                    if let Some(np) = crate::ipalloc::allocate_node_port(&used) {
                        used.insert(np);
                        p["nodePort"] = json!(np);
                    }
                }
            }
        }
        spec.entry("externalTrafficPolicy")
            .or_insert(json!("Cluster"));
    }
    Ok(())
}

/// Prepares and stores a new object; returns it as stored.
pub async fn create_object(ctx: &Ctx, mut obj: Value) -> ApiResult<Value> {
    check_type(ctx, &mut obj)?;
    check_namespace(ctx, &mut obj)?;
    field_validation(ctx, &obj)?;
    let name = meta_str(&obj, "name").unwrap_or("").to_string();
    let gen = meta_str(&obj, "generateName").unwrap_or("").to_string();
    if name.is_empty() && gen.is_empty() {
        return Err(invalid(
            ctx,
            "",
            vec![FieldCause {
                reason: "FieldValueRequired".into(),
                field: "metadata.name".into(),
                message: "Required value: name or generateName is required".into(),
            }],
        ));
    }
    check_target_namespace(ctx, &name).await?;
    {
        let m = meta_mut(&mut obj)
            .ok_or_else(|| ApiError::bad_request("metadata must be an object"))?;
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
    }
    if obj.get("spec").is_some()
        && ctx.res.kind != "Namespace"
        && ctx.res.kind != "Service"
        && ctx.res.kind != "Node"
    {
        if let Some(m) = meta_mut(&mut obj) {
            m.insert("generation".into(), json!(1));
        }
    }
    prepare_kind(ctx, &mut obj);
    apply_defaults(ctx.res, &mut obj);
    ctx.track_fields(None, &mut obj, None);
    let vname = if name.is_empty() {
        gen.clone()
    } else {
        name.clone()
    };
    let mut probe = obj.clone();
    if name.is_empty() {
        if let Some(m) = meta_mut(&mut probe) {
            m.insert("name".into(), json!(generate_name(&gen)));
        }
    }
    let causes = validate_create(ctx.res, &probe);
    if !causes.is_empty() {
        return Err(invalid(ctx, &vname, causes));
    }
    let _guard = if ctx.res.kind == "Service" && ctx.res.group.is_empty() {
        let g = ctx.state.alloc_lock.lock().await;
        allocate_service(ctx, &mut obj).await?;
        Some(g)
    } else {
        None
    };
    for _attempt in 0..8 {
        let mut o = obj.clone();
        let n = if name.is_empty() {
            generate_name(&gen)
        } else {
            name.clone()
        };
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
            Err(StoreError::AlreadyExists(_)) if name.is_empty() => continue,
            Err(StoreError::AlreadyExists(_)) => {
                return Err(ApiError::already_exists(ctx.res.group, ctx.res.plural, &n))
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::already_exists(
        ctx.res.group,
        ctx.res.plural,
        &gen,
    ))
}

/// POST handler.
pub async fn create(ctx: &Ctx, obj: Value) -> ApiResult<Resp> {
    let o = create_object(ctx, obj).await?;
    render::one(ctx, 201, &o)
}
