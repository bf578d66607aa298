//! `kubectl get`: type/name arguments, list or named fetches as Tables or objects,
//! selectors, `-A`, `-w`/`--watch-only`, `--sort-by`, every `-o` format.

use crate::client::resources::Res;
use crate::client::{discovery_refused_log, enc, Api, ApiError, TABLE_ACCEPT};
use crate::cmd::get_watch::watch_loop;
use crate::cmd::targets::{parse_targets, Request};
use crate::ctx::{err, out, CmdError, CmdResult, Ctx};
use crate::flags::{f, Kind, Spec};
use crate::print::format::{custom_columns, parse_format, render, Format};
use crate::print::table::{self, TableOpts};
use crate::print::tabwriter::TabWriter;
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

/// The query string: `-l`, `--field-selector`, then `extra`.
pub(super) fn query(ctx: &Ctx, extra: &str) -> String {
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

/// A failure that ends `get`; a refused connection first prints discovery's klog lines.
fn refused(api: &Api, e: ApiError) -> CmdError {
    if matches!(e, ApiError::Refused(_)) {
        discovery_refused_log(api);
    }
    e.into()
}

/// One `get` run: what the flags ask for, and what has been printed or collected.
struct Get<'a> {
    ctx: &'a Ctx,
    api: &'a Api,
    fmt: Format,
    /// `-A`.
    all_ns: bool,
    /// `-w` or `--watch-only`.
    watch: bool,
    /// Several kinds (or `--show-kind`): NAME cells get a kind prefix, tables a gap.
    multi_kind: bool,
    /// Table options common to every kind.
    opts: TableOpts,
    /// One named object: printed bare rather than in a List.
    single: bool,
    /// Some named object could not be fetched (exit code 1 at the end).
    failed: bool,
    /// Some table has been printed.
    printed_any: bool,
    /// Objects collected for a non-table format.
    objects: Vec<Value>,
    /// Aligns table rows; its widths carry over unless several kinds print.
    tw: TabWriter,
    /// Once a namespaced kind printed with NAMESPACE, later kinds keep the column.
    ns_sticky: bool,
    /// The last table's column definitions (a watch reuses them).
    col_defs: Option<Value>,
}

/// The table options `get`'s flags set.
fn table_opts(ctx: &Ctx, fmt: &Format, all_ns: bool) -> TableOpts {
    TableOpts {
        wide: *fmt == Format::Wide,
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
    }
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
    let table_mode = matches!(fmt, Format::Table | Format::Wide);
    let mut get = Get {
        ctx,
        api: &api,
        opts: table_opts(ctx, &fmt, all_ns),
        fmt,
        all_ns,
        watch: ctx.p.flag("watch") || ctx.p.flag("watch-only"),
        multi_kind: reqs.len() > 1 || ctx.p.flag("show-kind"),
        single: reqs.len() == 1 && reqs[0].names.len() == 1,
        failed: false,
        printed_any: false,
        objects: Vec::new(),
        tw: TabWriter::new(),
        ns_sticky: false,
        col_defs: None,
    };
    for req in &reqs {
        let ns_ref = if req.res.namespaced {
            ns.as_deref()
        } else {
            None
        };
        if table_mode {
            if let Some(mut merged) = get.fetch_table(req, ns_ref).await? {
                if let Some(s) = ctx.p.get("sort-by") {
                    table::sort_rows(&mut merged, s);
                }
                get.print_table(&req.res, &merged);
            }
        } else {
            get.fetch_objects(req, ns_ref).await?;
        }
    }
    if !table_mode {
        get.print_objects()?;
    }
    let nothing = if table_mode {
        !get.printed_any
    } else {
        get.objects.is_empty()
    };
    if nothing && !get.failed && !get.watch && reqs.iter().all(|r| r.names.is_empty()) {
        no_resources(&reqs, all_ns, &api.namespace);
    }
    if get.watch {
        return watch_loop(
            ctx,
            &api,
            &reqs,
            ns.as_deref(),
            &get.opts,
            &mut get.tw,
            (get.printed_any, get.col_defs),
        )
        .await;
    }
    if get.failed {
        return Err(CmdError::Exit(1));
    }
    Ok(())
}

/// `No resources found[ in NS namespace].` for lists that came back empty.
fn no_resources(reqs: &[Request], all_ns: bool, namespace: &str) {
    let scoped = reqs.iter().any(|r| r.res.namespaced);
    if all_ns || !scoped {
        err("No resources found\n");
    } else {
        err(&format!("No resources found in {namespace} namespace.\n"));
    }
}

