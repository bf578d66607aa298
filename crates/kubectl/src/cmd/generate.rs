//! The objects `kubectl create deployment|namespace|configmap|secret generic` generate,
//! field for field in the order upstream's generators write them.

use crate::ctx::{CmdError, Ctx};
use crate::ordered_json::Doc;
use base64::Engine;
use std::collections::BTreeMap;

fn meta(ctx: &Ctx, name: &str) -> Doc {
    let mut m = Doc::obj().with("name", Doc::s(name));
    if let Some(ns) = ctx.namespace_flag() {
        m = m.with("namespace", Doc::s(ns));
    }
    m.with("creationTimestamp", Doc::Null)
}

fn one_name(ctx: &Ctx) -> Result<String, CmdError> {
    let args = ctx.args();
    let before_dash = &args[..ctx.p.dash_at.unwrap_or(args.len()).min(args.len())];
    match before_dash {
        [n] => Ok(n.clone()),
        a => Err(ctx.usage_h(format!("exactly one NAME is required, got {}", a.len()))),
    }
}

fn container_name(image: &str) -> String {
    let no_digest = image.split('@').next().unwrap_or(image);
    let last = no_digest.rsplit('/').next().unwrap_or(no_digest);
    last.split(':').next().unwrap_or(last).to_string()
}

/// Builds the Deployment `create deployment` makes.
pub fn deployment(ctx: &Ctx) -> Result<Doc, CmdError> {
    let name = one_name(ctx)?;
    let images = ctx.p.all("image");
    if images.is_empty() {
        return Err(CmdError::Msg("required flag(s) \"image\" not set".into()));
    }
    let command: Vec<String> = ctx
        .p
        .dash_at
        .map(|i| ctx.args()[i..].to_vec())
        .unwrap_or_default();
    if images.len() > 1 && !command.is_empty() {
        return Err(CmdError::Msg(
            "cannot specify multiple --image options and command".into(),
        ));
    }
    let replicas: i64 = match ctx.p.get("replicas") {
        Some(r) => r.parse().map_err(|_| {
            CmdError::Msg(format!("invalid argument \"{r}\" for \"-r, --replicas\" flag: strconv.ParseInt: parsing \"{r}\": invalid syntax"))
        })?,
        None => 1,
    };
    let labels = Doc::obj().with("app", Doc::s(&name));
    let containers = images
        .iter()
        .map(|img| {
            let mut c = Doc::obj()
                .with("name", Doc::s(container_name(img)))
                .with("image", Doc::s(img));
            if !command.is_empty() {
                c = c.with("command", Doc::Arr(command.iter().map(Doc::s).collect()));
            }
            if let Some(p) = ctx
                .p
                .get("port")
                .and_then(|p| p.parse::<i64>().ok())
                .filter(|p| *p >= 0)
            {
                c = c.with(
                    "ports",
                    Doc::Arr(vec![Doc::obj().with("containerPort", Doc::from(p))]),
                );
            }
            c.with("resources", Doc::obj())
        })
        .collect();
    Ok(Doc::obj()
        .with("kind", Doc::s("Deployment"))
        .with("apiVersion", Doc::s("apps/v1"))
        .with("metadata", meta(ctx, &name).with("labels", labels.clone()))
        .with(
            "spec",
            Doc::obj()
                .with("replicas", Doc::from(replicas))
                .with("selector", Doc::obj().with("matchLabels", labels.clone()))
                .with(
                    "template",
                    Doc::obj()
                        .with(
                            "metadata",
                            Doc::obj()
                                .with("creationTimestamp", Doc::Null)
                                .with("labels", labels),
                        )
                        .with("spec", Doc::obj().with("containers", Doc::Arr(containers))),
                )
                .with("strategy", Doc::obj()),
        )
        .with("status", Doc::obj()))
}

/// Builds the Namespace `create namespace` makes.
pub fn namespace(ctx: &Ctx) -> Result<Doc, CmdError> {
    let name = one_name(ctx)?;
    Ok(Doc::obj()
        .with("kind", Doc::s("Namespace"))
        .with("apiVersion", Doc::s("v1"))
        .with(
            "metadata",
            Doc::obj()
                .with("name", Doc::s(&name))
                .with("creationTimestamp", Doc::Null),
        )
        .with("spec", Doc::obj())
        .with("status", Doc::obj()))
}

