//! How commands find what their arguments name: `TYPE[,TYPE] [NAME…]` and `TYPE/NAME…`
//! requests (with the `all` category), the live objects of mutating verbs (names,
//! `-l`, `--all`, `-f`, `--local`), and the pod and container of exec-like verbs.

use crate::client::resources::{for_kind, resolve, Res};
use crate::client::{enc, Api};
use crate::ctx::{err, CmdError, Ctx};
use crate::describe::util::selector_string;
use crate::json_get::{arr, s};
use serde_json::Value;

/// Members of the `all` category, in discovery order.
const ALL_CATEGORY: &[&str] = &[
    "pods",
    "replicationcontrollers",
    "services",
    "daemonsets.apps",
    "deployments.apps",
    "replicasets.apps",
    "statefulsets.apps",
    "horizontalpodautoscalers.autoscaling",
    "cronjobs.batch",
    "jobs.batch",
];

/// One requested type with optional names.
#[derive(Debug, Clone)]
pub struct Request {
    /// The resource.
    pub res: Res,
    /// Names (empty = list).
    pub names: Vec<String>,
    /// Expanded from a category (`all`): skipped when the server lacks it.
    pub optional: bool,
}

/// Parses `TYPE[,TYPE] [NAME…]` or `TYPE/NAME…` argument forms.
pub async fn parse_targets(
    ctx: &Ctx,
    api: Option<&Api>,
    args: &[String],
) -> Result<Vec<Request>, CmdError> {
    let mut reqs: Vec<Request> = Vec::new();
    if args.iter().any(|a| a.contains('/')) {
        for a in args {
            let Some((t, n)) = a.split_once('/') else {
                return Err(CmdError::Msg(format!("there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. '{} get resource/<resource_name>' instead of '{} get resource resource/<resource_name>'", "kubectl", "kubectl")));
            };
            let res = resolve(api, t).await?;
            match reqs.iter_mut().find(|r| r.res == res) {
                Some(r) => r.names.push(n.to_string()),
                None => reqs.push(Request {
                    res,
                    names: vec![n.to_string()],
                    optional: false,
                }),
            }
        }
        return Ok(reqs);
    }
    let Some((types, names)) = args.split_first() else {
        err("You must specify the type of resource to get. Use \"kubectl api-resources\" for a complete list of supported resources.\n\n");
        return Err(ctx.usage_h("Required resource not specified.\nUse \"kubectl explain <resource>\" for a detailed description of that resource (e.g. kubectl explain pods)."));
    };
    for t in types.split(',').filter(|t| !t.is_empty()) {
        if t == "all" {
            for c in ALL_CATEGORY {
                let res = resolve(api, c).await?;
                if !reqs.iter().any(|r| r.res == res) {
                    reqs.push(Request {
                        res,
                        names: names.to_vec(),
                        optional: true,
                    });
                }
            }
            continue;
        }
        reqs.push(Request {
            res: resolve(api, t).await?,
            names: names.to_vec(),
            optional: false,
        });
    }
    Ok(reqs)
}

/// Fetches every targeted object (names, TYPE/NAME, `-l`, `--all`, `-f`); with `--local`
/// the objects are the files' own and the server is not asked.
pub async fn objects(ctx: &Ctx, api: &Api, args: &[String]) -> Result<Vec<(Res, Value)>, CmdError> {
    let (found, failed) = objects_partial(ctx, api, args).await?;
    match failed {
        Some(e) => Err(e),
        None => Ok(found),
    }
}

/// Like [`objects`], but a file object that cannot be fetched does not stop the others:
/// kubectl acts on those it found and reports the failure afterwards.
pub async fn objects_partial(
    ctx: &Ctx,
    api: &Api,
    args: &[String],
) -> Result<(Vec<(Res, Value)>, Option<CmdError>), CmdError> {
    let files = ctx.p.all("filename");
    if ctx.p.flag("local") && files.is_empty() {
        return Err(CmdError::Msg(
            "can only use local files by -f pod.yaml or --filename=pod.json when --local=true is set"
                .into(),
        ));
    }
    if !files.is_empty() {
        let mut outv = Vec::new();
        let mut failed = None;
        for m in crate::input::manifests::read(&files, ctx.p.flag("recursive"))? {
            let res = for_kind(Some(api), s(&m.obj, "/apiVersion"), s(&m.obj, "/kind")).await?;
            if ctx.p.flag("local") {
                outv.push((res, m.obj));
                continue;
            }
            match api.get(&path_of(api, &res, &m.obj)).await {
                Ok(live) => outv.push((res, live)),
                Err(e) => failed = Some(e.into()),
            }
        }
        return Ok((outv, failed));
    }
    let reqs = parse_targets(ctx, Some(api), args).await?;
    let mut outv = Vec::new();
    for r in reqs {
        let ns = r.res.namespaced.then_some(api.namespace.as_str());
        if r.names.is_empty() {
            let sel = match ctx.p.get("selector") {
                Some(l) => format!("?labelSelector={}", enc(l)),
                None if ctx.p.flag("all") => String::new(),
                None => {
                    return Err(CmdError::Msg(
                        "resource(s) were provided, but no name was specified".into(),
                    ))
                }
            };
            let list = api.get(&format!("{}{sel}", r.res.path(ns, None))).await?;
            for o in arr(&list, "/items") {
                outv.push((r.res.clone(), o.clone()));
            }
        } else {
            for n in &r.names {
                outv.push((r.res.clone(), api.get(&r.res.path(ns, Some(n))).await?));
            }
        }
    }
    Ok((outv, None))
}

