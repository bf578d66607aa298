//! `kubectl config …`: view, current-context, get-contexts, get-clusters, get-users,
//! use-context, set-context.

use crate::client::kubeconfig::{read_file, write_file, Kubeconfig, Named};
use crate::ctx::{out, CmdError, CmdResult, Ctx};
use crate::flags::{f, Kind, Spec};
use crate::ordered_json::Doc;
use crate::print::json::to_go_json;
use crate::print::tabwriter::TabWriter;
use serde_json::{json, Map, Value};

/// Flags of the config subcommands.
pub const FLAGS: &[Spec] = &[
    f("raw", None, Kind::Bool),
    f("minify", None, Kind::Bool),
    f("flatten", None, Kind::Bool),
    f("merge", None, Kind::Value),
    f("output", Some('o'), Kind::Value),
    f("current", None, Kind::Bool),
    f("no-headers", None, Kind::Bool),
    f("template", None, Kind::Value),
    f("show-managed-fields", None, Kind::Bool),
    f("allow-missing-template-keys", None, Kind::Bool),
];

/// Runs `config SUB`.
pub fn run(ctx: &Ctx, sub: &str) -> CmdResult {
    let kc = Kubeconfig::load(ctx.p.get("kubeconfig")).map_err(|e| CmdError::Msg(e.to_string()))?;
    match sub {
        "view" => view(ctx, &kc),
        "current-context" => {
            if kc.current_context.is_empty() {
                return Err(CmdError::Msg("current-context is not set".into()));
            }
            out(&format!("{}\n", kc.current_context));
            Ok(())
        }
        "get-contexts" => get_contexts(ctx, &kc),
        "get-clusters" => {
            let mut s = String::from("NAME\n");
            for c in &kc.clusters {
                s.push_str(&format!("{}\n", c.name));
            }
            out(&s);
            Ok(())
        }
        "get-users" => {
            let mut s = String::from("NAME\n");
            for c in &kc.users {
                s.push_str(&format!("{}\n", c.name));
            }
            out(&s);
            Ok(())
        }
        "use-context" | "use" => use_context(ctx, &kc),
        "set-context" => set_context(ctx, &kc),
        other => Err(CmdError::Msg(format!(
            "unknown command \"{other}\" for \"kubectl config\""
        ))),
    }
}

fn redact(body: &Value, raw: bool) -> Value {
    let mut b = body.clone();
    if raw {
        return b;
    }
    if let Value::Object(m) = &mut b {
        for (k, v) in m.iter_mut() {
            let non_empty = v.as_str().is_some_and(|s| !s.is_empty());
            if k.ends_with("-data") && non_empty {
                *v = json!("DATA+OMITTED");
            } else if (k == "token" || k == "password") && non_empty {
                *v = json!("REDACTED");
            }
        }
    }
    b
}

const CLUSTER_ORDER: &[&str] = &[
    "server",
    "tls-server-name",
    "insecure-skip-tls-verify",
    "certificate-authority",
    "certificate-authority-data",
    "proxy-url",
    "disable-compression",
    "extensions",
];
const USER_ORDER: &[&str] = &[
    "client-certificate",
    "client-certificate-data",
    "client-key",
    "client-key-data",
    "token",
    "tokenFile",
    "as",
    "as-uid",
    "as-groups",
    "as-user-extra",
    "username",
    "password",
    "auth-provider",
    "exec",
    "extensions",
];
const CONTEXT_ORDER: &[&str] = &["cluster", "user", "namespace", "extensions"];

fn ordered(v: &Value, order: &[&str]) -> Doc {
    let mut d = Doc::obj();
    if let Value::Object(m) = v {
        for k in order {
            if let Some(x) = m.get(*k) {
                d = d.with(k, Doc::from(x));
            }
        }
        for (k, x) in m {
            if !order.contains(&k.as_str()) {
                d = d.with(k, Doc::from(x));
            }
        }
    }
    d
}

/// The entries `config view` shows: all of them, or with `--minify` the current
/// context and its cluster and user.
struct Shown<'a> {
    clusters: Vec<&'a Named>,
    contexts: Vec<&'a Named>,
    users: Vec<&'a Named>,
}

