//! The seam between the runtime and an image store: what the CRI ImageService and container
//! creation need from images, in the image service's own types (`skiff-images`); implemented
//! by its `ImageStore`, and by a directory-backed source for tests and benchmarks.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use skiff_images::{
    normalize_reference, FsUsage, Image, ImageConfig, ImageError, ImageStore, RegistryAuth,
};

/// What the runtime needs from an image store.
#[async_trait::async_trait]
pub trait ImageSource: Send + Sync + 'static {
    /// Pull (or find already present) an image.
    async fn pull(&self, reference: &str, auth: Option<RegistryAuth>) -> Result<Image, ImageError>;
    /// Look an image up by reference or id.
    fn get(&self, reference_or_id: &str) -> Option<Image>;
    /// All images.
    fn list(&self) -> Vec<Image>;
    /// Remove an image (idempotent).
    async fn remove(&self, reference_or_id: &str) -> Result<(), ImageError>;
    /// Unpacked layer directories, bottom to top.
    fn layer_paths(&self, image: &Image) -> Vec<PathBuf>;
    /// Usage of the store's filesystem.
    fn fs_usage(&self) -> FsUsage;
}

#[async_trait::async_trait]
impl ImageSource for ImageStore {
    async fn pull(&self, reference: &str, auth: Option<RegistryAuth>) -> Result<Image, ImageError> {
        ImageStore::pull(self, reference, auth, None).await
    }

    fn get(&self, reference_or_id: &str) -> Option<Image> {
        ImageStore::get(self, reference_or_id)
    }

    fn list(&self) -> Vec<Image> {
        ImageStore::list(self)
    }

    async fn remove(&self, reference_or_id: &str) -> Result<(), ImageError> {
        if ImageStore::get(self, reference_or_id).is_none() {
            return Ok(());
        }
        ImageStore::remove(self, reference_or_id).await
    }

    fn layer_paths(&self, image: &Image) -> Vec<PathBuf> {
        ImageStore::layer_paths(self, image)
    }

    fn fs_usage(&self) -> FsUsage {
        ImageStore::fs_usage(self)
    }
}

#[derive(Clone)]
struct DirImage {
    image: Image,
    layers: Vec<PathBuf>,
}

/// An image source over directories that already hold unpacked layers; it never
/// talks to a registry. Used by tests and benchmarks.
#[derive(Clone, Default)]
pub struct DirImageSource {
    images: Arc<RwLock<Vec<DirImage>>>,
    root: PathBuf,
}

impl DirImageSource {
    /// An empty source whose "filesystem" is `root`.
    pub fn new(root: &Path) -> Self {
        DirImageSource {
            images: Arc::default(),
            root: root.to_path_buf(),
        }
    }

    /// Register an image named `reference` made of `layers` (bottom → top). An invalid
    /// reference is kept as given.
    pub fn add(&self, reference: &str, layers: Vec<PathBuf>, config: ImageConfig) -> Image {
        let tag = normalize_reference(reference).unwrap_or_else(|_| reference.to_string());
        let digest = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            tag.hash(&mut h);
            layers.hash(&mut h);
            format!("{:016x}", h.finish())
        };
        let image = Image {
            id: format!("sha256:{digest:0>64}"),
            repo_tags: vec![tag],
            repo_digests: Vec::new(),
            size: 0,
            config,
            diff_ids: Vec::new(),
        };
        if let Ok(mut images) = self.images.write() {
            images.retain(|i| i.image.repo_tags != image.repo_tags);
            images.push(DirImage {
                image: image.clone(),
                layers,
            });
        }
        image
    }

    fn find(&self, reference_or_id: &str) -> Option<DirImage> {
        let tag = normalize_reference(reference_or_id).ok();
        let images = self.images.read().ok()?;
        images
            .iter()
            .find(|i| {
                i.image.id == reference_or_id
                    || tag.as_ref().is_some_and(|t| i.image.repo_tags.contains(t))
            })
            .cloned()
    }
}

#[async_trait::async_trait]
impl ImageSource for DirImageSource {
    async fn pull(
        &self,
        reference: &str,
        _auth: Option<RegistryAuth>,
    ) -> Result<Image, ImageError> {
        self.get(reference)
            .ok_or_else(|| ImageError::NotFound(reference.to_string()))
    }

    fn get(&self, reference_or_id: &str) -> Option<Image> {
        self.find(reference_or_id).map(|i| i.image)
    }

    fn list(&self) -> Vec<Image> {
        self.images
            .read()
            .map(|v| v.iter().map(|i| i.image.clone()).collect())
            .unwrap_or_default()
    }

    async fn remove(&self, reference_or_id: &str) -> Result<(), ImageError> {
        if let Some(found) = self.find(reference_or_id) {
            if let Ok(mut images) = self.images.write() {
                images.retain(|i| i.image.id != found.image.id);
            }
        }
        Ok(())
    }

    fn layer_paths(&self, image: &Image) -> Vec<PathBuf> {
        self.find(&image.id).map(|i| i.layers).unwrap_or_default()
    }

    fn fs_usage(&self) -> FsUsage {
        FsUsage {
            mountpoint: self.root.clone(),
            used_bytes: 0,
            inodes_used: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dir_source_finds_images_by_any_spelling_and_id() {
        let src = DirImageSource::new(Path::new("/tmp"));
        let img = src.add(
            "busybox:test",
            vec![PathBuf::from("/l")],
            ImageConfig::default(),
        );
        assert_eq!(img.repo_tags, ["docker.io/library/busybox:test"]);
        for name in [
            "busybox:test",
            "docker.io/library/busybox:test",
            "index.docker.io/library/busybox:test",
            img.id.as_str(),
        ] {
            assert_eq!(src.get(name).map(|i| i.id), Some(img.id.clone()), "{name}");
        }
        assert!(src.get("busybox").is_none());
        assert_eq!(src.layer_paths(&img), [PathBuf::from("/l")]);
        src.remove("busybox:test").await.unwrap();
        assert!(src.list().is_empty());
    }
}
