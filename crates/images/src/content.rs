//! The content store: blobs under `blobs/sha256/<hex>`, written to `ingest/` first and renamed into
//! place only after their digest (and size) checked out, so a blob present is a blob verified.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::reference::is_digest;

/// Why a blob could not be stored or read.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    /// The digest string is not `sha256:<64 hex>`.
    #[error("unsupported or malformed digest {0:?}")]
    BadDigest(String),
    /// The bytes did not hash to the expected digest.
    #[error("digest mismatch for {expected}: content hashes to {actual}")]
    DigestMismatch {
        /// What the manifest said.
        expected: String,
        /// What the bytes hash to.
        actual: String,
    },
    /// The blob had a different size than its descriptor.
    #[error("size mismatch for {digest}: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        /// The blob.
        digest: String,
        /// Descriptor size.
        expected: u64,
        /// Bytes received.
        actual: u64,
    },
    /// The blob is not in the store.
    #[error("blob {0} not found in content store")]
    NotFound(String),
    /// Filesystem error.
    #[error("content store I/O on {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ContentError + '_ {
    move |source| ContentError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A directory of verified blobs.
#[derive(Clone, Debug)]
pub struct ContentStore {
    root: PathBuf,
}

impl ContentStore {
    /// Opens (creating) `root/blobs/sha256` and `root/ingest`; leftovers in `ingest` are dropped.
    pub fn open(root: &Path) -> Result<Self, ContentError> {
        let blobs = root.join("blobs").join("sha256");
        std::fs::create_dir_all(&blobs).map_err(io(&blobs))?;
        let ingest = root.join("ingest");
        let _ = std::fs::remove_dir_all(&ingest);
        std::fs::create_dir_all(&ingest).map_err(io(&ingest))?;
        Ok(Self {
            root: root.to_path_buf(),
        })
    }

    /// Where a blob lives (whether or not it is present).
    pub fn path(&self, digest: &str) -> Result<PathBuf, ContentError> {
        if !is_digest(digest) {
            return Err(ContentError::BadDigest(digest.to_string()));
        }
        Ok(self.root.join("blobs").join("sha256").join(&digest[7..]))
    }

    /// True if the blob is present.
    pub fn has(&self, digest: &str) -> bool {
        self.path(digest).is_ok_and(|p| p.is_file())
    }

