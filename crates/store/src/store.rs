//! The backend-independent store contract the API server is written against.

use crate::{Event, KeyValue, ListResult, StoreError};
use futures::stream::BoxStream;

/// A revisioned key–value store with etcd's semantics.
///
/// Every successful write bumps one global, monotonically increasing revision
/// and returns it. Writes are acknowledged only once durable (committed; for
/// SQLite see the durability notes of `SqliteStore`).
///
/// Revisions at or above [`Store::compacted_revision`] and at or below
/// [`Store::current_revision`] may be read and watched from; below gives
/// `StoreError::Compacted`, above gives `StoreError::FutureRevision`.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// Creates `key` if absent; `StoreError::AlreadyExists` otherwise. Returns the new revision.
    async fn create(&self, key: &str, value: Vec<u8>) -> Result<KeyValue, StoreError>;

    /// Reads `key` at the current revision, or at `revision` when given
    /// (`StoreError::Compacted` when below the compacted revision).
    async fn get(&self, key: &str, revision: Option<i64>) -> Result<Option<KeyValue>, StoreError>;

    /// Lists keys starting with `prefix`, in key order, strictly after `start_after`
    /// when given, at most `limit` (0 = no limit), at `revision` (None = current).
    async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
        revision: Option<i64>,
    ) -> Result<ListResult, StoreError>;

    /// Replaces `key`'s value if its current `mod_revision` equals `expected_mod_revision`.
    /// `StoreError::NotFound` when absent, `StoreError::Conflict` when the revision differs.
    async fn update(
        &self,
        key: &str,
        value: Vec<u8>,
        expected_mod_revision: i64,
    ) -> Result<KeyValue, StoreError>;

    /// Deletes `key` if its `mod_revision` equals `expected_mod_revision` (None = unconditional).
    /// Returns the deleted value, with `mod_revision` set to the deleting revision.
    async fn delete(
        &self,
        key: &str,
        expected_mod_revision: Option<i64>,
    ) -> Result<KeyValue, StoreError>;

    /// Streams every change under `prefix` with revision > `after_revision`:
    /// first the retained history (replay), then live events, in revision order,
    /// with no gaps and no duplicates.
    /// `StoreError::Compacted` when `after_revision` is below the compacted revision,
    /// `StoreError::FutureRevision` when it is above the current one. An `Err`
    /// item inside the stream (e.g. `Compacted` when a slow watcher fell behind
    /// a compaction) is the last item: re-list and watch again.
    async fn watch(
        &self,
        prefix: &str,
        after_revision: i64,
    ) -> Result<BoxStream<'static, Result<Event, StoreError>>, StoreError>;

    /// The latest revision.
    async fn current_revision(&self) -> Result<i64, StoreError>;

    /// Forgets history below `revision`: afterwards reads at `revision` or later
    /// still work, older ones fail with `StoreError::Compacted`; the latest value
    /// of every live key is kept. A no-op at or below the compacted revision;
    /// `StoreError::FutureRevision` beyond the current one. (The SQLite backend
    /// also compacts in the background; callers need not.)
    async fn compact(&self, revision: i64) -> Result<(), StoreError>;

    /// The lowest revision a watch or a read at a revision may still ask for.
    async fn compacted_revision(&self) -> Result<i64, StoreError>;
}
