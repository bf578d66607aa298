//! `ImageStore`: the image service's front door — lookups, removal with garbage collection,
//! layer paths for overlay mounts and filesystem usage; pulls and imports live in their modules.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use futures::future::{BoxFuture, Shared};

use crate::content::ContentStore;
use crate::error::ImageError;
use crate::layers::LayerStore;
use crate::locks::KeyedLocks;
use crate::meta::Record;
use crate::registries::RegistriesConfig;
use crate::registry::RegistryClient;
use crate::shared_meta::SharedMeta;
use crate::types::{FsUsage, Image};

pub(crate) type PullFuture = Shared<BoxFuture<'static, Result<Image, Arc<ImageError>>>>;

pub(crate) struct Inner {
    pub root: PathBuf,
    pub content: ContentStore,
    pub layers: LayerStore,
    pub registry: RegistryClient,
    pub meta: SharedMeta,
    /// Held shared by pulls and imports, exclusively by garbage collection.
    pub gc_lock: tokio::sync::RwLock<()>,
    pub inflight: Mutex<HashMap<String, PullFuture>>,
    pub blob_locks: KeyedLocks,
    pub layer_locks: KeyedLocks,
}

/// The image store: content-addressed blobs, unpacked layers and the image index under one root.
#[derive(Clone)]
pub struct ImageStore {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for ImageStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageStore")
            .field("root", &self.inner.root)
            .finish()
    }
}