    /// Size of a present blob.
    pub fn size(&self, digest: &str) -> Option<u64> {
        self.path(digest)
            .ok()
            .and_then(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
    }

    /// Reads a (small) blob.
    pub fn read(&self, digest: &str) -> Result<Vec<u8>, ContentError> {
        let p = self.path(digest)?;
        std::fs::read(&p).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                ContentError::NotFound(digest.to_string())
            } else {
                ContentError::Io {
                    path: p.clone(),
                    source: e,
                }
            }
        })
    }

    /// Stores bytes, returning their digest.
    pub fn put(&self, bytes: &[u8]) -> Result<String, ContentError> {
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(bytes)));
        if !self.has(&digest) {
            let mut w = self.writer()?;
            w.write(bytes)?;
            w.commit(Some(&digest), None)?;
        }
        Ok(digest)
    }

    /// Streams a reader into the store; checks digest/size when given; returns (digest, size).
    pub fn ingest(
        &self,
        mut r: impl Read,
        expected: Option<&str>,
        size: Option<u64>,
    ) -> Result<(String, u64), ContentError> {
        let mut w = self.writer()?;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = r.read(&mut buf).map_err(io(&w.path))?;
            if n == 0 {
                break;
            }
            w.write(&buf[..n])?;
        }
        w.commit(expected, size)
    }

    /// Starts writing a new blob in `ingest/`.
    pub fn writer(&self) -> Result<BlobWriter, ContentError> {
        let name = format!("{:016x}", rand::random::<u64>());
        let path = self.root.join("ingest").join(name);
        let file = File::create(&path).map_err(io(&path))?;
        Ok(BlobWriter {
            store: self.clone(),
            path,
            file: Some(std::io::BufWriter::with_capacity(256 * 1024, file)),
            hasher: Sha256::new(),
            written: 0,
        })
    }

    /// Removes a blob (absent is fine).
    pub fn remove(&self, digest: &str) -> Result<(), ContentError> {
        let p = self.path(digest)?;
        match std::fs::remove_file(&p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(ContentError::Io { path: p, source: e })
            }
            _ => Ok(()),
        }
    }

    /// Makes renames into the blob directory durable.
    pub fn sync_dir(&self) -> Result<(), ContentError> {
        let dir = self.root.join("blobs").join("sha256");
        crate::durable::fsync_dir(&dir).map_err(io(&dir))
    }

    /// Every blob digest in the store.
    pub fn list(&self) -> Vec<String> {
        let dir = self.root.join("blobs").join("sha256");
        std::fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter_map(|e| e.file_name().to_str().map(|n| format!("sha256:{n}")))
                    .filter(|d| is_digest(d))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A blob being written: hashed as it goes, renamed into place by `commit`, deleted if dropped.
pub struct BlobWriter {
    store: ContentStore,
    path: PathBuf,
    file: Option<std::io::BufWriter<File>>,
    hasher: Sha256,
    written: u64,
}

impl BlobWriter {
    /// Appends bytes.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), ContentError> {
        self.hasher.update(bytes);
        self.written += bytes.len() as u64;
        match self.file.as_mut() {
            Some(f) => f.write_all(bytes).map_err(io(&self.path)),
            None => Ok(()),
        }
    }

    /// Flushes what is buffered and starts its writeback (see `durable::start_writeback`).
    pub fn start_writeback(&mut self) -> Result<(), ContentError> {
        if let Some(f) = self.file.as_mut() {
            f.flush().map_err(io(&self.path))?;
            crate::durable::start_writeback(f.get_ref());
        }
        Ok(())
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Verifies digest and size (when given), syncs, and renames into the store.
    pub fn commit(
        mut self,
        expected: Option<&str>,
        size: Option<u64>,
    ) -> Result<(String, u64), ContentError> {
        let digest = self.verify(expected, size)?;
        self.place(&digest, false)
    }

    /// Checks digest and size (when given) and flushes buffered bytes to the file; returns the
    /// digest. Call once, then `place`.
    pub fn verify(
        &mut self,
        expected: Option<&str>,
        size: Option<u64>,
    ) -> Result<String, ContentError> {
        let actual = format!(
            "sha256:{}",
            hex::encode(std::mem::take(&mut self.hasher).finalize())
        );
        if let Some(exp) = expected {
            if let Some(s) = size.filter(|s| *s != self.written) {
                return Err(ContentError::SizeMismatch {
                    digest: exp.to_string(),
                    expected: s,
                    actual: self.written,
                });
            }
            if exp != actual {
                return Err(ContentError::DigestMismatch {
                    expected: exp.to_string(),
                    actual,
                });
            }
        }
        if let Some(f) = self.file.as_mut() {
            f.flush().map_err(io(&self.path))?;
        }
        Ok(actual)
    }

    /// Renames a verified blob into the store, syncing it first unless the caller already made
    /// it durable (`synced`, e.g. with one `syncfs` for a whole layer).
    pub fn place(self, digest: &str, synced: bool) -> Result<(String, u64), ContentError> {
        if !synced {
            if let Some(f) = self.file.as_ref() {
                f.get_ref().sync_data().map_err(io(&self.path))?;
            }
        }
        let dest = self.store.path(digest)?;
        std::fs::rename(&self.path, &dest).map_err(io(&dest))?;
        Ok((digest.to_string(), self.written))
    }

    /// The file being written (in `ingest/`).
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        if self.path.exists() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_before_placing() {
        let dir = tempfile::tempdir().unwrap();
        let cs = ContentStore::open(dir.path()).unwrap();
        let d = cs.put(b"hello").unwrap();
        assert_eq!(cs.read(&d).unwrap(), b"hello");
        let wrong = format!("sha256:{}", "0".repeat(64));
        let err = cs.ingest(&b"hello"[..], Some(&wrong), Some(5)).unwrap_err();
        assert!(matches!(err, ContentError::DigestMismatch { .. }), "{err}");
        assert!(!cs.has(&wrong));
        assert_eq!(
            std::fs::read_dir(dir.path().join("ingest"))
                .unwrap()
                .count(),
            0
        );
        let err = cs.ingest(&b"hello"[..], Some(&d), Some(4)).unwrap_err();
        assert!(matches!(err, ContentError::SizeMismatch { .. }));
    }
}
