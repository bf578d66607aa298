//! `kubectl rollout status|history|undo|restart|pause|resume` for Deployments, using
//! the deployment controller's revision annotations on ReplicaSets.

use crate::client::Api;
use crate::cmd_get::enc;
use crate::cmd_mutate::objects;
use crate::ctx::{out, CmdError, CmdResult, Ctx};
use crate::describe_kinds::split_replicasets;
use crate::describe_util::{arr, i, s, selector_string};
use crate::flags::{f, Kind, Spec};
use crate::resources::Res;
use futures::{AsyncBufReadExt, StreamExt};
use http::Method;
use serde_json::{json, Value};

/// Flags of `rollout`.
pub const FLAGS: &[Spec] = &[
    f("watch", Some('w'), Kind::Bool),
    f("revision", None, Kind::Value),
    f("timeout", None, Kind::Value),
    f("to-revision", None, Kind::Value),
    f("selector", Some('l'), Kind::Value),
    f("output", Some('o'), Kind::Value),
    f("dry-run", None, Kind::Value),
    f("filename", Some('f'), Kind::Multi),
    f("field-manager", None, Kind::Value),
];

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
    if let Some(r) = ctx.p.get("revision").filter(|r| *r != "0") {
        let Some(rs) = rss.iter().find(|x| revision(x).to_string() == r) else {
            return Err(CmdError::Msg(
                "unable to find the specified revision".into(),
            ));
        };
        let mut w = crate::gotab::GoTab::new();
        crate::describe_pod::template(&mut w, rs.pointer("/spec/template"));
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
    let outp = crate::gotab::format_text(&text);
    out(&outp);
    Ok(())
}

async fn undo(ctx: &Ctx, api: &Api, res: &Res, d: &Value) -> CmdResult {
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
    let kg = format!("{}/{name}", res.kind_group());
    if Some(&tpl) == d.pointer("/spec/template") {
        out(&format!(
            "{kg} skipped rollback (current template already matches revision {})\n",
            revision(target)
        ));
        return Ok(());
    }
    let patch = json!([{"op": "replace", "path": "/spec/template", "value": tpl}]);
    api.send_json(
        Method::PATCH,
        &res.path(Some(s(d, "/metadata/namespace")), Some(name)),
        "application/json-patch+json",
        &patch,
    )
    .await?;
    out(&format!("{kg} rolled back\n"));
    Ok(())
}

/// Runs `rollout SUB`.
pub async fn run(ctx: &Ctx, sub: Option<&str>) -> CmdResult {
    let Some(sub) = sub else {
        return Err(ctx.usage_h("Required resource not specified."));
    };
    let api = Api::connect(ctx).await?;
    for (res, d) in objects(ctx, &api, ctx.args()).await? {
        let kg = format!("{}/{}", res.kind_group(), s(&d, "/metadata/name"));
        let path = res.path(
            Some(s(&d, "/metadata/namespace")),
            Some(s(&d, "/metadata/name")),
        );
        let fm = "?fieldManager=kubectl-rollout";
        match sub {
            "status" => status(ctx, &api, &res, &d).await?,
            "history" => history(ctx, &api, &res, &d).await?,
            "undo" => undo(ctx, &api, &res, &d).await?,
            "restart" => {
                let now = chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
                let patch = json!({"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": now}}}}});
                api.send_json(
                    Method::PATCH,
                    &format!("{path}{fm}"),
                    "application/strategic-merge-patch+json",
                    &patch,
                )
                .await?;
                out(&format!("{kg} restarted\n"));
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
                api.send_json(
                    Method::PATCH,
                    &format!("{path}{fm}"),
                    "application/strategic-merge-patch+json",
                    &patch,
                )
                .await?;
                out(&format!(
                    "{kg} {}\n",
                    if want { "paused" } else { "resumed" }
                ));
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
