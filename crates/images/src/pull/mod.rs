//! Pulling from registries: resolve the manifest at the first endpoint that has it (mirrors
//! first), then fetch config and layers — layers concurrently, each streamed to disk with its
//! digest checked and unpacked into its own directory. Concurrent pulls of one reference share
//! one pull.

mod layer;

use std::collections::BTreeSet;
use std::sync::Arc;

use futures::FutureExt;

use crate::error::ImageError;
use crate::layer_jobs::for_each_layer;
use crate::manifest::{self, ConfigFile, Document, Manifest};
use crate::meta::{LayerRef, Record};
use crate::reference::Reference;
use crate::registry::Session;
use crate::store::ImageStore;
use crate::types::{Image, ImageConfig, ProgressFn, RegistryAuth};

/// Layers downloaded at once per pull.
/// Nested indexes followed at most.
const MAX_INDEX_DEPTH: usize = 3;

/// What a pull leaves behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Blobs stored and layers unpacked: an image ready to run.
    Unpack,
    /// Blobs stored and verified only (`ImageStore::fetch`).
    ContentOnly,
}

/// A manifest resolved for this platform.
pub(crate) struct Resolved {
    /// The digest the reference resolved to (an index's, when it names an index).
    pub top_digest: String,
    /// Raw index/manifest documents on the way down.
    pub docs: Vec<Vec<u8>>,
    /// The platform manifest.
    pub manifest: Manifest,
}

impl ImageStore {
    /// Pulls an image (mirrors and credentials from `registries.yaml`; `auth` overrides them).
    /// Concurrent pulls of the same reference are coalesced into one.
    pub async fn pull(
        &self,
        reference: &str,
        auth: Option<RegistryAuth>,
        progress: Option<ProgressFn>,
    ) -> Result<Image, ImageError> {
        let r = Reference::parse(reference)?;
        let key = r.to_string();
        let fut = {
            let mut inflight = self
                .inner
                .inflight
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            match inflight.get(&key) {
                Some(f) => f.clone(),
                None => {
                    let this = self.clone();
                    let k = key.clone();
                    let handle = tokio::spawn(async move {
                        let res = this
                            .pull_once(&r, auth.as_ref(), progress, Mode::Unpack)
                            .await;
                        this.inner
                            .inflight
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .remove(&k);
                        res.map_err(Arc::new)
                    });
                    let shared = async move {
                        handle.await.unwrap_or_else(|e| {
                            Err(Arc::new(ImageError::Internal(format!("pull task: {e}"))))
                        })
                    }
                    .boxed()
                    .shared();
                    inflight.insert(key, shared.clone());
                    shared
                }
            }
        };
        fut.await
            .map_err(|e| Arc::try_unwrap(e).unwrap_or_else(ImageError::Shared))
    }

    /// Pulls (or, in `ContentOnly` mode, fetches) from the first endpoint that has the image.
    pub(crate) async fn pull_once(
        &self,
        r: &Reference,
        auth: Option<&RegistryAuth>,
        progress: Option<ProgressFn>,
        mode: Mode,
    ) -> Result<Image, ImageError> {
        let started = std::time::Instant::now();
        let _gc = self.inner.gc_lock.read().await;
        let wrap = |e: ImageError| ImageError::Pull {
            reference: r.to_string(),
            source: Box::new(e),
        };
        let mut last = None;
        for ep in self.inner.registry.config().endpoints(r) {
            let creds = self.inner.registry.credentials(&ep, auth);
            let session = match self.inner.registry.session(&ep, creds) {
                Ok(s) => s,
                Err(e) => {
                    last = Some(e.into());
                    continue;
                }
            };
            match resolve(&session, r).await {
                Ok(resolved) => match self
                    .complete(&session, r, resolved, progress.clone(), mode)
                    .await
                {
                    Ok(image) => {
                        tracing::info!(reference = %r, endpoint = %ep.base_url, ?mode, elapsed_ms = started.elapsed().as_millis() as u64, "image pulled");
                        return Ok(image);
                    }
                    // The endpoint failed mid-pull (connection, HTTP error): blobs already
                    // verified stay in the store; try the next endpoint for the rest.
                    Err(e @ ImageError::Registry(_)) => {
                        tracing::warn!(reference = %r, endpoint = %ep.base_url, error = %e, "fetching from this endpoint failed");
                        last = Some(e);
                    }
                    // Bad content (digest, unpack, config) is not an endpoint problem.
                    Err(e) => return Err(wrap(e)),
                },
                Err(e) => {
                    tracing::warn!(reference = %r, endpoint = %ep.base_url, error = %e, "cannot resolve image here");
                    last = Some(e);
                }
            }
        }
        let err = last.unwrap_or_else(|| ImageError::Internal("no registry endpoints".into()));
        // No registry could serve it, but its content was fetched before: unpack that.
        if mode == Mode::Unpack {
            if let Some(image) = self.unpack_fetched(r, progress.as_ref()).await? {
                tracing::warn!(reference = %r, error = %err, "registry unavailable; unpacked the content fetched earlier");
                return Ok(image);
            }
        }
        Err(wrap(err))
    }

