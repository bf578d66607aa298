//! Resource requests: the per-request context and dispatch by verb and subresource.

mod create;
mod delete;
mod patch;
mod proxy;
mod read;
mod render;
mod stream;
mod subres;
mod update;
mod watch;
mod watch_event;

use crate::httputil::{content_type, error_response, read_body, Output, Query, Resp};
use crate::objects;
use crate::path::ResourcePath;
use crate::resources::{find_resource, FieldCause, ResourceInfo};
use crate::state::State;
use crate::status::{ApiError, ApiResult, Cause};
use crate::strategy::Strategy;
use bytes::Bytes;
use http::{HeaderMap, Method, Request};
use hyper::body::Incoming;
use serde_json::Value;
use skiff_http::Warnings;
use std::sync::Arc;

/// Everything a resource handler needs about one request.
pub struct Ctx {
    /// Shared state.
    pub state: Arc<State>,
    /// The resource addressed.
    pub res: &'static ResourceInfo,
    /// Namespace from the path (namespaced resources only).
    pub ns: Option<String>,
    /// Object name from the path.
    pub name: Option<String>,
    /// Subresource.
    pub sub: Option<String>,
    /// Path after the subresource (proxy).
    pub rest: String,
    /// Query parameters.
    pub query: Query,
    /// Negotiated representation.
    pub output: Output,
    /// Request headers.
    pub headers: HeaderMap,
    /// Request method.
    pub method: Method,
    /// `Warning` headers to add (the response-headers layer writes them).
    pub warnings: Warnings,
}

impl Ctx {
    /// The object name (handlers only call this on object paths).
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }

    /// The storage key of the named object.
    pub fn key(&self) -> String {
        objects::object_key(self.res, self.ns.as_deref(), self.name())
    }

    /// `dryRun=All`.
    pub fn dry_run(&self) -> bool {
        self.query
            .pairs
            .iter()
            .any(|(k, v)| k == "dryRun" && v == "All")
    }

    /// Adds a `Warning` header.
    pub fn warn(&self, msg: String) {
        self.warnings.push(msg);
    }

    /// The kind-specific rules of the addressed resource.
    pub fn strategy(&self) -> &dyn Strategy {
        self.state.strategies.get(self.res)
    }

    /// A copy addressing another object of the same resource (same request otherwise).
    pub fn for_object(&self, ns: Option<String>, name: Option<String>) -> Ctx {
        Ctx {
            state: self.state.clone(),
            res: self.res,
            ns,
            name,
            sub: None,
            rest: String::new(),
            query: self.query.clone(),
            output: self.output,
            headers: self.headers.clone(),
            method: self.method.clone(),
            warnings: self.warnings.clone(),
        }
    }

    /// Validation causes as a 422 about the object `name`.
    pub fn invalid(&self, name: &str, causes: Vec<FieldCause>) -> ApiError {
        let causes = causes
            .into_iter()
            .map(|c| Cause {
                reason: c.reason,
                field: c.field,
                message: c.message,
            })
            .collect();
        ApiError::invalid(self.res.group, self.res.kind, name, causes)
    }

    /// The field manager of a non-apply write: `fieldManager`, else the user agent's program name.
    pub fn manager(&self) -> String {
        if let Some(m) = self.query.nonempty("fieldManager") {
            return m.to_string();
        }
        let ua = self
            .headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let prog = ua.split('/').next().unwrap_or("").trim();
        if prog.is_empty() {
            "unknown".into()
        } else {
            prog.to_string()
        }
    }

    /// Whether this request is a server-side apply (which records its own managed fields).
    pub fn is_apply(&self) -> bool {
        crate::httputil::content_type(&self.headers).starts_with("application/apply-patch")
    }

    /// Records a non-apply write in `metadata.managedFields`.
    pub fn track_fields(&self, old: Option<&Value>, new: &mut Value, sub: Option<&str>) {
        if !self.is_apply() {
            crate::resources::update_managed_fields(
                self.res,
                old,
                new,
                &self.manager(),
                sub,
                chrono::Utc::now(),
            );
        }
    }

    /// 404 for the named object.
    pub fn not_found(&self) -> ApiError {
        ApiError::not_found(self.res.group, self.res.plural, self.name())
    }

    /// Reads the named object with its revision.
    pub async fn load(&self) -> ApiResult<(skiff_store::KeyValue, Value)> {
        let kv = self
            .state
            .store
            .get(&self.key(), None)
            .await?
            .ok_or_else(|| self.not_found())?;
        let v = objects::decode(&kv).map_err(ApiError::internal)?;
        Ok((kv, v))
    }
}

