//! The entry point: finds the command in argv, parses its flags and runs it; turns
//! errors into kubectl's messages and exit codes.

use crate::cmd;
use crate::ctx::{err, CmdError, CmdResult, Ctx, GLOBAL_FLAGS};
use crate::flags::{parse, split_command, Spec};

const COMMANDS: &[&str] = &[
    "annotate",
    "api-resources",
    "api-versions",
    "apply",
    "attach",
    "cluster-info",
    "config",
    "cordon",
    "cp",
    "create",
    "delete",
    "describe",
    "drain",
    "edit",
    "exec",
    "explain",
    "expose",
    "get",
    "label",
    "logs",
    "patch",
    "port-forward",
    "proxy",
    "rollout",
    "run",
    "scale",
    "set",
    "uncordon",
    "version",
    "wait",
];
const GROUPS: &[&str] = &["config", "create", "rollout", "set"];

fn is_group(words: &[String]) -> bool {
    words.len() == 1 && GROUPS.contains(&words[0].as_str())
}

fn command_flags(words: &[String]) -> &'static [Spec] {
    let cmd = words.first().map(String::as_str).unwrap_or("");
    match cmd {
        "config" => cmd::config::FLAGS,
        "create" => cmd::create::FLAGS,
        "version" => cmd::version::FLAGS,
        "get" => cmd::get::FLAGS,
        "delete" => cmd::delete::FLAGS,
        "describe" => cmd::describe::FLAGS,
        "exec" => cmd::exec::EXEC_FLAGS,
        "attach" => cmd::exec::ATTACH_FLAGS,
        "port-forward" => cmd::port_forward::FLAGS,
        "proxy" => cmd::proxy::FLAGS,
        "label" | "annotate" => cmd::label::FLAGS,
        "scale" => cmd::scale::FLAGS,
        "set" => cmd::set_patch::SET_FLAGS,
        "patch" => cmd::set_patch::PATCH_FLAGS,
        "rollout" => cmd::rollout::flags(words.get(1).map(String::as_str)),
        "expose" => cmd::expose::FLAGS,
        "apply" => cmd::apply::FLAGS,
        "run" => cmd::run::FLAGS,
        "wait" => cmd::wait::FLAGS,
        "edit" => cmd::edit::FLAGS,
        "cp" => cmd::cp::FLAGS,
        "explain" => cmd::explain::FLAGS,
        "api-resources" => cmd::api_resources::RESOURCES_FLAGS,
        "cordon" | "uncordon" | "drain" => cmd::node::FLAGS,
        "logs" => cmd::logs::FLAGS,
        _ => &[],
    }
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

fn unknown_command(name: &str) -> CmdError {
    let all = cmd::help::ALL_COMMANDS;
    if all.contains(&name) {
        // A real kubectl command this CLI does not have (yet): say so instead of
        // suggesting the very word that was typed.
        return CmdError::Raw(format!(
            "error: \"{name}\" is not implemented by skiff kubectl; run it with the kubectl binary"
        ));
    }
    let sugg: Vec<&str> = all
        .iter()
        .filter(|c| levenshtein(name, c) <= 2 || (c.starts_with(name) && !name.is_empty()))
        .copied()
        .collect();
    let mut msg = format!("error: unknown command \"{name}\" for \"kubectl\"");
    if !sugg.is_empty() {
        msg.push_str("\n\nDid you mean this?\n");
        for s in sugg {
            msg.push_str(&format!("\t{s}\n"));
        }
        msg.pop();
    }
    CmdError::Raw(msg)
}

/// Runs kubectl with `args` (without the program name) and returns the exit code.
pub fn main(args: Vec<String>) -> i32 {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            err(&format!("error: {e}\n"));
            return 1;
        }
    };
    let code = rt.block_on(run(args));
    // do not wait for lingering connection tasks
    rt.shutdown_background();
    code
}

/// Runs one kubectl invocation.
pub async fn run(args: Vec<String>) -> i32 {
    match run_inner(args).await {
        Ok(()) => 0,
        Err(e) => {
            let text = e.to_string();
            if !text.is_empty() {
                err(&format!("{text}\n"));
            }
            e.code()
        }
    }
}

