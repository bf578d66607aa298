//! `kubectl wait --for=condition=C[=V] | --for=jsonpath={…}=V | --for=delete |
//! --for=create`: polls each object until the condition holds or `--timeout` passes.

use crate::client::resources::Res;
use crate::client::{enc, Api, ApiError};
use crate::cmd::targets::parse_targets;
use crate::ctx::{out, CmdError, CmdResult, Ctx};
use crate::flags::{f, Kind, Spec};
use crate::json_get::{arr, s};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Flags of `wait`.
pub const FLAGS: &[Spec] = &[
    f("for", None, Kind::Value),
    f("timeout", None, Kind::Value),
    f("selector", Some('l'), Kind::Value),
    f("all", None, Kind::Bool),
    f("all-namespaces", Some('A'), Kind::Bool),
    f("field-selector", None, Kind::Value),
    f("filename", Some('f'), Kind::Multi),
    f("output", Some('o'), Kind::Value),
    f("local", None, Kind::Bool),
];

/// What to wait for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Want {
    Delete,
    Create,
    Condition(String, String),
    JsonPath(String, Option<String>),
}

fn parse_for(spec: &str) -> Result<Want, CmdError> {
    let lower = spec.to_lowercase();
    if lower == "delete" {
        return Ok(Want::Delete);
    }
    if lower == "create" {
        return Ok(Want::Create);
    }
    if let Some(rest) = spec.strip_prefix("condition=") {
        let (c, v) = rest.split_once('=').unwrap_or((rest, "true"));
        return Ok(Want::Condition(c.to_string(), v.to_string()));
    }
    if let Some(rest) = spec.strip_prefix("jsonpath=") {
        return Ok(match rest.rsplit_once("}=") {
            Some((p, v)) => Want::JsonPath(format!("{p}}}"), Some(v.to_string())),
            None => Want::JsonPath(rest.to_string(), None),
        });
    }
    Err(CmdError::Msg(format!("unrecognized condition: \"{spec}\"")))
}

/// Go's time.ParseDuration for the simple forms kubectl users pass.
pub fn parse_duration(s: &str) -> Option<Duration> {
    if s == "0" {
        return Some(Duration::ZERO);
    }
    let mut total = 0f64;
    let mut num = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let mut unit = c.to_string();
        if c == 'm' && chars.peek() == Some(&'s') {
            unit.push('s');
            chars.next();
        }
        let n: f64 = num.parse().ok()?;
        num.clear();
        total += n * match unit.as_str() {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            _ => return None,
        };
    }
    if !num.is_empty() {
        return None;
    }
    Some(Duration::from_secs_f64(total))
}

fn met(want: &Want, o: &Value) -> bool {
    match want {
        Want::Create => true,
        Want::Delete => false,
        Want::Condition(c, v) => arr(o, "/status/conditions").iter().any(|x| {
            s(x, "/type").eq_ignore_ascii_case(c) && s(x, "/status").eq_ignore_ascii_case(v)
        }),
        Want::JsonPath(p, v) => match crate::print::jsonpath::render(p, o) {
            Ok(got) => match v {
                Some(v) => got == *v,
                None => !got.is_empty(),
            },
            Err(_) => false,
        },
    }
}

async fn wait_one(
    api: &Api,
    res: &Res,
    path: &str,
    name: &str,
    want: &Want,
    deadline: Instant,
) -> CmdResult {
    let shown = format!("{}/{name}", res.kind_group());
    let mut existed = false;
    loop {
        match api.get(path).await {
            Ok(o) => {
                existed = true;
                if met(want, &o) {
                    out(&format!("{shown} condition met\n"));
                    return Ok(());
                }
            }
            Err(ApiError::Status { code: 404, .. }) if *want == Want::Delete => {
                if existed {
                    out(&format!("{shown} deleted\n"));
                }
                return Ok(());
            }
            Err(e @ ApiError::Status { code: 404, .. }) if *want != Want::Create => {
                return Err(e.into())
            }
            Err(ApiError::Status { code: 404, .. }) => {}
            Err(e) => return Err(e.into()),
        }
        if Instant::now() >= deadline {
            return Err(CmdError::Msg(format!(
                "timed out waiting for the condition on {}/{name}",
                res.plural
            )));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Runs `wait`.
pub async fn run(ctx: &Ctx) -> CmdResult {
    let want = parse_for(ctx.p.get("for").unwrap_or(""))?;
    let timeout = match ctx.p.get("timeout") {
        None => Duration::from_secs(30),
        Some(t) => parse_duration(t).ok_or_else(|| {
            CmdError::Msg(format!(
                "invalid argument \"{t}\" for \"--timeout\" flag: time: invalid duration \"{t}\""
            ))
        })?,
    };
    let deadline = Instant::now() + timeout;
    let api = Api::connect(ctx).await?;
    let reqs = parse_targets(ctx, Some(&api), ctx.args()).await?;
    for r in reqs {
        let ns = r.res.namespaced.then_some(api.namespace.as_str());
        let mut names = r.names.clone();
        if names.is_empty() {
            let mut q = Vec::new();
            if let Some(l) = ctx.p.get("selector") {
                q.push(format!("labelSelector={}", enc(l)));
            }
            if let Some(f) = ctx.p.get("field-selector") {
                q.push(format!("fieldSelector={}", enc(f)));
            }
            let list = api
                .get(&format!("{}?{}", r.res.path(ns, None), q.join("&")))
                .await?;
            names = arr(&list, "/items")
                .iter()
                .map(|o| s(o, "/metadata/name").to_string())
                .collect();
            if names.is_empty() {
                return Err(CmdError::Msg("no matching resources found".into()));
            }
        }
        for n in names {
            wait_one(&api, &r.res, &r.res.path(ns, Some(&n)), &n, &want, deadline).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_specs() {
        assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("x"), None);
        assert_eq!(
            parse_for("condition=Ready").ok(),
            Some(Want::Condition("Ready".into(), "true".into()))
        );
        assert_eq!(
            parse_for("jsonpath={.status.phase}=Running").ok(),
            Some(Want::JsonPath(
                "{.status.phase}".into(),
                Some("Running".into())
            ))
        );
    }
}
