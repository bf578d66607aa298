//! `kubectl edit`: the object as YAML in `$KUBE_EDITOR`/`$EDITOR` (default `vi`), then
//! a strategic merge patch of what changed.

use crate::client::Api;
use crate::cmd::targets::objects;
use crate::ctx::{err, out, CmdError, CmdResult, Ctx};
use crate::flags::{f, Kind, Spec};
use crate::json_get::s;
use crate::patch::three_way::three_way;
use http::Method;
use serde_json::Value;

/// Flags of `edit`.
pub const FLAGS: &[Spec] = &[
    f("output", Some('o'), Kind::Value),
    f("filename", Some('f'), Kind::Multi),
    f("save-config", None, Kind::Bool),
    f("validate", None, Kind::Value),
    f("windows-line-endings", None, Kind::Bool),
    f("show-managed-fields", None, Kind::Bool),
    f("subresource", None, Kind::Value),
    f("field-manager", None, Kind::Value),
    f("selector", Some('l'), Kind::Value),
    f("all", None, Kind::Bool),
];

const HEADER: &str = "# Please edit the object below. Lines beginning with a '#' will be ignored,\n# and an empty file will abort the edit. If an error occurs while saving this file will be\n# reopened with the relevant failures.\n#\n";

/// The editor command line (kubectl's defaultEnvEditor rules).
fn editor_command(path: &str) -> Vec<String> {
    let editor = std::env::var("KUBE_EDITOR")
        .or_else(|_| std::env::var("EDITOR"))
        .ok()
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| "vi".into());
    if !editor.contains(' ') {
        return vec![editor, path.into()];
    }
    if !editor.contains(['"', '\'', '\\']) {
        let mut v: Vec<String> = editor.split(' ').map(str::to_string).collect();
        v.push(path.into());
        return v;
    }
    let shell = std::env::var("SHELL")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "/bin/bash".into());
    vec![shell, "-c".into(), format!("{editor} {path:?}")]
}

fn strip_comments(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Runs `edit`.
pub async fn run(ctx: &Ctx) -> CmdResult {
    let api = Api::connect(ctx).await?;
    for (res, mut o) in objects(ctx, &api, ctx.args()).await? {
        if !ctx.p.flag("show-managed-fields") {
            if let Some(m) = o.get_mut("metadata").and_then(Value::as_object_mut) {
                m.remove("managedFields");
            }
        }
        let yaml = crate::print::yaml::to_yaml(&o);
        let dir = std::env::temp_dir();
        let file = dir.join(format!(
            "kubectl-edit-{}-{}.yaml",
            std::process::id(),
            s(&o, "/metadata/name")
        ));
        let original_text = format!("{HEADER}{yaml}");
        std::fs::write(&file, &original_text)
            .map_err(|e| CmdError::Msg(format!("unable to write {}: {e}", file.display())))?;
        let cmd = editor_command(&file.display().to_string());
        let status = std::process::Command::new(&cmd[0]).args(&cmd[1..]).status();
        let edited = std::fs::read_to_string(&file).unwrap_or_default();
        let _ = std::fs::remove_file(&file);
        match status {
            Ok(st) if st.success() => {}
            Ok(_) | Err(_) => {
                return Err(CmdError::Msg(format!(
                    "there was a problem with the editor \"{}\"",
                    std::env::var("KUBE_EDITOR")
                        .or_else(|_| std::env::var("EDITOR"))
                        .unwrap_or_else(|_| "vi".into())
                )))
            }
        }
        let body = strip_comments(&edited);
        if body.trim().is_empty() {
            err("Edit cancelled, saved file was empty.\n");
            continue;
        }
        if body == strip_comments(&original_text) {
            err("Edit cancelled, no changes made.\n");
            continue;
        }
        let new: Value =
            serde_yaml::from_str(&body).map_err(|e| CmdError::Msg(format!("error: {e}")))?;
        let patch = three_way(Some(&o), &new, Some(&o), &mut Vec::new());
        let shown = format!("{}/{}", res.kind_group(), s(&o, "/metadata/name"));
        if patch.is_empty() {
            err("Edit cancelled, no changes made.\n");
            continue;
        }
        let ns = s(&o, "/metadata/namespace");
        let path = res.path(Some(ns), Some(s(&o, "/metadata/name")));
        let builtin = crate::client::resources::builtins()
            .iter()
            .any(|b| b.kind == res.kind && b.group == res.group);
        let ctype = if builtin {
            "application/strategic-merge-patch+json"
        } else {
            "application/merge-patch+json"
        };
        api.send_json(
            Method::PATCH,
            &format!("{path}?fieldManager=kubectl-edit"),
            ctype,
            &Value::Object(patch),
        )
        .await?;
        out(&format!("{shown} edited\n"));
    }
    Ok(())
}
