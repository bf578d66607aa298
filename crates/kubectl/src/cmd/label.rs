//! Commands that change labels, annotations and replicas: `label`, `annotate`,
//! `scale` (with `--dry-run` and `-o`), and the target lookup shared by mutating verbs.

use crate::client::enc;
use crate::client::resources::{for_kind, Res};
use crate::client::Api;
use crate::cmd::get::parse_targets;
use crate::cmd::options::{dry_run, with_dry_run, DryRun};
use crate::ctx::{out, CmdError, CmdResult, Ctx};
use crate::describe::util::{arr, s};
use crate::flags::{f, Kind, Spec};
use crate::print::format::parse_format;
use crate::print::outcome::print_obj;
use http::Method;
use serde_json::{json, Map, Value};

/// Flags of `label` and `annotate`.
pub const META_FLAGS: &[Spec] = &[
    f("overwrite", None, Kind::Bool),
    f("selector", Some('l'), Kind::Value),
    f("all", None, Kind::Bool),
    f("all-namespaces", Some('A'), Kind::Bool),
    f("list", None, Kind::Bool),
    f("local", None, Kind::Bool),
    f("dry-run", None, Kind::Value),
    f("output", Some('o'), Kind::Value),
    f("resource-version", None, Kind::Value),
    f("filename", Some('f'), Kind::Multi),
    f("field-manager", None, Kind::Value),
    f("template", None, Kind::Value),
    f("show-managed-fields", None, Kind::Bool),
    f("allow-missing-template-keys", None, Kind::Bool),
];

/// Flags of `scale`.
pub const SCALE_FLAGS: &[Spec] = &[
    f("replicas", None, Kind::Value),
    f("current-replicas", None, Kind::Value),
    f("resource-version", None, Kind::Value),
    f("selector", Some('l'), Kind::Value),
    f("all", None, Kind::Bool),
    f("timeout", None, Kind::Value),
    f("output", Some('o'), Kind::Value),
    f("dry-run", None, Kind::Value),
    f("filename", Some('f'), Kind::Multi),
    f("template", None, Kind::Value),
    f("show-managed-fields", None, Kind::Bool),
    f("allow-missing-template-keys", None, Kind::Bool),
];

/// Flags of `set image`.
pub const SET_FLAGS: &[Spec] = &[
    f("selector", Some('l'), Kind::Value),
    f("all", None, Kind::Bool),
    f("local", None, Kind::Bool),
    f("output", Some('o'), Kind::Value),
    f("dry-run", None, Kind::Value),
    f("filename", Some('f'), Kind::Multi),
    f("field-manager", None, Kind::Value),
    f("template", None, Kind::Value),
    f("show-managed-fields", None, Kind::Bool),
    f("allow-missing-template-keys", None, Kind::Bool),
];

/// Flags of `patch`.
pub const PATCH_FLAGS: &[Spec] = &[
    f("patch", Some('p'), Kind::Value),
    f("patch-file", None, Kind::Value),
    f("type", None, Kind::Value),
    f("output", Some('o'), Kind::Value),
    f("dry-run", None, Kind::Value),
    f("filename", Some('f'), Kind::Multi),
    f("local", None, Kind::Bool),
    f("subresource", None, Kind::Value),
    f("field-manager", None, Kind::Value),
    f("template", None, Kind::Value),
    f("show-managed-fields", None, Kind::Bool),
    f("allow-missing-template-keys", None, Kind::Bool),
];

/// Fetches every targeted object (names, TYPE/NAME, `-l`, `--all`, `-f`); with `--local`
/// the objects are the files' own and the server is not asked.
pub async fn objects(ctx: &Ctx, api: &Api, args: &[String]) -> Result<Vec<(Res, Value)>, CmdError> {
    let (found, failed) = objects_partial(ctx, api, args).await?;
    match failed {
        Some(e) => Err(e),
        None => Ok(found),
    }
}

