//! Pod volumes on the node: emptyDir (tmpfs for medium Memory), hostPath with
//! type checks, configMap, secret, downwardAPI and projected (service account
//! token, kube-root-ca.crt, namespace), under `pods/<uid>/volumes`.

use std::collections::BTreeMap;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{DownwardAPIVolumeFile, KeyToPath, Pod, Volume};
use k8s_openapi::ByteString;

use super::env::{field_value, format_map, resource_value, EnvContext};
use super::ownership;
use crate::api::PodApi;

/// Why a volume could not be set up (FailedMount).
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    /// Setup failed; the text follows upstream's messages.
    #[error("MountVolume.SetUp failed for volume \"{volume}\" : {message}")]
    SetUp {
        /// Volume name.
        volume: String,
        /// What went wrong.
        message: String,
    },
}

fn fail(volume: &str, message: impl Into<String>) -> VolumeError {
    VolumeError::SetUp {
        volume: volume.into(),
        message: message.into(),
    }
}

/// A prepared volume: where it lives on the host.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// Host path to bind into containers.
    pub host_path: PathBuf,
    /// Always read-only (configMap, secret, downwardAPI, projected).
    pub read_only: bool,
}

fn plugin_dir(base: &Path, plugin: &str, name: &str) -> PathBuf {
    base.join(format!("kubernetes.io~{plugin}")).join(name)
}

