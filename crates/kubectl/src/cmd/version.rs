//! `kubectl version`: the client version we mimic and the server's `/version`.

use crate::client::Api;
use crate::ctx::{out, CmdError, CmdResult, Ctx};
use crate::flags::{f, Kind, Spec};
use serde_json::Value;

/// Flags of `version`.
pub const FLAGS: &[Spec] = &[
    f("client", None, Kind::Bool),
    f("output", Some('o'), Kind::Value),
];

/// The kubectl release whose behaviour this crate follows.
pub const CLIENT_VERSION: &str = "v1.33.1";
const KUSTOMIZE_VERSION: &str = "v5.6.0";

/// Runs `version`.
pub async fn run(ctx: &Ctx) -> CmdResult {
    let mut text =
        format!("Client Version: {CLIENT_VERSION}\nKustomize Version: {KUSTOMIZE_VERSION}\n");
    let output = ctx.p.get("output");
    if let Some(o) = output.filter(|o| *o != "json" && *o != "yaml") {
        return Err(CmdError::Msg(format!(
            "--output must be 'yaml' or 'json', got: {o}"
        )));
    }
    let client = serde_json::json!({
        "major": "1", "minor": "33", "gitVersion": CLIENT_VERSION,
        "gitCommit": "", "gitTreeState": "clean", "buildDate": "",
        "goVersion": "", "compiler": "skiff", "platform": "linux/amd64"
    });
    if ctx.p.flag("client") {
        if output.is_none() {
            out(&text);
            return Ok(());
        }
        let v = serde_json::json!({"clientVersion": client, "kustomizeVersion": KUSTOMIZE_VERSION});
        print(output, &v);
        return Ok(());
    }
    let api = Api::connect(ctx).await?;
    match api.get("/version").await {
        Ok(server) => {
            if output.is_some() {
                let v = serde_json::json!({"clientVersion": client, "kustomizeVersion": KUSTOMIZE_VERSION, "serverVersion": server});
                print(output, &v);
                return Ok(());
            }
            let sv = server
                .get("gitVersion")
                .and_then(Value::as_str)
                .unwrap_or("");
            text.push_str(&format!("Server Version: {sv}\n"));
            out(&text);
            Ok(())
        }
        Err(e) => {
            out(&text);
            Err(e.into())
        }
    }
}

/// version.Info's field order (Go struct order, as `-o json` prints it).
const INFO_ORDER: &[&str] = &[
    "major",
    "minor",
    "emulationMajor",
    "emulationMinor",
    "minCompatibilityMajor",
    "minCompatibilityMinor",
    "gitVersion",
    "gitCommit",
    "gitTreeState",
    "buildDate",
    "goVersion",
    "compiler",
    "platform",
];

fn info_json(v: &Value) -> String {
    let fields: Vec<String> = INFO_ORDER
        .iter()
        .filter_map(|k| v.get(*k).map(|x| format!("    \"{k}\": {x}")))
        .collect();
    format!("{{\n{}\n  }}", fields.join(",\n"))
}

fn print(output: Option<&str>, v: &Value) {
    if output == Some("yaml") {
        out(&format!("{}\n", crate::print::yaml::to_yaml(v)));
        return;
    }
    let mut parts = Vec::new();
    if let Some(c) = v.get("clientVersion") {
        parts.push(format!("  \"clientVersion\": {}", info_json(c)));
    }
    if let Some(k) = v.get("kustomizeVersion") {
        parts.push(format!("  \"kustomizeVersion\": {k}"));
    }
    if let Some(sv) = v.get("serverVersion") {
        parts.push(format!("  \"serverVersion\": {}", info_json(sv)));
    }
    out(&format!("{{\n{}\n}}\n", parts.join(",\n")));
}
