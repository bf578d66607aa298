//! Unpack while downloading: a layer's bytes go, as they arrive, into the content store's ingest
//! file (hashed) and through decompress → tar → applier into a staging directory. Blob and layer
//! are committed only after size, digest and diff_id verified and the files are durable; on any
//! failure both are discarded, so the store never holds an unverified blob or layer.

use std::io::{self, BufRead, Read};
use std::os::unix::fs::MetadataExt;

use bytes::{Buf, Bytes};
use tokio::sync::mpsc::Receiver;

use crate::content::{BlobWriter, ContentError};
use crate::error::ImageError;
use crate::layers::{LayerError, Staging};
use crate::unpack;

/// The blob's writeback is started every this many bytes.
pub(crate) const WRITEBACK_STEP: u64 = 4 << 20;

/// What one streamed layer should turn out to be.
pub(crate) struct Expected {
    /// Blob digest from the manifest.
    pub digest: String,
    /// Blob size from the manifest (0: unknown).
    pub size: u64,
    /// diff_id from the image config.
    pub diff_id: String,
}

/// Reads the chunks a download task sends, writing (and hashing) each into the blob file as it
/// is taken; end of stream is the sender hanging up.
struct Incoming {
    rx: Receiver<Bytes>,
    current: Bytes,
    blob: BlobWriter,
    write_error: Option<ContentError>,
}

impl BufRead for Incoming {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.current.is_empty() {
            let Some(chunk) = self.rx.blocking_recv() else {
                break;
            };
            let before = self.blob.written();
            let mut stored = self.blob.write(&chunk);
            if stored.is_ok() && before / WRITEBACK_STEP != self.blob.written() / WRITEBACK_STEP {
                stored = self.blob.start_writeback();
            }
            if let Err(e) = stored {
                let msg = e.to_string();
                self.write_error = Some(e);
                return Err(io::Error::other(msg));
            }
            self.current = chunk;
        }
        Ok(&self.current)
    }

    fn consume(&mut self, n: usize) {
        self.current.advance(n.min(self.current.len()));
    }
}

impl Read for Incoming {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(buf.len());
        buf[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

/// Unpacks the chunks arriving on `rx` into `staging` while storing them as the layer's blob
/// (blocking: run on a blocking thread). A digest or size mismatch wins over an unpack error, so
/// corrupt downloads are reported as such; nothing is committed unless everything verifies.
pub(crate) fn unpack_incoming(
    rx: Receiver<Bytes>,
    blob: BlobWriter,
    staging: Staging,
    want: &Expected,
) -> Result<(), ImageError> {
    let started = std::time::Instant::now();
    let mut src = Incoming {
        rx,
        current: Bytes::new(),
        blob,
        write_error: None,
    };
    let (_, unpacked) = unpack::unpack_stream(&mut src, Some(&want.diff_id), staging.rootfs());
    // Take the rest (gzip trailer, anything after the tar, or everything after a failure) so the
    // blob digest covers the whole blob.
    let drained = io::copy(&mut src, &mut io::sink());
    if let Some(e) = src.write_error.take() {
        return Err(e.into());
    }
    let size = (want.size > 0).then_some(want.size);
    let digest = src.blob.verify(Some(&want.digest), size)?;
    let (_, usage) = unpacked.map_err(|source| LayerError::Unpack {
        digest: digest.clone(),
        source,
    })?;
    drained.map_err(|source| LayerError::Unpack {
        digest: digest.clone(),
        source: unpack::UnpackError::Stream(source),
    })?;
    // One syncfs makes the layer's files durable, and the blob's too when it sits on the same
    // filesystem (it always does unless someone mounted something inside the store).
    staging.sync()?;
    let same_fs = match (
        std::fs::metadata(src.blob.path()),
        std::fs::metadata(staging.rootfs()),
    ) {
        (Ok(a), Ok(b)) => a.dev() == b.dev(),
        _ => false,
    };
    src.blob.place(&digest, same_fs)?;
    staging.commit(&want.diff_id, usage)?;
    tracing::debug!(
        digest = %want.digest,
        diff_id = %want.diff_id,
        bytes = usage.bytes,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "layer downloaded and unpacked"
    );
    Ok(())
}
