//! Reading what an archive holds: an OCI layout's `index.json` (names from annotations, down
//! to this platform's manifest) or docker-save's `manifest.json` (`RepoTags`), both when
//! docker ≥ 25 wrote them.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde::Deserialize;

use super::{import_err, Pending, Scanned};
use crate::content::ContentStore;
use crate::error::ImageError;
use crate::manifest::{self, ConfigFile, Descriptor, Document, Index, Manifest};
use crate::reference::Reference;
use crate::unpack::decompress::{self, Compression};

const NAME_ANNOTATION: &str = "io.containerd.image.name";
const REF_ANNOTATION: &str = "org.opencontainers.image.ref.name";

/// An entry of docker-save's `manifest.json`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    #[serde(default)]
    layers: Vec<String>,
}

/// Turns the scanned archive into images (OCI layout first, docker-save otherwise).
pub(super) fn interpret(
    content: &ContentStore,
    path: &Path,
    s: &Scanned,
) -> Result<Vec<Pending>, ImageError> {
    let docker: Vec<DockerEntry> = match &s.manifest_json {
        Some(b) => serde_json::from_slice(b)
            .map_err(|e| import_err(path, format!("manifest.json: {e}")))?,
        None => Vec::new(),
    };
    if let Some(idx) = &s.index_json {
        let index: Index = serde_json::from_slice(idx)
            .map_err(|e| import_err(path, format!("index.json: {e}")))?;
        // docker-save ≥ 25 writes both files: RepoTags by config path name the untagged entries.
        let docker_tags: BTreeMap<String, Vec<String>> = docker
            .iter()
            .filter_map(|e| {
                Some((
                    s.by_path.get(&e.config)?.clone(),
                    e.repo_tags.clone().unwrap_or_default(),
                ))
            })
            .collect();
        let mut out = Vec::new();
        for desc in &index.manifests {
            let mut p = resolve_local(content, path, desc)?;
            p.tags = names_from_annotations(&desc.annotations);
            if p.tags.is_empty() {
                p.tags = normalize_all(
                    docker_tags
                        .get(&p.manifest.config.digest)
                        .map(Vec::as_slice)
                        .unwrap_or(&[]),
                );
            }
            out.push(p);
        }
        return Ok(out);
    }
    if s.manifest_json.is_none() {
        return Err(import_err(
            path,
            "neither index.json (OCI archive) nor manifest.json (docker save) found".into(),
        ));
    }
    docker
        .iter()
        .map(|e| docker_image(content, path, s, e))
        .collect()
}

/// Follows an index entry down to this platform's manifest inside the content store.
fn resolve_local(
    content: &ContentStore,
    path: &Path,
    top: &Descriptor,
) -> Result<Pending, ImageError> {
    let missing = |d: &str| {
        import_err(
            path,
            format!("blob {d} referenced but missing from archive"),
        )
    };
    let mut desc = top.clone();
    let mut docs = Vec::new();
    for _ in 0..4 {
        let bytes = content
            .read(&desc.digest)
            .map_err(|_| missing(&desc.digest))?;
        docs.push(desc.digest.clone());
        match manifest::parse_document(&bytes, &desc.media_type)? {
            Document::Index(index) => {
                let (os, arch) = manifest::host_platform();
                desc = manifest::select_platform(&index, os, arch)?.clone();
            }
            Document::Manifest(m) => {
                let config = ConfigFile::parse(
                    &content
                        .read(&m.config.digest)
                        .map_err(|_| missing(&m.config.digest))?,
                )?;
                config.check_layers(&m)?;
                if let Some(l) = m.layers.iter().find(|l| !content.has(&l.digest)) {
                    return Err(missing(&l.digest));
                }
                return Ok(Pending {
                    tags: Vec::new(),
                    top_digest: top.digest.clone(),
                    manifest: m,
                    config,
                    docs,
                });
            }
        }
    }
    Err(import_err(path, "index nesting too deep".into()))
}

/// Builds an image from a docker-save entry, synthesising an OCI manifest for it.
fn docker_image(
    content: &ContentStore,
    path: &Path,
    s: &Scanned,
    e: &DockerEntry,
) -> Result<Pending, ImageError> {
    let lookup = |p: &str| {
        s.by_path
            .get(p.trim_start_matches("./"))
            .cloned()
            .ok_or_else(|| {
                import_err(
                    path,
                    format!("{p} listed in manifest.json but missing from archive"),
                )
            })
    };
    let config_digest = lookup(&e.config)?;
    let config = ConfigFile::parse(&content.read(&config_digest)?)?;
    let mut layers = Vec::new();
    for l in &e.layers {
        let digest = lookup(l)?;
        let blob = content.path(&digest)?;
        let mut head = [0u8; 4];
        let n = std::fs::File::open(&blob)
            .and_then(|mut f| f.read(&mut head))
            .map_err(|source| ImageError::Io {
                path: blob.clone(),
                source,
            })?;
        let media_type = match decompress::from_magic(&head[..n]) {
            Compression::Gzip => manifest::OCI_LAYER_GZIP,
            Compression::Zstd => manifest::OCI_LAYER_ZSTD,
            Compression::None => manifest::OCI_LAYER_TAR,
        };
        layers.push(Descriptor {
            media_type: media_type.to_string(),
            size: content.size(&digest).unwrap_or(0),
            digest,
            ..Descriptor::default()
        });
    }
    let m = Manifest {
        schema_version: 2,
        media_type: Some(manifest::OCI_MANIFEST.to_string()),
        config: Descriptor {
            media_type: manifest::OCI_CONFIG.to_string(),
            size: content.size(&config_digest).unwrap_or(0),
            digest: config_digest,
            ..Descriptor::default()
        },
        layers,
    };
    config.check_layers(&m)?;
    let bytes = serde_json::to_vec(&m).map_err(|e| import_err(path, e.to_string()))?;
    let top_digest = content.put(&bytes)?;
    Ok(Pending {
        tags: normalize_all(e.repo_tags.as_deref().unwrap_or(&[])),
        docs: vec![top_digest.clone()],
        top_digest,
        manifest: m,
        config,
    })
}

/// Image names from index annotations: the containerd name, else a ref.name that is a full
/// reference (a bare tag like `v1` names no repository and is ignored).
fn names_from_annotations(a: &BTreeMap<String, String>) -> Vec<String> {
    if let Some(n) = a.get(NAME_ANNOTATION) {
        return normalize_all(std::slice::from_ref(n));
    }
    match a.get(REF_ANNOTATION) {
        Some(r) if r.contains('/') || r.contains(':') => normalize_all(std::slice::from_ref(r)),
        _ => Vec::new(),
    }
}

fn normalize_all(names: &[String]) -> Vec<String> {
    names
        .iter()
        .filter_map(|n| match Reference::parse(n) {
            Ok(r) => r.tagged(),
            Err(e) => {
                tracing::warn!(name = %n, error = %e, "ignoring unparsable image name in archive");
                None
            }
        })
        .collect()
}
