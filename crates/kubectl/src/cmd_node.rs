//! `kubectl cordon`, `uncordon` and `drain` (cordon, then evict every pod on the node
//! through pods/eviction, skipping DaemonSet and mirror pods, and wait for them to go).

use crate::client::{Api, ApiError};
use crate::cmd_get::enc;
use crate::ctx::{err, out, CmdError, CmdResult, Ctx};
use crate::describe_util::{arr, s};
use crate::flags::{f, Kind, Spec};
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

async fn set_unschedulable(api: &Api, node: &Value, want: bool) -> Result<String, CmdError> {
    let name = s(node, "/metadata/name");
    let cur = node.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true);
    let verb = if want { "cordoned" } else { "uncordoned" };
    if cur == want {
        return Ok(format!("node/{name} already {verb}"));
    }
    let patch = json!({"spec": {"unschedulable": if want { json!(true) } else { Value::Null }}});
    api.send_json(
        Method::PATCH,
        &format!("/api/v1/nodes/{name}"),
        "application/strategic-merge-patch+json",
        &patch,
    )
    .await?;
    Ok(format!("node/{name} {verb}"))
}

/// Runs `cordon` (`want` = true) or `uncordon`.
pub async fn cordon(ctx: &Ctx, want: bool) -> CmdResult {
    let api = Api::connect(ctx).await?;
    for n in nodes(ctx, &api).await? {
        out(&format!("{}\n", set_unschedulable(&api, &n, want).await?));
    }
    Ok(())
}

fn controller_kind(p: &Value) -> Option<String> {
    arr(p, "/metadata/ownerReferences")
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        .map(|r| s(r, "/kind").to_string())
}

/// Runs `drain`.
pub async fn drain(ctx: &Ctx) -> CmdResult {
    let api = Api::connect(ctx).await?;
    for n in nodes(ctx, &api).await? {
        let name = s(&n, "/metadata/name").to_string();
        out(&format!("{}\n", set_unschedulable(&api, &n, true).await?));
        let fs = format!("spec.nodeName={name}");
        let list = api
            .get(&format!("/api/v1/pods?fieldSelector={}", enc(&fs)))
            .await?;
        let mut evict = Vec::new();
        let mut ds_pods = Vec::new();
        let mut errors = Vec::new();
        for p in arr(&list, "/items") {
            let phase = s(p, "/status/phase");
            let pname = format!("{}/{}", s(p, "/metadata/namespace"), s(p, "/metadata/name"));
            if !s(p, "/metadata/annotations/kubernetes.io~1config.mirror").is_empty() {
                continue;
            }
            match controller_kind(p).as_deref() {
                Some("DaemonSet") => {
                    if ctx.p.flag("ignore-daemonsets") {
                        ds_pods.push(pname);
                    } else {
                        errors.push(format!("cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): {pname}"));
                    }
                    continue;
                }
                None if !ctx.p.flag("force") && phase != "Succeeded" && phase != "Failed" => {
                    errors.push(format!("cannot delete Pods that declare no controller (use --force to override): {pname}"));
                    continue;
                }
                _ => {}
            }
            let has_emptydir = arr(p, "/spec/volumes")
                .iter()
                .any(|v| v.get("emptyDir").is_some());
            if has_emptydir
                && !ctx.p.flag("delete-emptydir-data")
                && !ctx.p.flag("delete-local-data")
            {
                errors.push(format!("cannot delete Pods with local storage (use --delete-emptydir-data to override): {pname}"));
                continue;
            }
            evict.push(p.clone());
        }
        if !errors.is_empty() {
            return Err(CmdError::Msg(format!(
                "unable to drain node \"{name}\" due to error: {}, continuing command...\nThere are pending nodes to be drained:\n {name}\n{}",
                errors.join(", "),
                errors.join("\n")
            )));
        }
        if !ds_pods.is_empty() {
            err(&format!(
                "Warning: ignoring DaemonSet-managed Pods: {}\n",
                ds_pods.join(", ")
            ));
        }
        for p in &evict {
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
        let deadline = Instant::now() + Duration::from_secs(300);
        for p in &evict {
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
        out(&format!("node/{name} drained\n"));
    }
    Ok(())
}
