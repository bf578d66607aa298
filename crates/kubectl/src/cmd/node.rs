//! `kubectl cordon`, `uncordon` and `drain` (cordon, then evict every pod on the node
//! through pods/eviction, skipping DaemonSet and mirror pods, and wait for them to go).

use crate::client::{enc, Api, ApiError};
use crate::cmd::options::{dry_run, with_dry_run, DryRun};
use crate::ctx::{err, out, CmdError, CmdResult, Ctx};
use crate::flags::{f, Kind, Spec};
use crate::json_get::{arr, s};
use http::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Flags of cordon/uncordon/drain.
pub const FLAGS: &[Spec] = &[
    f("selector", Some('l'), Kind::Value),
    f("dry-run", None, Kind::Value),
    f("force", None, Kind::Bool),
    f("ignore-daemonsets", None, Kind::Bool),
    f("delete-emptydir-data", None, Kind::Bool),
    f("delete-local-data", None, Kind::Bool),
    f("grace-period", None, Kind::Value),
    f("timeout", None, Kind::Value),
    f("pod-selector", None, Kind::Value),
    f("disable-eviction", None, Kind::Bool),
    f("skip-wait-for-delete-timeout", None, Kind::Value),
    f("chunk-size", None, Kind::Value),
];

async fn nodes(ctx: &Ctx, api: &Api) -> Result<Vec<Value>, CmdError> {
    if let Some(sel) = ctx.p.get("selector") {
        let list = api
            .get(&format!("/api/v1/nodes?labelSelector={}", enc(sel)))
            .await?;
        return Ok(arr(&list, "/items").to_vec());
    }
    let Some(name) = ctx.args().first() else {
        return Err(ctx.usage_h("USAGE: cordon NODE [flags]"));
    };
    let name = name.strip_prefix("node/").unwrap_or(name);
    Ok(vec![api.get(&format!("/api/v1/nodes/{name}")).await?])
}

async fn set_unschedulable(
    api: &Api,
    node: &Value,
    want: bool,
    mode: DryRun,
) -> Result<String, CmdError> {
    let name = s(node, "/metadata/name");
    let cur = node.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true);
    let verb = if want { "cordoned" } else { "uncordoned" };
    let dry = mode.suffix();
    if cur == want {
        return Ok(format!("node/{name} already {verb}{dry}"));
    }
    if mode != DryRun::Client {
        let patch =
            json!({"spec": {"unschedulable": if want { json!(true) } else { Value::Null }}});
        api.send_json(
            Method::PATCH,
            &with_dry_run(&format!("/api/v1/nodes/{name}"), mode),
            "application/strategic-merge-patch+json",
            &patch,
        )
        .await?;
    }
    Ok(format!("node/{name} {verb}{dry}"))
}

/// Runs `cordon` (`want` = true) or `uncordon`.
pub async fn cordon(ctx: &Ctx, want: bool) -> CmdResult {
    let mode = dry_run(ctx)?;
    let api = Api::connect(ctx).await?;
    for n in nodes(ctx, &api).await? {
        out(&format!(
            "{}\n",
            set_unschedulable(&api, &n, want, mode).await?
        ));
    }
    Ok(())
}

fn controller_kind(p: &Value) -> Option<String> {
    arr(p, "/metadata/ownerReferences")
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        .map(|r| s(r, "/kind").to_string())
}

/// What drain does with one pod (kubectl's filter chain: deleted, DaemonSet, mirror,
/// local storage, unreplicated; the last passing filter's warning is kept).
enum Verdict {
    Skip,
    Delete(Option<&'static str>),
    Error(&'static str),
}

fn filter(ctx: &Ctx, p: &Value) -> Verdict {
    let phase = s(p, "/status/phase");
    let finished = phase == "Succeeded" || phase == "Failed";
    if controller_kind(p).as_deref() == Some("DaemonSet") {
        if !ctx.p.flag("ignore-daemonsets") {
            return Verdict::Error("DaemonSet-managed Pods (use --ignore-daemonsets to ignore)");
        }
        return Verdict::Skip;
    }
    if !s(p, "/metadata/annotations/kubernetes.io~1config.mirror").is_empty() {
        return Verdict::Skip;
    }
    let local = arr(p, "/spec/volumes")
        .iter()
        .any(|v| v.get("emptyDir").is_some());
    // with --delete-emptydir-data the local-storage warning is overwritten by the next
    // filter's verdict, as in kubectl
    if local && !finished && !ctx.p.flag("delete-emptydir-data") && !ctx.p.flag("delete-local-data")
    {
        return Verdict::Error("Pods with local storage (use --delete-emptydir-data to override)");
    }
    if finished || controller_kind(p).is_some() {
        return Verdict::Delete(None);
    }
    if ctx.p.flag("force") {
        return Verdict::Delete(Some("deleting Pods that declare no controller"));
    }
    Verdict::Error("cannot delete Pods that declare no controller (use --force to override)")
}

fn group<'a>(groups: &mut Vec<(&'a str, Vec<String>)>, msg: &'a str, p: &Value) {
    let name = format!("{}/{}", s(p, "/metadata/namespace"), s(p, "/metadata/name"));
    match groups.iter_mut().find(|(m, _)| *m == msg) {
        Some((_, pods)) => pods.push(name),
        None => groups.push((msg, vec![name])),
    }
}