async fn run_inner(args: Vec<String>) -> CmdResult {
    let (words, rest) = split_command(&args, GLOBAL_FLAGS, is_group, command_flags);
    let Some(cmd) = words.first().cloned() else {
        crate::ctx::out(cmd::help::ROOT_HELP);
        return Ok(());
    };
    if !COMMANDS.contains(&cmd.as_str()) {
        return Err(unknown_command(&cmd));
    }
    let sub = words.get(1).cloned();
    let path = match &sub {
        Some(s) if is_group(&words[..1]) => format!("{cmd} {s}"),
        _ => cmd.clone(),
    };
    let p = parse(&rest, &[GLOBAL_FLAGS, command_flags(&words)]).map_err(|e| CmdError::Usage {
        msg: e.to_string(),
        cmd: path.clone(),
    })?;
    let ctx = Ctx { p, cmd: path };
    match cmd.as_str() {
        "config" => match sub {
            Some(s) => cmd::config::run(&ctx, &s),
            None => {
                crate::ctx::out(cmd::help::CONFIG_HELP);
                Ok(())
            }
        },
        "create" => cmd::create::run(&ctx, sub.as_deref()).await,
        "version" => cmd::version::run(&ctx).await,
        "get" => cmd::get::run(&ctx).await,
        "delete" => cmd::delete::run(&ctx).await,
        "describe" => cmd::describe::run(&ctx).await,
        "exec" => cmd::exec::exec(&ctx).await,
        "attach" => cmd::exec::attach(&ctx).await,
        "port-forward" => cmd::port_forward::run(&ctx).await,
        "proxy" => cmd::proxy::run(&ctx).await,
        "label" => cmd::label::meta(&ctx, "labels").await,
        "annotate" => cmd::label::meta(&ctx, "annotations").await,
        "scale" => cmd::scale::scale(&ctx).await,
        "set" => match sub.as_deref() {
            Some("image") => cmd::set_patch::set_image(&ctx).await,
            Some(other) => Err(CmdError::Msg(format!(
                "unknown command \"{other}\" for \"kubectl set\""
            ))),
            None => Err(ctx.usage_h("Required resource not specified.")),
        },
        "patch" => cmd::set_patch::patch(&ctx).await,
        "rollout" => cmd::rollout::run(&ctx, sub.as_deref()).await,
        "expose" => cmd::expose::expose(&ctx).await,
        "cluster-info" => cmd::expose::cluster_info(&ctx).await,
        "apply" => cmd::apply::run(&ctx).await,
        "run" => cmd::run::run(&ctx).await,
        "wait" => cmd::wait::run(&ctx).await,
        "edit" => cmd::edit::run(&ctx).await,
        "cp" => cmd::cp::run(&ctx).await,
        "explain" => cmd::explain::run(&ctx).await,
        "api-versions" => cmd::api_resources::api_versions(&ctx).await,
        "api-resources" => cmd::api_resources::api_resources(&ctx).await,
        "cordon" => cmd::node::cordon(&ctx, true).await,
        "uncordon" => cmd::node::cordon(&ctx, false).await,
        "drain" => cmd::node::drain(&ctx).await,
        "logs" => cmd::logs::run(&ctx).await,
        _ => Err(unknown_command(&cmd)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_commands_get_suggestions_and_unimplemented_ones_say_so() {
        let typo = unknown_command("gte").to_string();
        assert!(typo.contains("unknown command \"gte\""), "{typo}");
        assert!(typo.contains("Did you mean this?\n\tget"), "{typo}");
        // `debug` is a kubectl command (in the list) that this CLI does not implement.
        assert!(cmd::help::ALL_COMMANDS.contains(&"debug"));
        let text = unknown_command("debug").to_string();
        assert!(text.contains("not implemented by skiff kubectl"), "{text}");
        assert!(!text.contains("Did you mean"), "{text}");
    }
}
