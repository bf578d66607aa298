//! Commands that change labels, annotations and replicas: `label`, `annotate`,
//! `scale` (with `--dry-run` and `-o`), and the target lookup shared by mutating verbs.

use crate::client::Api;
use crate::cmd_create::{dry_run, DryRun};
use crate::cmd_get::{enc, parse_targets};
use crate::ctx::{out, CmdError, CmdResult, Ctx};
use crate::describe_util::{arr, s};
use crate::flags::{f, Kind, Spec};
use crate::op_output::{print_obj, with_dry_run};
use crate::printers::parse_format;
use crate::resources::Res;
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

/// Fetches every targeted object (names, TYPE/NAME, `-l`, `--all`).
pub async fn objects(ctx: &Ctx, api: &Api, args: &[String]) -> Result<Vec<(Res, Value)>, CmdError> {
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
    Ok(outv)
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
    for (res, o) in objects(ctx, &api, &targets).await? {
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
        let body = json!({"metadata": {field: patch}});
        let shown = if mode == DryRun::Client {
            let mut local = o.clone();
            crate::local_patch::merge(&mut local, &body);
            local
        } else {
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
        print_obj(ctx, &shown, msg, mode)?;
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
    for (res, o) in objects(ctx, &api, ctx.args()).await? {
        if mode != DryRun::Client {
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
    Ok(())
}