/// Handles a request addressed to a resource.
pub async fn dispatch(
    state: Arc<State>,
    rp: ResourcePath,
    req: Request<Incoming>,
    output: Output,
) -> Resp {
    let Some(res) = find_resource(&rp.group, &rp.version, &rp.plural) else {
        return error_response(&ApiError::no_route());
    };
    if (!res.namespaced && rp.namespace.is_some())
        || rp
            .sub
            .as_deref()
            .map(|s| !res.subresources.contains(&s))
            .unwrap_or(false)
    {
        return error_response(&ApiError::no_route());
    }
    let query = Query::parse(req.uri().query());
    let ctx = Ctx {
        state,
        res,
        ns: rp.namespace.clone(),
        name: rp.name.clone(),
        sub: rp.sub.clone(),
        rest: rp.rest.clone(),
        query,
        output,
        headers: req.headers().clone(),
        method: req.method().clone(),
        warnings: req
            .extensions()
            .get::<Warnings>()
            .cloned()
            .unwrap_or_default(),
    };
    match route(&ctx, rp.watch, req).await {
        Ok(r) => r,
        Err(e) => error_response(&e),
    }
}

async fn body_object(ctx: &Ctx, req: Request<Incoming>) -> ApiResult<Value> {
    let body = read_body(req.into_body()).await?;
    let kind = match ctx.sub.as_deref() {
        Some("eviction") => "Eviction",
        Some("binding") => "Binding",
        Some("scale") => "Scale",
        _ => ctx.res.kind,
    };
    crate::decode::request_object(kind, &content_type(&ctx.headers), &body)
}

async fn body_bytes(req: Request<Incoming>) -> ApiResult<Bytes> {
    read_body(req.into_body()).await
}

async fn route(ctx: &Ctx, watch_path: bool, req: Request<Incoming>) -> ApiResult<Resp> {
    let m = ctx.method.clone();
    if let Some(sub) = ctx.sub.clone() {
        return subresource(ctx, &sub, req).await;
    }
    let watching = watch_path || ctx.query.flag("watch");
    match (m, ctx.name.is_some()) {
        (Method::GET, _) if watching => watch::serve(ctx).await,
        (Method::GET, true) => read::get(ctx).await,
        (Method::GET, false) => read::list(ctx).await,
        (Method::POST, false) => {
            let obj = body_object(ctx, req).await?;
            create::create(ctx, obj).await
        }
        (Method::PUT, true) => {
            let obj = body_object(ctx, req).await?;
            update::put(ctx, obj, update::Mode::Main).await
        }
        (Method::PATCH, true) => {
            let body = body_bytes(req).await?;
            patch::patch(ctx, &body, update::Mode::Main).await
        }
        (Method::DELETE, true) => {
            let body = body_bytes(req).await?;
            delete::delete(ctx, &body).await
        }
        (Method::DELETE, false) => {
            let body = body_bytes(req).await?;
            delete::delete_collection(ctx, &body).await
        }
        (m, _) => Err(ApiError::method_not_allowed(
            m.as_str(),
            ctx.res.group,
            ctx.res.plural,
        )),
    }
}

async fn subresource(ctx: &Ctx, sub: &str, req: Request<Incoming>) -> ApiResult<Resp> {
    let m = ctx.method.clone();
    match (sub, m) {
        ("status", Method::GET) => read::get(ctx).await,
        ("status", Method::PUT) => {
            let obj = body_object(ctx, req).await?;
            update::put(ctx, obj, update::Mode::Status).await
        }
        ("status", Method::PATCH) => {
            let body = body_bytes(req).await?;
            patch::patch(ctx, &body, update::Mode::Status).await
        }
        ("finalize", Method::PUT) => {
            let obj = body_object(ctx, req).await?;
            update::put(ctx, obj, update::Mode::Finalize).await
        }
        ("scale", Method::GET) => subres::get_scale(ctx).await,
        ("scale", Method::PUT) => {
            let obj = body_object(ctx, req).await?;
            subres::put_scale(ctx, obj).await
        }
        ("scale", Method::PATCH) => {
            let body = body_bytes(req).await?;
            subres::patch_scale(ctx, &body).await
        }
        ("binding", Method::POST) => {
            let obj = body_object(ctx, req).await?;
            subres::bind(ctx, obj).await
        }
        ("eviction", Method::POST) => {
            let obj = body_object(ctx, req).await?;
            subres::evict(ctx, obj).await
        }
        ("log", Method::GET) => stream::logs(ctx).await,
        ("exec", _) | ("attach", _) | ("portforward", _) => stream::connect(ctx, sub, req).await,
        ("proxy", _) => proxy::proxy(ctx, req).await,
        (_, m) => Err(ApiError::method_not_allowed(
            m.as_str(),
            ctx.res.group,
            &format!("{}/{sub}", ctx.res.plural),
        )),
    }
}
