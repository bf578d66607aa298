//! `kubectl exec` and `kubectl attach`: pick the pod (POD or TYPE/NAME) and container,
//! then run a channel-protocol WebSocket session.

use crate::client::remote::{self, Session};
use crate::client::{enc, Api};
use crate::cmd::targets::{pick_container, target_pod};
use crate::ctx::{err, CmdError, CmdResult, Ctx};
use crate::flags::{f, Kind, Spec};
use crate::json_get::{arr, s};
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
