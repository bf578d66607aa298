//! Air-gap import: OCI archives (`oci-layout` + `index.json`, names from the
//! `io.containerd.image.name` / `org.opencontainers.image.ref.name` annotations) and `docker save`
//! tars (`manifest.json` with `RepoTags`), optionally gzip/zstd compressed. Every file of the
//! archive is streamed into the content store (digest-checked when its name is a digest).

mod interpret;

use std::collections::{BTreeSet, HashMap};
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use interpret::interpret;

use crate::content::ContentStore;
use crate::error::ImageError;
use crate::manifest::{ConfigFile, Manifest};
use crate::pull::build_record;
use crate::reference::{is_digest, Reference};
use crate::store::ImageStore;
use crate::types::Image;
use crate::unpack::decompress;

const MAX_META: u64 = 16 << 20;

/// What one pass over an archive found.
#[derive(Default)]
pub(super) struct Scanned {
    pub(super) index_json: Option<Vec<u8>>,
    pub(super) manifest_json: Option<Vec<u8>>,
    /// Archive path → blob digest.
    pub(super) by_path: HashMap<String, String>,
    /// Blobs this archive added to the store.
    pub(super) added: BTreeSet<String>,
}

/// An image found in an archive, ready to unpack and record.
pub(super) struct Pending {
    pub(super) tags: Vec<String>,
    pub(super) top_digest: String,
    pub(super) manifest: Manifest,
    pub(super) config: ConfigFile,
    pub(super) docs: Vec<String>,
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

pub(super) fn import_err(path: &Path, reason: String) -> ImageError {
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
