//! Compaction: dropping history the store no longer promises to serve.
//!
//! Compacting to revision R keeps, for every key, its newest row at or below
//! R unless that row is a deletion tombstone, and every row above R. Reads at
//! R or later and watches from R onwards therefore see exactly what they would
//! have seen before; reads below R get `StoreError::Compacted`. The latest
//! value of a live key is never removed.

use super::schema::db_err;
use crate::StoreError;
use rusqlite::{params, Transaction};

/// Most revisions examined in one compaction transaction, so writes are not
/// held up behind a long compaction.
pub(crate) const COMPACT_CHUNK: i64 = 1000;

/// Compacts the window `(from, to]` inside `tx` (history at or below `from`
/// is already compacted) and records `to` as the compacted revision.
/// Returns how many rows were removed.
pub(crate) fn compact_chunk(tx: &Transaction<'_>, from: i64, to: i64) -> Result<usize, StoreError> {
    // Rows superseded by a newer row of the same key inside the window. Rows
    // below the window were already reduced to one per key, so the join stays small.
    let superseded = tx
        .prepare_cached(
            "DELETE FROM kv WHERE id IN (
                 SELECT p.id FROM kv r JOIN kv p ON p.name = r.name AND p.id < r.id
                 WHERE r.id > ?1 AND r.id <= ?2)",
        )
        .and_then(|mut s| s.execute(params![from, to]))
        .map_err(db_err("compact superseded rows"))?;
    // Tombstones in the window are now each key's newest row at or below `to`
    // (older ones were removed above): the key does not exist at `to`.
    let tombstones = tx
        .prepare_cached("DELETE FROM kv WHERE deleted = 1 AND id > ?1 AND id <= ?2")
        .and_then(|mut s| s.execute(params![from, to]))
        .map_err(db_err("compact tombstones"))?;
    tx.prepare_cached("UPDATE meta SET value = ?1 WHERE key = 'compact_revision'")
        .and_then(|mut s| s.execute([to]))
        .map_err(db_err("record compact revision"))?;
    Ok(superseded + tombstones)
}
