//! Reads: a small pool of read-only connections and the queries run on them.
//!
//! Each read runs in one SQLite read transaction, so the revision checks
//! (current, compacted) and the data come from the same WAL snapshot: a
//! compaction or a write landing meanwhile cannot tear a listing.

use super::schema::{self, db_err, open_reader, CREATE_REV};
use crate::keyrange::prefix_end;
use crate::{Event, EventKind, KeyValue, ListResult, StoreError};
use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection, OptionalExtension, Transaction};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Idle connections kept for reuse.
const MAX_IDLE: usize = 8;

/// A pool of read-only connections used from `spawn_blocking`.
#[derive(Debug)]
pub(crate) struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

/// One snapshot's view of the revisions.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Snapshot {
    /// Latest revision visible in the snapshot.
    pub current: i64,
    /// Compacted revision in the snapshot.
    pub compacted: i64,
}

impl Snapshot {
    /// Resolves the revision to read at, failing for compacted or future ones.
    pub(crate) fn at(&self, revision: Option<i64>) -> Result<i64, StoreError> {
        match revision {
            None => Ok(self.current),
            Some(r) if r > self.current => Err(StoreError::FutureRevision(r)),
            Some(r) if r < self.compacted => Err(StoreError::Compacted {
                requested: r,
                compacted: self.compacted,
            }),
            Some(r) => Ok(r),
        }
    }
}

impl ReadPool {
    /// A pool over the store file at `path` (which must exist).
    pub(crate) fn new(path: PathBuf) -> Self {
        ReadPool {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `f` inside a read transaction on a pooled connection, off the async runtime.
    pub(crate) async fn read<T, F>(self: &Arc<Self>, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>, Snapshot) -> Result<T, StoreError> + Send + 'static,
    {
        let pool = Arc::clone(self);
        tokio::task::spawn_blocking(move || pool.read_blocking(f))
            .await
            .map_err(|e| StoreError::Backend(format!("read task failed: {e}")))?
    }

    /// The blocking body of [`ReadPool::read`].
    pub(crate) fn read_blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Transaction<'_>, Snapshot) -> Result<T, StoreError>,
    {
        let pooled = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let mut conn = match pooled {
            Some(c) => c,
            None => open_reader(&self.path)?,
        };
        let result = (|| {
            let tx = conn.transaction().map_err(db_err("begin read"))?;
            let snap = Snapshot {
                current: schema::current_revision(&tx)?,
                compacted: schema::compacted_revision(&tx)?,
            };
            let out = f(&tx, snap)?;
            tx.finish().map_err(db_err("end read"))?;
            Ok(out)
        })();
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < MAX_IDLE {
                idle.push(conn);
            }
        }
        result
    }
}

/// Reads `key` as of `rev`.
pub(crate) fn get(
    tx: &Transaction<'_>,
    key: &str,
    rev: i64,
) -> Result<Option<KeyValue>, StoreError> {
    let sql = format!(
        "SELECT k.id, {CREATE_REV}, k.deleted, k.value FROM kv k
         WHERE k.name = ?1 AND k.id <= ?2 ORDER BY k.id DESC LIMIT 1"
    );
    let row = tx
        .prepare_cached(&sql)
        .and_then(|mut s| {
            s.query_row(rusqlite::params![key, rev], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, bool>(2)?,
                    r.get(3)?,
                ))
            })
            .optional()
        })
        .map_err(db_err("get"))?;
    Ok(match row {
        Some((id, create_revision, false, value)) => Some(KeyValue {
            key: key.to_owned(),
            value,
            create_revision,
            mod_revision: id,
        }),
        _ => None,
    })
}

/// SQL conditions and parameters selecting keys under `prefix`, after `start_after`.
/// Placeholders are numbered from `?{first}` on, in the order of the returned values.
fn key_range(
    prefix: &str,
    start_after: Option<&str>,
    col: &str,
    first: usize,
) -> (String, Vec<Value>) {
    let mut conds = Vec::new();
    let mut args = Vec::new();
    match start_after {
        Some(after) if after >= prefix => {
            conds.push(format!("{col} > ?{}", first + args.len()));
            args.push(Value::Text(after.to_owned()));
        }
        _ if !prefix.is_empty() => {
            conds.push(format!("{col} >= ?{}", first + args.len()));
            args.push(Value::Text(prefix.to_owned()));
        }
        _ => {}
    }
    if let Some(end) = prefix_end(prefix) {
        conds.push(format!("{col} < ?{}", first + args.len()));
        args.push(Value::Text(end));
    }
    if conds.is_empty() {
        conds.push("1".to_owned());
    }
    (conds.join(" AND "), args)
}

