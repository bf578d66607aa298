//! The error returned by [`crate::run`].

use crate::cri::CriError;

/// Why the node agent stopped.
#[derive(Debug, thiserror::Error)]
pub enum KubeletError {
    /// The CRI runtime could not be reached or answered with an error.
    #[error("container runtime: {0}")]
    Cri(#[from] CriError),
    /// The API server refused a request the agent cannot work without.
    #[error("api server: {0}")]
    Api(#[from] kube::Error),
    /// The node HTTPS API could not start.
    #[error("node api server: {0}")]
    Server(#[from] crate::server::ServerError),
    /// Local files or directories could not be used.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
}
