//! `kubectl exec` and `kubectl attach`: pick the pod (POD or TYPE/NAME) and container,
//! then run a channel-protocol WebSocket session.

use crate::client::enc;
use crate::client::remote::{self, Session};
use crate::client::resources::resolve;
use crate::client::Api;
use crate::ctx::{err, CmdError, CmdResult, Ctx};
use crate::describe::util::{arr, s, selector_string};
use crate::flags::{f, Kind, Spec};
use serde_json::Value;

/// Flags of `exec`.
pub const EXEC_FLAGS: &[Spec] = &[
    f("container", Some('c'), Kind::Value),
    f("stdin", Some('i'), Kind::Bool),
    f("tty", Some('t'), Kind::Bool),
    f("quiet", Some('q'), Kind::Bool),
    f("filename", Some('f'), Kind::Multi),
    f("pod-running-timeout", None, Kind::Value),
];

/// Flags of `attach`.
pub const ATTACH_FLAGS: &[Spec] = EXEC_FLAGS;

const CHANNEL_PROTOCOLS: &[&str] = &["v5.channel.k8s.io", "v4.channel.k8s.io"];

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
                        .map(|c| crate::describe::util::i(c, "/restartCount"))
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

fn session_flags(ctx: &Ctx) -> Session {
    let stdin = ctx.p.flag("stdin");
    let mut tty = ctx.p.flag("tty") && stdin;
    if tty && !remote::stdin_is_terminal() {
        tty = false;
        if !ctx.p.flag("quiet") {
            err("Unable to use a TTY - input is not a terminal or the right kind of file\n");
        }
    }
    Session { stdin, tty }
}

fn bool_params(q: &mut Vec<String>, s: Session, stdout: bool) {
    if !s.tty {
        q.push("stderr=true".into());
    }
    if s.stdin {
        q.push("stdin=true".into());
    }
    if stdout {
        q.push("stdout=true".into());
    }
    if s.tty {
        q.push("tty=true".into());
    }
}

/// Runs `exec`.
pub async fn exec(ctx: &Ctx) -> CmdResult {
    let args = ctx.args();
    let (target, command): (Option<&String>, Vec<String>) = match ctx.p.dash_at {
        Some(at) => (args[..at].first(), args[at..].to_vec()),
        None if args.len() > 1 => return Err(ctx.usage_h(
            "exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- [COMMAND] instead",
        )),
        None => (args.first(), Vec::new()),
    };
    let Some(target) = target else {
        return Err(CmdError::Msg(
            "pod, type/name or --filename must be specified".into(),
        ));
    };
    if command.is_empty() {
        return Err(CmdError::Msg(
            "you must specify at least one command for the container".into(),
        ));
    }
    let api = Api::connect(ctx).await?;
    let pod = target_pod(&api, target).await?;
    let phase = s(&pod, "/status/phase");
    if phase == "Succeeded" || phase == "Failed" {
        return Err(CmdError::Msg(format!(
            "cannot exec into a container in a completed pod; current phase is {phase}"
        )));
    }
    let container = pick_container(ctx, &pod);
    let sess = session_flags(ctx);
    let mut q: Vec<String> = command
        .iter()
        .map(|c| format!("command={}", enc(c)))
        .collect();
    q.push(format!("container={}", enc(&container)));
    bool_params(&mut q, sess, true);
    let path = format!(
        "/api/v1/namespaces/{}/pods/{}/exec?{}",
        s(&pod, "/metadata/namespace"),
        s(&pod, "/metadata/name"),
        q.join("&")
    );
    let (ws, proto) = api.websocket(&path, CHANNEL_PROTOCOLS).await?;
    remote::finish(remote::run(ws, &proto, sess).await?)
}

/// Runs `attach`.
pub async fn attach(ctx: &Ctx) -> CmdResult {
    let Some(target) = ctx.args().first() else {
        return Err(ctx.usage_h("at least 1 argument is required for attach"));
    };
    let api = Api::connect(ctx).await?;
    let pod = target_pod(&api, target).await?;
    let phase = s(&pod, "/status/phase");
    if phase == "Succeeded" || phase == "Failed" {
        return Err(CmdError::Msg(format!(
            "cannot attach a container in a completed pod; current phase is {phase}"
        )));
    }
    let container = pick_container(ctx, &pod);
    let mut sess = session_flags(ctx);
    let spec_tty = arr(&pod, "/spec/containers")
        .iter()
        .find(|c| s(c, "/name") == container)
        .and_then(|c| c.get("tty"))
        .and_then(Value::as_bool)
        == Some(true);
    if sess.tty && !spec_tty {
        sess.tty = false;
        err(&format!(
            "error: Unable to use a TTY - container {container} did not allocate one\n"
        ));
    } else if !sess.tty && spec_tty && sess.stdin {
        sess.tty = true;
    }
    if !ctx.p.flag("quiet") {
        err("If you don't see a command prompt, try pressing enter.\n");
    }
    let mut q = vec![format!("container={}", enc(&container))];
    bool_params(&mut q, sess, true);
    let path = format!(
        "/api/v1/namespaces/{}/pods/{}/attach?{}",
        s(&pod, "/metadata/namespace"),
        s(&pod, "/metadata/name"),
        q.join("&")
    );
    let (ws, proto) = api.websocket(&path, CHANNEL_PROTOCOLS).await?;
    remote::finish(remote::run(ws, &proto, sess).await?)
}