/// Prepare every volume of `pod` under `base` (pods/<uid>/volumes).
pub async fn prepare(
    pod: &Pod,
    base: &Path,
    api: &dyn PodApi,
    ctx: &EnvContext<'_>,
) -> Result<BTreeMap<String, Prepared>, VolumeError> {
    let mut out = BTreeMap::new();
    let ns = pod
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".into());
    let volumes: Vec<Volume> = pod
        .spec
        .as_ref()
        .and_then(|s| s.volumes.clone())
        .unwrap_or_default();
    let fs_group = pod
        .spec
        .as_ref()
        .and_then(|s| s.security_context.as_ref())
        .and_then(|sc| sc.fs_group)
        .and_then(|g| u32::try_from(g).ok());
    for v in volumes {
        let name = v.name.clone();
        let prepared = if let Some(ed) = &v.empty_dir {
            let dir = plugin_dir(base, "empty-dir", &name);
            mkdir(&dir, &name)?;
            if ed.medium.as_deref() == Some("Memory") {
                mount_tmpfs(&dir, ed.size_limit.as_ref().map(|q| q.0.as_str()), &name)?;
            }
            Prepared {
                host_path: dir,
                read_only: false,
            }
        } else if let Some(hp) = &v.host_path {
            check_host_path(&hp.path, hp.type_.as_deref().unwrap_or(""), &name)?;
            Prepared {
                host_path: PathBuf::from(&hp.path),
                read_only: false,
            }
        } else if let Some(cm) = &v.config_map {
            let dir = plugin_dir(base, "configmap", &name);
            let data = config_map_files(api, &ns, &cm.name, &name).await?;
            let files = project_source(
                data,
                cm.items.as_deref(),
                &name,
                "configmap",
                &cm.name,
                cm.optional,
            )?;
            write_dir(&dir, &files, cm.default_mode.unwrap_or(0o644), &name)?;
            Prepared {
                host_path: dir,
                read_only: true,
            }
        } else if let Some(sec) = &v.secret {
            let dir = plugin_dir(base, "secret", &name);
            let sname = sec.secret_name.clone().unwrap_or_default();
            let data = secret_files(api, &ns, &sname, &name).await?;
            let files = project_source(
                data,
                sec.items.as_deref(),
                &name,
                "secret",
                &sname,
                sec.optional,
            )?;
            write_dir(&dir, &files, sec.default_mode.unwrap_or(0o644), &name)?;
            Prepared {
                host_path: dir,
                read_only: true,
            }
        } else if let Some(da) = &v.downward_api {
            let dir = plugin_dir(base, "downward-api", &name);
            let files = downward(pod, da.items.as_deref().unwrap_or(&[]), ctx, &name)?;
            write_dir(&dir, &files, da.default_mode.unwrap_or(0o644), &name)?;
            Prepared {
                host_path: dir,
                read_only: true,
            }
        } else if let Some(pr) = &v.projected {
            let dir = plugin_dir(base, "projected", &name);
            let mut files = vec![];
            for src in pr.sources.iter().flatten() {
                if let Some(cm) = &src.config_map {
                    let data = config_map_files(api, &ns, &cm.name, &name).await?;
                    files.extend(project_source(
                        data,
                        cm.items.as_deref(),
                        &name,
                        "configmap",
                        &cm.name,
                        cm.optional,
                    )?);
                }
                if let Some(sec) = &src.secret {
                    let data = secret_files(api, &ns, &sec.name, &name).await?;
                    files.extend(project_source(
                        data,
                        sec.items.as_deref(),
                        &name,
                        "secret",
                        &sec.name,
                        sec.optional,
                    )?);
                }
                if let Some(da) = &src.downward_api {
                    files.extend(downward(
                        pod,
                        da.items.as_deref().unwrap_or(&[]),
                        ctx,
                        &name,
                    )?);
                }
                if let Some(t) = &src.service_account_token {
                    let sa = pod
                        .spec
                        .as_ref()
                        .and_then(|s| s.service_account_name.clone())
                        .unwrap_or_else(|| "default".into());
                    let exp = t.expiration_seconds.unwrap_or(3607);
                    match api.token(pod, &sa, t.audience.clone(), exp).await {
                        Ok(Some(tok)) => files.push((t.path.clone(), tok.into_bytes(), None)),
                        Ok(None) => tracing::warn!(
                            volume = %name,
                            "the API server cannot issue service account tokens; mounting without a token"
                        ),
                        Err(e) => return Err(fail(&name, format!("failed to fetch token: {e}"))),
                    }
                }
            }
            write_dir(&dir, &files, pr.default_mode.unwrap_or(0o644), &name)?;
            Prepared {
                host_path: dir,
                read_only: true,
            }
        } else {
            tracing::warn!(volume = %name, "unsupported volume type; using an empty directory");
            let dir = plugin_dir(base, "empty-dir", &name);
            mkdir(&dir, &name)?;
            Prepared {
                host_path: dir,
                read_only: false,
            }
        };
        if v.empty_dir.is_some() {
            ownership::make_world_writable(&prepared.host_path).map_err(|e| {
                fail(
                    &name,
                    format!("chmod {}: {e}", prepared.host_path.display()),
                )
            })?;
        }
        if let (Some(gid), None) = (fs_group, &v.host_path) {
            ownership::set_volume_ownership(&prepared.host_path, gid, prepared.read_only).map_err(
                |e| {
                    fail(
                        &name,
                        format!(
                            "setting fsGroup {gid} on {}: {e}",
                            prepared.host_path.display()
                        ),
                    )
                },
            )?;
        }
        out.insert(name, prepared);
    }
    Ok(out)
}

type File = (String, Vec<u8>, Option<i32>);

/// A ConfigMap's `data` and `binaryData` as file contents; `None` when it does not exist.
async fn config_map_files(
    api: &dyn PodApi,
    ns: &str,
    name: &str,
    volume: &str,
) -> Result<Option<BTreeMap<String, Vec<u8>>>, VolumeError> {
    let obj = api
        .config_map(ns, name)
        .await
        .map_err(|e| fail(volume, e.to_string()))?;
    Ok(obj.map(|o| file_contents(o.data, o.binary_data)))
}

/// A Secret's `data` (and `stringData`, as stored) as file contents; `None` when it does
/// not exist.
async fn secret_files(
    api: &dyn PodApi,
    ns: &str,
    name: &str,
    volume: &str,
) -> Result<Option<BTreeMap<String, Vec<u8>>>, VolumeError> {
    let obj = api
        .secret(ns, name)
        .await
        .map_err(|e| fail(volume, e.to_string()))?;
    Ok(obj.map(|o| file_contents(o.string_data, o.data)))
}

