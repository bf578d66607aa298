//! `kubectl get`: type/name arguments, list or named fetches as Tables or objects,
//! selectors, `-A`, `-w`/`--watch-only`, `--sort-by`, every `-o` format.

use crate::client::resources::{resolve, Res};
use crate::client::{discovery_refused_log, enc, Api, ApiError, TABLE_ACCEPT};
use crate::ctx::{err, out, CmdError, CmdResult, Ctx};
use crate::flags::{f, Kind, Spec};
use crate::print::format::{custom_columns, parse_format, render, Format};
use crate::print::table::{self, TableOpts};
use crate::print::tabwriter::TabWriter;
use futures::AsyncBufReadExt;
use serde_json::{json, Value};

/// Flags of `get`.
pub const FLAGS: &[Spec] = &[
    f("output", Some('o'), Kind::Value),
    f("selector", Some('l'), Kind::Value),
    f("field-selector", None, Kind::Value),
    f("all-namespaces", Some('A'), Kind::Bool),
    f("watch", Some('w'), Kind::Bool),
    f("watch-only", None, Kind::Bool),
    f("output-watch-events", None, Kind::Bool),
    f("show-labels", None, Kind::Bool),
    f("label-columns", Some('L'), Kind::Multi),
    f("sort-by", None, Kind::Value),
    f("no-headers", None, Kind::Bool),
    f("show-kind", None, Kind::Bool),
    f("chunk-size", None, Kind::Value),
    f("ignore-not-found", None, Kind::Bool),
    f("template", None, Kind::Value),
    f("filename", Some('f'), Kind::Multi),
    f("recursive", Some('R'), Kind::Bool),
    f("raw", None, Kind::Value),
    f("subresource", None, Kind::Value),
    f("show-managed-fields", None, Kind::Bool),
    f("allow-missing-template-keys", None, Kind::Bool),
    f("server-print", None, Kind::Bool),
    f("kustomize", Some('k'), Kind::Value),
];

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

fn query(ctx: &Ctx, extra: &str) -> String {
    let mut q = vec![];
    if let Some(l) = ctx.p.get("selector") {
        q.push(format!("labelSelector={}", enc(l)));
    }
    if let Some(f) = ctx.p.get("field-selector") {
        q.push(format!("fieldSelector={}", enc(f)));
    }
    if !extra.is_empty() {
        q.push(extra.to_string());
    }
    if q.is_empty() {
        String::new()
    } else {
        format!("?{}", q.join("&"))
    }
}

fn refused(api: &Api, e: ApiError) -> CmdError {
    if matches!(e, ApiError::Refused(_)) {
        discovery_refused_log(api);
    }
    e.into()
}

