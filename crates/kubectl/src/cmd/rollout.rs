//! `kubectl rollout status|history|undo|restart|pause|resume` for Deployments, using
//! the deployment controller's revision annotations on ReplicaSets.

use crate::client::resources::Res;
use crate::client::{enc, Api};
use crate::cmd::options::{dry_run, with_dry_run, DryRun};
use crate::cmd::targets::objects;
use crate::ctx::{out, CmdError, CmdResult, Ctx};
use crate::describe::kinds::split_replicasets;
use crate::describe::util::selector_string;
use crate::flags::{f, Kind, Spec};
use crate::json_get::{arr, i, s};
use crate::print::format::{parse_format, Format};
use crate::print::outcome::print_obj;
use futures::{AsyncBufReadExt, StreamExt};
use http::Method;
use serde_json::{json, Value};

const PRINT: [Spec; 4] = [
    f("output", Some('o'), Kind::Value),
    f("template", None, Kind::Value),
    f("show-managed-fields", None, Kind::Bool),
    f("allow-missing-template-keys", None, Kind::Bool),
];
const TARGETS: [Spec; 4] = [
    f("selector", Some('l'), Kind::Value),
    f("filename", Some('f'), Kind::Multi),
    f("recursive", Some('R'), Kind::Bool),
    f("kustomize", Some('k'), Kind::Value),
];

/// Flags of `rollout status`.
pub const STATUS_FLAGS: &[Spec] = &[
    TARGETS[0],
    TARGETS[1],
    TARGETS[2],
    TARGETS[3],
    f("watch", Some('w'), Kind::Bool),
    f("revision", None, Kind::Value),
    f("timeout", None, Kind::Value),
];

/// Flags of `rollout history`.
pub const HISTORY_FLAGS: &[Spec] = &[
    TARGETS[0],
    TARGETS[1],
    TARGETS[2],
    TARGETS[3],
    PRINT[0],
    PRINT[1],
    PRINT[2],
    PRINT[3],
    f("revision", None, Kind::Value),
];

/// Flags of `rollout undo`.
pub const UNDO_FLAGS: &[Spec] = &[
    TARGETS[0],
    TARGETS[1],
    TARGETS[2],
    TARGETS[3],
    PRINT[0],
    PRINT[1],
    PRINT[2],
    PRINT[3],
    f("to-revision", None, Kind::Value),
    f("dry-run", None, Kind::Value),
];

/// Flags of `rollout restart|pause|resume`.
pub const PATCH_FLAGS: &[Spec] = &[
    TARGETS[0],
    TARGETS[1],
    TARGETS[2],
    TARGETS[3],
    PRINT[0],
    PRINT[1],
    PRINT[2],
    PRINT[3],
    f("field-manager", None, Kind::Value),
];

/// Flags of a `rollout` subcommand.
pub fn flags(sub: Option<&str>) -> &'static [Spec] {
    match sub {
        Some("status") => STATUS_FLAGS,
        Some("history") => HISTORY_FLAGS,
        Some("undo") => UNDO_FLAGS,
        Some(_) => PATCH_FLAGS,
        None => &[],
    }
}

/// The status line for a Deployment and whether the rollout is done.
pub fn deployment_status(d: &Value) -> Result<(String, bool), CmdError> {
    let name = s(d, "/metadata/name");
    if i(d, "/metadata/generation") > i(d, "/status/observedGeneration") {
        return Ok((
            "Waiting for deployment spec update to be observed...\n".into(),
            false,
        ));
    }
    if arr(d, "/status/conditions")
        .iter()
        .any(|c| s(c, "/type") == "Progressing" && s(c, "/reason") == "ProgressDeadlineExceeded")
    {
        return Err(CmdError::Msg(format!(
            "deployment \"{name}\" exceeded its progress deadline"
        )));
    }
    let want = d
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let updated = i(d, "/status/updatedReplicas");
    let total = i(d, "/status/replicas");
    let available = i(d, "/status/availableReplicas");
    if updated < want {
        return Ok((format!("Waiting for deployment \"{name}\" rollout to finish: {updated} out of {want} new replicas have been updated...\n"), false));
    }
    if total > updated {
        return Ok((format!("Waiting for deployment \"{name}\" rollout to finish: {} old replicas are pending termination...\n", total - updated), false));
    }
    if available < updated {
        return Ok((format!("Waiting for deployment \"{name}\" rollout to finish: {available} of {updated} updated replicas are available...\n"), false));
    }
    Ok((
        format!("deployment \"{name}\" successfully rolled out\n"),
        true,
    ))
}