/// Text entries as bytes, overlaid by the binary ones.
fn file_contents(
    text: Option<BTreeMap<String, String>>,
    binary: Option<BTreeMap<String, ByteString>>,
) -> BTreeMap<String, Vec<u8>> {
    let mut out: BTreeMap<String, Vec<u8>> = text
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.into_bytes()))
        .collect();
    out.extend(
        binary
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.0)),
    );
    out
}

/// The files of a configMap/secret source: its keys (or `items`), nothing when it is
/// missing and optional, else upstream's "<kind> \"name\" not found".
fn project_source(
    data: Option<BTreeMap<String, Vec<u8>>>,
    items: Option<&[KeyToPath]>,
    volume: &str,
    kind: &str,
    obj: &str,
    optional: Option<bool>,
) -> Result<Vec<File>, VolumeError> {
    match data {
        Some(data) => project(&data, items, volume, kind, obj),
        None if optional == Some(true) => Ok(vec![]),
        None => Err(fail(volume, format!("{kind} \"{obj}\" not found"))),
    }
}

fn project(
    data: &BTreeMap<String, Vec<u8>>,
    items: Option<&[KeyToPath]>,
    volume: &str,
    kind: &str,
    obj: &str,
) -> Result<Vec<File>, VolumeError> {
    match items {
        None => Ok(data
            .iter()
            .map(|(k, v)| (k.clone(), v.clone(), None))
            .collect()),
        Some(items) => items
            .iter()
            .map(|it| match data.get(&it.key) {
                Some(v) => Ok((it.path.clone(), v.clone(), it.mode)),
                None => Err(fail(
                    volume,
                    format!("configmap references non-existent config key: {}", it.key).replace(
                        "configmap",
                        if kind == "secret" {
                            "secret"
                        } else {
                            "configmap"
                        },
                    ) + &format!(" ({kind} {obj})"),
                )),
            })
            .collect(),
    }
}

fn downward(
    pod: &Pod,
    items: &[DownwardAPIVolumeFile],
    ctx: &EnvContext<'_>,
    volume: &str,
) -> Result<Vec<File>, VolumeError> {
    let mut out = vec![];
    for it in items {
        let text = if let Some(f) = &it.field_ref {
            match f.field_path.as_str() {
                "metadata.labels" => format_map(&pod.metadata.labels),
                "metadata.annotations" => format_map(&pod.metadata.annotations),
                p => field_value(pod, p, ctx).map_err(|e| fail(volume, e.to_string()))?,
            }
        } else if let Some(r) = &it.resource_field_ref {
            let cname = r.container_name.clone().unwrap_or_default();
            let c = pod
                .spec
                .as_ref()
                .and_then(|s| s.containers.iter().find(|c| c.name == cname).cloned())
                .unwrap_or_default();
            let div = r.divisor.as_ref().map(|d| d.0.as_str());
            resource_value(&c, &r.resource, div, ctx).map_err(|e| fail(volume, e.to_string()))?
        } else {
            String::new()
        };
        out.push((it.path.clone(), text.into_bytes(), it.mode));
    }
    Ok(out)
}

fn mkdir(dir: &Path, volume: &str) -> Result<(), VolumeError> {
    std::fs::create_dir_all(dir).map_err(|e| fail(volume, format!("mkdir {}: {e}", dir.display())))
}

/// Write files atomically enough: into `..data_tmp`, then swap `..data`.
fn write_dir(
    dir: &Path,
    files: &[File],
    default_mode: i32,
    volume: &str,
) -> Result<(), VolumeError> {
    mkdir(dir, volume)?;
    let io = |e: std::io::Error| fail(volume, format!("write {}: {e}", dir.display()));
    for (path, data, mode) in files {
        if path.split('/').any(|p| p == "..") || path.starts_with('/') {
            return Err(fail(volume, format!("invalid path {path:?}")));
        }
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let same = std::fs::read(&target)
            .map(|old| &old == data)
            .unwrap_or(false);
        if !same {
            let tmp = target.with_extension("skiff-tmp");
            std::fs::write(&tmp, data).map_err(io)?;
            std::fs::rename(&tmp, &target).map_err(io)?;
        }
        let m = mode.unwrap_or(default_mode) as u32 & 0o7777;
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(m)).map_err(io)?;
    }
    Ok(())
}

