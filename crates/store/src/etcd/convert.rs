//! Translation between etcd's wire types/errors and the store's types.

use crate::{Event, EventKind, KeyValue, StoreError};
use etcd_client::EventType;

/// Maps an etcd client error, recognising etcd's revision errors.
/// `requested` is the revision the call asked for, when it asked for one.
pub(crate) fn map_err(
    err: etcd_client::Error,
    requested: Option<i64>,
    compacted: i64,
) -> StoreError {
    let text = err.to_string();
    match requested {
        Some(r) if text.contains("required revision has been compacted") => StoreError::Compacted {
            requested: r,
            compacted: compacted.max(r + 1),
        },
        Some(r) if text.contains("required revision is a future revision") => {
            StoreError::FutureRevision(r)
        }
        _ => StoreError::Backend(format!("etcd: {text}")),
    }
}

/// Converts an etcd key-value pair.
pub(crate) fn kv(kv: &etcd_client::KeyValue) -> Result<KeyValue, StoreError> {
    let key = kv
        .key_str()
        .map_err(|e| StoreError::Backend(format!("etcd returned a non-UTF-8 key: {e}")))?;
    Ok(KeyValue {
        key: key.to_owned(),
        value: kv.value().to_vec(),
        create_revision: kv.create_revision(),
        mod_revision: kv.mod_revision(),
    })
}

/// Converts a watch event. A delete carries the last value and create
/// revision (from `prev_kv`) with the deleting revision as `mod_revision`.
pub(crate) fn event(ev: &etcd_client::Event) -> Result<Event, StoreError> {
    let cur = ev
        .kv()
        .ok_or_else(|| StoreError::Backend("etcd watch event without a key".to_owned()))?;
    let prev = ev.prev_kv().map(kv).transpose()?;
    match ev.event_type() {
        EventType::Put => Ok(Event {
            kind: EventKind::Put,
            kv: kv(cur)?,
            prev,
        }),
        EventType::Delete => {
            let mut gone = kv(cur)?;
            if let Some(p) = &prev {
                gone.value = p.value.clone();
                gone.create_revision = p.create_revision;
            }
            Ok(Event {
                kind: EventKind::Delete,
                kv: gone,
                prev,
            })
        }
    }
}

/// The revision in a response header (0 when absent).
pub(crate) fn header_revision(h: Option<&etcd_client::ResponseHeader>) -> i64 {
    h.map_or(0, |h| h.revision())
}
