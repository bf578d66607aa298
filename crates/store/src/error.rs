//! Store errors, mapped by the API server to Kubernetes Status codes.

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Create of a key that exists (409 AlreadyExists).
    #[error("key {0} already exists")]
    AlreadyExists(String),
    /// The key does not exist (404 NotFound).
    #[error("key {0} not found")]
    NotFound(String),
    /// Compare-and-swap failed: the key changed since it was read (409 Conflict).
    #[error("key {key} was modified: expected revision {expected}, found {actual}")]
    Conflict {
        /// The key.
        key: String,
        /// The mod revision the caller expected.
        expected: i64,
        /// The key's current mod revision.
        actual: i64,
    },
    /// The requested revision was compacted away (410 Gone, "too old resource version").
    #[error("required revision {requested} has been compacted (compacted revision {compacted})")]
    Compacted {
        /// What the caller asked for.
        requested: i64,
        /// The store's compacted revision.
        compacted: i64,
    },
    /// A revision in the future was asked for.
    #[error("revision {0} is in the future")]
    FutureRevision(i64),
    /// Backend failure (I/O, database, network).
    #[error("store backend: {0}")]
    Backend(String),
}
