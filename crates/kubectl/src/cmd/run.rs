//! `kubectl run NAME --image=IMAGE [-- ARGS…]`: builds the Pod upstream's generator
//! makes and creates it (or prints it with `--dry-run=client`).

use crate::client::Api;
use crate::cmd::options::{dry_run, DryRun};
use crate::ctx::{CmdError, CmdResult, Ctx};
use crate::flags::{f, Kind, Spec};
use crate::ordered_json::Doc;
use crate::print::outcome::print_result;
use http::Method;

/// Flags of `run`.
pub const FLAGS: &[Spec] = &[
    f("image", None, Kind::Value),
    f("port", None, Kind::Value),
    f("labels", Some('l'), Kind::Value),
    f("env", None, Kind::Multi),
    f("command", None, Kind::Bool),
    f("restart", None, Kind::Value),
    f("image-pull-policy", None, Kind::Value),
    f("dry-run", None, Kind::Value),
    f("output", Some('o'), Kind::Value),
    f("annotations", None, Kind::Multi),
    f("stdin", Some('i'), Kind::Bool),
    f("tty", Some('t'), Kind::Bool),
    f("rm", None, Kind::Bool),
    f("attach", None, Kind::Bool),
    f("quiet", Some('q'), Kind::Bool),
    f("expose", None, Kind::Bool),
    f("overrides", None, Kind::Value),
    f("override-type", None, Kind::Value),
    f("privileged", None, Kind::Bool),
    f("field-manager", None, Kind::Value),
    f("pod-running-timeout", None, Kind::Value),
];

fn kv_map(items: &[String]) -> Doc {
    let mut d = Doc::obj();
    for it in items {
        let (k, v) = it.split_once('=').unwrap_or((it, ""));
        d = d.with(k, Doc::s(v));
    }
    d
}

/// Builds the Pod.
fn pod(ctx: &Ctx) -> Result<Doc, CmdError> {
    let Some(image) = ctx.p.get("image").filter(|i| !i.is_empty()) else {
        return Err(CmdError::Msg("required flag(s) \"image\" not set".into()));
    };
    let args = ctx.args();
    let at = ctx.p.dash_at.unwrap_or(args.len()).min(args.len());
    let name = match &args[..at] {
        [] => {
            return Err(ctx.usage_h("NAME is required for run"));
        }
        [n, ..] => n.clone(),
    };
    let rest: Vec<String> = args[1.min(args.len())..].to_vec();
    let meta = metadata(ctx, &name);
    let c = container(ctx, &name, image, &rest);
    let restart = ctx.p.get("restart").unwrap_or("Always");
    if !matches!(restart, "Always" | "OnFailure" | "Never") {
        return Err(CmdError::Msg(format!("invalid restart policy: {restart}")));
    }
    Ok(Doc::obj()
        .with("kind", Doc::s("Pod"))
        .with("apiVersion", Doc::s("v1"))
        .with("metadata", meta)
        .with(
            "spec",
            Doc::obj()
                .with("containers", Doc::Arr(vec![c]))
                .with("restartPolicy", Doc::s(restart))
                .with("dnsPolicy", Doc::s("ClusterFirst")),
        )
        .with("status", Doc::obj()))
}

/// The Pod's metadata: name, `-n`, labels (`-l`, else `run=NAME`) and annotations.
fn metadata(ctx: &Ctx, name: &str) -> Doc {
    let labels = match ctx.p.get("labels") {
        Some(l) => kv_map(&l.split(',').map(str::to_string).collect::<Vec<_>>()),
        None => Doc::obj().with("run", Doc::s(name)),
    };
    let mut meta = Doc::obj().with("name", Doc::s(name));
    if let Some(ns) = ctx.namespace_flag() {
        meta = meta.with("namespace", Doc::s(ns));
    }
    meta = meta
        .with("creationTimestamp", Doc::Null)
        .with("labels", labels);
    let ann = ctx.p.all("annotations");
    if !ann.is_empty() {
        meta = meta.with("annotations", kv_map(&ann));
    }
    meta
}

/// The one container, named like the Pod: arguments after `--` as args (or the
/// command with `--command`), env, port, pull policy, privileged, stdin and tty.
fn container(ctx: &Ctx, name: &str, image: &str, rest: &[String]) -> Doc {
    let mut c = Doc::obj()
        .with("name", Doc::s(name))
        .with("image", Doc::s(image));
    if !rest.is_empty() {
        let key = if ctx.p.flag("command") {
            "command"
        } else {
            "args"
        };
        c = c.with(key, Doc::Arr(rest.iter().map(Doc::s).collect()));
    }
    let env = ctx.p.all("env");
    if !env.is_empty() {
        c = c.with(
            "env",
            Doc::Arr(
                env.iter()
                    .map(|e| {
                        let (k, v) = e.split_once('=').unwrap_or((e, ""));
                        Doc::obj().with("name", Doc::s(k)).with("value", Doc::s(v))
                    })
                    .collect(),
            ),
        );
    }
    if let Some(p) = ctx.p.get("port").and_then(|p| p.parse::<i64>().ok()) {
        c = c.with(
            "ports",
            Doc::Arr(vec![Doc::obj().with("containerPort", Doc::from(p))]),
        );
    }
    c = c.with("resources", Doc::obj());
    if let Some(p) = ctx.p.get("image-pull-policy") {
        c = c.with("imagePullPolicy", Doc::s(p));
    }
    if ctx.p.flag("privileged") {
        c = c.with(
            "securityContext",
            Doc::obj().with("privileged", Doc::Bool(true)),
        );
    }
    if ctx.p.flag("stdin") {
        c = c
            .with("stdin", Doc::Bool(true))
            .with("stdinOnce", Doc::Bool(true));
    }
    if ctx.p.flag("tty") {
        c = c.with("tty", Doc::Bool(true));
    }
    c
}

/// Runs `run`.
pub async fn run(ctx: &Ctx) -> CmdResult {
    let mode = dry_run(ctx)?;
    let attached = ctx.p.flag("attach") || ctx.p.flag("stdin") || ctx.p.flag("tty");
    if mode != DryRun::None && attached {
        return Err(ctx.usage_h(
            "--dry-run=[server|client] can't be used with attached containers options (--attach, --stdin, or --tty)",
        ));
    }
    let obj = crate::cmd::options::apply_overrides(ctx, pod(ctx)?)?;
    if mode == DryRun::Client {
        return print_result(ctx, &obj, "created", mode);
    }
    let api = Api::connect(ctx).await?;
    let ns = ctx
        .namespace_flag()
        .map(str::to_string)
        .unwrap_or(api.namespace.clone());
    let mut path = format!("/api/v1/namespaces/{ns}/pods?fieldManager=kubectl-run");
    if mode == DryRun::Server {
        path.push_str("&dryRun=All");
    }
    let created = api
        .send_json(Method::POST, &path, "application/json", &obj.to_value())
        .await?;
    crate::print::outcome::print_obj(ctx, &created, "created", mode)
}
