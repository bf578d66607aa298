//! Options shared by the commands that write objects: `--dry-run` (and the `dryRun=All`
//! query of server dry runs), `--validate`, `--overrides` on generated objects and
//! `--save-config`.

use crate::ctx::{CmdError, Ctx};
use crate::ordered_json::Doc;
use crate::patch::three_way::LAST_APPLIED;
use serde_json::Value;

/// `--dry-run` mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DryRun {
    /// Really do it.
    None,
    /// Print only.
    Client,
    /// Ask the server with dryRun=All.
    Server,
}

impl DryRun {
    /// What kubectl appends to a result line: ` (dry run)`, ` (server dry run)`.
    pub fn suffix(self) -> &'static str {
        match self {
            DryRun::None => "",
            DryRun::Client => " (dry run)",
            DryRun::Server => " (server dry run)",
        }
    }
}

/// Reads `--dry-run`.
pub fn dry_run(ctx: &Ctx) -> Result<DryRun, CmdError> {
    match ctx.p.get("dry-run") {
        None | Some("none") | Some("false") => Ok(DryRun::None),
        Some("client") | Some("true") => Ok(DryRun::Client),
        Some("server") => Ok(DryRun::Server),
        Some(o) => Err(CmdError::Msg(format!(
            "Invalid dry-run value ({o}). Must be \"none\", \"server\", or \"client\"."
        ))),
    }
}

/// Appends `dryRun=All` to a request path when the mode is a server dry run.
pub fn with_dry_run(path: &str, mode: DryRun) -> String {
    if mode != DryRun::Server {
        return path.to_string();
    }
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}dryRun=All")
}

/// The `fieldValidation` query value for `--validate` (strict/true, warn, ignore/false).
pub fn field_validation(ctx: &Ctx) -> Result<&'static str, CmdError> {
    match ctx.p.get("validate") {
        None | Some("true") | Some("strict") => Ok("Strict"),
        Some("warn") => Ok("Warn"),
        Some("false") | Some("ignore") => Ok("Ignore"),
        Some(o) => Err(CmdError::Msg(format!(
            "invalid - validate option \"{o}\"; must be one of: strict (or true), warn, ignore (or false)"
        ))),
    }
}

/// `--overrides` (with `--override-type` merge, json or strategic) on a generated object.
pub fn apply_overrides(ctx: &Ctx, doc: Doc) -> Result<Doc, CmdError> {
    let Some(text) = ctx.p.get("overrides").filter(|t| !t.is_empty()) else {
        return Ok(doc);
    };
    let patch: Value = serde_json::from_str(text)
        .map_err(|e| CmdError::Msg(format!("unable to parse \"{text}\": {e}")))?;
    match ctx.p.get("override-type").unwrap_or("merge") {
        "merge" => {
            let mut d = doc;
            d.merge_patch(&patch);
            Ok(d)
        }
        "json" => crate::patch::local::json(&doc.to_value(), &patch)
            .map(|v| Doc::from(&v))
            .map_err(|e| CmdError::Msg(e.to_string())),
        "strategic" => crate::patch::local::strategic(&doc.to_value(), &patch)
            .map(|v| Doc::from(&v))
            .map_err(|e| CmdError::Msg(e.to_string())),
        t => Err(CmdError::Msg(format!(
            "--override-type must be one of (json, merge, strategic), got {t}"
        ))),
    }
}

/// `--save-config`: records the object itself (Go's compact JSON) in the
/// last-applied-configuration annotation, as `kubectl create --save-config` does.
pub fn save_config(doc: Doc) -> Doc {
    let text = format!("{}\n", crate::print::json::to_go_json_compact(&doc));
    let Doc::Obj(mut fields) = doc else {
        return doc;
    };
    for (k, v) in fields.iter_mut() {
        if k != "metadata" {
            continue;
        }
        if let Doc::Obj(meta) = v {
            let pos = meta.iter().position(|(k, _)| k == "annotations");
            let entry = (LAST_APPLIED.to_string(), Doc::Str(text.clone()));
            match pos {
                Some(i) => {
                    if let Doc::Obj(a) = &mut meta[i].1 {
                        a.push(entry);
                    }
                }
                None => meta.push(("annotations".into(), Doc::Obj(vec![entry]))),
            }
        }
    }
    Doc::Obj(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dry_run_suffixes() {
        assert_eq!(DryRun::None.suffix(), "");
        assert_eq!(DryRun::Client.suffix(), " (dry run)");
        assert_eq!(DryRun::Server.suffix(), " (server dry run)");
    }

    #[test]
    fn dry_run_query() {
        assert_eq!(with_dry_run("/a?x=1", DryRun::Server), "/a?x=1&dryRun=All");
        assert_eq!(with_dry_run("/a", DryRun::Server), "/a?dryRun=All");
        assert_eq!(with_dry_run("/a", DryRun::Client), "/a");
    }
}