/// Like [`objects`], but a file object that cannot be fetched does not stop the others:
/// kubectl acts on those it found and reports the failure afterwards.
pub async fn objects_partial(
    ctx: &Ctx,
    api: &Api,
    args: &[String],
) -> Result<(Vec<(Res, Value)>, Option<CmdError>), CmdError> {
    let files = ctx.p.all("filename");
    if ctx.p.flag("local") && files.is_empty() {
        return Err(CmdError::Msg(
            "can only use local files by -f pod.yaml or --filename=pod.json when --local=true is set"
                .into(),
        ));
    }
    if !files.is_empty() {
        let mut outv = Vec::new();
        let mut failed = None;
        for m in crate::input::manifests::read(&files, ctx.p.flag("recursive"))? {
            let res = for_kind(Some(api), s(&m.obj, "/apiVersion"), s(&m.obj, "/kind")).await?;
            if ctx.p.flag("local") {
                outv.push((res, m.obj));
                continue;
            }
            match api.get(&path_of(api, &res, &m.obj)).await {
                Ok(live) => outv.push((res, live)),
                Err(e) => failed = Some(e.into()),
            }
        }
        return Ok((outv, failed));
    }
    let reqs = parse_targets(ctx, Some(api), args).await?;
    let mut outv = Vec::new();
    for r in reqs {
        let ns = r.res.namespaced.then_some(api.namespace.as_str());
        if r.names.is_empty() {
            let sel = match ctx.p.get("selector") {
                Some(l) => format!("?labelSelector={}", enc(l)),
                None if ctx.p.flag("all") => String::new(),
                None => {
                    return Err(CmdError::Msg(
                        "resource(s) were provided, but no name was specified".into(),
                    ))
                }
            };
            let list = api.get(&format!("{}{sel}", r.res.path(ns, None))).await?;
            for o in arr(&list, "/items") {
                outv.push((r.res.clone(), o.clone()));
            }
        } else {
            for n in &r.names {
                outv.push((r.res.clone(), api.get(&r.res.path(ns, Some(n))).await?));
            }
        }
    }
    Ok((outv, None))
}

pub fn path_of(api: &Api, res: &Res, o: &Value) -> String {
    let ns = s(o, "/metadata/namespace");
    let ns = if ns.is_empty() {
        api.namespace.as_str()
    } else {
        ns
    };
    res.path(Some(ns), Some(s(o, "/metadata/name")))
}

