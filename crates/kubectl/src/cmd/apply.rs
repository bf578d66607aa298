//! `kubectl apply -f`: client-side apply (the last-applied-configuration annotation and
//! a three-way strategic merge patch) and `--server-side` (apply-patch+yaml).

use crate::client::resources::{for_kind, Res};
use crate::client::{Api, ApiError};
use crate::cmd::options::{dry_run, field_validation, with_dry_run, DryRun};
use crate::ctx::{err, out, CmdError, CmdResult, Ctx};
use crate::flags::{f, Kind, Spec};
use crate::ordered_json::Doc;
use crate::patch::three_way::{three_way, with_last_applied, LAST_APPLIED};
use crate::print::format::{parse_format, render, Format};
use crate::print::json::to_go_json;
use crate::print::outcome::{omit_managed, print_obj};
use http::Method;
use serde_json::{json, Value};

/// Flags of `apply`.
pub const FLAGS: &[Spec] = &[
    f("filename", Some('f'), Kind::Multi),
    f("recursive", Some('R'), Kind::Bool),
    f("server-side", None, Kind::Bool),
    f("force-conflicts", None, Kind::Bool),
    f("field-manager", None, Kind::Value),
    f("output", Some('o'), Kind::Value),
    f("dry-run", None, Kind::Value),
    f("prune", None, Kind::Bool),
    f("selector", Some('l'), Kind::Value),
    f("validate", None, Kind::Value),
    f("overwrite", None, Kind::Bool),
    f("force", None, Kind::Bool),
    f("wait", None, Kind::Bool),
    f("timeout", None, Kind::Value),
    f("kustomize", Some('k'), Kind::Value),
    f("template", None, Kind::Value),
    f("show-managed-fields", None, Kind::Bool),
    f("allow-missing-template-keys", None, Kind::Bool),
];

/// What kubectl adds below a server-side apply conflict.
const CONFLICT_HELP: &str =
    "Please review the fields above--they currently have other managers. Here
are the ways you can resolve this warning:
* If you intend to manage all of these fields, please re-run the apply
  command with the `--force-conflicts` flag.
* If you do not intend to manage all of the fields, please edit your
  manifest to remove references to the fields that should keep their
  current managers.
* You may co-own fields by updating your manifest to match the existing
  value; in this case, you'll become the manager if the other manager(s)
  stop managing the field (remove it from their configuration).
See https://kubernetes.io/docs/reference/using-api/server-side-apply/#conflicts";

/// Where one object goes: its resource type, namespace, name and path.
struct Target {
    res: Res,
    ns: String,
    name: String,
    path: String,
}

/// Resolves the object's type and fills in the namespace of namespaced kinds.
async fn target(api: &Api, obj: &mut Value) -> Result<Target, CmdError> {
    let av = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let kind = obj
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let res: Res = for_kind(Some(api), &av, &kind).await?;
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let ns = obj
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or(api.namespace.clone());
    if res.namespaced {
        obj["metadata"]["namespace"] = json!(ns);
    }
    let path = res.path(Some(&ns), Some(&name));
    Ok(Target {
        res,
        ns,
        name,
        path,
    })
}

/// Applies one object; returns kubectl's verb and the object it prints for `-o`.
async fn apply_one(
    ctx: &Ctx,
    api: &Api,
    mut obj: Value,
    mode: DryRun,
) -> Result<(&'static str, Value), CmdError> {
    let t = target(api, &mut obj).await?;
    if ctx.p.flag("server-side") {
        return server_side(ctx, api, &t.path, &obj, mode).await;
    }
    client_side(ctx, api, &t, &obj, mode).await
}

/// `--server-side`: one apply patch; a conflict gets kubectl's advice appended.
async fn server_side(
    ctx: &Ctx,
    api: &Api,
    path: &str,
    obj: &Value,
    mode: DryRun,
) -> Result<(&'static str, Value), CmdError> {
    let manager = ctx.p.get("field-manager").unwrap_or("kubectl");
    let mut q = format!(
        "?fieldManager={manager}&fieldValidation={}",
        field_validation(ctx)?
    );
    if ctx.p.flag("force-conflicts") {
        q.push_str("&force=true");
    }
    let applied = api
        .call(
            Method::PATCH,
            &with_dry_run(&format!("{path}{q}"), mode),
            "application/json",
            Some("application/apply-patch+yaml"),
            obj.to_string().into_bytes(),
        )
        .await
        .map_err(|e| match e {
            ApiError::Status {
                code: 409, message, ..
            } if message.starts_with("Apply failed") => {
                CmdError::Msg(format!("{message}\n{CONFLICT_HELP}"))
            }
            e => e.into(),
        })?;
    Ok(("serverside-applied", applied))
}

