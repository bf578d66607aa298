//! `kubectl logs`: container logs of a pod, a workload's pod or every pod of a selector
//! (`-c`, `--all-containers`, `--previous`, `--tail`, `--since`, `--timestamps`,
//! `--prefix`), streamed with `-f`, several streams concurrently like kubectl.

use crate::client::{enc, Api};
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

/// One log request: a pod's container.
#[derive(Debug, Clone)]
struct Request {
    pod: String,
    container: String,
}

/// `[pod/NAME/CONTAINER] ` with `--prefix`.
fn prefix_of(ctx: &Ctx, r: &Request) -> String {
    if ctx.p.flag("prefix") {
        format!("[pod/{}/{}] ", r.pod, r.container)
    } else {
        String::new()
    }
}

/// Prefixes every line of `text` (the last one may lack its newline).
fn prefixed(prefix: &str, text: &str) -> String {
    if prefix.is_empty() {
        return text.to_string();
    }
    text.split_inclusive('\n')
        .map(|l| format!("{prefix}{l}"))
        .collect()
}

async fn one(ctx: &Ctx, api: &Api, r: &Request, default_tail: Option<&str>) -> CmdResult {
    let (pod, container) = (r.pod.as_str(), Some(r.container.as_str()));
    let prefix = prefix_of(ctx, r);
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
    if let Some(t) = ctx.p.get("tail").or(default_tail).filter(|t| *t != "-1") {
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
            out(&format!("{prefix}{l}\n"));
        }
    } else {
        out(&prefixed(&prefix, &api.get_text(&path).await?));
    }
    Ok(())
}

/// Reads the requests: concurrently when following several streams (at most
/// `--max-log-requests`, default 5), else one after the other, as kubectl does.
async fn consume(ctx: &Ctx, api: &Api, reqs: &[Request], default_tail: Option<&str>) -> CmdResult {
    if ctx.p.flag("follow") && reqs.len() > 1 {
        let max: usize = ctx
            .p
            .get("max-log-requests")
            .and_then(|m| m.parse().ok())
            .unwrap_or(5);
        if reqs.len() > max {
            return Err(CmdError::Msg(format!("you are attempting to follow {} log streams, but maximum allowed concurrency is {max}, use --max-log-requests to increase the limit", reqs.len())));
        }
        let all =
            futures::future::join_all(reqs.iter().map(|r| one(ctx, api, r, default_tail))).await;
        return all.into_iter().collect();
    }
    for r in reqs {
        one(ctx, api, r, default_tail).await?;
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
        let mut reqs = Vec::new();
        for p in &pods {
            reqs.extend(requests(ctx, p));
        }
        // a selector shows the last 10 lines unless --tail says otherwise
        return consume(ctx, &api, &reqs, Some("10")).await;
    }
    let target = match ctx.args() {
        [p] => p.clone(),
        [p, c] if ctx.p.get("container").is_none() => {
            let r = Request {
                pod: p.clone(),
                container: c.clone(),
            };
            return one(ctx, &api, &r, None).await;
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
            let obj = crate::cmd::targets::target_pod(&api, &target).await?;
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
    consume(ctx, &api, &requests(ctx, &obj), None).await
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
    let Ok(res) = crate::client::resources::resolve(Some(api), t).await else {
        return;
    };
    let Ok(o) = api.get(&res.path(Some(&api.namespace), Some(n))).await else {
        return;
    };
    let sel = crate::describe::util::selector_string(o.pointer("/spec/selector"));
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

/// The requests for one pod: every container with `--all-containers` (init containers,
/// containers, ephemeral containers), else `-c` or the default container.
fn requests(ctx: &Ctx, obj: &Value) -> Vec<Request> {
    let pod = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if ctx.p.flag("all-containers") {
        let mut out = Vec::new();
        for list in ["initContainers", "containers", "ephemeralContainers"] {
            for c in obj
                .pointer(&format!("/spec/{list}"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let name = c.get("name").and_then(Value::as_str).unwrap_or("");
                out.push(Request {
                    pod: pod.clone(),
                    container: name.to_string(),
                });
            }
        }
        return out;
    }
    let container = crate::cmd::targets::pick_container(ctx, obj);
    vec![Request { pod, container }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_each_line() {
        assert_eq!(
            prefixed("[pod/p/c] ", "a\nb\n"),
            "[pod/p/c] a\n[pod/p/c] b\n"
        );
        assert_eq!(prefixed("[pod/p/c] ", "a\nb"), "[pod/p/c] a\n[pod/p/c] b");
        assert_eq!(prefixed("", "a\n"), "a\n");
    }
}