/// Runs `get`.
pub async fn run(ctx: &Ctx) -> CmdResult {
    let fmt = parse_format(ctx, true)?;
    let api = Api::connect(ctx).await?;
    let all_ns = ctx.p.flag("all-namespaces");
    let ns = if all_ns {
        None
    } else {
        Some(api.namespace.clone())
    };
    let reqs = parse_targets(ctx, Some(&api), ctx.args()).await?;
    let watch = ctx.p.flag("watch") || ctx.p.flag("watch-only");
    let table_mode = matches!(fmt, Format::Table | Format::Wide);
    let mut failed = false;
    let mut printed_any = false;
    let mut objects: Vec<Value> = Vec::new();
    let mut single = reqs.len() == 1 && reqs[0].names.len() == 1;
    let multi_kind = reqs.len() > 1 || ctx.p.flag("show-kind");
    let mut tw = TabWriter::new();
    let mut ns_sticky = false;
    let mut col_defs: Option<Value> = None;
    let opts_base = TableOpts {
        wide: fmt == Format::Wide,
        with_namespace: all_ns,
        show_labels: ctx.p.flag("show-labels"),
        label_columns: ctx
            .p
            .all("label-columns")
            .iter()
            .flat_map(|l| l.split(',').map(str::to_string).collect::<Vec<_>>())
            .collect(),
        kind_prefix: None,
        no_headers: ctx.p.flag("no-headers"),
    };
    for req in &reqs {
        let res = &req.res;
        let ns_ref = if res.namespaced { ns.as_deref() } else { None };
        if table_mode {
            let extra = if ctx.p.get("sort-by").is_some() {
                "includeObject=Object"
            } else {
                ""
            };
            let mut tables = Vec::new();
            if req.names.is_empty() {
                if ctx.p.flag("watch-only") {
                    continue;
                }
                let sep = if extra.is_empty() {
                    "limit=500".to_string()
                } else {
                    format!("limit=500&{extra}")
                };
                let path = format!("{}{}", res.path(ns_ref, None), query(ctx, &sep));
                match api
                    .call(http::Method::GET, &path, TABLE_ACCEPT, None, Vec::new())
                    .await
                {
                    Ok(t) => tables.push(t),
                    Err(ApiError::Status { code: 404, .. }) if req.optional => continue,
                    Err(ApiError::Status { code: 404, .. }) => return Err(no_type(res)),
                    Err(e) => return Err(refused(&api, e)),
                }
            } else {
                for n in &req.names {
                    let path = format!("{}{}", res.path(ns_ref, Some(n)), query(ctx, extra));
                    match api
                        .call(http::Method::GET, &path, TABLE_ACCEPT, None, Vec::new())
                        .await
                    {
                        Ok(t) => tables.push(t),
                        Err(e @ ApiError::Status { code: 404, .. })
                            if ctx.p.flag("ignore-not-found") =>
                        {
                            drop(e)
                        }
                        Err(e @ ApiError::Status { .. }) => {
                            err(&format!("{e}\n"));
                            failed = true;
                        }
                        Err(e) => return Err(refused(&api, e)),
                    }
                }
            }
            // merge the named tables into one
            let mut merged = match tables.first() {
                Some(t) => t.clone(),
                None => continue,
            };
            let all_rows: Vec<Value> = tables
                .iter()
                .flat_map(|t| {
                    t.get("rows")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default()
                })
                .collect();
            if all_rows.is_empty() {
                continue;
            }
            merged["rows"] = Value::Array(all_rows);
            if let Some(s) = ctx.p.get("sort-by") {
                table::sort_rows(&mut merged, s);
            }
            let mut opts = opts_base.clone();
            // once a namespaced kind printed with NAMESPACE, later kinds keep the column
            ns_sticky |= all_ns && res.namespaced;
            opts.with_namespace = ns_sticky;
            if multi_kind {
                opts.kind_prefix = Some(res.kind_group());
                if printed_any {
                    out("\n");
                }
                tw = TabWriter::new();
            }
            if watch && ctx.p.flag("output-watch-events") {
                // the initial objects print as ADDED events
                if !opts.no_headers {
                    let mut h = table::headers(&merged, &opts);
                    h.insert(0, "EVENT   ".into());
                    tw.row(&h);
                }
                for mut r in table::rows(&merged, &opts) {
                    r.insert(0, "ADDED   ".into());
                    tw.row(&r);
                }
                out(&tw.flush());
            } else {
                out(&table::render(&mut tw, &merged, &opts));
            }
            col_defs = merged.get("columnDefinitions").cloned();
            printed_any = true;
        } else {
            if req.names.is_empty() {
                if ctx.p.flag("watch-only") {
                    continue;
                }
                single = false;
                let path = format!("{}{}", res.path(ns_ref, None), query(ctx, "limit=500"));
                let list = match api.get(&path).await {
                    Ok(l) => l,
                    Err(ApiError::Status { code: 404, .. }) if req.optional => continue,
                    Err(ApiError::Status { code: 404, .. }) => return Err(no_type(res)),
                    Err(e) => return Err(refused(&api, e)),
                };
                let items = list
                    .get("items")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for mut it in items {
                    it["apiVersion"] = json!(res.api_version());
                    it["kind"] = json!(res.kind);
                    objects.push(strip_managed(ctx, it));
                }
            } else {
                for n in &req.names {
                    match api.get(&res.path(ns_ref, Some(n))).await {
                        Ok(o) => objects.push(strip_managed(ctx, o)),
                        Err(ApiError::Status { code: 404, .. })
                            if ctx.p.flag("ignore-not-found") => {}
                        Err(e @ ApiError::Status { .. }) => {
                            err(&format!("{e}\n"));
                            failed = true;
                        }
                        Err(e) => return Err(refused(&api, e)),
                    }
                }
            }
        }
    }
    if !table_mode {
        if let Format::CustomColumns(cols) = &fmt {
            if !objects.is_empty() {
                out(&custom_columns(cols, &objects, ctx.p.flag("no-headers")));
            }
        } else if !objects.is_empty() || !(single || matches!(fmt, Format::Name)) {
            out(&render(&fmt, &objects, single && objects.len() == 1)?);
        }
    }
    let nothing = if table_mode {
        !printed_any
    } else {
        objects.is_empty()
    };
    if nothing && !failed && !watch && reqs.iter().all(|r| r.names.is_empty()) {
        let scoped = reqs.iter().any(|r| r.res.namespaced);
        if all_ns || !scoped {
            err("No resources found\n");
        } else {
            err(&format!(
                "No resources found in {} namespace.\n",
                api.namespace
            ));
        }
    }
    if watch {
        return watch_loop(
            ctx,
            &api,
            &reqs,
            ns.as_deref(),
            &opts_base,
            &mut tw,
            (printed_any, col_defs),
        )
        .await;
    }
    if failed {
        return Err(CmdError::Exit(1));
    }
    Ok(())
}

