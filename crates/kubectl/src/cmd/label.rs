//! `kubectl label` and `kubectl annotate`: `KEY=VALUE` and `KEY-` changes merged into
//! each target's labels or annotations (`--overwrite`, `--list`, `--local`,
//! `--resource-version`), with `--dry-run` and `-o`.

use crate::client::Api;
use crate::cmd::options::{dry_run, with_dry_run, DryRun};
use crate::cmd::targets::{objects_partial, path_of};
use crate::ctx::{out, CmdError, CmdResult, Ctx};
use crate::flags::{f, Kind, Spec};
use crate::print::format::parse_format;
use crate::print::outcome::print_obj;
use http::Method;
use serde_json::{json, Map, Value};

/// Flags of `label` and `annotate`.
pub const FLAGS: &[Spec] = &[
    f("overwrite", None, Kind::Bool),
    f("selector", Some('l'), Kind::Value),
    f("all", None, Kind::Bool),
    f("all-namespaces", Some('A'), Kind::Bool),
    f("list", None, Kind::Bool),
    f("local", None, Kind::Bool),
    f("dry-run", None, Kind::Value),
    f("output", Some('o'), Kind::Value),
    f("resource-version", None, Kind::Value),
    f("filename", Some('f'), Kind::Multi),
    f("field-manager", None, Kind::Value),
    f("template", None, Kind::Value),
    f("show-managed-fields", None, Kind::Bool),
    f("allow-missing-template-keys", None, Kind::Bool),
];

/// What one `label`/`annotate` run changes on one object.
#[derive(Debug, Default, PartialEq)]
struct Change {
    /// Merge patch of the `metadata.<field>` map (null removes a key).
    patch: Map<String, Value>,
    /// Some key is removed.
    removed: bool,
    /// `label "K" not found.` lines for removals of labels the object lacks.
    missing: Vec<String>,
}

/// The patch for `changes` (`KEY=VALUE`, `KEY-`) against the object's `current` map;
/// a different existing value needs `--overwrite`.
fn change(
    field: &str,
    current: &Map<String, Value>,
    changes: &[String],
    overwrite: bool,
) -> Result<Change, CmdError> {
    let mut ch = Change::default();
    for c in changes {
        if let Some(k) = c.strip_suffix('-').filter(|_| !c.contains('=')) {
            if current.contains_key(k) {
                ch.patch.insert(k.to_string(), Value::Null);
                ch.removed = true;
            } else if field == "labels" {
                ch.missing.push(format!("label \"{k}\" not found.\n"));
            }
            continue;
        }
        let (k, v) = c.split_once('=').unwrap_or((c, ""));
        match current.get(k).and_then(Value::as_str) {
            Some(old) if old == v => {}
            Some(old) if !overwrite => {
                let what = format!("'{k}' already has a value ({old})");
                return Err(CmdError::Msg(if field == "labels" {
                    format!("{what}, and --overwrite is false")
                } else {
                    format!("--overwrite is false but found the following declared annotation(s): {what}")
                }));
            }
            _ => {
                ch.patch.insert(k.to_string(), json!(v));
            }
        }
    }
    Ok(ch)
}

/// The verb kubectl reports for a change.
fn reported_verb(field: &str, ch: &Change, overwrite: bool) -> &'static str {
    if field == "annotations" {
        "annotated"
    } else if ch.patch.is_empty() {
        "not labeled"
    } else if ch.removed && !overwrite && ch.patch.values().all(Value::is_null) {
        "unlabeled"
    } else {
        "labeled"
    }
}