fn shown<'a>(kc: &'a Kubeconfig, minify: bool) -> Result<Shown<'a>, CmdError> {
    let mut sh = Shown {
        clusters: kc.clusters.iter().collect(),
        contexts: kc.contexts.iter().collect(),
        users: kc.users.iter().collect(),
    };
    if minify {
        if kc.current_context.is_empty() {
            return Err(CmdError::Msg(
                "current-context must exist in order to minify".into(),
            ));
        }
        let Some(c) = kc.context(&kc.current_context) else {
            return Err(CmdError::Msg(format!(
                "cannot locate context {}",
                kc.current_context
            )));
        };
        let cl = c.body.get("cluster").and_then(Value::as_str).unwrap_or("");
        let us = c.body.get("user").and_then(Value::as_str).unwrap_or("");
        sh.contexts = vec![c];
        sh.clusters.retain(|x| x.name == cl);
        sh.users.retain(|x| x.name == us);
    }
    Ok(sh)
}

fn view(ctx: &Ctx, kc: &Kubeconfig) -> CmdResult {
    let raw = ctx.p.flag("raw");
    let sh = shown(kc, ctx.p.flag("minify"))?;
    match ctx.p.get("output").unwrap_or("yaml") {
        "json" => out(&to_go_json(&config_doc(&sh, kc, raw))),
        "yaml" => out(&crate::print::yaml::to_yaml(&config_value(&sh, kc, raw))),
        other => {
            let v = config_value(&sh, kc, raw);
            let text = crate::print::format::print_value_template(other, &v, ctx)?;
            out(&text);
        }
    }
    Ok(())
}

/// The Config as a sorted JSON value (for YAML and templates); secrets redacted
/// unless `raw`.
fn config_value(sh: &Shown, kc: &Kubeconfig, raw: bool) -> Value {
    let list = |items: &[&Named], inner: &str, redacted: bool| -> Value {
        if items.is_empty() {
            return Value::Null;
        }
        Value::Array(
            items
                .iter()
                .map(|n| {
                    let mut m = Map::new();
                    m.insert("name".into(), json!(n.name));
                    m.insert(
                        inner.into(),
                        if redacted {
                            redact(&n.body, raw)
                        } else {
                            n.body.clone()
                        },
                    );
                    Value::Object(m)
                })
                .collect(),
        )
    };
    json!({
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": list(&sh.clusters, "cluster", true),
        "contexts": list(&sh.contexts, "context", false),
        "users": list(&sh.users, "user", true),
        "current-context": kc.current_context,
    })
}

/// The Config in client-go's struct field order (for `-o json`); secrets redacted
/// unless `raw`.
fn config_doc(sh: &Shown, kc: &Kubeconfig, raw: bool) -> Doc {
    let dlist = |items: &[&Named], inner: &str, order: &[&str], red: bool| -> Doc {
        if items.is_empty() {
            return Doc::Null;
        }
        Doc::Arr(
            items
                .iter()
                .map(|n| {
                    let body = if red {
                        redact(&n.body, raw)
                    } else {
                        n.body.clone()
                    };
                    Doc::obj()
                        .with("name", Doc::s(&n.name))
                        .with(inner, ordered(&body, order))
                })
                .collect(),
        )
    };
    Doc::obj()
        .with("kind", Doc::s("Config"))
        .with("apiVersion", Doc::s("v1"))
        .with("preferences", Doc::obj())
        .with(
            "clusters",
            dlist(&sh.clusters, "cluster", CLUSTER_ORDER, true),
        )
        .with("users", dlist(&sh.users, "user", USER_ORDER, true))
        .with(
            "contexts",
            dlist(&sh.contexts, "context", CONTEXT_ORDER, false),
        )
        .with("current-context", Doc::s(&kc.current_context))
}

