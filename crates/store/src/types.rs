//! Values and events exchanged with a store backend (etcd's data model).

/// One key with its value and revisions, as etcd's `mvccpb.KeyValue`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// Full key, e.g. `/registry/core/pods/default/web`.
    pub key: String,
    /// Raw value bytes (object JSON for the API server).
    pub value: Vec<u8>,
    /// Revision at which the key was (last) created.
    pub create_revision: i64,
    /// Revision of the last modification; the API resourceVersion.
    pub mod_revision: i64,
}

/// What happened to a key in a watch event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// Created or updated.
    Put,
    /// Deleted.
    Delete,
}

/// One change seen by a watch, in revision order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Put or delete.
    pub kind: EventKind,
    /// For a put, the new value; for a delete, the key with the deleting
    /// revision as `mod_revision` and the last value as `value`.
    pub kv: KeyValue,
    /// The value before this change, when there was one.
    pub prev: Option<KeyValue>,
}

/// A page of a prefix listing at one revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListResult {
    /// Matching keys in key order.
    pub items: Vec<KeyValue>,
    /// The revision the listing was taken at (the store's current revision when not asked).
    pub revision: i64,
    /// True when `limit` cut the listing short; continue after the last item's key.
    pub more: bool,
}
