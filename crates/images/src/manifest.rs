//! OCI and Docker schema-2 manifests, indexes / manifest lists, platform selection, and the image
//! config fields the runtime needs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Docker manifest list.
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker schema-2 manifest.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// OCI image config.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// gzip-compressed OCI layer.
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// zstd-compressed OCI layer.
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
/// Uncompressed OCI layer.
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
/// The `Accept` header for manifest requests, most specific first.
pub const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// Why a manifest or config could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Not JSON of the expected shape.
    #[error("malformed {what}: {source}")]
    Malformed {
        /// Which document.
        what: &'static str,
        /// The JSON error.
        source: serde_json::Error,
    },
    /// A media type this client does not handle (e.g. Docker schema 1).
    #[error("unsupported manifest media type {0:?}")]
    Unsupported(String),
    /// No manifest in the index matches this machine.
    #[error("no manifest for platform {platform} in index (offered: {offered})")]
    NoPlatform {
        /// What we looked for.
        platform: String,
        /// What the index offers.
        offered: String,
    },
    /// The config's diff_ids do not match the manifest's layers.
    #[error("config lists {diff_ids} diff_ids but manifest has {layers} layers")]
    LayerCount {
        /// Number of diff_ids.
        diff_ids: usize,
        /// Number of layers.
        layers: usize,
    },
}

/// A content descriptor.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// Media type.
    #[serde(default)]
    pub media_type: String,
    /// `sha256:<hex>`.
    pub digest: String,
    /// Size in bytes.
    #[serde(default)]
    pub size: u64,
    /// Platform (index entries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// A platform of an index entry.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Platform {
    /// `amd64`, `arm64`, …
    #[serde(default)]
    pub architecture: String,
    /// `linux`, …
    #[serde(default)]
    pub os: String,
    /// `v8`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// An image manifest (OCI or Docker schema 2).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Always 2.
    #[serde(default)]
    pub schema_version: u32,
    /// Media type, when present in the body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The image config.
    pub config: Descriptor,
    /// Layers, bottom first.
    #[serde(default)]
    pub layers: Vec<Descriptor>,
}

/// An index / manifest list.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Index {
    /// The entries.
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
}

/// A parsed manifest document.
#[derive(Clone, Debug)]
pub enum Document {
    /// A single-platform manifest.
    Manifest(Manifest),
    /// An index of manifests.
    Index(Index),
}

/// Parses a manifest or index; `content_type` is the HTTP header or descriptor media type.
pub fn parse_document(bytes: &[u8], content_type: &str) -> Result<Document, ManifestError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Probe {
        #[serde(default)]
        schema_version: u32,
        #[serde(default)]
        media_type: Option<String>,
        #[serde(default)]
        manifests: Option<serde_json::Value>,
    }
    let probe: Probe =
        serde_json::from_slice(bytes).map_err(|source| ManifestError::Malformed {
            what: "manifest",
            source,
        })?;
    let ct = content_type.split(';').next().unwrap_or("").trim();
    let media = probe.media_type.as_deref().unwrap_or(ct);
    if probe.schema_version == 1
        || media.contains("manifest.v1+prettyjws")
        || (media.contains("manifest.v1+json") && media.contains("docker"))
    {
        return Err(ManifestError::Unsupported(media.to_string()));
    }
    let is_index = media == OCI_INDEX
        || media == DOCKER_LIST
        || (probe.manifests.is_some() && media != OCI_MANIFEST && media != DOCKER_MANIFEST);
    if is_index {
        let index = serde_json::from_slice(bytes).map_err(|source| ManifestError::Malformed {
            what: "index",
            source,
        })?;
        Ok(Document::Index(index))
    } else {
        let m = serde_json::from_slice(bytes).map_err(|source| ManifestError::Malformed {
            what: "manifest",
            source,
        })?;
        Ok(Document::Manifest(m))
    }
}

/// This machine's platform as OCI names it (`linux`, `amd64`).
pub fn host_platform() -> (&'static str, &'static str) {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "arm" => "arm",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => other,
    };
    ("linux", arch)
}

