//! How mutating commands report their result: `kind.group/name VERB` with kubectl's
//! dry-run suffixes, or the object in the `-o` format (managedFields omitted).

use crate::cmd::options::DryRun;
use crate::ctx::{out, CmdResult, Ctx};
use crate::ordered_json::Doc;
use crate::print::format::{object_name, parse_format, render, Format};
use crate::print::json::to_go_json;
use serde_json::Value;

/// Drops `metadata.managedFields` unless `--show-managed-fields` (kubectl's
/// OmitManagedFieldsPrinter wraps the json and yaml printers only).
pub fn omit_managed(ctx: &Ctx, v: &Value) -> Value {
    let mut v = v.clone();
    let json_or_yaml = matches!(parse_format(ctx, false), Ok(Format::Json | Format::Yaml));
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

/// Prints an object the way create/apply print it after (or instead of) sending it.
pub fn print_result(ctx: &Ctx, obj: &Doc, verb: &str, mode: DryRun) -> CmdResult {
    let fmt = parse_format(ctx, false)?;
    let v = obj.to_value();
    match fmt {
        Format::Table | Format::Wide => {
            out(&format!("{} {verb}{}\n", object_name(&v), mode.suffix()));
        }
        Format::Json => out(&to_go_json(obj)),
        other => out(&render(&other, &[v], true)?),
    }
    Ok(())
}