/// A list answered 404: the server does not serve this type.
fn no_type(res: &Res) -> CmdError {
    CmdError::Msg(format!(
        "the server doesn't have a resource type \"{}\"",
        res.plural
    ))
}

/// Drops `metadata.managedFields` unless `--show-managed-fields` (kubectl's
/// OmitManagedFieldsPrinter).
fn strip_managed(ctx: &Ctx, mut v: Value) -> Value {
    if !ctx.p.flag("show-managed-fields") {
        if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("managedFields");
        }
    }
    v
}

async fn watch_loop(
    ctx: &Ctx,
    api: &Api,
    reqs: &[Request],
    ns: Option<&str>,
    opts: &TableOpts,
    tw: &mut TabWriter,
    printed: (bool, Option<Value>),
) -> CmdResult {
    // whether headers were printed, and the list's column definitions
    let (mut headers_done, mut col_defs) = printed;
    let Some(req) = reqs.first() else {
        return Ok(());
    };
    if reqs.len() > 1 {
        return Err(CmdError::Msg(
            "you may only specify a single resource type".into(),
        ));
    }
    let res = &req.res;
    let ns_ref = if res.namespaced { ns } else { None };
    let opts = &TableOpts {
        with_namespace: opts.with_namespace && res.namespaced,
        ..opts.clone()
    };
    let mut extra = String::new();
    if let Some(n) = req.names.first() {
        extra.push_str(&format!("fieldSelector=metadata.name%3D{}&", enc(n)));
    }
    // watch from the list's resourceVersion: what exists now was printed (or, with
    // --watch-only, is not wanted)
    let list_path = format!(
        "{}{}",
        res.path(ns_ref, None),
        query(ctx, &format!("{extra}limit=1"))
    );
    let rv = api
        .get(&list_path)
        .await
        .ok()
        .and_then(|l| {
            l.pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_default();
    extra.push_str("watch=true");
    if !rv.is_empty() {
        extra.push_str(&format!("&resourceVersion={rv}"));
    }
    let path = format!("{}{}", res.path(ns_ref, None), query(ctx, &extra));
    let stream = api
        .stream(&path, TABLE_ACCEPT)
        .await
        .map_err(CmdError::from)?;
    let mut lines = stream.lines();
    use futures::StreamExt;
    while let Some(line) = lines.next().await {
        let Ok(line) = line else { break };
        let Ok(ev) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        let typ = ev.get("type").and_then(Value::as_str).unwrap_or("");
        if typ == "BOOKMARK" || typ == "ERROR" {
            continue;
        }
        let mut obj = ev.get("object").cloned().unwrap_or(Value::Null);
        if obj.get("kind").and_then(Value::as_str) == Some("Table") {
            // the server sends column definitions only once: reuse them
            match obj.get("columnDefinitions").and_then(Value::as_array) {
                Some(d) if !d.is_empty() => col_defs = Some(Value::Array(d.clone())),
                _ => {
                    if let Some(d) = &col_defs {
                        obj["columnDefinitions"] = d.clone();
                    }
                }
            }
            if !headers_done && !opts.no_headers {
                let mut h = table::headers(&obj, opts);
                if ctx.p.flag("output-watch-events") {
                    h.insert(0, "EVENT   ".into());
                }
                tw.row(&h);
                headers_done = true;
            }
            for r in table::rows(&obj, opts) {
                let mut r = r;
                if ctx.p.flag("output-watch-events") {
                    // kubectl pads the event column to its longest value
                    r.insert(0, format!("{typ:<8}"));
                }
                tw.row(&r);
            }
            out(&tw.flush());
        }
    }
    Ok(())
}