/// Picks the entry for `os/arch` (entries without a platform count only if they are alone).
pub fn select_platform<'a>(
    index: &'a Index,
    os: &str,
    arch: &str,
) -> Result<&'a Descriptor, ManifestError> {
    let manifests: Vec<&Descriptor> = index
        .manifests
        .iter()
        .filter(|d| {
            (d.media_type != OCI_INDEX && d.media_type != DOCKER_LIST) || d.platform.is_some()
        })
        .collect();
    if let Some(d) = manifests.iter().find(|d| {
        d.platform
            .as_ref()
            .is_some_and(|p| p.os == os && p.architecture == arch)
    }) {
        return Ok(d);
    }
    if manifests.len() == 1 && manifests[0].platform.is_none() {
        return Ok(manifests[0]);
    }
    let offered = index
        .manifests
        .iter()
        .map(|d| {
            d.platform.as_ref().map_or("unknown".to_string(), |p| {
                format!("{}/{}", p.os, p.architecture)
            })
        })
        .collect::<Vec<_>>()
        .join(", ");
    Err(ManifestError::NoPlatform {
        platform: format!("{os}/{arch}"),
        offered,
    })
}

/// The fields of an image config file that Skiff reads.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ConfigFile {
    /// Runtime defaults.
    #[serde(default)]
    pub config: Option<ContainerConfig>,
    /// Layer diff_ids.
    #[serde(default)]
    pub rootfs: RootFs,
    /// OS.
    #[serde(default)]
    pub os: String,
    /// Architecture.
    #[serde(default)]
    pub architecture: String,
}

/// `rootfs` of a config.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct RootFs {
    /// Uncompressed layer digests, bottom first.
    #[serde(default)]
    pub diff_ids: Vec<String>,
}

/// `config` of a config file (Docker's capitalised names).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerConfig {
    /// `KEY=value` list.
    #[serde(default)]
    pub env: Option<Vec<String>>,
    /// Entrypoint.
    #[serde(default)]
    pub entrypoint: Option<Vec<String>>,
    /// Cmd.
    #[serde(default)]
    pub cmd: Option<Vec<String>>,
    /// Working directory.
    #[serde(default)]
    pub working_dir: Option<String>,
    /// User.
    #[serde(default)]
    pub user: Option<String>,
    /// Exposed ports as a set.
    #[serde(default)]
    pub exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    /// Labels.
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    /// Stop signal.
    #[serde(default)]
    pub stop_signal: Option<String>,
}

impl ConfigFile {
    /// Parses a config blob.
    pub fn parse(bytes: &[u8]) -> Result<Self, ManifestError> {
        serde_json::from_slice(bytes).map_err(|source| ManifestError::Malformed {
            what: "image config",
            source,
        })
    }

    /// Checks that the config and manifest describe the same number of layers.
    pub fn check_layers(&self, manifest: &Manifest) -> Result<(), ManifestError> {
        if self.rootfs.diff_ids.len() != manifest.layers.len() {
            return Err(ManifestError::LayerCount {
                diff_ids: self.rootfs.diff_ids.len(),
                layers: manifest.layers.len(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_linux_amd64() {
        let idx = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
          {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:a","size":1,"platform":{"architecture":"arm64","os":"linux"}},
          {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:b","size":1,"platform":{"architecture":"amd64","os":"linux"}},
          {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:c","size":1,"platform":{"architecture":"unknown","os":"unknown"}}]}"#;
        let Document::Index(i) = parse_document(idx.as_bytes(), "").unwrap() else {
            panic!("not an index")
        };
        assert_eq!(
            select_platform(&i, "linux", "amd64").unwrap().digest,
            "sha256:b"
        );
        let err = select_platform(&i, "linux", "s390x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("linux/arm64"), "{err}");
    }

    #[test]
    fn parses_docker_manifest_and_rejects_schema1() {
        let m = r#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"x","digest":"sha256:c","size":3},"layers":[]}"#;
        assert!(matches!(
            parse_document(m.as_bytes(), "").unwrap(),
            Document::Manifest(_)
        ));
        let s1 = r#"{"schemaVersion":1,"name":"x"}"#;
        assert!(parse_document(
            s1.as_bytes(),
            "application/vnd.docker.distribution.manifest.v1+prettyjws"
        )
        .is_err());
    }
}
