//! `kubectl cp`: files to and from a container as a tar stream over exec
//! (`tar -xmf - -C DIR` to the pod, `tar cf - PATH` from it).

use crate::client::remote::{self, Outcome};
use crate::client::{enc, Api};
use crate::cmd::targets::pick_container_to;
use crate::ctx::{CmdError, CmdResult, Ctx};
use crate::flags::{f, Kind, Spec};
use crate::json_get::s;
use std::path::{Component, Path, PathBuf};

/// Flags of `cp`.
pub const FLAGS: &[Spec] = &[
    f("container", Some('c'), Kind::Value),
    f("no-preserve", None, Kind::Bool),
    f("retries", None, Kind::Value),
];

/// `[namespace/]pod:path` → (namespace, pod, path).
fn remote_spec(arg: &str) -> Option<(Option<String>, String, String)> {
    let (pod, path) = arg.split_once(':')?;
    if pod.is_empty() || pod.contains('\\') {
        return None;
    }
    Some(match pod.split_once('/') {
        Some((ns, p)) => (Some(ns.to_string()), p.to_string(), path.to_string()),
        None => (None, pod.to_string(), path.to_string()),
    })
}

async fn exec_tar(
    ctx: &Ctx,
    api: &Api,
    ns: &str,
    pod: &str,
    command: &[&str],
    input: Option<Vec<u8>>,
) -> Result<(Vec<u8>, Vec<u8>), CmdError> {
    let obj = api
        .get(&format!("/api/v1/namespaces/{ns}/pods/{pod}"))
        .await?;
    // copying out announces the defaulted container on stdout, copying in on stderr
    let container = pick_container_to(ctx, &obj, input.is_none());
    let mut q: Vec<String> = command
        .iter()
        .map(|c| format!("command={}", enc(c)))
        .collect();
    q.push(format!("container={}", enc(&container)));
    q.push("stderr=true".into());
    if input.is_some() {
        q.push("stdin=true".into());
    }
    q.push("stdout=true".into());
    let path = format!(
        "/api/v1/namespaces/{ns}/pods/{}/exec?{}",
        s(&obj, "/metadata/name"),
        q.join("&")
    );
    let (ws, _) = api
        .websocket(&path, &["v5.channel.k8s.io", "v4.channel.k8s.io"])
        .await?;
    let (out, errb, outcome) = remote::capture(ws, input).await?;
    match outcome {
        Outcome::Ok => Ok((out, errb)),
        Outcome::Exit(code) => Err(CmdError::Msg(format!(
            "{}command terminated with exit code {code}",
            String::from_utf8_lossy(&errb)
        ))),
        Outcome::Failed(_, m) => Err(CmdError::Msg(m)),
    }
}

fn add_path(b: &mut tar::Builder<Vec<u8>>, local: &Path, name: &Path) -> Result<(), CmdError> {
    let io = |e: std::io::Error| CmdError::Msg(e.to_string());
    if local.is_dir() {
        b.append_dir(name, local).map_err(io)?;
        let mut entries: Vec<PathBuf> = std::fs::read_dir(local)
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for e in entries {
            let Some(base) = e.file_name() else { continue };
            add_path(b, &e, &name.join(base))?;
        }
        Ok(())
    } else {
        b.append_path_with_name(local, name).map_err(io)
    }
}

async fn to_pod(ctx: &Ctx, api: &Api, src: &str, ns: &str, pod: &str, dest: &str) -> CmdResult {
    let local = Path::new(src);
    if !local.exists() {
        return Err(CmdError::Msg(format!(
            "{src} doesn't exist in local filesystem"
        )));
    }
    let dest_path = Path::new(dest);
    let base = dest_path
        .file_name()
        .map(PathBuf::from)
        .or_else(|| local.file_name().map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("."));
    let dir = dest_path
        .parent()
        .map(|p| p.display().to_string())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| ".".into());
    let mut b = tar::Builder::new(Vec::new());
    add_path(&mut b, local, &base)?;
    let data = b.into_inner().map_err(|e| CmdError::Msg(e.to_string()))?;
    exec_tar(
        ctx,
        api,
        ns,
        pod,
        &["tar", "-xmf", "-", "-C", &dir],
        Some(data),
    )
    .await?;
    Ok(())
}

async fn from_pod(ctx: &Ctx, api: &Api, ns: &str, pod: &str, src: &str, dest: &str) -> CmdResult {
    let (data, tar_err) = exec_tar(ctx, api, ns, pod, &["tar", "cf", "-", src], None).await?;
    // kubectl passes tar's complaints (leading '/' removed …) through to stdout
    crate::ctx::out(&String::from_utf8_lossy(&tar_err));
    // tar stores the source without its leading '/'
    let prefix = PathBuf::from(src.trim_start_matches('/'));
    let mut ar = tar::Archive::new(data.as_slice());
    let entries = ar.entries().map_err(|e| CmdError::Msg(e.to_string()))?;
    let mut any = false;
    for entry in entries {
        let mut entry = entry.map_err(|e| CmdError::Msg(e.to_string()))?;
        let name = entry
            .path()
            .map_err(|e| CmdError::Msg(e.to_string()))?
            .to_path_buf();
        let Ok(rel) = name.strip_prefix(&prefix) else {
            continue;
        };
        // never write outside the destination
        if rel
            .components()
            .any(|c| matches!(c, Component::ParentDir | Component::RootDir))
        {
            continue;
        }
        let target = if rel.as_os_str().is_empty() {
            PathBuf::from(dest)
        } else {
            Path::new(dest).join(rel)
        };
        if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(parent);
        }
        entry
            .unpack(&target)
            .map_err(|e| CmdError::Msg(format!("{}: {e}", target.display())))?;
        any = true;
    }
    if !any {
        return Err(CmdError::Msg(format!("{src}: no such file or directory")));
    }
    Ok(())
}

/// Runs `cp`.
pub async fn run(ctx: &Ctx) -> CmdResult {
    let [src, dest] = ctx.args() else {
        return Err(ctx.usage_h("source and destination are required"));
    };
    let api = Api::connect(ctx).await?;
    match (remote_spec(src), remote_spec(dest)) {
        (None, Some((ns, pod, path))) => {
            let ns = ns.unwrap_or(api.namespace.clone());
            to_pod(ctx, &api, src, &ns, &pod, &path).await
        }
        (Some((ns, pod, path)), None) => {
            let ns = ns.unwrap_or(api.namespace.clone());
            from_pod(ctx, &api, &ns, &pod, &path, dest).await
        }
        (Some(_), Some(_)) => Err(CmdError::Msg(
            "one of src or dest must be a local file specification".into(),
        )),
        (None, None) => Err(CmdError::Msg(
            "one of src or dest must be a remote file specification".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_specs() {
        assert_eq!(
            remote_spec("ns/pod:/tmp/x"),
            Some((Some("ns".into()), "pod".into(), "/tmp/x".into()))
        );
        assert_eq!(remote_spec("pod:x"), Some((None, "pod".into(), "x".into())));
        assert_eq!(remote_spec("/local/file"), None);
    }
}