fn mount_tmpfs(dir: &Path, size: Option<&str>, volume: &str) -> Result<(), VolumeError> {
    if is_mountpoint(dir) {
        return Ok(());
    }
    let opts = size
        .and_then(skiff_api::quantity::value)
        .map(|b| format!("size={b}"));
    nix::mount::mount(
        Some("tmpfs"),
        dir,
        Some("tmpfs"),
        nix::mount::MsFlags::empty(),
        opts.as_deref(),
    )
    .map_err(|e| fail(volume, format!("mount tmpfs on {}: {e}", dir.display())))
}

fn is_mountpoint(dir: &Path) -> bool {
    let Ok(mounts) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let want = dir.to_string_lossy();
    mounts
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(want.as_ref()))
}

/// Unmount tmpfs volumes and remove the pod's volume directory.
pub fn cleanup(base: &Path) {
    let empty = base.join("kubernetes.io~empty-dir");
    if let Ok(entries) = std::fs::read_dir(&empty) {
        for e in entries.flatten() {
            if is_mountpoint(&e.path()) {
                let _ = nix::mount::umount2(&e.path(), nix::mount::MntFlags::MNT_DETACH);
            }
        }
    }
    if let Some(pod_dir) = base.parent() {
        let _ = std::fs::remove_dir_all(pod_dir);
    }
}

fn check_host_path(path: &str, type_: &str, volume: &str) -> Result<(), VolumeError> {
    let p = Path::new(path);
    let meta = std::fs::metadata(p);
    let bad = |what: &str| {
        Err(fail(
            volume,
            format!("hostPath type check failed: {path} is not a {what}"),
        ))
    };
    match type_ {
        "" => Ok(()),
        "DirectoryOrCreate" => {
            if meta.is_err() {
                std::fs::create_dir_all(p).map_err(|e| fail(volume, e.to_string()))?;
                let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755));
                return Ok(());
            }
            if meta.map(|m| m.is_dir()).unwrap_or(false) {
                Ok(())
            } else {
                bad("directory")
            }
        }
        "Directory" => match meta {
            Ok(m) if m.is_dir() => Ok(()),
            Ok(_) => bad("directory"),
            Err(_) => Err(fail(
                volume,
                format!("hostPath type check failed: {path} is not a directory"),
            )),
        },
        "FileOrCreate" => {
            if meta.is_err() {
                if let Some(parent) = p.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| fail(volume, e.to_string()))?;
                }
                std::fs::File::create(p).map_err(|e| fail(volume, e.to_string()))?;
                let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644));
                return Ok(());
            }
            if meta.map(|m| m.is_file()).unwrap_or(false) {
                Ok(())
            } else {
                bad("file")
            }
        }
        "File" => match meta {
            Ok(m) if m.is_file() => Ok(()),
            _ => bad("file"),
        },
        "Socket" => match meta {
            Ok(m) if m.file_type().is_socket() => Ok(()),
            _ => bad("socket"),
        },
        "CharDevice" => match meta {
            Ok(m) if m.file_type().is_char_device() => Ok(()),
            _ => bad("character device"),
        },
        "BlockDevice" => match meta {
            Ok(m) if m.file_type().is_block_device() => Ok(()),
            _ => bad("block device"),
        },
        other => Err(fail(volume, format!("invalid HostPathType {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_entries_overlay_text_ones() {
        let text = BTreeMap::from([
            ("a".to_string(), "text".to_string()),
            ("b".to_string(), "old".to_string()),
        ]);
        let binary = BTreeMap::from([("b".to_string(), ByteString(vec![0, 1]))]);
        let files = file_contents(Some(text), Some(binary));
        assert_eq!(files.get("a").map(Vec::as_slice), Some(&b"text"[..]));
        assert_eq!(files.get("b").map(Vec::as_slice), Some(&[0u8, 1][..]));
        assert!(file_contents(None, None).is_empty());
    }
}