/// Runs `label` (`field` = "labels") or `annotate` ("annotations").
pub async fn meta(ctx: &Ctx, field: &str) -> CmdResult {
    let (targets, changes): (Vec<String>, Vec<String>) = ctx
        .args()
        .iter()
        .cloned()
        .partition(|a| !a.contains('=') && !a.ends_with('-'));
    let verb = if field == "labels" {
        "label"
    } else {
        "annotate"
    };
    if changes.is_empty() && !ctx.p.flag("list") {
        return Err(ctx.usage_h(format!(
            "at least one {} update is required",
            &field[..field.len() - 1]
        )));
    }
    let mode = dry_run(ctx)?;
    parse_format(ctx, false)?;
    let api = Api::connect(ctx).await?;
    let overwrite = ctx.p.flag("overwrite");
    let (found, failed) = objects_partial(ctx, &api, &targets).await?;
    for (res, o) in found {
        let current = o
            .pointer(&format!("/metadata/{field}"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let ch = change(field, &current, &changes, overwrite)?;
        let msg = reported_verb(field, &ch, overwrite);
        let body = json!({"metadata": {field: ch.patch}});
        let list = ctx.p.flag("list");
        let shown = if mode == DryRun::Client || ctx.p.flag("local") || list {
            let mut local = o.clone();
            crate::patch::local::merge(&mut local, &body);
            local
        } else {
            out(&ch.missing.concat());
            let path = format!("{}?fieldManager=kubectl-{verb}", path_of(&api, &res, &o));
            send(ctx, &api, &path, mode, body).await?
        };
        if list {
            print_entries(&shown, field);
            continue;
        }
        let mode = if ctx.p.flag("local") {
            DryRun::None
        } else {
            mode
        };
        print_obj(ctx, &shown, msg, mode)?;
    }
    failed.map_or(Ok(()), Err)
}

/// PATCHes the change (with `--resource-version` as a precondition) and returns the
/// object the server answers with.
async fn send(
    ctx: &Ctx,
    api: &Api,
    path: &str,
    mode: DryRun,
    mut body: Value,
) -> Result<Value, CmdError> {
    if let Some(rv) = ctx.p.get("resource-version") {
        body["metadata"]["resourceVersion"] = json!(rv);
    }
    Ok(api
        .send_json(
            Method::PATCH,
            &with_dry_run(path, mode),
            "application/merge-patch+json",
            &body,
        )
        .await?)
}

/// `--list`: one `key=value` line per entry (kubectl's order is Go's map order).
fn print_entries(obj: &Value, field: &str) {
    let entries = obj
        .pointer(&format!("/metadata/{field}"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (k, v) in entries {
        out(&format!("{k}={}\n", v.as_str().unwrap_or("")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn current() -> Map<String, Value> {
        match json!({"app": "web", "tier": "front"}) {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    fn strings(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn changes_and_reported_verbs() {
        let ch = change("labels", &current(), &strings(&["tier-", "gone-"]), false).unwrap();
        assert_eq!(
            ch.patch,
            json!({"tier": null}).as_object().cloned().unwrap()
        );
        assert_eq!(ch.missing, vec!["label \"gone\" not found.\n".to_string()]);
        assert_eq!(reported_verb("labels", &ch, false), "unlabeled");
        let same = change("labels", &current(), &strings(&["app=web"]), false).unwrap();
        assert_eq!(reported_verb("labels", &same, false), "not labeled");
        let new = change("labels", &current(), &strings(&["env=prod"]), false).unwrap();
        assert_eq!(reported_verb("labels", &new, false), "labeled");
        assert_eq!(reported_verb("annotations", &new, false), "annotated");
    }

    #[test]
    fn a_different_value_needs_overwrite() {
        let e = change("labels", &current(), &strings(&["app=db"]), false);
        assert_eq!(
            e.err().map(|e| e.to_string()),
            Some("error: 'app' already has a value (web), and --overwrite is false".into())
        );
        let e = change("annotations", &current(), &strings(&["app=db"]), false);
        assert_eq!(
            e.err().map(|e| e.to_string()),
            Some("error: --overwrite is false but found the following declared annotation(s): 'app' already has a value (web)".into())
        );
        let ok = change("labels", &current(), &strings(&["app=db"]), true).unwrap();
        assert_eq!(ok.patch, json!({"app": "db"}).as_object().cloned().unwrap());
    }
}
