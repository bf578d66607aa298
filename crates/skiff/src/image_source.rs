//! Adapts the image store (`skiff-images`) to the runtime's `ImageSource` seam.

use skiff_runtime::images::{
    ImageConfig, ImageFsUsage, ImageInfo, ImageSource, ImageSourceError, PullAuth,
};
use std::path::PathBuf;

/// The node's content store as the CRI runtime sees it.
pub struct StoreImageSource(pub skiff_images::ImageStore);

fn info(image: skiff_images::Image) -> ImageInfo {
    let c = image.config;
    ImageInfo {
        id: image.id,
        repo_tags: image.repo_tags,
        repo_digests: image.repo_digests,
        size: image.size,
        config: ImageConfig {
            env: c.env,
            entrypoint: c.entrypoint,
            cmd: c.cmd,
            working_dir: c.working_dir,
            user: c.user,
            exposed_ports: c.exposed_ports,
            labels: c.labels,
            stop_signal: c.stop_signal,
        },
    }
}

#[async_trait::async_trait]
impl ImageSource for StoreImageSource {
    async fn pull(
        &self,
        reference: &str,
        auth: Option<PullAuth>,
    ) -> Result<ImageInfo, ImageSourceError> {
        let auth = auth.map(|a| {
            if a.identity_token.is_empty() {
                skiff_images::RegistryAuth {
                    username: a.username,
                    password: a.password,
                }
            } else {
                skiff_images::RegistryAuth::identity_token(&a.identity_token)
            }
        });
        self.0
            .pull(reference, auth, None)
            .await
            .map(info)
            .map_err(|e| ImageSourceError::Pull {
                reference: reference.to_string(),
                message: e.to_string(),
            })
    }

    fn get(&self, reference_or_id: &str) -> Option<ImageInfo> {
        self.0.get(reference_or_id).map(info)
    }

    fn list(&self) -> Vec<ImageInfo> {
        self.0.list().into_iter().map(info).collect()
    }

    async fn remove(&self, reference_or_id: &str) -> Result<(), ImageSourceError> {
        match self.0.remove(reference_or_id).await {
            Ok(()) => Ok(()),
            Err(e) if self.0.get(reference_or_id).is_none() => {
                tracing::debug!("remove {reference_or_id}: {e}");
                Ok(())
            }
            Err(e) => Err(ImageSourceError::Store(e.to_string())),
        }
    }

    fn layer_paths(&self, image: &ImageInfo) -> Vec<PathBuf> {
        self.0
            .get(&image.id)
            .map(|full| self.0.layer_paths(&full))
            .unwrap_or_default()
    }

    fn fs_usage(&self) -> ImageFsUsage {
        let usage = self.0.fs_usage();
        ImageFsUsage {
            mountpoint: usage.mountpoint.to_string_lossy().to_string(),
            used_bytes: usage.used_bytes,
            inodes_used: usage.inodes_used,
        }
    }
}
