//! `kubectl scale`: sets `spec.replicas` through each object's scale subresource after
//! checking `--current-replicas` and `--resource-version`, with `--dry-run` and `-o`.

use crate::client::Api;
use crate::cmd::options::{dry_run, with_dry_run, DryRun};
use crate::cmd::targets::{objects_partial, path_of};
use crate::ctx::{CmdError, CmdResult, Ctx};
use crate::flags::{f, Kind, Spec};
use crate::json_get::s;
use crate::print::format::parse_format;
use crate::print::outcome::print_obj;
use http::Method;
use serde_json::{json, Value};

/// Flags of `scale`.
pub const FLAGS: &[Spec] = &[
    f("replicas", None, Kind::Value),
    f("current-replicas", None, Kind::Value),
    f("resource-version", None, Kind::Value),
    f("selector", Some('l'), Kind::Value),
    f("all", None, Kind::Bool),
    f("timeout", None, Kind::Value),
    f("output", Some('o'), Kind::Value),
    f("dry-run", None, Kind::Value),
    f("filename", Some('f'), Kind::Multi),
    f("template", None, Kind::Value),
    f("show-managed-fields", None, Kind::Bool),
    f("allow-missing-template-keys", None, Kind::Bool),
];

/// Checks `--current-replicas` and `--resource-version` against the object's scale
/// subresource, as kubectl's scaler does (a kind without one fails there).
async fn scale_preconditions(ctx: &Ctx, api: &Api, path: &str) -> CmdResult {
    let replicas = ctx.p.get("current-replicas").filter(|c| *c != "-1");
    let version = ctx.p.get("resource-version").filter(|r| !r.is_empty());
    if replicas.is_none() && version.is_none() {
        return Ok(());
    }
    let scale = api.get(&format!("{path}/scale")).await?;
    if let Some(want) = replicas {
        let was = scale
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if want.parse::<i64>().ok() != Some(was) {
            return Err(CmdError::Msg(format!(
                "Expected replicas to be {want}, was {was}"
            )));
        }
    }
    if let Some(want) = version {
        let was = s(&scale, "/metadata/resourceVersion");
        if want != was {
            return Err(CmdError::Msg(format!(
                "Expected resource version to be {want}, was {was}"
            )));
        }
    }
    Ok(())
}

/// Runs `scale`: prints the object as it was before scaling, like kubectl.
pub async fn scale(ctx: &Ctx) -> CmdResult {
    let Some(n) = ctx.p.get("replicas") else {
        return Err(CmdError::Msg(
            "required flag(s) \"replicas\" not set".into(),
        ));
    };
    let replicas: i64 = n
        .parse()
        .map_err(|_| CmdError::Msg(format!("invalid argument \"{n}\" for \"--replicas\" flag: strconv.ParseInt: parsing \"{n}\": invalid syntax")))?;
    if replicas < 0 {
        return Err(CmdError::Msg(
            "The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0"
                .into(),
        ));
    }
    let mode = dry_run(ctx)?;
    parse_format(ctx, false)?;
    let api = Api::connect(ctx).await?;
    let (found, failed) = objects_partial(ctx, &api, ctx.args()).await?;
    for (res, o) in found {
        if mode != DryRun::Client {
            scale_preconditions(ctx, &api, &path_of(&api, &res, &o)).await?;
            api.send_json(
                Method::PATCH,
                &with_dry_run(&format!("{}/scale", path_of(&api, &res, &o)), mode),
                "application/merge-patch+json",
                &json!({"spec": {"replicas": replicas}}),
            )
            .await?;
        }
        print_obj(ctx, &o, "scaled", mode)?;
    }
    failed.map_or(Ok(()), Err)
}
