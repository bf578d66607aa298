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
    if let Some(sel) = ctx.p.get("selector") {
        if !ctx.args().is_empty() {
            return Err(ctx.usage_h("only a selector (-l) or a POD name is allowed"));
        }
        let list = api
            .get(&format!(
                "/api/v1/namespaces/{}/pods?labelSelector={}",
                api.namespace,
                enc(sel)
            ))
            .await?;
        let pods = list
            .get("items")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if pods.is_empty() {
            crate::ctx::err(&format!(
                "No resources found in {} namespace.\n",
                api.namespace
            ));
            return Ok(());
        }
        for p in &pods {
            let name = p
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("");
            pod_logs(ctx, &api, p, name).await?;
        }
        return Ok(());
    }
    let target = match ctx.args() {
        [p] => p.clone(),
        [p, c] if ctx.p.get("container").is_none() => {
            return one(ctx, &api, p, Some(c)).await;
        }
        [] => {
            return Err(ctx.usage_h(
                "expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.\nPOD or TYPE/NAME is a required argument for the logs command",
            ))
        }
        _ => return Err(ctx.usage_h("only one of -c or an inline [CONTAINER] arg is allowed")),
    };
    let obj = match target.split_once('/') {
        Some(("pod" | "pods" | "po", n)) => get_pod(&api, n).await?,
        Some(_) => {
            let obj = crate::cmd_exec::target_pod(&api, &target).await?;
            let name = obj
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            announce_choice(&api, &target, &name).await;
            obj
        }
        None => get_pod(&api, &target).await?,
    };
    let pod = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    pod_logs(ctx, &api, &obj, &pod).await
}

/// The pod, with logs' own wording for a missing one.
async fn get_pod(api: &Api, name: &str) -> Result<Value, CmdError> {
    match api
        .get(&format!("/api/v1/namespaces/{}/pods/{name}", api.namespace))
        .await
    {
        Ok(o) => Ok(o),
        Err(crate::client::ApiError::Status { code: 404, .. }) => Err(CmdError::Msg(format!(
            "error from server (NotFound): pods \"{name}\" not found in namespace \"{}\"",
            api.namespace
        ))),
        Err(e) => Err(e.into()),
    }
}

/// `Found N pods, using pod/NAME` when a workload has several pods.
async fn announce_choice(api: &Api, target: &str, chosen: &str) {
    let Some((t, n)) = target.split_once('/') else {
        return;
    };
    let Ok(res) = crate::resources::resolve(Some(api), t).await else {
        return;
    };
    let Ok(o) = api.get(&res.path(Some(&api.namespace), Some(n))).await else {
        return;
    };
    let sel = crate::describe_util::selector_string(o.pointer("/spec/selector"));
    if sel.is_empty() {
        return;
    }
    let Ok(list) = api
        .get(&format!(
            "/api/v1/namespaces/{}/pods?labelSelector={}",
            api.namespace,
            enc(&sel)
        ))
        .await
    else {
        return;
    };
    let count = list
        .get("items")
        .and_then(Value::as_array)
        .map(Vec::len)
        .unwrap_or(0);
    if count > 1 {
        crate::ctx::err(&format!("Found {count} pods, using pod/{chosen}\n"));
    }
}

/// Logs of one pod: every container with `--all-containers`, else `-c` or the first.
async fn pod_logs(ctx: &Ctx, api: &Api, obj: &Value, pod: &str) -> CmdResult {
    if ctx.p.flag("all-containers") {
        for c in obj
            .pointer("/spec/containers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = c.get("name").and_then(Value::as_str).unwrap_or("");
            one(ctx, api, pod, Some(name)).await?;
        }
        return Ok(());
    }
    let container = crate::cmd_exec::pick_container(ctx, obj);
    one(ctx, api, pod, Some(&container)).await
}
