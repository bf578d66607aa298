//! Unpacked layers: one directory per diff_id (`layers/<hex>/rootfs`), unpacked once into a
//! temporary directory and renamed into place, so a layer directory present is a layer complete.

use std::path::{Path, PathBuf};

use crate::durable;
use crate::reference::is_digest;
use crate::unpack::{self, UnpackError, Usage};

/// Why a layer could not be made available.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    /// The diff_id is not a sha256 digest.
    #[error("malformed diff_id {0:?}")]
    BadDiffId(String),
    /// Unpacking failed.
    #[error("layer {digest}: {source}")]
    Unpack {
        /// The layer blob digest.
        digest: String,
        /// What went wrong.
        source: UnpackError,
    },
    /// Filesystem error around the layer directory.
    #[error("layer directory {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// The directory of unpacked layers.
#[derive(Clone, Debug)]
pub struct LayerStore {
    root: PathBuf,
}

impl LayerStore {
    /// Opens (creating) `root/layers`, removing half-finished unpacks.
    pub fn open(root: &Path) -> Result<Self, LayerError> {
        let dir = root.join("layers");
        std::fs::create_dir_all(&dir).map_err(|source| LayerError::Io {
            path: dir.clone(),
            source,
        })?;
        if let Ok(rd) = std::fs::read_dir(&dir) {
            for e in rd.flatten() {
                if e.file_name().to_string_lossy().starts_with("tmp-") {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        Ok(Self { root: dir })
    }

    /// The directory holding the layer's files (the overlay lower dir).
    pub fn rootfs(&self, diff_id: &str) -> PathBuf {
        self.root
            .join(diff_id.strip_prefix("sha256:").unwrap_or(diff_id))
            .join("rootfs")
    }

    /// True if the layer is unpacked.
    pub fn has(&self, diff_id: &str) -> bool {
        self.rootfs(diff_id).is_dir()
    }

    /// Unpacks `blob` as layer `diff_id` unless already present (blocking; run off the runtime).
    pub fn ensure(
        &self,
        diff_id: &str,
        blob: &Path,
        digest: &str,
        media_type: &str,
    ) -> Result<Usage, LayerError> {
        if !is_digest(diff_id) {
            return Err(LayerError::BadDiffId(diff_id.to_string()));
        }
        if self.has(diff_id) {
            return Ok(self.usage(diff_id));
        }
        let staging = self.stage()?;
        let started = std::time::Instant::now();
        let (_, usage) = unpack::unpack_layer(blob, media_type, Some(diff_id), staging.rootfs())
            .map_err(|source| LayerError::Unpack {
                digest: digest.to_string(),
                source,
            })?;
        staging.sync()?;
        staging.commit(diff_id, usage)?;
        tracing::debug!(
            diff_id,
            bytes = usage.bytes,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "layer unpacked"
        );
        Ok(usage)
    }

    /// A fresh staging directory to unpack a layer into (removed unless committed).
    pub fn stage(&self) -> Result<Staging, LayerError> {
        let dir = self
            .root
            .join(format!("tmp-{:016x}", rand::random::<u64>()));
        let rootfs = dir.join("rootfs");
        std::fs::create_dir_all(&rootfs).map_err(|source| LayerError::Io {
            path: rootfs.clone(),
            source,
        })?;
        Ok(Staging {
            store: self.clone(),
            dir,
            rootfs,
            committed: false,
        })
    }

    /// Makes renames in the layers directory durable.
    pub fn sync_dir(&self) -> Result<(), LayerError> {
        durable::fsync_dir(&self.root).map_err(|source| LayerError::Io {
            path: self.root.clone(),
            source,
        })
    }

    /// Recorded usage of an unpacked layer.
    pub fn usage(&self, diff_id: &str) -> Usage {
        let dir = self
            .root
            .join(diff_id.strip_prefix("sha256:").unwrap_or(diff_id));
        std::fs::read(dir.join("usage.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Every unpacked diff_id.
    pub fn list(&self) -> Vec<String> {
        std::fs::read_dir(&self.root)
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| e.file_name().to_str().map(|n| format!("sha256:{n}")))
                    .filter(|d| is_digest(d))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Removes a layer directory: renamed aside first so a crash never leaves a partial layer.
    pub fn remove(&self, diff_id: &str) -> Result<(), LayerError> {
        let dir = self
            .root
            .join(diff_id.strip_prefix("sha256:").unwrap_or(diff_id));
        let doomed = self
            .root
            .join(format!("tmp-{:016x}", rand::random::<u64>()));
        match std::fs::rename(&dir, &doomed) {
            Ok(()) => std::fs::remove_dir_all(&doomed).map_err(|source| LayerError::Io {
                path: doomed,
                source,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(LayerError::Io { path: dir, source }),
        }
    }
}

/// A layer being unpacked in `layers/tmp-*`: removed on drop unless committed, so a failed or
/// interrupted unpack leaves nothing behind.
pub struct Staging {
    store: LayerStore,
    dir: PathBuf,
    rootfs: PathBuf,
    committed: bool,
}

impl Staging {
    /// Where the layer's files go.
    pub fn rootfs(&self) -> &Path {
        &self.rootfs
    }

    /// Writes everything staged so far (and anything else on that filesystem) to disk.
    pub fn sync(&self) -> Result<(), LayerError> {
        durable::syncfs(&self.dir).map_err(|source| LayerError::Io {
            path: self.dir.clone(),
            source,
        })
    }

    /// Records `usage` and renames the staging directory into place as layer `diff_id`; the
    /// caller has made the files durable (`sync`) first. Another unpack of the same layer that
    /// won the race is fine.
    pub fn commit(mut self, diff_id: &str, usage: Usage) -> Result<(), LayerError> {
        let meta = self.dir.join("usage.json");
        let _ = std::fs::write(&meta, serde_json::to_vec(&usage).unwrap_or_default());
        let dest = self
            .store
            .root
            .join(diff_id.strip_prefix("sha256:").unwrap_or(diff_id));
        match std::fs::rename(&self.dir, &dest) {
            Ok(()) => {
                self.committed = true;
                Ok(())
            }
            Err(_) if self.store.has(diff_id) => Ok(()),
            Err(source) => Err(LayerError::Io { path: dest, source }),
        }
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
