//! skiff-images: the node's image service — pulls from OCI registries (mirrors, auth, TLS from a
//! k3s `registries.yaml`), imports air-gap archives, keeps a digest-verified content store and one
//! unpacked directory per layer for the runtime to stack as overlayfs lower dirs.

mod content;
mod durable;
mod error;
mod fetch;
mod import;
mod layer_jobs;
mod layers;
mod locks;
pub mod manifest;
mod meta;
mod pull;
pub mod reference;
pub mod registries;
pub mod registry;
mod shared_meta;
mod store;
mod stream;
mod types;
pub mod unpack;

pub use content::ContentError;
pub use error::ImageError;
pub use layers::LayerError;
pub use reference::{normalize_reference, Reference, ReferenceError};
pub use registries::{ConfigError, RegistriesConfig};
pub use store::ImageStore;
pub use types::{FsUsage, Image, ImageConfig, ProgressFn, PullProgress, RegistryAuth};
pub use unpack::UnpackError;
