//! How mutating commands report their result: `kind.group/name VERB` with kubectl's
//! dry-run suffixes, or the object in the `-o` format (managedFields omitted), and the
//! `dryRun=All` query parameter of server dry runs.

use crate::cmd::generate::{print_result, DryRun};
use crate::ctx::{CmdError, CmdResult, Ctx};
use crate::ordered_json::Doc;
use crate::print::format::Format;
use serde_json::Value;

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
    let text = format!("{}\n", crate::ordered_json::to_go_json_compact(&doc));
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

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Drops `metadata.managedFields` unless `--show-managed-fields` (kubectl's
/// OmitManagedFieldsPrinter wraps the json and yaml printers only).
pub fn omit_managed(ctx: &Ctx, v: &Value) -> Value {
    let mut v = v.clone();
    let json_or_yaml = matches!(
        crate::print::format::parse_format(ctx, false),
        Ok(Format::Json | Format::Yaml)
    );
    if json_or_yaml && !ctx.p.flag("show-managed-fields") {
        if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("managedFields");
        }
    }
    v
}

/// Prints `obj` as the result of `verb` (with the dry-run suffix), or in the `-o` format.
pub fn print_obj(ctx: &Ctx, obj: &Value, verb: &str, mode: DryRun) -> CmdResult {
    print_result(ctx, &Doc::from(&omit_managed(ctx, obj)), verb, mode)
}

/// Like [`print_obj`] but never adds a dry-run suffix (kubectl's `patch` prints plain
/// `patched` even in dry runs).
pub fn print_obj_plain(ctx: &Ctx, obj: &Value, verb: &str) -> CmdResult {
    print_obj(ctx, obj, verb, DryRun::None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dry_run_query() {
        assert_eq!(with_dry_run("/a?x=1", DryRun::Server), "/a?x=1&dryRun=All");
        assert_eq!(with_dry_run("/a", DryRun::Server), "/a?dryRun=All");
        assert_eq!(with_dry_run("/a", DryRun::Client), "/a");
    }
}
