//! The CRI `ImageService` over the runtime's image source: list, status, pull (with the
//! kubelet's credentials), remove and filesystem usage.

use k8s_cri::v1::image_service_server::ImageService;
use k8s_cri::v1::*;
use skiff_images::{normalize_reference, Image as StoredImage, RegistryAuth};
use tonic::{Request, Status};

use super::{ok, CriService, R};
use crate::error::RuntimeError;

/// The CRI view of a stored image.
fn cri_image(i: &StoredImage) -> Image {
    let (uid, username) = match i.config.user.split(':').next().unwrap_or_default() {
        "" => (None, String::new()),
        u => match u.parse::<i64>() {
            Ok(n) => (Some(Int64Value { value: n }), String::new()),
            Err(_) => (None, u.to_string()),
        },
    };
    Image {
        id: i.id.clone(),
        repo_tags: i.repo_tags.clone(),
        repo_digests: i.repo_digests.clone(),
        size: i.size,
        uid,
        username,
        spec: Some(ImageSpec {
            image: i.id.clone(),
            ..Default::default()
        }),
        pinned: false,
    }
}

#[tonic::async_trait]
impl ImageService for CriService {
    async fn list_images(&self, r: Request<ListImagesRequest>) -> R<ListImagesResponse> {
        let want = r
            .into_inner()
            .filter
            .and_then(|f| f.image)
            .map(|i| i.image)
            .filter(|s| !s.is_empty());
        let images = self
            .rt
            .cfg
            .images
            .list()
            .iter()
            .filter(|i| match &want {
                Some(w) => {
                    let n = normalize_reference(w).ok();
                    i.id == *w
                        || n.as_ref()
                            .is_some_and(|n| i.repo_tags.contains(n) || i.repo_digests.contains(n))
                }
                None => true,
            })
            .map(cri_image)
            .collect();
        ok(ListImagesResponse { images })
    }

    async fn image_status(&self, r: Request<ImageStatusRequest>) -> R<ImageStatusResponse> {
        let name = r.into_inner().image.map(|i| i.image).unwrap_or_default();
        let image = self.rt.cfg.images.get(&name).map(|i| cri_image(&i));
        ok(ImageStatusResponse {
            image,
            info: Default::default(),
        })
    }

    async fn pull_image(&self, r: Request<PullImageRequest>) -> R<PullImageResponse> {
        let r = r.into_inner();
        let name = r.image.map(|i| i.image).unwrap_or_default();
        if name.is_empty() {
            return Err(Status::invalid_argument("image name is required"));
        }
        let auth = r.auth.map(registry_auth);
        let image = self
            .rt
            .cfg
            .images
            .pull(&name, auth)
            .await
            .map_err(RuntimeError::from)?;
        ok(PullImageResponse {
            image_ref: image.id,
        })
    }

    async fn remove_image(&self, r: Request<RemoveImageRequest>) -> R<RemoveImageResponse> {
        let name = r.into_inner().image.map(|i| i.image).unwrap_or_default();
        self.rt
            .cfg
            .images
            .remove(&name)
            .await
            .map_err(RuntimeError::from)?;
        ok(RemoveImageResponse {})
    }

    async fn image_fs_info(&self, _r: Request<ImageFsInfoRequest>) -> R<ImageFsInfoResponse> {
        let u = self.rt.cfg.images.fs_usage();
        let fs = FilesystemUsage {
            timestamp: crate::state::now_ns(),
            fs_id: Some(FilesystemIdentifier {
                mountpoint: u.mountpoint.display().to_string(),
            }),
            used_bytes: Some(UInt64Value {
                value: u.used_bytes,
            }),
            inodes_used: Some(UInt64Value {
                value: u.inodes_used,
            }),
        };
        ok(ImageFsInfoResponse {
            image_filesystems: vec![fs.clone()],
            container_filesystems: vec![fs],
        })
    }
}

/// Credentials of a CRI `AuthConfig`: an identity token, else user and password (given,
/// or base64 `user:password` in `auth`).
fn registry_auth(a: AuthConfig) -> RegistryAuth {
    if !a.identity_token.is_empty() {
        return RegistryAuth::identity_token(&a.identity_token);
    }
    let (mut username, mut password) = (a.username, a.password);
    if username.is_empty() && !a.auth.is_empty() {
        if let Some((u, p)) = decode_base64(&a.auth).and_then(|s| {
            s.split_once(':')
                .map(|(u, p)| (u.to_string(), p.to_string()))
        }) {
            username = u;
            password = p;
        }
    }
    RegistryAuth { username, password }
}

/// Standard base64 decoding for the CRI `auth` field (`user:password`).
fn decode_base64(s: &str) -> Option<String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .ok()?;
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_config_becomes_registry_credentials() {
        let given = AuthConfig {
            username: "u".into(),
            password: "p".into(),
            auth: "eDp5".into(),
            ..Default::default()
        };
        let plain = |u: &str, p: &str| RegistryAuth {
            username: u.into(),
            password: p.into(),
        };
        assert_eq!(registry_auth(given), plain("u", "p"));
        let encoded = AuthConfig {
            auth: "eDp5".into(),
            ..Default::default()
        };
        assert_eq!(registry_auth(encoded), plain("x", "y"));
        let token = AuthConfig {
            username: "u".into(),
            identity_token: "t".into(),
            ..Default::default()
        };
        assert_eq!(registry_auth(token), RegistryAuth::identity_token("t"));
    }
}
