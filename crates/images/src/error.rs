//! The crate's error type, rolling up the per-module errors with the context of the operation.

use std::path::PathBuf;
use std::sync::Arc;

/// Errors of the image service.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// A malformed reference.
    #[error(transparent)]
    Reference(#[from] crate::reference::ReferenceError),
    /// A bad `registries.yaml`.
    #[error(transparent)]
    Config(#[from] crate::registries::ConfigError),
    /// A registry request failed.
    #[error(transparent)]
    Registry(#[from] crate::registry::RegistryError),
    /// A manifest or config could not be used.
    #[error(transparent)]
    Manifest(#[from] crate::manifest::ManifestError),
    /// The content store refused or lost a blob.
    #[error(transparent)]
    Content(#[from] crate::content::ContentError),
    /// A layer could not be unpacked.
    #[error(transparent)]
    Layer(#[from] crate::layers::LayerError),
    /// The image index could not be read or written.
    #[error(transparent)]
    Meta(#[from] crate::meta::MetaError),
    /// Pulling failed (at every endpoint, for resolution errors).
    #[error("pulling {reference}: {source}")]
    Pull {
        /// The normalised reference.
        reference: String,
        /// The last error.
        source: Box<ImageError>,
    },
    /// A manifest fetched by digest hashed to something else.
    #[error("manifest digest mismatch: asked for {expected}, got {actual}")]
    ManifestDigest {
        /// Pinned digest.
        expected: String,
        /// Actual digest.
        actual: String,
    },
    /// No such image.
    #[error("image {0:?} not found")]
    NotFound(String),
    /// An archive could not be imported.
    #[error("importing {path}: {reason}")]
    Import {
        /// The archive.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// I/O outside the content and layer stores.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A background task failed.
    #[error("internal: {0}")]
    Internal(String),
    /// The error of a pull this call joined.
    #[error("{0}")]
    Shared(Arc<ImageError>),
}