    async fn complete(
        &self,
        session: &Session,
        r: &Reference,
        resolved: Resolved,
        progress: Option<ProgressFn>,
        mode: Mode,
    ) -> Result<Image, ImageError> {
        match mode {
            Mode::Unpack => self.pull_resolved(session, r, resolved, progress).await,
            Mode::ContentOnly => self.fetch_resolved(session, r, resolved, progress).await,
        }
    }

    /// Downloads and checks the image config of `m` (its diff_ids must match the layers).
    pub(crate) async fn fetch_config(
        &self,
        session: &Session,
        m: &Manifest,
    ) -> Result<ConfigFile, ImageError> {
        self.fetch_blob(session, &m.config, None).await?;
        let config = ConfigFile::parse(&self.inner.content.read(&m.config.digest)?)?;
        config.check_layers(m)?;
        Ok(config)
    }

    async fn pull_resolved(
        &self,
        session: &Session,
        r: &Reference,
        resolved: Resolved,
        progress: Option<ProgressFn>,
    ) -> Result<Image, ImageError> {
        let m = &resolved.manifest;
        let config = self.fetch_config(session, m).await?;
        let layers = m
            .layers
            .iter()
            .zip(&config.rootfs.diff_ids)
            .map(|(desc, diff_id)| (desc.digest.clone(), (desc, diff_id)))
            .collect();
        let progress = progress.as_ref();
        for_each_layer(layers, progress, |(desc, diff_id)| async move {
            if !self.inner.layers.has(diff_id) {
                self.fetch_layer(session, desc, diff_id, progress).await?;
            }
            Ok(desc.size)
        })
        .await?;
        // Layers and blobs were renamed into place after their data was synced; make the renames
        // durable before the index records the image.
        let (layers, content) = (self.inner.layers.clone(), self.inner.content.clone());
        tokio::task::spawn_blocking(move || -> Result<(), ImageError> {
            layers.sync_dir()?;
            content.sync_dir()?;
            Ok(())
        })
        .await
        .map_err(|e| ImageError::Internal(e.to_string()))??;
        let mut docs = Vec::new();
        for d in &resolved.docs {
            docs.push(self.inner.content.put(d)?);
        }
        let rec = build_record(
            r.tagged().into_iter().collect(),
            &[r.name()],
            &resolved.top_digest,
            m,
            &config,
            docs,
        );
        self.commit_unpacked(&r.to_string(), rec)
    }
}

/// Resolves a reference to this platform's manifest at one endpoint.
async fn resolve(session: &Session, r: &Reference) -> Result<Resolved, ImageError> {
    let fetched = session.manifest(r.object(), manifest::ACCEPT).await?;
    if let Some(pinned) = &r.digest {
        if fetched.digest != *pinned {
            return Err(ImageError::ManifestDigest {
                expected: pinned.clone(),
                actual: fetched.digest,
            });
        }
    }
    let top_digest = fetched.digest.clone();
    let mut doc = manifest::parse_document(&fetched.bytes, &fetched.content_type)?;
    let mut docs = vec![fetched.bytes];
    for _ in 0..MAX_INDEX_DEPTH {
        let index = match doc {
            Document::Manifest(manifest) => {
                return Ok(Resolved {
                    top_digest,
                    docs,
                    manifest,
                })
            }
            Document::Index(index) => index,
        };
        let (os, arch) = manifest::host_platform();
        let desc = manifest::select_platform(&index, os, arch)?.clone();
        let f = session.manifest(&desc.digest, manifest::ACCEPT).await?;
        if f.digest != desc.digest {
            return Err(ImageError::ManifestDigest {
                expected: desc.digest,
                actual: f.digest,
            });
        }
        let ct = if desc.media_type.is_empty() {
            f.content_type.as_str()
        } else {
            desc.media_type.as_str()
        };
        doc = manifest::parse_document(&f.bytes, ct)?;
        docs.push(f.bytes);
    }
    Err(ImageError::Internal("index nesting too deep".into()))
}

/// Builds the index record of an image: tags, `name@digest` for each repository name, blobs.
pub(crate) fn build_record(
    tags: Vec<String>,
    names: &[String],
    top_digest: &str,
    m: &Manifest,
    config: &ConfigFile,
    docs: Vec<String>,
) -> Record {
    let layers: Vec<LayerRef> = m
        .layers
        .iter()
        .zip(&config.rootfs.diff_ids)
        .map(|(d, diff)| LayerRef {
            digest: d.digest.clone(),
            media_type: d.media_type.clone(),
            diff_id: diff.clone(),
        })
        .collect();
    let mut blobs: BTreeSet<String> = docs.into_iter().collect();
    blobs.insert(m.config.digest.clone());
    blobs.extend(layers.iter().map(|l| l.digest.clone()));
    let mut repo_digests: Vec<String> = names.iter().map(|n| format!("{n}@{top_digest}")).collect();
    repo_digests.dedup();
    Record {
        image: Image {
            id: m.config.digest.clone(),
            repo_tags: tags,
            repo_digests,
            size: m.config.size + m.layers.iter().map(|l| l.size).sum::<u64>(),
            config: ImageConfig::from_config_file(config),
            diff_ids: config.rootfs.diff_ids.clone(),
        },
        layers,
        blobs,
    }
}
