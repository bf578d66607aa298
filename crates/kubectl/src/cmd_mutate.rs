//! Commands that PATCH existing objects: `label`, `annotate`, `scale`, `set image`,
//! `patch`; each prints `kind.group/name VERB` like kubectl.

use crate::client::Api;
use crate::cmd_get::{enc, parse_targets};
use crate::ctx::{out, CmdError, CmdResult, Ctx};
use crate::describe_util::{arr, s};
use crate::flags::{f, Kind, Spec};
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

fn path_of(api: &Api, res: &Res, o: &Value) -> String {
    let ns = s(o, "/metadata/namespace");
    let ns = if ns.is_empty() {
        api.namespace.as_str()
    } else {
        ns
    };
    res.path(Some(ns), Some(s(o, "/metadata/name")))
}

fn name_of(res: &Res, o: &Value) -> String {
    format!("{}/{}", res.kind_group(), s(o, "/metadata/name"))
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
        for c in &changes {
            if let Some(k) = c.strip_suffix('-').filter(|_| !c.contains('=')) {
                if current.contains_key(k) {
                    patch.insert(k.to_string(), Value::Null);
                    removed = true;
                } else if field == "labels" {
                    out(&format!("label \"{k}\" not found.\n"));
                }
                continue;
            }
            let (k, v) = c.split_once('=').unwrap_or((c, ""));
            match current.get(k).and_then(Value::as_str) {
                Some(old) if old == v => {}
                Some(old) if !overwrite => {
                    return Err(CmdError::Msg(format!(
                        "'{k}' already has a value ({old}), and --overwrite is false"
                    )))
                }
                _ => {
                    patch.insert(k.to_string(), json!(v));
                }
            }
        }
        let body = json!({"metadata": {field: patch}});
        api.send_json(
            Method::PATCH,
            &format!("{}?fieldManager=kubectl-{verb}", path_of(&api, &res, &o)),
            "application/merge-patch+json",
            &body,
        )
        .await?;
        let msg = if field == "annotations" {
            "annotated"
        } else if patch.is_empty() {
            "not labeled"
        } else if removed && !overwrite && patch.values().all(Value::is_null) {
            "unlabeled"
        } else {
            "labeled"
        };
        out(&format!("{} {msg}\n", name_of(&res, &o)));
    }
    Ok(())
}

/// Runs `scale`.
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
    let api = Api::connect(ctx).await?;
    for (res, o) in objects(ctx, &api, ctx.args()).await? {
        api.send_json(
            Method::PATCH,
            &format!("{}/scale", path_of(&api, &res, &o)),
            "application/merge-patch+json",
            &json!({"spec": {"replicas": replicas}}),
        )
        .await?;
        out(&format!("{} scaled\n", name_of(&res, &o)));
    }
    Ok(())
}

/// Runs `set image`.
pub async fn set_image(ctx: &Ctx) -> CmdResult {
    let (targets, pairs): (Vec<String>, Vec<String>) =
        ctx.args().iter().cloned().partition(|a| !a.contains('='));
    if pairs.is_empty() {
        return Err(ctx.usage_h("at least one image update is required"));
    }
    let api = Api::connect(ctx).await?;
    for (res, o) in objects(ctx, &api, &targets).await? {
        let (spec_ptr, wrap): (&str, fn(Value) -> Value) = if res.kind == "Pod" {
            ("/spec", |c| json!({"spec": c}))
        } else if res.kind == "CronJob" {
            (
                "/spec/jobTemplate/spec/template/spec",
                |c| json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": c}}}}}),
            )
        } else {
            (
                "/spec/template/spec",
                |c| json!({"spec": {"template": {"spec": c}}}),
            )
        };
        let mut patch = Map::new();
        for p in &pairs {
            let (name, image) = p.split_once('=').unwrap_or((p, ""));
            let mut found = false;
            for list in ["initContainers", "containers"] {
                for c in arr(&o, &format!("{spec_ptr}/{list}")) {
                    let cn = s(c, "/name");
                    if name == "*" || cn == name {
                        found = true;
                        let entry = patch.entry(list.to_string()).or_insert_with(|| json!([]));
                        if let Some(a) = entry.as_array_mut() {
                            a.push(json!({"name": cn, "image": image}));
                        }
                    }
                }
            }
            if !found {
                return Err(CmdError::Msg(format!(
                    "unable to find container named \"{name}\""
                )));
            }
        }
        api.send_json(
            Method::PATCH,
            &format!("{}?fieldManager=kubectl-set", path_of(&api, &res, &o)),
            "application/strategic-merge-patch+json",
            &wrap(Value::Object(patch)),
        )
        .await?;
        out(&format!("{} image updated\n", name_of(&res, &o)));
    }
    Ok(())
}

/// Runs `patch`.
pub async fn patch(ctx: &Ctx) -> CmdResult {
    let text = match (ctx.p.get("patch"), ctx.p.get("patch-file")) {
        (Some(p), _) => p.to_string(),
        (None, Some(file)) => std::fs::read_to_string(file)
            .map_err(|e| CmdError::Msg(format!("unable to read patch file: {e}")))?,
        (None, None) => {
            return Err(CmdError::Msg(
                "must specify --patch or --patch-file containing the contents of the patch".into(),
            ))
        }
    };
    let ctype = match ctx.p.get("type").unwrap_or("strategic") {
        "strategic" => "application/strategic-merge-patch+json",
        "merge" => "application/merge-patch+json",
        "json" => "application/json-patch+json",
        t => {
            return Err(CmdError::Msg(format!(
                "--type must be one of [json merge strategic], not \"{t}\""
            )))
        }
    };
    let body: Value = serde_yaml::from_str(&text)
        .map_err(|e| CmdError::Msg(format!("unable to parse \"{text}\": {e}")))?;
    let api = Api::connect(ctx).await?;
    for (res, o) in objects(ctx, &api, ctx.args()).await? {
        let mut path = path_of(&api, &res, &o);
        if let Some(sub) = ctx.p.get("subresource") {
            path.push('/');
            path.push_str(sub);
        }
        let after = api
            .send_json(
                Method::PATCH,
                &format!("{path}?fieldManager=kubectl-patch"),
                ctype,
                &body,
            )
            .await?;
        let same = s(&after, "/metadata/resourceVersion") == s(&o, "/metadata/resourceVersion");
        let suffix = if same { " (no change)" } else { "" };
        out(&format!("{} patched{suffix}\n", name_of(&res, &o)));
    }
    Ok(())
}
