//! The image index persisted as `images.json` (written to a temporary file and renamed), so a
//! restarted agent sees the same images; also answers lookups by tag, digest or id.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::reference::Reference;
use crate::types::Image;

/// Why the index could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    /// I/O on the index file.
    #[error("image index {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The index file is corrupt.
    #[error("image index {path}: {source}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The error.
        source: serde_json::Error,
    },
}

/// A layer of a stored image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRef {
    /// Blob digest (compressed).
    pub digest: String,
    /// Media type.
    pub media_type: String,
    /// Uncompressed digest.
    pub diff_id: String,
}

/// One image with everything it references.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The public view.
    pub image: Image,
    /// Its layers, bottom first.
    pub layers: Vec<LayerRef>,
    /// Every blob it references (indexes, manifests, config, layers).
    pub blobs: BTreeSet<String>,
}

/// All images, keyed by id.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct MetaIndex {
    /// Format version.
    #[serde(default)]
    pub version: u32,
    /// Images by id.
    #[serde(default)]
    pub images: BTreeMap<String, Record>,
    /// Content fetched without unpacking (`ImageStore::fetch`), by normalised reference: its
    /// blobs are kept (garbage collection spares them), but it is no image — `list`/`get` never
    /// show it, since its layers are not unpacked. A later pull of that reference consumes it.
    #[serde(default)]
    pub fetched: BTreeMap<String, Record>,
}

impl MetaIndex {
    /// Loads the index (absent = empty).
    pub fn load(path: &Path) -> Result<Self, MetaError> {
        match std::fs::read(path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|source| MetaError::Corrupt {
                path: path.to_path_buf(),
                source,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self {
                version: 1,
                ..Self::default()
            }),
            Err(source) => Err(MetaError::Io {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Writes the index atomically.
    pub fn save(&self, path: &Path) -> Result<(), MetaError> {
        let io = |source| MetaError::Io {
            path: path.to_path_buf(),
            source,
        };
        let tmp = path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(self).map_err(|source| MetaError::Corrupt {
            path: path.to_path_buf(),
            source,
        })?;
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp).map_err(io)?;
            f.write_all(&bytes).map_err(io)?;
            f.sync_data().map_err(io)?;
        }
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Adds or merges a record; its tags move away from any other image.
    pub fn upsert(&mut self, mut rec: Record) -> Image {
        for other in self.images.values_mut() {
            if other.image.id != rec.image.id {
                other
                    .image
                    .repo_tags
                    .retain(|t| !rec.image.repo_tags.contains(t));
            }
        }
        if let Some(existing) = self.images.get(&rec.image.id) {
            let mut tags = existing.image.repo_tags.clone();
            tags.extend(rec.image.repo_tags.iter().cloned());
            let mut digests = existing.image.repo_digests.clone();
            digests.extend(rec.image.repo_digests.iter().cloned());
            rec.image.repo_tags = dedup(tags);
            rec.image.repo_digests = dedup(digests);
            rec.blobs.extend(existing.blobs.iter().cloned());
        }
        let image = rec.image.clone();
        self.images.insert(rec.image.id.clone(), rec);
        image
    }

    /// Finds the id of an image by `sha256:<id>`, id hex (or unique prefix), tag, or name@digest.
    pub fn resolve(&self, reference_or_id: &str) -> Option<String> {
        let s = reference_or_id.trim();
        if let Some(hex) = s.strip_prefix("sha256:") {
            return self.by_id_prefix(hex);
        }
        if let Ok(r) = Reference::parse(s) {
            if let Some(d) = &r.digest {
                let want = format!("{}@{d}", r.name());
                if let Some(rec) = self
                    .images
                    .values()
                    .find(|rec| rec.image.repo_digests.contains(&want))
                {
                    return Some(rec.image.id.clone());
                }
            } else if let Some(tag) = r.tagged() {
                if let Some(rec) = self
                    .images
                    .values()
                    .find(|rec| rec.image.repo_tags.contains(&tag))
                {
                    return Some(rec.image.id.clone());
                }
            }
        }
        if s.len() >= 4 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return self.by_id_prefix(s);
        }
        None
    }

    /// Keys of the fetched-content records a reference or id names: the normalised reference
    /// itself, or every record of the image id (`sha256:<id>` or a unique-enough id prefix).
    pub fn resolve_fetched(&self, reference_or_id: &str) -> Vec<String> {
        let s = reference_or_id.trim();
        if let Ok(r) = Reference::parse(s) {
            let key = r.to_string();
            if self.fetched.contains_key(&key) {
                return vec![key];
            }
        }
        let hex = s.strip_prefix("sha256:").unwrap_or(s);
        if hex.len() < 4 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Vec::new();
        }
        self.fetched
            .iter()
            .filter(|(_, rec)| rec.image.id[7..].starts_with(hex))
            .map(|(k, _)| k.clone())
            .collect()
    }

    fn by_id_prefix(&self, hex: &str) -> Option<String> {
        if hex.is_empty() {
            return None;
        }
        let mut it = self.images.keys().filter(|id| id[7..].starts_with(hex));
        match (it.next(), it.next()) {
            (Some(id), None) => Some(id.clone()),
            _ => None,
        }
    }
}

fn dedup(v: Vec<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    v.into_iter().filter(|x| seen.insert(x.clone())).collect()
}
