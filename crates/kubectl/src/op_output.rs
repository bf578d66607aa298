//! How mutating commands report their result: `kind.group/name VERB` with kubectl's
//! dry-run suffixes, or the object in the `-o` format (managedFields omitted), and the
//! `dryRun=All` query parameter of server dry runs.

use crate::cmd_create::{print_result, DryRun};
use crate::ctx::{CmdResult, Ctx};
use crate::doc::Doc;
use crate::printers::Format;
use serde_json::Value;

/// Appends `dryRun=All` to a request path when the mode is a server dry run.
pub fn with_dry_run(path: &str, mode: DryRun) -> String {
    if mode != DryRun::Server {
        return path.to_string();
    }
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}dryRun=All")
}

/// Drops `metadata.managedFields` unless `--show-managed-fields` (kubectl's
/// OmitManagedFieldsPrinter wraps the json and yaml printers only).
pub fn omit_managed(ctx: &Ctx, v: &Value) -> Value {
    let mut v = v.clone();
    let json_or_yaml = matches!(
        crate::printers::parse_format(ctx, false),
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