async fn status(ctx: &Ctx, api: &Api, res: &Res, d: &Value) -> CmdResult {
    let (msg, done) = deployment_status(d)?;
    out(&msg);
    if done || ctx.p.get("watch") == Some("false") {
        return Ok(());
    }
    let ns = s(d, "/metadata/namespace");
    let path = format!(
        "{}?watch=true&fieldSelector={}",
        res.path(Some(ns), None),
        enc(&format!("metadata.name={}", s(d, "/metadata/name")))
    );
    let stream = api.stream(&path, "application/json").await?;
    let mut lines = stream.lines();
    while let Some(Ok(line)) = lines.next().await {
        let Ok(ev) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if s(&ev, "/type") == "DELETED" {
            return Err(CmdError::Msg("object has been deleted".into()));
        }
        let Some(obj) = ev.get("object").filter(|o| s(o, "/kind") == "Deployment") else {
            continue;
        };
        let (msg, done) = deployment_status(obj)?;
        out(&msg);
        if done {
            return Ok(());
        }
    }
    Ok(())
}

async fn replicasets(api: &Api, d: &Value) -> Result<Vec<Value>, CmdError> {
    let sel = selector_string(d.pointer("/spec/selector"));
    let list = api
        .get(&format!(
            "/apis/apps/v1/namespaces/{}/replicasets?labelSelector={}",
            s(d, "/metadata/namespace"),
            enc(&sel)
        ))
        .await?;
    let (old, new) = split_replicasets(d, arr(&list, "/items"));
    Ok(old.into_iter().chain(new).cloned().collect())
}

fn revision(rs: &Value) -> i64 {
    s(
        rs,
        "/metadata/annotations/deployment.kubernetes.io~1revision",
    )
    .parse()
    .unwrap_or(0)
}

async fn history(ctx: &Ctx, api: &Api, res: &Res, d: &Value) -> CmdResult {
    let mut rss = replicasets(api, d).await?;
    rss.sort_by_key(revision);
    let name = format!("{}/{}", res.kind_group(), s(d, "/metadata/name"));
    let fmt = parse_format(ctx, false)?;
    if fmt != Format::Table {
        let want = ctx.p.get("revision").filter(|r| *r != "0");
        let picked: Vec<&Value> = rss
            .iter()
            .filter(|x| want.is_none_or(|r| revision(x).to_string() == r))
            .collect();
        if want.is_some() && picked.is_empty() {
            return Err(CmdError::Msg(
                "unable to find the specified revision".into(),
            ));
        }
        // one printer for all revisions: YAML documents are separated by `---`
        for (n, rs) in picked.iter().enumerate() {
            if fmt == Format::Yaml && n > 0 {
                out("---\n");
            }
            print_obj(ctx, rs, "", DryRun::None)?;
        }
        return Ok(());
    }
    if let Some(r) = ctx.p.get("revision").filter(|r| *r != "0") {
        let Some(rs) = rss.iter().find(|x| revision(x).to_string() == r) else {
            return Err(CmdError::Msg(
                "unable to find the specified revision".into(),
            ));
        };
        let mut w = crate::describe::writer::GoTab::new();
        crate::describe::pod::template(&mut w, rs.pointer("/spec/template"));
        out(&format!("{name} with revision #{r}\n{}", w.finish()));
        return Ok(());
    }
    let mut text = format!("{name} \nREVISION\tCHANGE-CAUSE\n");
    for rs in &rss {
        let cause = s(rs, "/metadata/annotations/kubernetes.io~1change-cause");
        let cause = if cause.is_empty() { "<none>" } else { cause };
        text.push_str(&format!("{}\t{cause}\n", revision(rs)));
    }
    text.push('\n');
    let outp = crate::describe::writer::format_text(&text);
    out(&outp);
    Ok(())
}