/// Runs `label` (`field` = "labels") or `annotate` ("annotations").
pub async fn meta(ctx: &Ctx, field: &str) -> CmdResult {
    let (targets, changes): (Vec<String>, Vec<String>) = ctx
        .args()
        .iter()
        .cloned()
        .partition(|a| !a.contains('=') && !a.ends_with('-'));
    let verb = if field == "labels" {
        "label"
    } else {
        "annotate"
    };
    if changes.is_empty() && !ctx.p.flag("list") {
        return Err(ctx.usage_h(format!(
            "at least one {} update is required",
            &field[..field.len() - 1]
        )));
    }
    let mode = dry_run(ctx)?;
    parse_format(ctx, false)?;
    let api = Api::connect(ctx).await?;
    let overwrite = ctx.p.flag("overwrite");
    let (found, failed) = objects_partial(ctx, &api, &targets).await?;
    for (res, o) in found {
        let current = o
            .pointer(&format!("/metadata/{field}"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut patch = Map::new();
        let mut removed = false;
        let mut missing = Vec::new();
        for c in &changes {
            if let Some(k) = c.strip_suffix('-').filter(|_| !c.contains('=')) {
                if current.contains_key(k) {
                    patch.insert(k.to_string(), Value::Null);
                    removed = true;
                } else if field == "labels" {
                    missing.push(format!("label \"{k}\" not found.\n"));
                }
                continue;
            }
            let (k, v) = c.split_once('=').unwrap_or((c, ""));
            match current.get(k).and_then(Value::as_str) {
                Some(old) if old == v => {}
                Some(old) if !overwrite => {
                    let what = format!("'{k}' already has a value ({old})");
                    return Err(CmdError::Msg(if field == "labels" {
                        format!("{what}, and --overwrite is false")
                    } else {
                        format!("--overwrite is false but found the following declared annotation(s): {what}")
                    }));
                }
                _ => {
                    patch.insert(k.to_string(), json!(v));
                }
            }
        }
        let msg = if field == "annotations" {
            "annotated"
        } else if patch.is_empty() {
            "not labeled"
        } else if removed && !overwrite && patch.values().all(Value::is_null) {
            "unlabeled"
        } else {
            "labeled"
        };
        let mut body = json!({"metadata": {field: patch}});
        let list = ctx.p.flag("list");
        let shown = if mode == DryRun::Client || ctx.p.flag("local") || list {
            let mut local = o.clone();
            crate::patch::local::merge(&mut local, &body);
            local
        } else {
            if let Some(rv) = ctx.p.get("resource-version") {
                body["metadata"]["resourceVersion"] = json!(rv);
            }
            out(&missing.concat());
            api.send_json(
                Method::PATCH,
                &with_dry_run(
                    &format!("{}?fieldManager=kubectl-{verb}", path_of(&api, &res, &o)),
                    mode,
                ),
                "application/merge-patch+json",
                &body,
            )
            .await?
        };
        if list {
            // one `key=value` line per entry (kubectl's order is Go's map order)
            let entries = shown
                .pointer(&format!("/metadata/{field}"))
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            for (k, v) in entries {
                out(&format!("{k}={}\n", v.as_str().unwrap_or("")));
            }
            continue;
        }
        let mode = if ctx.p.flag("local") {
            DryRun::None
        } else {
            mode
        };
        print_obj(ctx, &shown, msg, mode)?;
    }
    failed.map_or(Ok(()), Err)
}

/// Checks `--current-replicas` and `--resource-version` against the object's scale
/// subresource, as kubectl's scaler does (a kind without one fails there).
async fn scale_preconditions(ctx: &Ctx, api: &Api, path: &str) -> CmdResult {
    let replicas = ctx.p.get("current-replicas").filter(|c| *c != "-1");
    let version = ctx.p.get("resource-version").filter(|r| !r.is_empty());
    if replicas.is_none() && version.is_none() {
        return Ok(());
    }
    let scale = api.get(&format!("{path}/scale")).await?;
    if let Some(want) = replicas {
        let was = scale
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if want.parse::<i64>().ok() != Some(was) {
            return Err(CmdError::Msg(format!(
                "Expected replicas to be {want}, was {was}"
            )));
        }
    }
    if let Some(want) = version {
        let was = s(&scale, "/metadata/resourceVersion");
        if want != was {
            return Err(CmdError::Msg(format!(
                "Expected resource version to be {want}, was {was}"
            )));
        }
    }
    Ok(())
}

/// Runs `scale`: prints the object as it was before scaling, like kubectl.
pub async fn scale(ctx: &Ctx) -> CmdResult {
    let Some(n) = ctx.p.get("replicas") else {
        return Err(CmdError::Msg(
            "required flag(s) \"replicas\" not set".into(),
        ));
    };
    let replicas: i64 = n
        .parse()
        .map_err(|_| CmdError::Msg(format!("invalid argument \"{n}\" for \"--replicas\" flag: strconv.ParseInt: parsing \"{n}\": invalid syntax")))?;
    if replicas < 0 {
        return Err(CmdError::Msg(
            "The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0"
                .into(),
        ));
    }
    let mode = dry_run(ctx)?;
    parse_format(ctx, false)?;
    let api = Api::connect(ctx).await?;
    let (found, failed) = objects_partial(ctx, &api, ctx.args()).await?;
    for (res, o) in found {
        if mode != DryRun::Client {
            scale_preconditions(ctx, &api, &path_of(&api, &res, &o)).await?;
            api.send_json(
                Method::PATCH,
                &with_dry_run(&format!("{}/scale", path_of(&api, &res, &o)), mode),
                "application/merge-patch+json",
                &json!({"spec": {"replicas": replicas}}),
            )
            .await?;
        }
        print_obj(ctx, &o, "scaled", mode)?;
    }
    failed.map_or(Ok(()), Err)
}
