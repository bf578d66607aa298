//! One layer of a pull: unpacked from its stored blob when present, else downloaded and
//! unpacked while it arrives, with its digest and diff_id checked and progress reported.

use crate::content::ContentError;
use crate::error::ImageError;
use crate::manifest::Descriptor;
use crate::registry::{RegistryError, Session};
use crate::store::ImageStore;
use crate::stream;
use crate::types::{ProgressFn, PullProgress};

/// Chunks buffered between a layer's download and its unpacker.
const STREAM_CHUNKS: usize = 64;
/// Progress is reported at most every this many bytes per layer.
const PROGRESS_STEP: u64 = 512 * 1024;

impl ImageStore {
    /// Makes layer `diff_id` available: unpacked from the stored blob when present, else streamed
    /// from the registry, unpacking while downloading (see `stream`).
    pub(super) async fn fetch_layer(
        &self,
        session: &Session,
        desc: &Descriptor,
        diff_id: &str,
        progress: Option<&ProgressFn>,
    ) -> Result<(), ImageError> {
        let content = &self.inner.content;
        content.path(&desc.digest)?;
        if !content.has(&desc.digest) {
            let _layer = self.inner.layer_locks.lock(diff_id).await;
            let _blob = self.inner.blob_locks.lock(&desc.digest).await;
            if self.inner.layers.has(diff_id) {
                return Ok(());
            }
            if !content.has(&desc.digest) {
                return self.stream_layer(session, desc, diff_id, progress).await;
            }
        }
        self.ensure_layer(diff_id, &desc.digest, &desc.media_type)
            .await
    }

    /// Downloads a layer blob and unpacks it as it arrives; call with its layer and blob locks.
    async fn stream_layer(
        &self,
        session: &Session,
        desc: &Descriptor,
        diff_id: &str,
        progress: Option<&ProgressFn>,
    ) -> Result<(), ImageError> {
        if !crate::reference::is_digest(diff_id) {
            return Err(crate::layers::LayerError::BadDiffId(diff_id.to_string()).into());
        }
        let mut resp = session.blob(&desc.digest).await?;
        let url = resp.url().to_string();
        let blob = self.inner.content.writer()?;
        let staging = self.inner.layers.stage()?;
        let want = stream::Expected {
            digest: desc.digest.clone(),
            size: desc.size,
            diff_id: diff_id.to_string(),
        };
        let (tx, rx) = tokio::sync::mpsc::channel(STREAM_CHUNKS);
        let worker =
            tokio::task::spawn_blocking(move || stream::unpack_incoming(rx, blob, staging, &want));
        let sent = async {
            let (mut received, mut reported) = (0u64, 0u64);
            while let Some(chunk) = resp.chunk().await.map_err(|source| RegistryError::Http {
                url: url.clone(),
                source,
            })? {
                received += chunk.len() as u64;
                if desc.size > 0 && received > desc.size {
                    return Err(ContentError::SizeMismatch {
                        digest: desc.digest.clone(),
                        expected: desc.size,
                        actual: received,
                    }
                    .into());
                }
                if tx.send(chunk).await.is_err() {
                    break; // the unpacker stopped; its result says why
                }
                if let Some(p) = progress {
                    if received - reported >= PROGRESS_STEP {
                        reported = received;
                        p(PullProgress {
                            layer: desc.digest.clone(),
                            downloaded: reported,
                            total: desc.size,
                            done: false,
                        });
                    }
                }
            }
            Ok::<_, ImageError>(())
        }
        .await;
        drop(tx);
        let unpacked = worker
            .await
            .map_err(|e| ImageError::Internal(e.to_string()))?;
        // A failed download (which makes the caller try the next endpoint) explains whatever the
        // unpacker saw of the truncated stream.
        sent?;
        unpacked
    }

    /// Downloads one blob into the content store unless present, verifying size and digest.
    pub(crate) async fn fetch_blob(
        &self,
        session: &Session,
        desc: &Descriptor,
        progress: Option<&ProgressFn>,
    ) -> Result<(), ImageError> {
        let _guard = self.inner.blob_locks.lock(&desc.digest).await;
        let content = &self.inner.content;
        content.path(&desc.digest)?;
        if content.has(&desc.digest) {
            return Ok(());
        }
        let mut resp = session.blob(&desc.digest).await?;
        let url = resp.url().to_string();
        let mut w = content.writer()?;
        let mut reported = 0;
        while let Some(chunk) = resp.chunk().await.map_err(|source| RegistryError::Http {
            url: url.clone(),
            source,
        })? {
            let before = w.written();
            w.write(&chunk)?;
            if before / stream::WRITEBACK_STEP != w.written() / stream::WRITEBACK_STEP {
                w.start_writeback()?;
            }
            if desc.size > 0 && w.written() > desc.size {
                return Err(ContentError::SizeMismatch {
                    digest: desc.digest.clone(),
                    expected: desc.size,
                    actual: w.written(),
                }
                .into());
            }
            if let Some(p) = progress {
                if w.written() - reported >= PROGRESS_STEP {
                    reported = w.written();
                    p(PullProgress {
                        layer: desc.digest.clone(),
                        downloaded: reported,
                        total: desc.size,
                        done: false,
                    });
                }
            }
        }
        let digest = desc.digest.clone();
        let size = (desc.size > 0).then_some(desc.size);
        tokio::task::spawn_blocking(move || w.commit(Some(&digest), size))
            .await
            .map_err(|e| ImageError::Internal(e.to_string()))??;
        Ok(())
    }
}