/// Lists live keys under `prefix` as of `rev`, in key order.
pub(crate) fn list(
    tx: &Transaction<'_>,
    prefix: &str,
    start_after: Option<&str>,
    limit: usize,
    rev: i64,
) -> Result<ListResult, StoreError> {
    let fetch = if limit == 0 { -1 } else { limit as i64 + 1 };
    // Walk the (name, id) index in key order and keep each key's newest row
    // at `rev`: ORDER BY needs no sort and LIMIT stops the scan early.
    let (cond, mut args) = key_range(prefix, start_after, "k.name", 1);
    let (rev_at, limit_at) = (args.len() + 1, args.len() + 2);
    args.push(Value::Integer(rev));
    args.push(Value::Integer(fetch));
    let sql = format!(
        "SELECT k.name, k.value, {CREATE_REV}, k.id
         FROM kv k INDEXED BY kv_name_id
         WHERE {cond} AND k.id <= ?{rev_at} AND k.deleted = 0
           AND NOT EXISTS (SELECT 1 FROM kv n INDEXED BY kv_name_id
                           WHERE n.name = k.name AND n.id > k.id AND n.id <= ?{rev_at})
         ORDER BY k.name LIMIT ?{limit_at}"
    );
    let mut stmt = tx.prepare_cached(&sql).map_err(db_err("prepare list"))?;
    let rows = stmt
        .query_map(params_from_iter(args), |r| {
            Ok(KeyValue {
                key: r.get(0)?,
                value: r.get(1)?,
                create_revision: r.get(2)?,
                mod_revision: r.get(3)?,
            })
        })
        .map_err(db_err("list"))?;
    let mut items = rows
        .collect::<Result<Vec<_>, _>>()
        .map_err(db_err("list row"))?;
    let more = limit > 0 && items.len() > limit;
    items.truncate(if more { limit } else { items.len() });
    Ok(ListResult {
        items,
        revision: rev,
        more,
    })
}

/// Events under `prefix` with revision > `after`, oldest first, at most `max`.
pub(crate) fn history(
    tx: &Transaction<'_>,
    prefix: &str,
    after: i64,
    max: usize,
) -> Result<Vec<Event>, StoreError> {
    let (cond, mut args) = key_range(prefix, None, "k.name", 2);
    let limit_at = args.len() + 2;
    args.insert(0, Value::Integer(after));
    args.push(Value::Integer(max as i64));
    let p_create = CREATE_REV.replace("k.", "p.");
    let sql = format!(
        "SELECT k.id, k.name, k.deleted, {CREATE_REV}, k.value, p.id, p.deleted, {p_create}, p.value
         FROM kv k NOT INDEXED LEFT JOIN kv p ON p.id = k.prev_revision
         WHERE k.id > ?1 AND {cond} ORDER BY k.id LIMIT ?{limit_at}"
    );
    let mut stmt = tx.prepare_cached(&sql).map_err(db_err("prepare history"))?;
    let rows = stmt
        .query_map(params_from_iter(args), |r| {
            let key: String = r.get(1)?;
            let deleted: bool = r.get(2)?;
            let kv = KeyValue {
                key: key.clone(),
                value: r.get(4)?,
                create_revision: r.get(3)?,
                mod_revision: r.get(0)?,
            };
            let prev = match (r.get::<_, Option<i64>>(5)?, r.get::<_, Option<bool>>(6)?) {
                (Some(id), Some(false)) => Some(KeyValue {
                    key,
                    value: r.get(8)?,
                    create_revision: r.get(7)?,
                    mod_revision: id,
                }),
                _ => None,
            };
            let kind = if deleted {
                EventKind::Delete
            } else {
                EventKind::Put
            };
            Ok(Event { kind, kv, prev })
        })
        .map_err(db_err("history"))?;
    rows.collect::<Result<Vec<_>, _>>()
        .map_err(db_err("history row"))
}