/// A dry-run drain: `evicting pod NS/NAME (dry run)` per pod; a server dry run sends the
/// evictions with `dryRun=All`; nothing is waited for.
async fn evict_dry(api: &Api, pods: &[Value], mode: DryRun) -> CmdResult {
    for p in pods {
        let (ns, pn) = (s(p, "/metadata/namespace"), s(p, "/metadata/name"));
        if mode == DryRun::Server {
            let body = json!({"apiVersion": "policy/v1", "kind": "Eviction",
                "metadata": {"name": pn, "namespace": ns},
                "deleteOptions": {"dryRun": ["All"]}});
            api.send_json(
                Method::POST,
                &with_dry_run(&format!("/api/v1/namespaces/{ns}/pods/{pn}/eviction"), mode),
                "application/json",
                &body,
            )
            .await?;
        }
        out(&format!("evicting pod {ns}/{pn}{}\n", mode.suffix()));
    }
    Ok(())
}

/// Runs `drain`.
pub async fn drain(ctx: &Ctx) -> CmdResult {
    let mode = dry_run(ctx)?;
    let api = Api::connect(ctx).await?;
    for n in nodes(ctx, &api).await? {
        let name = s(&n, "/metadata/name").to_string();
        out(&format!(
            "{}\n",
            set_unschedulable(&api, &n, true, mode).await?
        ));
        let fs = format!("spec.nodeName={name}");
        let list = api
            .get(&format!("/api/v1/pods?fieldSelector={}", enc(&fs)))
            .await?;
        let pods = to_evict(ctx, &name, arr(&list, "/items"))?;
        if mode != DryRun::None {
            evict_dry(&api, &pods, mode).await?;
            out(&format!("node/{name} drained{}\n", mode.suffix()));
            continue;
        }
        evict(ctx, &api, &pods).await?;
        wait_evicted(&api, &pods).await;
        out(&format!("node/{name} drained\n"));
    }
    Ok(())
}

/// The pods to evict from node `name`; pods drain may not touch fail the whole node
/// (grouped by reason, as kubectl words it), and warnings are printed.
fn to_evict(ctx: &Ctx, name: &str, pods: &[Value]) -> Result<Vec<Value>, CmdError> {
    let mut evict = Vec::new();
    // (message, pods) groups in order of first appearance, as kubectl groups them
    let mut errors: Vec<(&str, Vec<String>)> = Vec::new();
    let mut warnings: Vec<(&str, Vec<String>)> = Vec::new();
    for p in pods {
        match filter(ctx, p) {
            Verdict::Skip => {}
            Verdict::Delete(warning) => {
                if let Some(w) = warning {
                    group(&mut warnings, w, p);
                }
                evict.push(p.clone());
            }
            Verdict::Error(msg) => group(&mut errors, msg, p),
        }
    }
    if !errors.is_empty() {
        let lines: Vec<String> = errors
            .iter()
            .map(|(m, pods)| format!("cannot delete {m}: {}", pods.join(", ")))
            .collect();
        let agg = if lines.len() == 1 {
            lines[0].clone()
        } else {
            format!("[{}]", lines.join(", "))
        };
        return Err(CmdError::Msg(format!(
            "unable to drain node \"{name}\" due to error: {agg}, continuing command...\nThere are pending nodes to be drained:\n {name}\n{}",
            lines.join("\n")
        )));
    }
    if !warnings.is_empty() {
        let text: Vec<String> = warnings
            .iter()
            .map(|(m, pods)| format!("{m}: {}", pods.join(", ")))
            .collect();
        err(&format!("Warning: {}\n", text.join("; ")));
    }
    Ok(evict)
}

/// Evicts each pod through pods/eviction (with `--grace-period`), retrying every 5s
/// while a disruption budget refuses; a pod already gone counts as evicted.
async fn evict(ctx: &Ctx, api: &Api, pods: &[Value]) -> CmdResult {
    for p in pods {
        let (ns, pn) = (s(p, "/metadata/namespace"), s(p, "/metadata/name"));
        out(&format!("evicting pod {ns}/{pn}\n"));
        let mut body = json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": pn, "namespace": ns}});
        if let Some(g) = ctx
            .p
            .get("grace-period")
            .and_then(|g| g.parse::<i64>().ok())
            .filter(|g| *g >= 0)
        {
            body["deleteOptions"] = json!({"gracePeriodSeconds": g});
        }
        let path = format!("/api/v1/namespaces/{ns}/pods/{pn}/eviction");
        loop {
            match api
                .send_json(Method::POST, &path, "application/json", &body)
                .await
            {
                Ok(_) | Err(ApiError::Status { code: 404, .. }) => break,
                Err(ApiError::Status { code: 429, .. }) => {
                    err(&format!("error when evicting pods/\"{pn}\" -n \"{ns}\" (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.\n"));
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

/// Waits (up to five minutes in all) until each evicted pod is gone or replaced by
/// one with another UID, printing `pod/NAME evicted`.
async fn wait_evicted(api: &Api, pods: &[Value]) {
    let deadline = Instant::now() + Duration::from_secs(300);
    for p in pods {
        let (ns, pn) = (s(p, "/metadata/namespace"), s(p, "/metadata/name"));
        let uid = s(p, "/metadata/uid");
        loop {
            match api.get(&format!("/api/v1/namespaces/{ns}/pods/{pn}")).await {
                Ok(cur) if s(&cur, "/metadata/uid") == uid && Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                _ => break,
            }
        }
        out(&format!("pod/{pn} evicted\n"));
    }
}
