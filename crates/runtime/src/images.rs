//! The seam between the runtime and an image store: what the CRI ImageService and
//! container creation need from images, plus a directory-backed store for tests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

/// Errors an image source reports.
#[derive(Debug, thiserror::Error)]
pub enum ImageSourceError {
    /// No image matches the reference.
    #[error("image {0:?} not found")]
    NotFound(String),
    /// Pulling failed.
    #[error("pulling {reference}: {message}")]
    Pull {
        /// The reference asked for.
        reference: String,
        /// Why it failed.
        message: String,
    },
    /// Any other failure of the store.
    #[error("image store: {0}")]
    Store(String),
}

/// The parts of an image config a container is built from.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ImageConfig {
    /// `KEY=value` entries.
    pub env: Vec<String>,
    /// Image entrypoint.
    pub entrypoint: Vec<String>,
    /// Image cmd.
    pub cmd: Vec<String>,
    /// Working directory.
    pub working_dir: String,
    /// `user`, `uid`, `user:group` or `uid:gid`.
    pub user: String,
    /// Exposed ports such as `80/tcp`.
    pub exposed_ports: Vec<String>,
    /// Image labels.
    pub labels: BTreeMap<String, String>,
    /// Signal that stops the container gracefully (`SIGTERM` if absent).
    pub stop_signal: Option<String>,
}

/// An image known to the store.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ImageInfo {
    /// `sha256:<config digest>`.
    pub id: String,
    /// Normalised tags, `docker.io/library/busybox:latest`.
    pub repo_tags: Vec<String>,
    /// `name@sha256:<manifest digest>`.
    pub repo_digests: Vec<String>,
    /// Size in bytes.
    pub size: u64,
    /// Runtime-relevant config.
    pub config: ImageConfig,
}

/// Credentials for a pull.
#[derive(Clone, Debug, Default)]
pub struct PullAuth {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
    /// Identity token, if the registry issued one.
    pub identity_token: String,
}

/// Usage of the filesystem holding images.
#[derive(Clone, Debug, Default)]
pub struct ImageFsUsage {
    /// Mount point (or directory) of the store.
    pub mountpoint: String,
    /// Bytes used.
    pub used_bytes: u64,
    /// Inodes used.
    pub inodes_used: u64,
}

/// What the runtime needs from an image store.
#[async_trait::async_trait]
pub trait ImageSource: Send + Sync + 'static {
    /// Pull (or find already present) an image.
    async fn pull(
        &self,
        reference: &str,
        auth: Option<PullAuth>,
    ) -> Result<ImageInfo, ImageSourceError>;
    /// Look an image up by reference or id.
    fn get(&self, reference_or_id: &str) -> Option<ImageInfo>;
    /// All images.
    fn list(&self) -> Vec<ImageInfo>;
    /// Remove an image (idempotent).
    async fn remove(&self, reference_or_id: &str) -> Result<(), ImageSourceError>;
    /// Unpacked layer directories, bottom to top.
    fn layer_paths(&self, image: &ImageInfo) -> Vec<PathBuf>;
    /// Usage of the store's filesystem.
    fn fs_usage(&self) -> ImageFsUsage;
}

/// Normalise a reference the way containerd and the kubelet do:
/// `busybox` → `docker.io/library/busybox:latest`.
pub fn normalize_reference(reference: &str) -> String {
    let (name, digest) = match reference.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (reference, None),
    };
    let first = name.split('/').next().unwrap_or_default();
    let has_domain =
        name.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let mut full = if has_domain {
        name.to_string()
    } else if name.contains('/') {
        format!("docker.io/{name}")
    } else {
        format!("docker.io/library/{name}")
    };
    let last = full.rsplit('/').next().unwrap_or_default();
    if digest.is_none() && !last.contains(':') {
        full.push_str(":latest");
    }
    match digest {
        Some(d) => format!("{full}@{d}"),
        None => full,
    }
}

#[derive(Clone)]
struct DirImage {
    info: ImageInfo,
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

    /// Register an image named `reference` made of `layers` (bottom → top).
    pub fn add(&self, reference: &str, layers: Vec<PathBuf>, config: ImageConfig) -> ImageInfo {
        let tag = normalize_reference(reference);
        let digest = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            tag.hash(&mut h);
            layers.hash(&mut h);
            format!("{:016x}", h.finish())
        };
        let info = ImageInfo {
            id: format!("sha256:{digest:0>64}"),
            repo_tags: vec![tag],
            repo_digests: Vec::new(),
            size: 0,
            config,
        };
        if let Ok(mut images) = self.images.write() {
            images.retain(|i| i.info.repo_tags != info.repo_tags);
            images.push(DirImage {
                info: info.clone(),
                layers,
            });
        }
        info
    }

    fn find(&self, reference_or_id: &str) -> Option<DirImage> {
        let tag = normalize_reference(reference_or_id);
        let images = self.images.read().ok()?;
        images
            .iter()
            .find(|i| i.info.id == reference_or_id || i.info.repo_tags.contains(&tag))
            .cloned()
    }
}

#[async_trait::async_trait]
impl ImageSource for DirImageSource {
    async fn pull(
        &self,
        reference: &str,
        _auth: Option<PullAuth>,
    ) -> Result<ImageInfo, ImageSourceError> {
        self.get(reference)
            .ok_or_else(|| ImageSourceError::NotFound(reference.to_string()))
    }

    fn get(&self, reference_or_id: &str) -> Option<ImageInfo> {
        self.find(reference_or_id).map(|i| i.info)
    }

    fn list(&self) -> Vec<ImageInfo> {
        self.images
            .read()
            .map(|v| v.iter().map(|i| i.info.clone()).collect())
            .unwrap_or_default()
    }

    async fn remove(&self, reference_or_id: &str) -> Result<(), ImageSourceError> {
        if let Some(found) = self.find(reference_or_id) {
            if let Ok(mut images) = self.images.write() {
                images.retain(|i| i.info.id != found.info.id);
            }
        }
        Ok(())
    }

    fn layer_paths(&self, image: &ImageInfo) -> Vec<PathBuf> {
        self.find(&image.id).map(|i| i.layers).unwrap_or_default()
    }

    fn fs_usage(&self) -> ImageFsUsage {
        ImageFsUsage {
            mountpoint: self.root.display().to_string(),
            used_bytes: 0,
            inodes_used: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_like_containerd() {
        assert_eq!(
            normalize_reference("busybox"),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(normalize_reference("a/b:1"), "docker.io/a/b:1");
        assert_eq!(
            normalize_reference("127.0.0.1:5000/x"),
            "127.0.0.1:5000/x:latest"
        );
        assert_eq!(
            normalize_reference("busybox@sha256:ab"),
            "docker.io/library/busybox@sha256:ab"
        );
    }
}
