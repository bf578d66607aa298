//! Unpacks one layer blob into its own directory in overlayfs form, verifying the diff_id of the
//! uncompressed stream; the caller unpacks into a temporary directory and renames it into place.

mod apply;
mod beneath;
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
/// the magic bytes. Decompression runs on a second thread, feeding the tar reader through a short
/// queue of large buffers, so one big layer keeps two cores busy. The reader is left wherever the
/// decompressor stopped (callers that hash the compressed bytes drain it themselves). Returns the
/// compression found (None if the stream could not even be opened) and the diff_id with the usage.
pub fn unpack_stream<R: BufRead + Send>(
    reader: R,
    diff_id: Option<&str>,
    dest: &Path,
) -> (Option<Compression>, Result<(String, Usage), UnpackError>) {
    let (mut decoder, compression) = match decompress::wrap(reader) {
        Ok(x) => x,
        Err(e) => return (None, Err(UnpackError::Stream(e))),
    };
    let result = std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel(PIPE_DEPTH);
        let (recycle, reuse) = std::sync::mpsc::sync_channel(PIPE_DEPTH + 1);
        scope.spawn(move || inflate_into(&mut decoder, &tx, &reuse));
        let mut pipe = PipeReader {
            rx,
            recycle,
            current: Vec::new(),
            pos: 0,
            hasher: Sha256::new(),
        };
        let usage = apply_tar(&mut pipe, dest)?;
        // Read what the tar reader left (end-of-archive blocks, padding) so the hash covers it all.
        std::io::copy(&mut pipe, &mut std::io::sink()).map_err(UnpackError::Stream)?;
        let actual = format!("sha256:{}", hex::encode(pipe.hasher.finalize()));
        match diff_id {
            Some(expected) if expected != actual => Err(UnpackError::DiffId {
                expected: expected.to_string(),
                actual,
            }),
            _ => Ok((actual, usage)),
        }
    });
    (Some(compression), result)
}

/// Buffers in flight between the decompressing thread and the tar reader.
const PIPE_DEPTH: usize = 4;
/// Size of each decompressed buffer handed over.
const PIPE_BUF: usize = 256 * 1024;

/// Decompresses into full buffers (reusing those the tar side is done with) and sends them;
/// stops at the end, on an error (sent on), or when the tar side hung up.
fn inflate_into(
    decoder: &mut dyn Read,
    tx: &std::sync::mpsc::SyncSender<std::io::Result<Vec<u8>>>,
    reuse: &std::sync::mpsc::Receiver<Vec<u8>>,
) {
    loop {
        let mut buf = reuse.try_recv().unwrap_or_default();
        buf.resize(PIPE_BUF, 0);
        let mut filled = 0;
        while filled < buf.len() {
            match decoder.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        }
        if filled == 0 {
            return;
        }
        buf.truncate(filled);
        if tx.send(Ok(buf)).is_err() {
            return;
        }
    }
}

/// The tar side of the pipe: reads the buffers the decompressing thread sends, hashing each as
/// it arrives (the diff_id).
struct PipeReader {
    rx: std::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>,
    /// Emptied buffers go back to the decompressing thread (saves allocating and faulting in).
    recycle: std::sync::mpsc::SyncSender<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
    hasher: Sha256,
}

impl Read for PipeReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.current.len() {
            match self.rx.recv() {
                Ok(Ok(next)) => {
                    self.hasher.update(&next);
                    let done = std::mem::replace(&mut self.current, next);
                    if done.capacity() > 0 {
                        let _ = self.recycle.try_send(done);
                    }
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0), // the decompressor finished
            }
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Applies every entry of the tar stream under `dest`.
fn apply_tar(reader: &mut PipeReader, dest: &Path) -> Result<Usage, UnpackError> {
    let mut archive = tar::Archive::new(reader);
    let mut applier = apply::Applier::new(dest);
    let entries = archive.entries().map_err(UnpackError::Stream)?;
    for entry in entries {
        let mut entry = entry.map_err(UnpackError::Stream)?;
        applier.apply(&mut entry)?;
    }
    applier.finish()
}
