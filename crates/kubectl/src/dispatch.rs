//! Finds the command in argv, parses its flags and runs it; turns errors into
//! kubectl's messages and exit codes.

use crate::ctx::{err, CmdError, CmdResult, Ctx, GLOBAL_FLAGS};
use crate::flags::{parse, split_command, Spec};
use crate::{cmd_config, cmd_create};

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
        "config" => cmd_config::FLAGS,
        "create" => cmd_create::FLAGS,
        "version" => crate::cmd_version::FLAGS,
        "get" => crate::cmd_get::FLAGS,
        "delete" => crate::cmd_delete::FLAGS,
        "describe" => crate::cmd_describe::FLAGS,
        "exec" => crate::cmd_exec::EXEC_FLAGS,
        "attach" => crate::cmd_exec::ATTACH_FLAGS,
        "port-forward" => crate::cmd_port_forward::FLAGS,
        "proxy" => crate::cmd_proxy::FLAGS,
        "label" | "annotate" => crate::cmd_mutate::META_FLAGS,
        "scale" => crate::cmd_mutate::SCALE_FLAGS,
        "set" => crate::cmd_mutate::SET_FLAGS,
        "patch" => crate::cmd_mutate::PATCH_FLAGS,
        "rollout" => crate::cmd_rollout::flags(words.get(1).map(String::as_str)),
        "expose" => crate::cmd_expose::FLAGS,
        "apply" => crate::cmd_apply::FLAGS,
        "run" => crate::cmd_run::FLAGS,
        "wait" => crate::cmd_wait::FLAGS,
        "edit" => crate::cmd_edit::FLAGS,
        "cp" => crate::cmd_cp::FLAGS,
        "explain" => crate::cmd_explain::FLAGS,
        "api-resources" => crate::cmd_discovery::RESOURCES_FLAGS,
        "cordon" | "uncordon" | "drain" => crate::cmd_node::FLAGS,
        "logs" => crate::cmd_logs::FLAGS,
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
    let all = crate::cmd_misc::ALL_COMMANDS;
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
        crate::ctx::out(crate::cmd_misc::ROOT_HELP);
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
            Some(s) => cmd_config::run(&ctx, &s),
            None => {
                crate::ctx::out(crate::cmd_misc::CONFIG_HELP);
                Ok(())
            }
        },
        "create" => crate::cmd_create_run::run(&ctx, sub.as_deref()).await,
        "version" => crate::cmd_version::run(&ctx).await,
        "get" => crate::cmd_get::run(&ctx).await,
        "delete" => crate::cmd_delete::run(&ctx).await,
        "describe" => crate::cmd_describe::run(&ctx).await,
        "exec" => crate::cmd_exec::exec(&ctx).await,
        "attach" => crate::cmd_exec::attach(&ctx).await,
        "port-forward" => crate::cmd_port_forward::run(&ctx).await,
        "proxy" => crate::cmd_proxy::run(&ctx).await,
        "label" => crate::cmd_mutate::meta(&ctx, "labels").await,
        "annotate" => crate::cmd_mutate::meta(&ctx, "annotations").await,
        "scale" => crate::cmd_mutate::scale(&ctx).await,
        "set" => match sub.as_deref() {
            Some("image") => crate::cmd_set_patch::set_image(&ctx).await,
            Some(other) => Err(CmdError::Msg(format!(
                "unknown command \"{other}\" for \"kubectl set\""
            ))),
            None => Err(ctx.usage_h("Required resource not specified.")),
        },
        "patch" => crate::cmd_set_patch::patch(&ctx).await,
        "rollout" => crate::cmd_rollout::run(&ctx, sub.as_deref()).await,
        "expose" => crate::cmd_expose::expose(&ctx).await,
        "cluster-info" => crate::cmd_expose::cluster_info(&ctx).await,
        "apply" => crate::cmd_apply::run(&ctx).await,
        "run" => crate::cmd_run::run(&ctx).await,
        "wait" => crate::cmd_wait::run(&ctx).await,
        "edit" => crate::cmd_edit::run(&ctx).await,
        "cp" => crate::cmd_cp::run(&ctx).await,
        "explain" => crate::cmd_explain::run(&ctx).await,
        "api-versions" => crate::cmd_discovery::api_versions(&ctx).await,
        "api-resources" => crate::cmd_discovery::api_resources(&ctx).await,
        "cordon" => crate::cmd_node::cordon(&ctx, true).await,
        "uncordon" => crate::cmd_node::cordon(&ctx, false).await,
        "drain" => crate::cmd_node::drain(&ctx).await,
        "logs" => crate::cmd_logs::run(&ctx).await,
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
        assert!(crate::cmd_misc::ALL_COMMANDS.contains(&"debug"));
        let text = unknown_command("debug").to_string();
        assert!(text.contains("not implemented by skiff kubectl"), "{text}");
        assert!(!text.contains("Did you mean"), "{text}");
    }
}
