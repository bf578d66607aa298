//! Fetch without unpack (like `ctr content fetch`): manifest, config and layer blobs downloaded
//! into the content store, every digest and size verified, committed durably and recorded as
//! content only — no image is listed until a pull unpacks it, reusing the fetched blobs (even
//! with the registry gone).

use crate::error::ImageError;
use crate::layer_jobs::for_each_layer;
use crate::meta::Record;
use crate::pull::{build_record, Mode, Resolved};
use crate::reference::Reference;
use crate::registry::Session;
use crate::store::ImageStore;
use crate::types::{Image, ProgressFn, RegistryAuth};

impl ImageStore {
    /// Downloads an image's blobs (manifests, config, layers) into the content store without
    /// unpacking them: each is verified against its digest and size and made durable before the
    /// index records it; a mismatch fails the fetch and leaves that blob out. The result is not
    /// an image of `list`/`get` (its layers are not unpacked); a later `pull` of the same
    /// reference unpacks the fetched blobs instead of downloading them, and `remove` of the
    /// reference drops them. Returns what the image will be once pulled.
    pub async fn fetch(
        &self,
        reference: &str,
        auth: Option<RegistryAuth>,
        progress: Option<ProgressFn>,
    ) -> Result<Image, ImageError> {
        let r = Reference::parse(reference)?;
        self.pull_once(&r, auth.as_ref(), progress, Mode::ContentOnly)
            .await
    }

    /// Stores every blob of a resolved manifest (call with the gc lock held shared).
    pub(crate) async fn fetch_resolved(
        &self,
        session: &Session,
        r: &Reference,
        resolved: Resolved,
        progress: Option<ProgressFn>,
    ) -> Result<Image, ImageError> {
        let m = &resolved.manifest;
        let config = self.fetch_config(session, m).await?;
        let layers = m.layers.iter().map(|d| (d.digest.clone(), d)).collect();
        let progress = progress.as_ref();
        for_each_layer(layers, progress, |desc| async move {
            self.fetch_blob(session, desc, progress).await?;
            Ok(desc.size)
        })
        .await?;
        let mut docs = Vec::new();
        for d in &resolved.docs {
            docs.push(self.inner.content.put(d)?);
        }
        // Each blob was synced before its rename; make the renames durable before the index
        // records them.
        let content = self.inner.content.clone();
        tokio::task::spawn_blocking(move || content.sync_dir())
            .await
            .map_err(|e| ImageError::Internal(e.to_string()))??;
        let rec = build_record(
            r.tagged().into_iter().collect(),
            &[r.name()],
            &resolved.top_digest,
            m,
            &config,
            docs,
        );
        let key = r.to_string();
        let image = rec.image.clone();
        self.inner.meta.update(|meta| {
            // Already pulled under this name: its image record keeps the blobs.
            if meta.resolve(&key).as_deref() != Some(image.id.as_str()) {
                meta.fetched.insert(key.clone(), rec);
            }
            Ok(())
        })?;
        Ok(image)
    }

    /// Records an unpacked image; content fetched under the same reference is now part of it.
    pub(crate) fn commit_unpacked(&self, key: &str, rec: Record) -> Result<Image, ImageError> {
        self.inner.meta.update(|meta| {
            meta.fetched.remove(key);
            Ok(meta.upsert(rec))
        })
    }

    /// Unpacks the content fetched earlier for `r`, if all of it is still here (call with the gc
    /// lock held shared); `None` when nothing was fetched for it.
    pub(crate) async fn unpack_fetched(
        &self,
        r: &Reference,
        progress: Option<&ProgressFn>,
    ) -> Result<Option<Image>, ImageError> {
        let key = r.to_string();
        let Some(rec) = self.inner.meta.read(|meta| meta.fetched.get(&key).cloned()) else {
            return Ok(None);
        };
        if !rec.blobs.iter().all(|b| self.inner.content.has(b)) {
            return Ok(None);
        }
        let layers = rec.layers.iter().map(|l| (l.digest.clone(), l)).collect();
        for_each_layer(layers, progress, |l| async move {
            self.ensure_layer(&l.diff_id, &l.digest, &l.media_type)
                .await?;
            Ok(self.inner.content.size(&l.digest).unwrap_or(0))
        })
        .await?;
        let layers = self.inner.layers.clone();
        tokio::task::spawn_blocking(move || layers.sync_dir())
            .await
            .map_err(|e| ImageError::Internal(e.to_string()))??;
        self.commit_unpacked(&key, rec).map(Some)
    }
}