impl ImageStore {
    /// Opens (creating) a store at `root` (`<data-dir>/agent/content`).
    pub fn open(root: &Path, registries: RegistriesConfig) -> Result<Self, ImageError> {
        std::fs::create_dir_all(root).map_err(|source| ImageError::Io {
            path: root.to_path_buf(),
            source,
        })?;
        {
            use std::os::unix::fs::PermissionsExt;
            // Layers hold setuid binaries and other users' files: keep the store private.
            let _ = std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o700));
        }
        let content = ContentStore::open(root)?;
        let layers = LayerStore::open(root)?;
        let meta = SharedMeta::open(root)?;
        Ok(Self {
            inner: Arc::new(Inner {
                root: root.to_path_buf(),
                content,
                layers,
                registry: RegistryClient::new(registries),
                meta,
                gc_lock: tokio::sync::RwLock::new(()),
                inflight: Mutex::new(HashMap::new()),
                blob_locks: KeyedLocks::default(),
                layer_locks: KeyedLocks::default(),
            }),
        })
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// Looks an image up by reference (`busybox`, `docker.io/library/busybox:latest`,
    /// `name@sha256:<manifest digest>`) or id (`sha256:<config digest>`, or a unique id prefix).
    pub fn get(&self, reference_or_id: &str) -> Option<Image> {
        self.inner.meta.read(|meta| {
            let id = meta.resolve(reference_or_id)?;
            meta.images.get(&id).map(|r| r.image.clone())
        })
    }

    /// Every image.
    pub fn list(&self) -> Vec<Image> {
        self.inner
            .meta
            .read(|meta| meta.images.values().map(|r| r.image.clone()).collect())
    }

    /// Unpacked layer directories of an image, bottom → top (overlay `lowerdir` wants top first).
    pub fn layer_paths(&self, image: &Image) -> Vec<PathBuf> {
        image
            .diff_ids
            .iter()
            .map(|d| self.inner.layers.rootfs(d))
            .collect()
    }

    /// Removes an image (all its tags and digests, as CRI `RemoveImage` does) and content fetched
    /// under that reference or id, and garbage-collects blobs and layers nothing else uses.
    pub async fn remove(&self, reference_or_id: &str) -> Result<(), ImageError> {
        let _gc = self.inner.gc_lock.write().await;
        self.inner.meta.update(|meta| {
            // Content fetched without unpacking under that name goes too.
            let fetched = meta.resolve_fetched(reference_or_id);
            for key in &fetched {
                meta.fetched.remove(key);
            }
            match meta.resolve(reference_or_id) {
                Some(id) => {
                    meta.images.remove(&id);
                    Ok(())
                }
                None if !fetched.is_empty() => Ok(()),
                None => Err(ImageError::NotFound(reference_or_id.to_string())),
            }
        })?;
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || gc(&inner))
            .await
            .map_err(|e| ImageError::Internal(e.to_string()))?
    }

    /// Drops one tag; removes the image (with garbage collection) if nothing names it any more.
    pub async fn untag(&self, reference: &str) -> Result<(), ImageError> {
        let tag = crate::reference::normalize_reference(reference)?;
        let now_unnamed = self.inner.meta.update(|meta| {
            let id = meta
                .resolve(&tag)
                .ok_or_else(|| ImageError::NotFound(reference.to_string()))?;
            let Some(rec) = meta.images.get_mut(&id) else {
                return Err(ImageError::NotFound(reference.to_string()));
            };
            rec.image.repo_tags.retain(|t| *t != tag);
            Ok(rec.image.repo_tags.is_empty().then_some(id))
        })?;
        match now_unnamed {
            Some(id) => self.remove(&id).await,
            None => Ok(()),
        }
    }

    /// Space and inodes used by blobs and unpacked layers.
    pub fn fs_usage(&self) -> FsUsage {
        let mut used_bytes = 0;
        let mut inodes_used = 0;
        for d in self.inner.content.list() {
            used_bytes += self.inner.content.size(&d).unwrap_or(0);
            inodes_used += 1;
        }
        for l in self.inner.layers.list() {
            let u = self.inner.layers.usage(&l);
            used_bytes += u.bytes;
            inodes_used += u.inodes;
        }
        FsUsage {
            mountpoint: self.inner.root.clone(),
            used_bytes,
            inodes_used,
        }
    }

    /// Records an image in the index (tags move to it) and persists the index.
    pub(crate) fn commit(&self, rec: Record) -> Result<Image, ImageError> {
        self.inner.meta.update(|meta| Ok(meta.upsert(rec)))
    }

    /// Unpacks a layer from its blob unless present (one unpack per diff_id at a time).
    pub(crate) async fn ensure_layer(
        &self,
        diff_id: &str,
        digest: &str,
        media_type: &str,
    ) -> Result<(), ImageError> {
        let _guard = self.inner.layer_locks.lock(diff_id).await;
        if self.inner.layers.has(diff_id) {
            return Ok(());
        }
        let blob = self.inner.content.path(digest)?;
        let layers = self.inner.layers.clone();
        let (d, g, m) = (
            diff_id.to_string(),
            digest.to_string(),
            media_type.to_string(),
        );
        tokio::task::spawn_blocking(move || layers.ensure(&d, &blob, &g, &m))
            .await
            .map_err(|e| ImageError::Internal(e.to_string()))??;
        Ok(())
    }
}

/// Deletes blobs and layers that no image references (call with the gc lock held exclusively).
pub(crate) fn gc(inner: &Inner) -> Result<(), ImageError> {
    let (blobs, diff_ids): (BTreeSet<String>, BTreeSet<String>) = {
        inner.meta.read(|meta| {
            let blobs = meta
                .images
                .values()
                .chain(meta.fetched.values())
                .flat_map(|r| r.blobs.iter().cloned())
                .collect();
            let diffs = meta
                .images
                .values()
                .flat_map(|r| r.image.diff_ids.iter().cloned())
                .collect();
            (blobs, diffs)
        })
    };
    let mut removed = 0;
    for d in inner.content.list() {
        if !blobs.contains(&d) {
            inner.content.remove(&d)?;
            removed += 1;
        }
    }
    for l in inner.layers.list() {
        if !diff_ids.contains(&l) {
            inner.layers.remove(&l)?;
            removed += 1;
        }
    }
    tracing::debug!(removed, "image garbage collection");
    Ok(())
}
