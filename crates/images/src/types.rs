//! The public data types of the image service: images, their runtime config, credentials,
//! pull progress and filesystem usage.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::manifest::ConfigFile;

/// An image in the store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// `sha256:<config digest>`.
    pub id: String,
    /// Normalised tags, e.g. `docker.io/library/busybox:latest`.
    pub repo_tags: Vec<String>,
    /// `name@sha256:<manifest or index digest>` (the digest the image was pulled by).
    pub repo_digests: Vec<String>,
    /// Compressed size of config and layers.
    pub size: u64,
    /// Runtime defaults from the image config.
    pub config: ImageConfig,
    /// Layer diff_ids, bottom first.
    pub diff_ids: Vec<String>,
}

/// The runtime defaults of an image (its config's `config` object).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageConfig {
    /// `KEY=value` environment.
    pub env: Vec<String>,
    /// Entrypoint.
    pub entrypoint: Vec<String>,
    /// Cmd.
    pub cmd: Vec<String>,
    /// Working directory ("" = `/`).
    pub working_dir: String,
    /// `user[:group]` ("" = root).
    pub user: String,
    /// Exposed ports like `8080/tcp`.
    pub exposed_ports: Vec<String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Stop signal (e.g. `SIGQUIT`).
    pub stop_signal: Option<String>,
}

impl ImageConfig {
    /// Extracts the runtime defaults from a parsed config file.
    pub fn from_config_file(cfg: &ConfigFile) -> Self {
        let Some(c) = &cfg.config else {
            return Self::default();
        };
        Self {
            env: c.env.clone().unwrap_or_default(),
            entrypoint: c.entrypoint.clone().unwrap_or_default(),
            cmd: c.cmd.clone().unwrap_or_default(),
            working_dir: c.working_dir.clone().unwrap_or_default(),
            user: c.user.clone().unwrap_or_default(),
            exposed_ports: c
                .exposed_ports
                .as_ref()
                .map(|p| p.keys().cloned().collect())
                .unwrap_or_default(),
            labels: c.labels.clone().unwrap_or_default(),
            stop_signal: c.stop_signal.clone().filter(|s| !s.is_empty()),
        }
    }
}

/// Credentials passed with a pull (CRI `AuthConfig`), overriding `registries.yaml`.
/// An identity token is given as user `<token>` with the token as password (Docker's convention).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegistryAuth {
    /// User name (or `<token>`).
    pub username: String,
    /// Password (or the identity token).
    pub password: String,
}

impl RegistryAuth {
    /// Credentials carrying an OAuth2 identity (refresh) token.
    pub fn identity_token(token: &str) -> Self {
        Self {
            username: IDENTITY_TOKEN_USER.to_string(),
            password: token.to_string(),
        }
    }
}

/// The user name that marks `password` as an identity token.
pub const IDENTITY_TOKEN_USER: &str = "<token>";

/// Progress of one layer download.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullProgress {
    /// The layer blob digest.
    pub layer: String,
    /// Bytes received so far.
    pub downloaded: u64,
    /// Bytes expected.
    pub total: u64,
    /// True once the layer is downloaded, verified and unpacked.
    pub done: bool,
}

/// Progress callback.
pub type ProgressFn = Arc<dyn Fn(PullProgress) + Send + Sync>;

/// Space used by the image store (CRI `ImageFsInfo`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FsUsage {
    /// The store's root directory.
    pub mountpoint: PathBuf,
    /// Bytes used by blobs and unpacked layers.
    pub used_bytes: u64,
    /// Inodes used.
    pub inodes_used: u64,
}