fn collect_data(ctx: &Ctx) -> Result<BTreeMap<String, Vec<u8>>, CmdError> {
    let mut data = BTreeMap::new();
    for lit in ctx.p.all("from-literal") {
        let Some((k, v)) = lit.split_once('=') else {
            return Err(CmdError::Msg(format!(
                "invalid literal source {lit}, expected key=value"
            )));
        };
        if data.insert(k.to_string(), v.as_bytes().to_vec()).is_some() {
            return Err(CmdError::Msg(format!("cannot add key {k}, another key by that name already exists in Data for ConfigMap \"{}\"", ctx.args().first().map(String::as_str).unwrap_or(""))));
        }
    }
    for src in ctx.p.all("from-file") {
        let (key, path) = match src.split_once('=') {
            Some((k, p)) => (Some(k.to_string()), p.to_string()),
            None => (None, src.clone()),
        };
        let meta = std::fs::metadata(&path).map_err(|_| {
            CmdError::Msg(format!("error reading {path}: no such file or directory"))
        })?;
        if meta.is_dir() {
            let mut entries: Vec<_> = std::fs::read_dir(&path)
                .into_iter()
                .flatten()
                .flatten()
                .collect();
            entries.sort_by_key(|e| e.file_name());
            for e in entries {
                if e.path().is_file() {
                    let bytes = std::fs::read(e.path()).unwrap_or_default();
                    data.insert(e.file_name().to_string_lossy().into_owned(), bytes);
                }
            }
        } else {
            let bytes = std::fs::read(&path).unwrap_or_default();
            let k = key.unwrap_or_else(|| {
                std::path::Path::new(&path)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            });
            data.insert(k, bytes);
        }
    }
    for path in ctx.p.all("from-env-file") {
        let text = std::fs::read_to_string(&path).map_err(|_| {
            CmdError::Msg(format!("error reading {path}: no such file or directory"))
        })?;
        for line in text.lines() {
            let l = line.trim_start();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            match l.split_once('=') {
                Some((k, v)) => data.insert(k.to_string(), v.as_bytes().to_vec()),
                None => data.insert(
                    l.to_string(),
                    std::env::var(l).unwrap_or_default().into_bytes(),
                ),
            };
        }
    }
    Ok(data)
}

/// Builds the ConfigMap `create configmap` makes.
pub fn configmap(ctx: &Ctx) -> Result<Doc, CmdError> {
    let name = one_name(ctx)?;
    let data = collect_data(ctx)?;
    let mut d = Doc::obj()
        .with("kind", Doc::s("ConfigMap"))
        .with("apiVersion", Doc::s("v1"))
        .with("metadata", meta(ctx, &name));
    let (text, binary): (Vec<_>, Vec<_>) = data
        .into_iter()
        .partition(|(_, v)| std::str::from_utf8(v).is_ok());
    if !text.is_empty() {
        d = d.with(
            "data",
            Doc::Obj(
                text.into_iter()
                    .map(|(k, v)| (k, Doc::Str(String::from_utf8_lossy(&v).into_owned())))
                    .collect(),
            ),
        );
    }
    if !binary.is_empty() {
        let b64 = base64::engine::general_purpose::STANDARD;
        d = d.with(
            "binaryData",
            Doc::Obj(
                binary
                    .into_iter()
                    .map(|(k, v)| (k, Doc::Str(b64.encode(v))))
                    .collect(),
            ),
        );
    }
    Ok(d)
}

/// Builds the Secret `create secret generic` makes.
pub fn secret(ctx: &Ctx) -> Result<Doc, CmdError> {
    let name = one_name(ctx)?;
    let data = collect_data(ctx)?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut d = Doc::obj()
        .with("kind", Doc::s("Secret"))
        .with("apiVersion", Doc::s("v1"))
        .with("metadata", meta(ctx, &name));
    if !data.is_empty() {
        d = d.with(
            "data",
            Doc::Obj(
                data.into_iter()
                    .map(|(k, v)| (k, Doc::Str(b64.encode(v))))
                    .collect(),
            ),
        );
    }
    if let Some(t) = ctx.p.get("type").filter(|t| !t.is_empty()) {
        d = d.with("type", Doc::s(t));
    }
    Ok(d)
}