/// The path of a fetched or file object (its namespace, else the connection's).
pub fn path_of(api: &Api, res: &Res, o: &Value) -> String {
    let ns = s(o, "/metadata/namespace");
    let ns = if ns.is_empty() {
        api.namespace.as_str()
    } else {
        ns
    };
    res.path(Some(ns), Some(s(o, "/metadata/name")))
}

/// Finds the pod for `POD` or `TYPE/NAME` (first pod of a workload's selector).
pub async fn target_pod(api: &Api, target: &str) -> Result<Value, CmdError> {
    let ns = api.namespace.clone();
    let name = match target.split_once('/') {
        None => target.to_string(),
        Some((t, n)) => {
            let res = resolve(Some(api), t).await?;
            if res.kind == "Pod" {
                n.to_string()
            } else {
                let o = api.get(&res.path(Some(&ns), Some(n))).await?;
                let sel = selector_string(o.pointer("/spec/selector"));
                let sel = if sel.is_empty() {
                    // Services select with a plain map
                    crate::describe::util::format_labels(
                        o.pointer("/spec/selector").and_then(Value::as_object),
                    )
                } else {
                    sel
                };
                let list = api
                    .get(&format!(
                        "/api/v1/namespaces/{ns}/pods?labelSelector={}",
                        enc(&sel)
                    ))
                    .await?;
                let mut pods: Vec<Value> = arr(&list, "/items").to_vec();
                // sort.Reverse(podutils.ActivePods): scheduled, running, ready, fewer
                // restarts and older pods first
                pods.sort_by_key(|p| {
                    let ready = arr(p, "/status/conditions")
                        .iter()
                        .any(|c| s(c, "/type") == "Ready" && s(c, "/status") == "True");
                    let phase_rank = match s(p, "/status/phase") {
                        "Running" => 0,
                        "Unknown" => 1,
                        "Pending" => 2,
                        _ => 3,
                    };
                    let restarts: i64 = arr(p, "/status/containerStatuses")
                        .iter()
                        .map(|c| crate::json_get::i(c, "/restartCount"))
                        .sum();
                    (
                        s(p, "/spec/nodeName").is_empty(),
                        phase_rank,
                        !ready,
                        restarts,
                        s(p, "/metadata/creationTimestamp").to_string(),
                    )
                });
                return pods.into_iter().next().ok_or_else(|| {
                    CmdError::Msg(format!(
                        "cannot attach to {}: selector for the resource has no pods",
                        res.kind_group()
                    ))
                });
            }
        }
    };
    Ok(api
        .get(&format!("/api/v1/namespaces/{ns}/pods/{name}"))
        .await?)
}

/// The container to use: `-c`, the default-container annotation, or the first
/// (announcing the choice when the pod has several).
pub fn pick_container(ctx: &Ctx, pod: &Value) -> String {
    pick_container_to(ctx, pod, false)
}

/// [`pick_container`], announcing on stdout when `to_stdout` (as `cp` from a pod does).
pub fn pick_container_to(ctx: &Ctx, pod: &Value, to_stdout: bool) -> String {
    if let Some(c) = ctx.p.get("container") {
        return c.to_string();
    }
    let names: Vec<String> = arr(pod, "/spec/containers")
        .iter()
        .map(|c| s(c, "/name").to_string())
        .collect();
    let annotated = s(
        pod,
        "/metadata/annotations/kubectl.kubernetes.io~1default-container",
    );
    if !annotated.is_empty() && names.iter().any(|n| n == annotated) {
        return annotated.to_string();
    }
    let first = names.first().cloned().unwrap_or_default();
    if names.len() > 1 && !ctx.p.flag("quiet") {
        let mut all = names.clone();
        all.extend(
            arr(pod, "/spec/ephemeralContainers")
                .iter()
                .map(|c| format!("{} (ephem)", s(c, "/name"))),
        );
        all.extend(
            arr(pod, "/spec/initContainers")
                .iter()
                .map(|c| format!("{} (init)", s(c, "/name"))),
        );
        let msg = format!(
            "Defaulted container \"{first}\" out of: {}\n",
            all.join(", ")
        );
        if to_stdout {
            crate::ctx::out(&msg);
        } else {
            err(&msg);
        }
    }
    first
}