/// Client-side apply: creates a missing object with the last-applied annotation, else
/// patches the live one with the three-way patch from the annotation it carries.
async fn client_side(
    ctx: &Ctx,
    api: &Api,
    t: &Target,
    obj: &Value,
    mode: DryRun,
) -> Result<(&'static str, Value), CmdError> {
    let q = format!(
        "?fieldManager=kubectl-client-side-apply&fieldValidation={}",
        field_validation(ctx)?
    );
    let (modified, _) = with_last_applied(obj);
    let current = match api.get(&t.path).await {
        Ok(c) => c,
        Err(ApiError::Status { code: 404, .. }) => {
            if mode == DryRun::Client {
                return Ok(("created", modified));
            }
            let created = api
                .send_json(
                    Method::POST,
                    &with_dry_run(&format!("{}{q}", t.res.path(Some(&t.ns), None)), mode),
                    "application/json",
                    &modified,
                )
                .await?;
            return Ok(("created", created));
        }
        Err(e) => return Err(e.into()),
    };
    let original: Option<Value> = current
        .pointer(&format!(
            "/metadata/annotations/{}",
            LAST_APPLIED.replace('/', "~1")
        ))
        .and_then(Value::as_str)
        .and_then(|t| serde_json::from_str(t).ok());
    if mode == DryRun::Client {
        return Ok(("configured", current));
    }
    if original.is_none() {
        err(&format!("Warning: resource {}/{} is missing the {LAST_APPLIED} annotation which is required by kubectl apply. kubectl apply should only be used on resources created declaratively by either kubectl create --save-config or kubectl apply. The missing annotation will be patched automatically.\n", t.res.plural, t.name));
    }
    let patch = three_way(
        original.as_ref(),
        &modified,
        Some(&current),
        &mut Vec::new(),
    );
    if patch.is_empty() {
        return Ok(("unchanged", current));
    }
    let builtin = crate::client::resources::builtins()
        .iter()
        .any(|b| b.kind == t.res.kind && b.group == t.res.group);
    let ctype = if builtin {
        "application/strategic-merge-patch+json"
    } else {
        "application/merge-patch+json"
    };
    let patched = api
        .send_json(
            Method::PATCH,
            &with_dry_run(&format!("{}{q}", t.path), mode),
            ctype,
            &Value::Object(patch),
        )
        .await?;
    Ok(("configured", patched))
}

/// Runs `apply`.
pub async fn run(ctx: &Ctx) -> CmdResult {
    let files = ctx.p.all("filename");
    if files.is_empty() {
        return Err(ctx.usage_h("must specify one of -f and -k"));
    }
    let mode = dry_run(ctx)?;
    field_validation(ctx)?;
    if mode == DryRun::Client && ctx.p.flag("server-side") {
        return Err(CmdError::Msg("--dry-run=client doesn't work with --server-side (did you mean --dry-run=server instead?)".into()));
    }
    let fmt = parse_format(ctx, false)?;
    let items = crate::input::manifests::read(&files, ctx.p.flag("recursive"))?;
    let api = Api::connect(ctx).await?;
    let mut failed = false;
    // with -o, kubectl prints every applied object at the end (a List when several)
    let mut printed = Vec::new();
    for m in items {
        match apply_one(ctx, &api, m.obj, mode).await {
            Ok((_, obj)) if fmt != Format::Table => printed.push(omit_managed(ctx, &obj)),
            Ok((verb, obj)) => print_obj(ctx, &obj, verb, mode)?,
            Err(e @ CmdError::Raw(_)) if e.to_string().starts_with("The connection") => {
                return Err(e)
            }
            Err(e) => {
                err(&format!("{e}\n"));
                failed = true;
            }
        }
    }
    if printed.len() > 1 && fmt == Format::Json {
        // a typed metav1.List: Go field order
        let list = Doc::obj()
            .with("kind", Doc::s("List"))
            .with("apiVersion", Doc::s("v1"))
            .with("metadata", Doc::obj())
            .with("items", Doc::Arr(printed.iter().map(Doc::from).collect()));
        out(&to_go_json(&list));
    } else if printed.len() > 1 && fmt != Format::Name {
        // apply's List carries empty list metadata
        let list = json!({"apiVersion": "v1", "items": printed, "kind": "List", "metadata": {}});
        out(&render(&fmt, &[list], true)?);
    } else if !printed.is_empty() {
        out(&render(&fmt, &printed, true)?);
    }
    if failed {
        return Err(CmdError::Exit(1));
    }
    Ok(())
}
