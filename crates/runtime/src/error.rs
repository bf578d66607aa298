//! The runtime's top-level error, rolled up from the module errors, its mapping onto gRPC
//! status codes, and the opaque error [`serve`](crate::serve) returns.

use skiff_images::ImageError;

use crate::{
    cni::CniError, oci::OciError, rootfs::RootfsError, spec::SpecError, state::StateError,
    sys::NetnsError,
};

/// Errors of the CRI runtime.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RuntimeError {
    /// The object does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The request is malformed or not allowed in the current state.
    #[error("{0}")]
    InvalidArgument(String),
    /// The request does not fit the object's state.
    #[error("{0}")]
    FailedPrecondition(String),
    /// A deadline passed.
    #[error("{0}")]
    Timeout(String),
    /// Any other failure.
    #[error("{0}")]
    Internal(String),
    /// CNI failure.
    #[error(transparent)]
    Cni(#[from] CniError),
    /// Network namespace failure.
    #[error(transparent)]
    Netns(#[from] NetnsError),
    /// OCI runtime failure.
    #[error(transparent)]
    Oci(#[from] OciError),
    /// Rootfs failure.
    #[error(transparent)]
    Rootfs(#[from] RootfsError),
    /// Spec generation failure.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// State file failure.
    #[error(transparent)]
    State(#[from] StateError),
    /// Image failure.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// I/O failure.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The gRPC server failed.
    #[error("CRI server: {0}")]
    Transport(String),
}

impl RuntimeError {
    /// Wrap an I/O error with context.
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> RuntimeError {
        let context = context.into();
        move |source| RuntimeError::Io { context, source }
    }
}

impl From<RuntimeError> for tonic::Status {
    fn from(e: RuntimeError) -> Self {
        let msg = e.to_string();
        match e {
            RuntimeError::NotFound(_) | RuntimeError::Image(ImageError::NotFound(_)) => {
                tonic::Status::not_found(msg)
            }
            RuntimeError::InvalidArgument(_) | RuntimeError::Spec(_) => {
                tonic::Status::invalid_argument(msg)
            }
            RuntimeError::FailedPrecondition(_) => tonic::Status::failed_precondition(msg),
            RuntimeError::Timeout(_) => tonic::Status::deadline_exceeded(msg),
            _ => tonic::Status::unknown(msg),
        }
    }
}

/// Why [`serve`](crate::serve) returned an error: the runtime could not start (state
/// directory, OCI runtime, recovery, sockets) or its gRPC server failed.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ServeError(#[from] RuntimeError);
