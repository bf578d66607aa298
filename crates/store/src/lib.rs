//! A revisioned key–value store with etcd's semantics, behind one trait
//! so the API server runs on the embedded SQLite backend or on etcd.

mod error;
mod store;
mod types;

pub use error::StoreError;
pub use store::Store;
pub use types::{Event, EventKind, KeyValue, ListResult};
