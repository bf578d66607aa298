//! `kubectl delete`: names, `TYPE/NAME`, `-f`, `-l`, `--all`, `--grace-period`,
//! `--force`, `--ignore-not-found`, and `--wait` until the objects are gone.

use crate::client::resources::{for_kind, Res};
use crate::client::{enc, Api, ApiError};
use crate::cmd::options::{dry_run, with_dry_run, DryRun};
use crate::cmd::targets::parse_targets;
use crate::ctx::{err, out, CmdError, CmdResult, Ctx};
use crate::flags::{f, Kind, Spec};
use http::Method;
use serde_json::{json, Value};
use std::time::Duration;

/// Flags of `delete`.
pub const FLAGS: &[Spec] = &[
    f("filename", Some('f'), Kind::Multi),
    f("recursive", Some('R'), Kind::Bool),
    f("selector", Some('l'), Kind::Value),
    f("field-selector", None, Kind::Value),
    f("all", None, Kind::Bool),
    f("all-namespaces", Some('A'), Kind::Bool),
    f("grace-period", None, Kind::Value),
    f("force", None, Kind::Bool),
    f("now", None, Kind::Bool),
    f("wait", None, Kind::Bool),
    f("timeout", None, Kind::Value),
    f("ignore-not-found", None, Kind::Bool),
    f("cascade", None, Kind::Value),
    f("output", Some('o'), Kind::Value),
    f("dry-run", None, Kind::Value),
    f("interactive", Some('i'), Kind::Bool),
    f("raw", None, Kind::Value),
];

fn body(ctx: &Ctx) -> Value {
    let mut b = json!({"kind": "DeleteOptions", "apiVersion": "v1"});
    let grace = if ctx.p.flag("now") {
        Some(1)
    } else {
        ctx.p
            .get("grace-period")
            .and_then(|g| g.parse::<i64>().ok())
            .filter(|g| *g >= 0)
    };
    if let Some(g) = grace {
        b["gracePeriodSeconds"] = json!(if ctx.p.flag("force") && g == 0 { 0 } else { g });
    } else if ctx.p.flag("force") {
        b["gracePeriodSeconds"] = json!(0);
    }
    b["propagationPolicy"] = json!(match ctx.p.get("cascade") {
        Some("orphan") => "Orphan",
        Some("foreground") => "Foreground",
        _ => "Background",
    });
    b
}

/// Prints one deletion: `kind.group "name" deleted[ (dry run)]`, or `-o name`'s form.
fn report(ctx: &Ctx, res: &Res, name: &str, mode: DryRun) {
    if ctx.p.get("output") == Some("name") {
        out(&format!("{}/{name}\n", res.kind_group()));
        return;
    }
    out(&format!(
        "{} \"{name}\" deleted{}\n",
        res.kind_group(),
        mode.suffix()
    ));
}

async fn delete_one(
    ctx: &Ctx,
    api: &Api,
    res: &Res,
    ns: &str,
    name: &str,
    mode: DryRun,
) -> Result<bool, CmdError> {
    if mode == DryRun::Client {
        report(ctx, res, name, mode);
        return Ok(false);
    }
    let path = with_dry_run(&res.path(Some(ns), Some(name)), mode);
    let mut opts = body(ctx);
    if mode == DryRun::Server {
        opts["dryRun"] = json!(["All"]);
    }
    match api
        .send_json(Method::DELETE, &path, "application/json", &opts)
        .await
    {
        Ok(_) => {
            report(ctx, res, name, mode);
            Ok(mode == DryRun::None)
        }
        Err(e) if e.is_not_found() && ctx.p.flag("ignore-not-found") => Ok(false),
        Err(e @ ApiError::Status { .. }) => {
            err(&format!("{e}\n"));
            Err(CmdError::Exit(1))
        }
        Err(e) => Err(e.into()),
    }
}

