//! `kubectl create` entry: generators (`deployment`, `namespace`, `configmap`,
//! `secret generic`) and `-f` manifests; POSTs unless `--dry-run=client`.

use crate::client::resources::for_kind;
use crate::client::{Api, ApiError};
use crate::cmd::generate;
use crate::cmd::options::{dry_run, DryRun};
use crate::ctx::{CmdError, CmdResult, Ctx};
use crate::flags::{f, Kind, Spec};
use crate::ordered_json::Doc;
use crate::print::outcome::print_result;
use http::Method;
use serde_json::Value;

/// Flags of `create` and its generators.
pub const FLAGS: &[Spec] = &[
    f("filename", Some('f'), Kind::Multi),
    f("recursive", Some('R'), Kind::Bool),
    f("image", None, Kind::Multi),
    f("replicas", Some('r'), Kind::Value),
    f("port", None, Kind::Value),
    f("from-literal", None, Kind::Multi),
    f("from-file", None, Kind::Multi),
    f("from-env-file", None, Kind::Multi),
    f("type", None, Kind::Value),
    f("dry-run", None, Kind::Value),
    f("output", Some('o'), Kind::Value),
    f("template", None, Kind::Value),
    f("save-config", None, Kind::Bool),
    f("validate", None, Kind::Value),
    f("field-manager", None, Kind::Value),
    f("show-managed-fields", None, Kind::Bool),
    f("allow-missing-template-keys", None, Kind::Bool),
    f("append-hash", None, Kind::Bool),
    f("edit", None, Kind::Bool),
    f("windows-line-endings", None, Kind::Bool),
    f("raw", None, Kind::Value),
    f("selector", Some('l'), Kind::Value),
];

/// Runs `create [SUB]`.
pub async fn run(ctx: &Ctx, sub: Option<&str>) -> CmdResult {
    let mode = dry_run(ctx)?;
    let mut ctx = ctx.clone();
    let obj = match sub {
        Some("deployment") | Some("deploy") => generate::deployment(&ctx)?,
        Some("namespace") | Some("ns") => generate::namespace(&ctx)?,
        Some("configmap") | Some("cm") => generate::configmap(&ctx)?,
        Some("secret") => {
            let kind = ctx.p.args.first().cloned();
            if kind.as_deref() != Some("generic") {
                return Err(CmdError::Msg(format!(
                    "unknown command \"{}\" for \"kubectl create secret\"",
                    kind.unwrap_or_default()
                )));
            }
            ctx.p.args.remove(0);
            if let Some(d) = ctx.p.dash_at.as_mut() {
                *d = d.saturating_sub(1);
            }
            ctx.cmd = "create secret generic".into();
            generate::secret(&ctx)?
        }
        Some(other) => {
            return Err(CmdError::UsageH {
                msg: format!("Unexpected args: [{other}]"),
                cmd: "create".into(),
            });
        }
        None => return create_files(&ctx, mode).await,
    };
    submit(&ctx, obj, mode).await
}

async fn submit(ctx: &Ctx, obj: Doc, mode: DryRun) -> CmdResult {
    let obj = if ctx.p.flag("save-config") {
        crate::cmd::options::save_config(obj)
    } else {
        obj
    };
    let validation = crate::cmd::options::field_validation(ctx)?;
    if mode == DryRun::Client {
        return print_result(ctx, &obj, "created", mode);
    }
    let api = Api::connect(ctx).await?;
    let created = post(&api, &obj.to_value(), mode, validation).await?;
    crate::print::outcome::print_obj(ctx, &created, "created", mode)
}

async fn post(api: &Api, obj: &Value, mode: DryRun, validation: &str) -> Result<Value, ApiError> {
    let av = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let res = for_kind(Some(api), av, kind)
        .await
        .map_err(|e| ApiError::Other(e.to_string()))?;
    let ns = obj
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or(api.namespace.clone());
    let mut path = res.path(Some(&ns), None);
    path.push_str(&format!(
        "?fieldManager=kubectl-create&fieldValidation={validation}"
    ));
    if mode == DryRun::Server {
        path.push_str("&dryRun=All");
    }
    api.send_json(Method::POST, &path, "application/json", obj)
        .await
}

async fn create_files(ctx: &Ctx, mode: DryRun) -> CmdResult {
    let files = ctx.p.all("filename");
    if files.is_empty() {
        return Err(ctx.usage_h("must specify one of -f and -k"));
    }
    let validation = crate::cmd::options::field_validation(ctx)?;
    let mut items = crate::input::manifests::read(&files, ctx.p.flag("recursive"))?;
    let api = Api::connect(ctx).await?;
    for m in &mut items {
        // the builder fills in the namespace of namespaced kinds
        let av = m
            .obj
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        let kind = m.obj.get("kind").and_then(Value::as_str).unwrap_or("");
        let res = for_kind(Some(&api), av, kind).await?;
        if res.namespaced && m.obj.pointer("/metadata/namespace").is_none() {
            if let Some(meta) = m.obj.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.insert("namespace".into(), Value::String(api.namespace.clone()));
            }
        }
        if ctx.p.flag("save-config") {
            m.obj = crate::patch::three_way::with_last_applied(&m.obj).0;
        }
    }
    if mode == DryRun::Client {
        for m in &items {
            print_result(ctx, &Doc::from(&m.obj), "created", mode)?;
        }
        return Ok(());
    }
    let mut failed = None;
    for m in &items {
        match post(&api, &m.obj, mode, validation)
            .await
            .map_err(|e| CmdError::from(e.with_source("creating", &m.source)))
        {
            Ok(created) => crate::print::outcome::print_obj(ctx, &created, "created", mode)?,
            Err(e @ CmdError::Raw(_)) if e.to_string().starts_with("The connection") => {
                return Err(e)
            }
            Err(e) => {
                crate::ctx::err(&format!("{e}\n"));
                failed = Some(CmdError::Exit(1));
            }
        }
    }
    failed.map_or(Ok(()), Err)
}
