//! A revisioned key–value store with etcd's semantics, behind one trait
//! so the API server runs on the embedded SQLite backend or on etcd.
//!
//! * [`SqliteStore`] — the embedded default: one WAL database file, a single
//!   writer thread with group commit, pooled readers, watch fan-out with
//!   replay and lag recovery, background compaction.
//! * `EtcdStore` (cargo feature `etcd`) — the same contract on etcd v3.
//!
//! Callers hold an `Arc<dyn Store>` and never depend on the backend.

mod error;
#[cfg(feature = "etcd")]
mod etcd;
mod keyrange;
mod sqlite;
mod store;
mod types;

pub use error::StoreError;
#[cfg(feature = "etcd")]
pub use etcd::EtcdStore;
pub use sqlite::{SqliteOptions, SqliteStore};
pub use store::Store;
pub use types::{Event, EventKind, KeyValue, ListResult};