/// Rolls a Deployment back and returns kubectl's result message.
async fn undo(
    ctx: &Ctx,
    api: &Api,
    res: &Res,
    d: &Value,
    mode: DryRun,
) -> Result<String, CmdError> {
    if d.pointer("/spec/paused").and_then(Value::as_bool) == Some(true) {
        return Err(CmdError::Msg("you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again".into()));
    }
    let mut rss = replicasets(api, d).await?;
    rss.sort_by_key(revision);
    let name = s(d, "/metadata/name");
    let to: i64 = ctx
        .p
        .get("to-revision")
        .and_then(|r| r.parse().ok())
        .unwrap_or(0);
    let target = if to > 0 {
        rss.iter().find(|r| revision(r) == to).ok_or_else(|| {
            CmdError::Msg(format!("unable to find specified revision {to} in history"))
        })?
    } else {
        if rss.len() < 2 {
            return Err(CmdError::Msg(format!(
                "no rollout history found for deployment \"{name}\""
            )));
        }
        &rss[rss.len() - 2]
    };
    if mode == DryRun::Client {
        let mut w = crate::describe::writer::GoTab::new();
        crate::describe::pod::template(&mut w, target.pointer("/spec/template"));
        return Ok(w.raw());
    }
    let mut tpl = target
        .pointer("/spec/template")
        .cloned()
        .unwrap_or(json!({}));
    if let Some(m) = tpl
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        m.remove("pod-template-hash");
    }
    if Some(&tpl) == d.pointer("/spec/template") {
        return Ok(format!(
            "skipped rollback (current template already matches revision {})",
            revision(target)
        ));
    }
    let patch = json!([{"op": "replace", "path": "/spec/template", "value": tpl}]);
    api.send_json(
        Method::PATCH,
        &with_dry_run(
            &res.path(Some(s(d, "/metadata/namespace")), Some(name)),
            mode,
        ),
        "application/json-patch+json",
        &patch,
    )
    .await?;
    Ok("rolled back".into())
}

/// Runs `rollout SUB`.
pub async fn run(ctx: &Ctx, sub: Option<&str>) -> CmdResult {
    let Some(sub) = sub else {
        return Err(ctx.usage_h("Required resource not specified."));
    };
    let mode = dry_run(ctx)?;
    if sub != "status" {
        parse_format(ctx, false)?;
    }
    let api = Api::connect(ctx).await?;
    for (res, d) in objects(ctx, &api, ctx.args()).await? {
        let path = res.path(
            Some(s(&d, "/metadata/namespace")),
            Some(s(&d, "/metadata/name")),
        );
        let fm = "?fieldManager=kubectl-rollout";
        match sub {
            "status" => status(ctx, &api, &res, &d).await?,
            "history" => history(ctx, &api, &res, &d).await?,
            "undo" => {
                let msg = undo(ctx, &api, &res, &d, mode).await?;
                print_obj(ctx, &d, &msg, mode)?;
            }
            "restart" => {
                let now = chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
                let patch = json!({"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": now}}}}});
                let after = api
                    .send_json(
                        Method::PATCH,
                        &format!("{path}{fm}"),
                        "application/strategic-merge-patch+json",
                        &patch,
                    )
                    .await?;
                print_obj(ctx, &after, "restarted", mode)?;
            }
            "pause" | "resume" => {
                let want = sub == "pause";
                let cur = d.pointer("/spec/paused").and_then(Value::as_bool) == Some(true);
                if cur == want {
                    let gr = if res.group.is_empty() {
                        res.plural.clone()
                    } else {
                        format!("{}.{}", res.plural, res.group)
                    };
                    let name = s(&d, "/metadata/name");
                    return Err(CmdError::Msg(if want {
                        format!("{gr} \"{name}\" is already paused")
                    } else {
                        format!("{gr} \"{name}\" is not paused")
                    }));
                }
                let patch =
                    json!({"spec": {"paused": if want { json!(true) } else { Value::Null }}});
                let after = api
                    .send_json(
                        Method::PATCH,
                        &format!("{path}{fm}"),
                        "application/strategic-merge-patch+json",
                        &patch,
                    )
                    .await?;
                print_obj(ctx, &after, if want { "paused" } else { "resumed" }, mode)?;
            }
            other => {
                return Err(CmdError::Msg(format!(
                    "unknown command \"{other}\" for \"kubectl rollout\""
                )))
            }
        }
    }
    Ok(())
}