impl Get<'_> {
    /// Fetches the request's Table (the list, or each name) merged into one; None when
    /// there is nothing to print for it.
    async fn fetch_table(
        &mut self,
        req: &Request,
        ns: Option<&str>,
    ) -> Result<Option<Value>, CmdError> {
        let (ctx, api, res) = (self.ctx, self.api, &req.res);
        let extra = if ctx.p.get("sort-by").is_some() {
            "includeObject=Object"
        } else {
            ""
        };
        let mut tables = Vec::new();
        if req.names.is_empty() {
            if ctx.p.flag("watch-only") {
                return Ok(None);
            }
            let sep = if extra.is_empty() {
                "limit=500".to_string()
            } else {
                format!("limit=500&{extra}")
            };
            let path = format!("{}{}", res.path(ns, None), query(ctx, &sep));
            match api
                .call(http::Method::GET, &path, TABLE_ACCEPT, None, Vec::new())
                .await
            {
                Ok(t) => tables.push(t),
                Err(ApiError::Status { code: 404, .. }) if req.optional => return Ok(None),
                Err(ApiError::Status { code: 404, .. }) => return Err(no_type(res)),
                Err(e) => return Err(refused(api, e)),
            }
        } else {
            for n in &req.names {
                let path = format!("{}{}", res.path(ns, Some(n)), query(ctx, extra));
                match api
                    .call(http::Method::GET, &path, TABLE_ACCEPT, None, Vec::new())
                    .await
                {
                    Ok(t) => tables.push(t),
                    Err(ApiError::Status { code: 404, .. }) if ctx.p.flag("ignore-not-found") => {}
                    Err(e @ ApiError::Status { .. }) => {
                        err(&format!("{e}\n"));
                        self.failed = true;
                    }
                    Err(e) => return Err(refused(api, e)),
                }
            }
        }
        Ok(merge_tables(&tables))
    }

    /// Prints one kind's table (as ADDED events under `--output-watch-events`).
    fn print_table(&mut self, res: &Res, merged: &Value) {
        let mut opts = self.opts.clone();
        self.ns_sticky |= self.all_ns && res.namespaced;
        opts.with_namespace = self.ns_sticky;
        if self.multi_kind {
            opts.kind_prefix = Some(res.kind_group());
            if self.printed_any {
                out("\n");
            }
            self.tw = TabWriter::new();
        }
        if self.watch && self.ctx.p.flag("output-watch-events") {
            // the initial objects print as ADDED events
            if !opts.no_headers {
                let mut h = table::headers(merged, &opts);
                h.insert(0, "EVENT   ".into());
                self.tw.row(&h);
            }
            for mut r in table::rows(merged, &opts) {
                r.insert(0, "ADDED   ".into());
                self.tw.row(&r);
            }
            out(&self.tw.flush());
        } else {
            out(&table::render(&mut self.tw, merged, &opts));
        }
        self.col_defs = merged.get("columnDefinitions").cloned();
        self.printed_any = true;
    }

    /// Collects the request's objects (the list's items, or each name) for `-o`.
    async fn fetch_objects(&mut self, req: &Request, ns: Option<&str>) -> CmdResult {
        let (ctx, api, res) = (self.ctx, self.api, &req.res);
        if !req.names.is_empty() {
            for n in &req.names {
                match api.get(&res.path(ns, Some(n))).await {
                    Ok(o) => self.objects.push(strip_managed(ctx, o)),
                    Err(ApiError::Status { code: 404, .. }) if ctx.p.flag("ignore-not-found") => {}
                    Err(e @ ApiError::Status { .. }) => {
                        err(&format!("{e}\n"));
                        self.failed = true;
                    }
                    Err(e) => return Err(refused(api, e)),
                }
            }
            return Ok(());
        }
        if ctx.p.flag("watch-only") {
            return Ok(());
        }
        self.single = false;
        let path = format!("{}{}", res.path(ns, None), query(ctx, "limit=500"));
        let list = match api.get(&path).await {
            Ok(l) => l,
            Err(ApiError::Status { code: 404, .. }) if req.optional => return Ok(()),
            Err(ApiError::Status { code: 404, .. }) => return Err(no_type(res)),
            Err(e) => return Err(refused(api, e)),
        };
        let items = list
            .get("items")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for mut it in items {
            it["apiVersion"] = json!(res.api_version());
            it["kind"] = json!(res.kind);
            self.objects.push(strip_managed(ctx, it));
        }
        Ok(())
    }

    /// Prints the collected objects in the `-o` format.
    fn print_objects(&self) -> CmdResult {
        let objects = &self.objects;
        if let Format::CustomColumns(cols) = &self.fmt {
            if !objects.is_empty() {
                out(&custom_columns(
                    cols,
                    objects,
                    self.ctx.p.flag("no-headers"),
                ));
            }
        } else if !objects.is_empty() || !(self.single || matches!(self.fmt, Format::Name)) {
            out(&render(
                &self.fmt,
                objects,
                self.single && objects.len() == 1,
            )?);
        }
        Ok(())
    }
}

/// The rows of several Tables under the first one's columns; None when there are no
/// rows at all.
fn merge_tables(tables: &[Value]) -> Option<Value> {
    let mut merged = tables.first()?.clone();
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
        return None;
    }
    merged["rows"] = Value::Array(all_rows);
    Some(merged)
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
