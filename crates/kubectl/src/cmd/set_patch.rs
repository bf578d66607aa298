//! `set image` and `patch`: server PATCHes, or local patches for `--dry-run=client`,
//! printed as `kind.group/name VERB` or in the `-o` format like kubectl.

use crate::client::Api;
use crate::cmd::options::{dry_run, with_dry_run, DryRun};
use crate::cmd::targets::{objects, objects_partial, path_of};
use crate::ctx::{CmdError, CmdResult, Ctx};
use crate::flags::{f, Kind, Spec};
use crate::json_get::{arr, s};
use crate::print::format::parse_format;
use crate::print::outcome::{print_obj, print_obj_plain};
use http::Method;
use serde_json::{json, Map, Value};

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

/// Kinds with a pod spec `set image` can change.
const TEMPLATED: &[&str] = &[
    "Pod",
    "Deployment",
    "ReplicaSet",
    "DaemonSet",
    "StatefulSet",
    "Job",
    "CronJob",
    "ReplicationController",
];

/// Wraps a pod spec patch in the fields above the kind's pod spec.
type Wrap = fn(Value) -> Value;

/// Where the kind keeps its pod spec, and how a patch of it is wrapped.
fn pod_spec_of(kind: &str) -> (&'static str, Wrap) {
    if kind == "Pod" {
        ("/spec", |c| json!({"spec": c}))
    } else if kind == "CronJob" {
        (
            "/spec/jobTemplate/spec/template/spec",
            |c| json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": c}}}}}),
        )
    } else {
        (
            "/spec/template/spec",
            |c| json!({"spec": {"template": {"spec": c}}}),
        )
    }
}

/// The strategic merge patch of the pod spec for `NAME=IMAGE` pairs (`*` = every
/// container), and the object with the images changed locally.
fn image_patch(
    o: &Value,
    spec_ptr: &str,
    pairs: &[String],
) -> Result<(Map<String, Value>, Value), CmdError> {
    let mut patch = Map::new();
    let mut local = o.clone();
    for p in pairs {
        let (name, image) = p.split_once('=').unwrap_or((p, ""));
        let mut found = false;
        for list in ["initContainers", "containers"] {
            let ptr = format!("{spec_ptr}/{list}");
            for (idx, c) in arr(o, &ptr).iter().enumerate() {
                let cn = s(c, "/name");
                if name == "*" || cn == name {
                    found = true;
                    let entry = patch.entry(list.to_string()).or_insert_with(|| json!([]));
                    if let Some(a) = entry.as_array_mut() {
                        a.push(json!({"name": cn, "image": image}));
                    }
                    if let Some(slot) = local.pointer_mut(&format!("{ptr}/{idx}/image")) {
                        *slot = json!(image);
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
    Ok((patch, local))
}

/// Runs `set image`.
pub async fn set_image(ctx: &Ctx) -> CmdResult {
    let (targets, pairs): (Vec<String>, Vec<String>) =
        ctx.args().iter().cloned().partition(|a| !a.contains('='));
    if pairs.is_empty() {
        return Err(ctx.usage_h("at least one image update is required"));
    }
    let mode = dry_run(ctx)?;
    parse_format(ctx, false)?;
    let api = Api::connect(ctx).await?;
    // set image resolves every target before changing any
    let mut failures = Vec::new();
    for (res, o) in objects(ctx, &api, &targets).await? {
        if !TEMPLATED.contains(&res.kind.as_str()) {
            failures.push(format!(
                "error: {}/{} the object is not a pod or does not have a pod template: *{}.{}",
                res.kind_group(),
                s(&o, "/metadata/name"),
                res.version,
                res.kind
            ));
            continue;
        }
        let (spec_ptr, wrap) = pod_spec_of(&res.kind);
        let (patch, local) = image_patch(&o, spec_ptr, &pairs)?;
        let shown = if mode == DryRun::Client || ctx.p.flag("local") {
            local
        } else {
            api.send_json(
                Method::PATCH,
                &with_dry_run(
                    &format!("{}?fieldManager=kubectl-set", path_of(&api, &res, &o)),
                    mode,
                ),
                "application/strategic-merge-patch+json",
                &wrap(Value::Object(patch)),
            )
            .await?
        };
        let mode = if ctx.p.flag("local") {
            DryRun::None
        } else {
            mode
        };
        print_obj(ctx, &shown, "image updated", mode)?;
    }
    if !failures.is_empty() {
        crate::ctx::err(&format!("{}\n", failures.join("\n")));
        return Err(CmdError::Exit(1));
    }
    Ok(())
}

/// The object without the fields every write touches, to tell a change from none.
fn essence(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("managedFields");
        m.remove("resourceVersion");
    }
    v
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
    let kind = ctx.p.get("type").unwrap_or("strategic");
    let ctype = match kind {
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
    let mode = dry_run(ctx)?;
    parse_format(ctx, false)?;
    let api = Api::connect(ctx).await?;
    let (found, failed) = objects_partial(ctx, &api, ctx.args()).await?;
    for (res, o) in found {
        if mode == DryRun::Client || ctx.p.flag("local") {
            let patched = match kind {
                "merge" => {
                    let mut v = o.clone();
                    crate::patch::local::merge(&mut v, &body);
                    Ok(v)
                }
                "json" => crate::patch::local::json(&o, &body),
                _ => crate::patch::local::strategic(&o, &body),
            }
            .map_err(|e| CmdError::Msg(e.to_string()))?;
            print_obj_plain(ctx, &patched, "patched")?;
            continue;
        }
        let mut path = path_of(&api, &res, &o);
        if let Some(sub) = ctx.p.get("subresource") {
            path.push('/');
            path.push_str(sub);
        }
        let after = api
            .send_json(
                Method::PATCH,
                &with_dry_run(&format!("{path}?fieldManager=kubectl-patch"), mode),
                ctype,
                &body,
            )
            .await?;
        let verb = if essence(&after) == essence(&o) {
            "patched (no change)"
        } else {
            "patched"
        };
        print_obj_plain(ctx, &after, verb)?;
    }
    failed.map_or(Ok(()), Err)
}