fn get_contexts(ctx: &Ctx, kc: &Kubeconfig) -> CmdResult {
    let wanted: Vec<&String> = ctx.args().iter().collect();
    let mut rows: Vec<&Named> = kc.contexts.iter().collect();
    if !wanted.is_empty() {
        for w in &wanted {
            if kc.context(w).is_none() {
                return Err(CmdError::Msg(format!("context {w} not found")));
            }
        }
        rows.retain(|c| wanted.contains(&&c.name));
    }
    if ctx.p.get("output") == Some("name") {
        let mut s = String::new();
        for c in rows {
            s.push_str(&format!("{}\n", c.name));
        }
        out(&s);
        return Ok(());
    }
    let mut tw = TabWriter::new();
    if !ctx.p.flag("no-headers") {
        tw.row(&["CURRENT", "NAME", "CLUSTER", "AUTHINFO", "NAMESPACE"]);
    }
    for c in rows {
        let g = |k: &str| {
            c.body
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let cur = if c.name == kc.current_context {
            "*"
        } else {
            ""
        };
        tw.row(&[cur, &c.name, &g("cluster"), &g("user"), &g("namespace")]);
    }
    out(&tw.flush());
    Ok(())
}

fn use_context(ctx: &Ctx, kc: &Kubeconfig) -> CmdResult {
    let Some(name) = ctx.args().first() else {
        return Err(ctx.usage("Unexpected args: []"));
    };
    if kc.context(name).is_none() {
        return Err(CmdError::Msg(format!(
            "no context exists with the name: \"{name}\""
        )));
    }
    let file = kc.file_for_current();
    let mut doc = read_file(&file).map_err(|e| CmdError::Msg(e.to_string()))?;
    doc["current-context"] = json!(name);
    write_file(&file, &normalize(doc)).map_err(|e| CmdError::Msg(e.to_string()))?;
    out(&format!("Switched to context \"{name}\".\n"));
    Ok(())
}

fn set_context(ctx: &Ctx, kc: &Kubeconfig) -> CmdResult {
    let name = if ctx.p.flag("current") {
        if !ctx.args().is_empty() {
            return Err(CmdError::Msg(
                "you cannot specify both a context name and --current".into(),
            ));
        }
        if kc.current_context.is_empty() {
            return Err(CmdError::Msg("no current context is set".into()));
        }
        kc.current_context.clone()
    } else {
        match ctx.args().first() {
            Some(n) => n.clone(),
            None => {
                return Err(CmdError::Msg(
                    "you must specify a non-empty context name or --current".into(),
                ))
            }
        }
    };
    let existing = kc.context(&name);
    let file = existing
        .map(|c| c.file.clone())
        .unwrap_or_else(|| kc.file_for_current());
    let mut doc = read_file(&file).map_err(|e| CmdError::Msg(e.to_string()))?;
    let mut contexts: Vec<Value> = doc
        .get("contexts")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let idx = contexts
        .iter()
        .position(|c| c.get("name").and_then(Value::as_str) == Some(name.as_str()));
    let mut body = idx
        .and_then(|i| contexts[i].get("context").cloned())
        .unwrap_or_else(|| json!({}));
    for (flag, key) in [
        ("cluster", "cluster"),
        ("user", "user"),
        ("namespace", "namespace"),
    ] {
        if let Some(v) = ctx.p.get(flag) {
            body[key] = json!(v);
        }
    }
    let entry = json!({"name": name, "context": body});
    match idx {
        Some(i) => contexts[i] = entry,
        None => contexts.push(entry),
    }
    doc["contexts"] = Value::Array(contexts);
    write_file(&file, &normalize(doc)).map_err(|e| CmdError::Msg(e.to_string()))?;
    let verb = if existing.is_some() {
        "modified"
    } else {
        "created"
    };
    out(&format!("Context \"{name}\" {verb}.\n"));
    Ok(())
}

fn normalize(mut doc: Value) -> Value {
    if let Value::Object(m) = &mut doc {
        m.entry("apiVersion").or_insert(json!("v1"));
        m.entry("kind").or_insert(json!("Config"));
        m.entry("preferences").or_insert(json!({}));
        for k in ["clusters", "contexts", "users"] {
            m.entry(k).or_insert(Value::Null);
        }
        m.entry("current-context").or_insert(json!(""));
    }
    doc
}
