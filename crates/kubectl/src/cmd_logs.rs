//! `kubectl logs`: one pod's container log (`-c`, `--all-containers`, `--previous`,
//! `--tail`, `--since`, `--timestamps`), streamed with `-f`.

use crate::client::Api;
use crate::cmd_get::enc;
use crate::ctx::{out, CmdError, CmdResult, Ctx};
use crate::flags::{f, Kind, Spec};
use futures::AsyncBufReadExt;
use futures::StreamExt;
use serde_json::Value;

/// Flags of `logs`.
pub const FLAGS: &[Spec] = &[
    f("container", Some('c'), Kind::Value),
    f("follow", Some('f'), Kind::Bool),
    f("previous", Some('p'), Kind::Bool),
    f("tail", None, Kind::Value),
    f("since", None, Kind::Value),
    f("since-time", None, Kind::Value),
    f("timestamps", None, Kind::Bool),
    f("all-containers", None, Kind::Bool),
    f("selector", Some('l'), Kind::Value),
    f("prefix", None, Kind::Bool),
    f("limit-bytes", None, Kind::Value),
    f("max-log-requests", None, Kind::Value),
    f("pod-running-timeout", None, Kind::Value),
    f("ignore-errors", None, Kind::Bool),
];

fn since_seconds(s: &str) -> Option<u64> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: u64 = num.parse().ok()?;
    Some(match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return None,
    })
}

async fn one(ctx: &Ctx, api: &Api, pod: &str, container: Option<&str>) -> CmdResult {
    let mut q = Vec::new();
    if let Some(c) = container {
        q.push(format!("container={}", enc(c)));
    }
    if ctx.p.flag("follow") {
        q.push("follow=true".into());
    }
    if ctx.p.flag("previous") {
        q.push("previous=true".into());
    }
    if let Some(t) = ctx.p.get("tail").filter(|t| *t != "-1") {
        q.push(format!("tailLines={}", enc(t)));
    }
    if let Some(s) = ctx.p.get("since") {
        let secs = since_seconds(s).ok_or_else(|| {
            CmdError::Msg(format!(
                "invalid argument \"{s}\" for \"--since\" flag: time: invalid duration \"{s}\""
            ))
        })?;
        q.push(format!("sinceSeconds={secs}"));
    }
    if let Some(t) = ctx.p.get("since-time") {
        q.push(format!("sinceTime={}", enc(t)));
    }
    if ctx.p.flag("timestamps") {
        q.push("timestamps=true".into());
    }
    let path = format!(
        "/api/v1/namespaces/{}/pods/{pod}/log{}{}",
        api.namespace,
        if q.is_empty() { "" } else { "?" },
        q.join("&")
    );
    if ctx.p.flag("follow") {
        let stream = api.stream(&path, "*/*").await?;
        let mut lines = stream.lines();
        while let Some(Ok(l)) = lines.next().await {
            out(&format!("{l}\n"));
        }
    } else {
        out(&api.get_text(&path).await?);
    }
    Ok(())
}

/// Runs `logs`.
pub async fn run(ctx: &Ctx) -> CmdResult {
    let api = Api::connect(ctx).await?;
    let target = match ctx.args() {
        [p] => p.clone(),
        [p, c] if ctx.p.get("container").is_none() => {
            return one(ctx, &api, p, Some(c)).await;
        }
        [] => {
            return Err(ctx
                .usage_h("expected POD or TYPE/NAME is a required argument for the logs command"))
        }
        _ => return Err(ctx.usage_h("only one of -c or an inline [CONTAINER] arg is allowed")),
    };
    let pod = match target.split_once('/') {
        Some(("pod" | "pods" | "po", n)) => n.to_string(),
        Some((t, _)) => {
            return Err(CmdError::Msg(format!(
            "cannot get the logs from {t}: selector for the resource is not supported by skiff yet"
        )))
        }
        None => target,
    };
    if ctx.p.flag("all-containers") {
        let obj = api
            .get(&format!("/api/v1/namespaces/{}/pods/{pod}", api.namespace))
            .await?;
        for c in obj
            .pointer("/spec/containers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = c.get("name").and_then(Value::as_str).unwrap_or("");
            one(ctx, &api, &pod, Some(name)).await?;
        }
        return Ok(());
    }
    one(ctx, &api, &pod, ctx.p.get("container")).await
}
