//! A revisioned key–value store with etcd's semantics, behind one trait
//! so the API server runs on the embedded SQLite backend or on etcd.

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
