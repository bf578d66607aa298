//! Plugs the real image store (`skiff-images`) into the runtime's `ImageSource` seam.

use std::path::PathBuf;

use skiff_images::{Image, ImageStore, RegistryAuth};

use crate::images::{
    ImageConfig, ImageFsUsage, ImageInfo, ImageSource, ImageSourceError, PullAuth,
};

fn info(i: Image) -> ImageInfo {
    ImageInfo {
        id: i.id,
        repo_tags: i.repo_tags,
        repo_digests: i.repo_digests,
        size: i.size,
        config: ImageConfig {
            env: i.config.env,
            entrypoint: i.config.entrypoint,
            cmd: i.config.cmd,
            working_dir: i.config.working_dir,
            user: i.config.user,
            exposed_ports: i.config.exposed_ports,
            labels: i.config.labels,
            stop_signal: i.config.stop_signal,
        },
    }
}

fn store_err(e: skiff_images::ImageError) -> ImageSourceError {
    ImageSourceError::Store(e.to_string())
}

#[async_trait::async_trait]
impl ImageSource for ImageStore {
    async fn pull(
        &self,
        reference: &str,
        auth: Option<PullAuth>,
    ) -> Result<ImageInfo, ImageSourceError> {
        let auth = auth.map(|a| {
            if !a.identity_token.is_empty() {
                RegistryAuth::identity_token(&a.identity_token)
            } else {
                RegistryAuth {
                    username: a.username,
                    password: a.password,
                }
            }
        });
        ImageStore::pull(self, reference, auth, None)
            .await
            .map(info)
            .map_err(|e| ImageSourceError::Pull {
                reference: reference.to_string(),
                message: e.to_string(),
            })
    }

    fn get(&self, reference_or_id: &str) -> Option<ImageInfo> {
        ImageStore::get(self, reference_or_id).map(info)
    }

    fn list(&self) -> Vec<ImageInfo> {
        ImageStore::list(self).into_iter().map(info).collect()
    }

    async fn remove(&self, reference_or_id: &str) -> Result<(), ImageSourceError> {
        if ImageStore::get(self, reference_or_id).is_none() {
            return Ok(());
        }
        ImageStore::remove(self, reference_or_id)
            .await
            .map_err(store_err)
    }

    fn layer_paths(&self, image: &ImageInfo) -> Vec<PathBuf> {
        ImageStore::get(self, &image.id)
            .map(|i| ImageStore::layer_paths(self, &i))
            .unwrap_or_default()
    }

    fn fs_usage(&self) -> ImageFsUsage {
        let u = ImageStore::fs_usage(self);
        ImageFsUsage {
            mountpoint: u.mountpoint.display().to_string(),
            used_bytes: u.used_bytes,
            inodes_used: u.inodes_used,
        }
    }
}
