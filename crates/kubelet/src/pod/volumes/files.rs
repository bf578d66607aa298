//! The files of configMap, secret and downwardAPI volumes (and their
//! projections): the object's keys or `items`, upstream's messages for what
//! is missing, and writing them into the volume directory.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use k8s_openapi::api::core::v1::{DownwardAPIVolumeFile, KeyToPath, Pod};
use k8s_openapi::ByteString;

use super::host::mkdir;
use super::{fail, VolumeError};
use crate::api::PodApi;
use crate::pod::env::{field_value, format_map, resource_value, EnvContext};

/// One file: path in the volume, contents, mode.
pub type File = (String, Vec<u8>, Option<i32>);

/// A ConfigMap's `data` and `binaryData` as file contents; `None` when it does not exist.
pub async fn config_map_files(
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
pub async fn secret_files(
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
pub fn project_source(
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

/// The files of downwardAPI `items`.
pub fn downward(
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

/// Write files atomically enough: into `..data_tmp`, then swap `..data`.
pub fn write_dir(
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
