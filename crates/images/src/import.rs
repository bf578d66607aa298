//! Air-gap import: OCI archives (`oci-layout` + `index.json`, names from the
//! `io.containerd.image.name` / `org.opencontainers.image.ref.name` annotations) and `docker save`
//! tars (`manifest.json` with `RepoTags`), optionally gzip/zstd compressed. Every file of the
//! archive is streamed into the content store (digest-checked when its name is a digest).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::content::ContentStore;
use crate::error::ImageError;
use crate::manifest::{self, ConfigFile, Descriptor, Document, Index, Manifest};
use crate::pull::build_record;
use crate::reference::{is_digest, Reference};
use crate::store::ImageStore;
use crate::types::Image;
use crate::unpack::decompress::{self, Compression};

const NAME_ANNOTATION: &str = "io.containerd.image.name";
const REF_ANNOTATION: &str = "org.opencontainers.image.ref.name";
const MAX_META: u64 = 16 << 20;

/// What one pass over an archive found.
#[derive(Default)]
struct Scanned {
    index_json: Option<Vec<u8>>,
    manifest_json: Option<Vec<u8>>,
    /// Archive path → blob digest.
    by_path: HashMap<String, String>,
    /// Blobs this archive added to the store.
    added: BTreeSet<String>,
}

/// An image found in an archive, ready to unpack and record.
struct Pending {
    tags: Vec<String>,
    top_digest: String,
    manifest: Manifest,
    config: ConfigFile,
    docs: Vec<String>,
}

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

impl ImageStore {
    /// Imports an OCI archive or a docker-save tar; returns the images it held.
    pub async fn import_archive(&self, path: &Path) -> Result<Vec<Image>, ImageError> {
        let pending;
        let added;
        {
            let _gc = self.inner.gc_lock.read().await;
            let content = self.inner.content.clone();
            let p = path.to_path_buf();
            let found = tokio::task::spawn_blocking(move || -> Result<_, ImageError> {
                let scanned = scan(&content, &p)?;
                let images = interpret(&content, &p, &scanned)?;
                Ok((images, scanned.added))
            })
            .await
            .map_err(|e| ImageError::Internal(e.to_string()))??;
            (pending, added) = found;
            let mut images = Vec::new();
            for p in pending {
                let jobs = p
                    .manifest
                    .layers
                    .iter()
                    .zip(&p.config.rootfs.diff_ids)
                    .map(|(d, diff)| self.ensure_layer(diff, &d.digest, &d.media_type));
                futures::future::try_join_all(jobs)
                    .await
                    .map_err(|e| import_err(path, e.to_string()))?;
                let names: Vec<String> = p
                    .tags
                    .iter()
                    .filter_map(|t| Reference::parse(t).ok().map(|r| r.name()))
                    .collect();
                let rec = build_record(
                    p.tags.clone(),
                    &names,
                    &p.top_digest,
                    &p.manifest,
                    &p.config,
                    p.docs,
                );
                images.push(self.commit(rec)?);
            }
            tracing::info!(path = %path.display(), images = images.len(), "archive imported");
            // Drop blobs the archive carried that no image uses (other platforms, stray files).
            let used: BTreeSet<String> = self.inner.meta.read(|meta| {
                meta.images
                    .values()
                    .flat_map(|r| r.blobs.iter().cloned())
                    .collect()
            });
            for d in added.iter().filter(|d| !used.contains(*d)) {
                let _ = self.inner.content.remove(d);
            }
            Ok(images)
        }
    }

    /// Imports every `*.tar` (also `.tar.gz`, `.tgz`, `.tar.zst`) in `dir`, in name order;
    /// a bad archive is logged and skipped.
    pub async fn import_dir(&self, dir: &Path) -> Result<Vec<Image>, ImageError> {
        let rd = match std::fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(ImageError::Io {
                    path: dir.to_path_buf(),
                    source,
                })
            }
        };
        let mut files: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                p.is_file()
                    && [".tar", ".tar.gz", ".tgz", ".tar.zst"]
                        .iter()
                        .any(|s| n.ends_with(s))
            })
            .collect();
        files.sort();
        let mut out = Vec::new();
        for f in files {
            match self.import_archive(&f).await {
                Ok(images) => out.extend(images),
                Err(e) => {
                    tracing::error!(path = %f.display(), error = %e, "image archive import failed")
                }
            }
        }
        Ok(out)
    }
}

fn import_err(path: &Path, reason: String) -> ImageError {
    ImageError::Import {
        path: path.to_path_buf(),
        reason,
    }
}

/// Streams every regular file of the archive into the content store.
fn scan(content: &ContentStore, path: &Path) -> Result<Scanned, ImageError> {
    let file = std::fs::File::open(path).map_err(|source| ImageError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let (reader, _) = decompress::wrap(BufReader::with_capacity(256 * 1024, file))
        .map_err(|e| import_err(path, e.to_string()))?;
    let mut archive = tar::Archive::new(reader);
    let mut out = Scanned::default();
    let entries = archive
        .entries()
        .map_err(|e| import_err(path, e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| import_err(path, format!("reading archive: {e}")))?;
        if !matches!(
            entry.header().entry_type(),
            tar::EntryType::Regular | tar::EntryType::Continuous
        ) {
            continue;
        }
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let name = raw
            .trim_start_matches("./")
            .trim_start_matches('/')
            .to_string();
        let size = entry.header().size().unwrap_or(0);
        match name.as_str() {
            "index.json" | "manifest.json" => {
                if size > MAX_META {
                    return Err(import_err(path, format!("{name} is too large")));
                }
                let mut buf = Vec::new();
                entry
                    .read_to_end(&mut buf)
                    .map_err(|e| import_err(path, format!("{name}: {e}")))?;
                if name == "index.json" {
                    out.index_json = Some(buf);
                } else {
                    out.manifest_json = Some(buf);
                }
            }
            "oci-layout" | "repositories" => {}
            _ if name.ends_with("/json") || name.ends_with("/VERSION") => {}
            _ => {
                let named = name
                    .strip_prefix("blobs/sha256/")
                    .map(|h| format!("sha256:{h}"))
                    .filter(|d| is_digest(d));
                let digest = match &named {
                    Some(d) if content.has(d) => d.clone(),
                    Some(d) => {
                        let (d, _) = content
                            .ingest(&mut entry, Some(d), Some(size))
                            .map_err(|e| import_err(path, format!("{name}: {e}")))?;
                        out.added.insert(d.clone());
                        d
                    }
                    None => {
                        let existed = |d: &str| content.has(d);
                        let (d, _) = content
                            .ingest(&mut entry, None, None)
                            .map_err(|e| import_err(path, format!("{name}: {e}")))?;
                        if !existed(&d) {
                            out.added.insert(d.clone());
                        }
                        d
                    }
                };
                out.by_path.insert(name, digest);
            }
        }
    }
    Ok(out)
}

/// Turns the scanned archive into images (OCI layout first, docker-save otherwise).
fn interpret(content: &ContentStore, path: &Path, s: &Scanned) -> Result<Vec<Pending>, ImageError> {
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
