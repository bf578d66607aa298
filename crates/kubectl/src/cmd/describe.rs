//! `kubectl describe`: resolves TYPE [NAME_PREFIX…] | TYPE/NAME, fetches each object
//! with what its describer needs (events, replica sets, pods, lease) and prints them
//! separated by blank lines.

use crate::client::resources::Res;
use crate::client::{enc, Api, ApiError};
use crate::cmd::targets::parse_targets;
use crate::ctx::{err, out, CmdError, CmdResult, Ctx};
use crate::describe::util::selector_string;
use crate::describe::{kinds, node, pod, service};
use crate::flags::{f, Kind, Spec};
use crate::json_get::{arr, obj, s};
use serde_json::Value;

/// Flags of `describe`.
pub const FLAGS: &[Spec] = &[
    f("selector", Some('l'), Kind::Value),
    f("all-namespaces", Some('A'), Kind::Bool),
    f("filename", Some('f'), Kind::Multi),
    f("recursive", Some('R'), Kind::Bool),
    f("show-events", None, Kind::Bool),
    f("chunk-size", None, Kind::Value),
    f("kustomize", Some('k'), Kind::Value),
];

fn items(v: Value) -> Vec<Value> {
    match v {
        Value::Object(mut m) => match m.remove("items") {
            Some(Value::Array(a)) => a,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

async fn list(api: &Api, path: &str) -> Result<Vec<Value>, ApiError> {
    let sep = if path.contains('?') { '&' } else { '?' };
    Ok(items(api.get(&format!("{path}{sep}limit=500")).await?))
}

/// Events about `o` (searchEvents: involvedObject name/namespace/kind/uid).
async fn events_for(api: &Api, o: &Value, kind: Option<&str>, uid: &str) -> Vec<Value> {
    let ns = s(o, "/metadata/namespace");
    let mut fs = format!(
        "involvedObject.name={},involvedObject.namespace={ns}",
        s(o, "/metadata/name")
    );
    if let Some(k) = kind {
        fs.push_str(&format!(",involvedObject.kind={k}"));
    }
    fs.push_str(&format!(",involvedObject.uid={uid}"));
    let base = if ns.is_empty() {
        "/api/v1/events".to_string()
    } else {
        format!("/api/v1/namespaces/{ns}/events")
    };
    list(api, &format!("{base}?fieldSelector={}", enc(&fs)))
        .await
        .unwrap_or_default()
}

/// Renders one object with its kind's describer.
async fn describe_one(ctx: &Ctx, api: &Api, res: &Res, o: &Value) -> Result<String, CmdError> {
    let show = ctx.p.get("show-events") != Some("false");
    let uid = s(o, "/metadata/uid");
    let kind = match res.kind.as_str() {
        "Pod" => None,
        k => Some(k),
    };
    let mut evs = if show && res.kind != "Namespace" {
        Some(events_for(api, o, kind, uid).await)
    } else {
        None
    };
    Ok(match (res.group.as_str(), res.kind.as_str()) {
        ("", "Pod") => pod::pod(o, evs.as_deref()),
        ("apps", "Deployment") => {
            let rss = list(api, &selected(o, "/apis/apps/v1", "replicasets")).await?;
            kinds::deployment(o, &rss, evs.as_deref())
        }
        ("apps", "ReplicaSet") => {
            let pods = list(api, &selected(o, "/api/v1", "pods")).await?;
            let owned: Vec<Value> = pods
                .into_iter()
                .filter(|p| {
                    arr(p, "/metadata/ownerReferences").iter().any(|r| {
                        s(r, "/uid") == uid
                            && r.get("controller").and_then(Value::as_bool) == Some(true)
                    })
                })
                .collect();
            kinds::replicaset(o, &owned, evs.as_deref())
        }
        ("", "Service") => {
            let slices = list(api, &slices_path(o)).await.unwrap_or_default();
            service::service(o, &slices, evs.as_deref())
        }
        ("", "Namespace") => {
            let name = s(o, "/metadata/name");
            let quotas =
                optional_list(api, &format!("/api/v1/namespaces/{name}/resourcequotas")).await?;
            let limits =
                optional_list(api, &format!("/api/v1/namespaces/{name}/limitranges")).await?;
            kinds::namespace(o, quotas.as_deref(), limits.as_deref())
        }
        ("", "Node") => {
            if let Some(e) = evs.as_mut() {
                // the kubelet reports node events with the node name as uid
                e.extend(events_for(api, o, kind, s(o, "/metadata/name")).await);
            }
            describe_node(api, o, evs.as_deref()).await?
        }
        _ => generic(o, evs.as_deref()),
    })
}

/// The path listing `plural` under `prefix` in the object's namespace that its
/// selector picks (a Deployment's ReplicaSets, a ReplicaSet's pods).
fn selected(o: &Value, prefix: &str, plural: &str) -> String {
    let sel = selector_string(o.pointer("/spec/selector"));
    format!(
        "{prefix}/namespaces/{}/{plural}?labelSelector={}",
        s(o, "/metadata/namespace"),
        enc(&sel)
    )
}

/// The path of a Service's EndpointSlices.
fn slices_path(o: &Value) -> String {
    format!(
        "/apis/discovery.k8s.io/v1/namespaces/{}/endpointslices?labelSelector={}",
        s(o, "/metadata/namespace"),
        enc(&format!(
            "kubernetes.io/service-name={}",
            s(o, "/metadata/name")
        ))
    )
}

/// Describes a Node with its non-terminated pods and its Lease.
async fn describe_node(api: &Api, o: &Value, evs: Option<&[Value]>) -> Result<String, CmdError> {
    let name = s(o, "/metadata/name");
    let fs = format!("spec.nodeName={name},status.phase!=Succeeded,status.phase!=Failed");
    let pods = list(api, &format!("/api/v1/pods?fieldSelector={}", enc(&fs))).await?;
    let lease = api
        .get(&format!(
            "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{name}"
        ))
        .await;
    let lease_ref = match &lease {
        Ok(l) => Ok(l),
        Err(ApiError::Status { message, .. }) => Err(message.clone()),
        Err(e) => Err(e.to_string()),
    };
    Ok(node::node(o, &pods, lease_ref, evs))
}

async fn optional_list(api: &Api, path: &str) -> Result<Option<Vec<Value>>, CmdError> {
    match list(api, path).await {
        Ok(l) => Ok(Some(l)),
        Err(ApiError::Status { code: 404, .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Kinds without a dedicated describer: metadata and events.
fn generic(o: &Value, evs: Option<&[Value]>) -> String {
    use crate::describe::util::{annotations, labels};
    let mut w = crate::describe::writer::GoTab::new();
    w.w(0, &format!("Name:\t{}\n", s(o, "/metadata/name")));
    let ns = s(o, "/metadata/namespace");
    if !ns.is_empty() {
        w.w(0, &format!("Namespace:\t{ns}\n"));
    }
    labels(&mut w, "Labels", obj(o, "/metadata/labels"));
    annotations(&mut w, "Annotations", obj(o, "/metadata/annotations"));
    w.w(0, &format!("API Version:\t{}\n", s(o, "/apiVersion")));
    w.w(0, &format!("Kind:\t{}\n", s(o, "/kind")));
    if let Some(evs) = evs {
        crate::describe::util::events(&mut w, evs);
    }
    w.finish()
}

/// Runs `describe`.
pub async fn run(ctx: &Ctx) -> CmdResult {
    if ctx.args().is_empty() && ctx.p.all("filename").is_empty() {
        return Err(CmdError::Msg("You must specify the type of resource to describe. Use \"kubectl api-resources\" for a complete list of supported resources.".into()));
    }
    let api = Api::connect(ctx).await?;
    let all_ns = ctx.p.flag("all-namespaces");
    let reqs = parse_targets(ctx, Some(&api), ctx.args()).await?;
    let prefix_ok = ctx.args().len() == 2 && !ctx.args()[0].contains('/');
    let mut first = true;
    let mut failed = false;
    let mut emit = |text: String| {
        if !first {
            out("\n\n");
        }
        first = false;
        out(&text);
    };
    for req in &reqs {
        let res = &req.res;
        let ns = (res.namespaced && !all_ns).then_some(api.namespace.as_str());
        let mut sel = String::new();
        if let Some(l) = ctx.p.get("selector") {
            sel = format!("?labelSelector={}", enc(l));
        }
        if req.names.is_empty() {
            let objs = list(&api, &format!("{}{sel}", res.path(ns, None))).await?;
            if objs.is_empty() {
                if all_ns || !res.namespaced {
                    err("No resources found\n");
                } else {
                    err(&format!(
                        "No resources found in {} namespace.\n",
                        api.namespace
                    ));
                }
            }
            for o in objs {
                let o = with_kind(o, res);
                emit(describe_one(ctx, &api, res, &o).await?);
            }
            continue;
        }
        for name in &req.names {
            match api.get(&res.path(ns, Some(name))).await {
                Ok(o) => emit(describe_one(ctx, &api, res, &o).await?),
                Err(e @ ApiError::Status { code: 404, .. }) if prefix_ok => {
                    // `describe TYPE PREFIX` describes every object whose name starts so
                    let all = list(&api, &res.path(ns, None)).await.unwrap_or_default();
                    let matches: Vec<Value> = all
                        .into_iter()
                        .filter(|o| s(o, "/metadata/name").starts_with(name.as_str()))
                        .collect();
                    if matches.is_empty() {
                        err(&format!("{e}\n"));
                        failed = true;
                    }
                    for o in matches {
                        let o = with_kind(o, res);
                        out(&format!("{}\n", describe_one(ctx, &api, res, &o).await?));
                    }
                }
                Err(e @ ApiError::Status { .. }) => {
                    err(&format!("{e}\n"));
                    failed = true;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    if failed {
        return Err(CmdError::Exit(1));
    }
    Ok(())
}

fn with_kind(mut o: Value, res: &Res) -> Value {
    if let Some(m) = o.as_object_mut() {
        m.entry("apiVersion")
            .or_insert_with(|| Value::String(res.api_version()));
        m.entry("kind")
            .or_insert_with(|| Value::String(res.kind.clone()));
    }
    o
}