async fn wait_gone(api: &Api, res: &Res, ns: &str, name: &str) {
    let path = res.path(Some(ns), Some(name));
    for _ in 0..600 {
        match api.get(&path).await {
            Err(e) if e.is_not_found() => return,
            Err(_) => return,
            Ok(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// One object to delete: its type, namespace and name.
type Target = (Res, String, String);

/// Runs `delete`.
pub async fn run(ctx: &Ctx) -> CmdResult {
    let mode = dry_run(ctx)?;
    if let Some(o) = ctx
        .p
        .get("output")
        .filter(|o| *o != "name" && !o.is_empty())
    {
        return Err(CmdError::Msg(format!(
            "unexpected -o output mode: {o}. We only support '-o name'"
        )));
    }
    let api = Api::connect(ctx).await?;
    if ctx.p.flag("force") {
        err("Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely.\n");
    }
    let files = ctx.p.all("filename");
    let targets = if !files.is_empty() {
        file_targets(ctx, &api, &files).await?
    } else {
        let targets = arg_targets(ctx, &api).await?;
        if targets.is_empty() {
            err("No resources found\n");
            return Ok(());
        }
        targets
    };
    let mut failed = false;
    let mut deleted = Vec::new();
    for (res, ns, name) in &targets {
        match delete_one(ctx, &api, res, ns, name, mode).await {
            Ok(true) => deleted.push((res, ns, name)),
            Ok(false) => {}
            Err(CmdError::Exit(_)) => failed = true,
            Err(e) => return Err(e),
        }
    }
    let wait = ctx.p.get("wait").is_none_or(|w| w == "true") && !ctx.p.flag("force");
    if wait {
        for (res, ns, name) in deleted {
            wait_gone(&api, res, ns, name).await;
        }
    }
    if failed {
        return Err(CmdError::Exit(1));
    }
    Ok(())
}

/// The objects of `-f` files (their namespace, else the connection's).
async fn file_targets(ctx: &Ctx, api: &Api, files: &[String]) -> Result<Vec<Target>, CmdError> {
    let mut targets = Vec::new();
    for m in crate::input::manifests::read(files, ctx.p.flag("recursive"))? {
        let av = m
            .obj
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        let kind = m.obj.get("kind").and_then(Value::as_str).unwrap_or("");
        let res = for_kind(Some(api), av, kind).await?;
        let ns = m
            .obj
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or(&api.namespace)
            .to_string();
        let name = m
            .obj
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        targets.push((res, ns, name));
    }
    Ok(targets)
}

/// The objects the arguments name, or (for a type without names) those `-l`,
/// `--field-selector` or `--all` select.
async fn arg_targets(ctx: &Ctx, api: &Api) -> Result<Vec<Target>, CmdError> {
    if ctx.args().is_empty() {
        return Err(CmdError::Msg("You must provide one or more resources by argument or filename.\nExample resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n   '<resource> <name>'\n   '<resource>'".into()));
    }
    let mut targets = Vec::new();
    for r in parse_targets(ctx, Some(api), ctx.args()).await? {
        if r.names.is_empty() {
            targets.extend(selected(ctx, api, &r.res).await?);
        } else {
            for n in r.names {
                targets.push((r.res.clone(), api.namespace.clone(), n));
            }
        }
    }
    Ok(targets)
}

/// The objects of type `res` that the selectors (or `--all`) pick, in the namespace or
/// with `-A` in every one.
async fn selected(ctx: &Ctx, api: &Api, res: &Res) -> Result<Vec<Target>, CmdError> {
    let sel = ctx.p.get("selector");
    if sel.is_none() && !ctx.p.flag("all") && ctx.p.get("field-selector").is_none() {
        return Err(CmdError::Msg(
            "resource(s) were provided, but no name was specified".into(),
        ));
    }
    let mut q = Vec::new();
    if let Some(l) = sel {
        q.push(format!("labelSelector={}", enc(l)));
    }
    if let Some(fs) = ctx.p.get("field-selector") {
        q.push(format!("fieldSelector={}", enc(fs)));
    }
    let ns = if ctx.p.flag("all-namespaces") {
        None
    } else {
        Some(api.namespace.as_str())
    };
    let path = format!(
        "{}?{}",
        res.path(if res.namespaced { ns } else { None }, None),
        q.join("&")
    );
    let list = api.get(&path).await?;
    let mut targets = Vec::new();
    for it in list
        .get("items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = it
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let ns = it
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or(&api.namespace)
            .to_string();
        targets.push((res.clone(), ns, name));
    }
    Ok(targets)
}
