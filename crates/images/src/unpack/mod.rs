//! Unpacks one layer blob into its own directory in overlayfs form, verifying the diff_id of the
//! uncompressed stream; the caller unpacks into a temporary directory and renames it into place.

mod apply;
pub mod decompress;

use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use apply::Usage;
pub use decompress::Compression;

/// Why a layer could not be unpacked.
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    /// The blob could not be opened or decompressed (corrupt or truncated data).
    #[error("reading layer stream: {0}")]
    Stream(std::io::Error),
    /// An entry would write outside the layer root or create something not allowed.
    #[error("entry {entry:?}: {reason}")]
    Unsafe {
        /// The entry's path as written in the tar.
        entry: String,
        /// Why it is refused.
        reason: String,
    },
    /// Writing an entry failed.
    #[error("entry {entry:?}: writing {path}: {source}")]
    Write {
        /// The entry.
        entry: String,
        /// The file being written.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The uncompressed stream does not hash to the config's diff_id.
    #[error("diff_id mismatch: expected {expected}, uncompressed layer hashes to {actual}")]
    DiffId {
        /// From the image config.
        expected: String,
        /// Computed.
        actual: String,
    },
}

/// Hashes everything read through it.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Unpacks `blob` into `dest` (which must exist and be empty). `diff_id` of `None` skips the check
/// (docker-save tars whose config is read later); returns the diff_id computed and the usage.
pub fn unpack_layer(
    blob: &Path,
    media_type: &str,
    diff_id: Option<&str>,
    dest: &Path,
) -> Result<(String, Usage), UnpackError> {
    let file = std::fs::File::open(blob).map_err(UnpackError::Stream)?;
    let reader = std::io::BufReader::with_capacity(256 * 1024, file);
    let (compression, result) = unpack_stream(reader, diff_id, dest);
    if let Some(announced) = decompress::from_media_type(media_type) {
        if compression.is_some_and(|found| found != announced) {
            tracing::warn!(
                media_type,
                ?compression,
                "layer media type disagrees with its magic bytes; using the bytes"
            );
        }
    }
    result
}

/// Unpacks a (possibly compressed) layer stream into `dest` (existing and empty), reading the
/// decompressed stream to its end so the diff_id covers all of it; the compression is chosen by
/// the magic bytes. The reader is left wherever the decompressor stopped (callers that hash the
/// compressed bytes drain it themselves). Returns the compression found (None if the stream could
/// not even be opened) and the diff_id with the usage.
pub fn unpack_stream<R: BufRead + Send>(
    reader: R,
    diff_id: Option<&str>,
    dest: &Path,
) -> (Option<Compression>, Result<(String, Usage), UnpackError>) {
    let (reader, compression) = match decompress::wrap(reader) {
        Ok(x) => x,
        Err(e) => return (None, Err(UnpackError::Stream(e))),
    };
    (Some(compression), apply_tar(reader, diff_id, dest))
}

fn apply_tar(
    reader: impl Read,
    diff_id: Option<&str>,
    dest: &Path,
) -> Result<(String, Usage), UnpackError> {
    // Decompress in large chunks: tar reads 512-byte headers, which would otherwise each cost an
    // inflate call.
    let mut buffered = std::io::BufReader::with_capacity(
        256 * 1024,
        HashingReader {
            inner: reader,
            hasher: Sha256::new(),
        },
    );
    let usage = {
        let mut archive = tar::Archive::new(&mut buffered);
        let mut applier = apply::Applier::new(dest);
        let entries = archive.entries().map_err(UnpackError::Stream)?;
        for entry in entries {
            let mut entry = entry.map_err(UnpackError::Stream)?;
            applier.apply(&mut entry)?;
        }
        applier.finish()?
    };
    // Read what the tar reader left (end-of-archive blocks, padding) so the hash covers it all.
    std::io::copy(&mut buffered, &mut std::io::sink()).map_err(UnpackError::Stream)?;
    let hashing = buffered.into_inner();
    let actual = format!("sha256:{}", hex::encode(hashing.hasher.finalize()));
    if let Some(expected) = diff_id {
        if expected != actual {
            return Err(UnpackError::DiffId {
                expected: expected.to_string(),
                actual,
            });
        }
    }
    Ok((actual, usage))
}
