//! The SQLite log schema (kine's shape) and how connections are opened.
//!
//! One table holds every revision: `id` (AUTOINCREMENT) *is* the store
//! revision; a row is a create, an update or a deletion tombstone of `name`.
//! `prev_revision` points at the key's previous row, and
//! `UNIQUE(name, prev_revision)` makes two writers racing on the same base
//! revision impossible even if the single-writer rule were ever broken.
//! `create_revision` is 0 on create rows (the row's own id is the create
//! revision) and copied forward on updates and tombstones.

use crate::StoreError;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::path::Path;
use std::time::Duration;

/// Reads the create revision of a row aliased `k` (0 on create rows means "own id").
pub(crate) const CREATE_REV: &str = "CASE WHEN k.created = 1 THEN k.id ELSE k.create_revision END";

const DDL: &str = "
CREATE TABLE IF NOT EXISTS kv (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT    NOT NULL,
    created         INTEGER NOT NULL,
    deleted         INTEGER NOT NULL,
    create_revision INTEGER NOT NULL,
    prev_revision   INTEGER NOT NULL,
    value           BLOB    NOT NULL,
    UNIQUE (name, prev_revision)
);
CREATE INDEX IF NOT EXISTS kv_name_id ON kv (name, id);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (key, value) VALUES ('compact_revision', 0);
";

/// Maps a SQLite error to the backend error, naming what was being done.
pub(crate) fn db_err(context: &str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |e| StoreError::Backend(format!("sqlite {context}: {e}"))
}

/// Opens (creating if needed) the write connection: WAL, chosen sync level, schema.
pub(crate) fn open_writer(path: &Path, synchronous_full: bool) -> Result<Connection, StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Backend(format!("creating store directory {}: {e}", dir.display()))
        })?;
    }
    let conn = Connection::open(path).map_err(db_err("open"))?;
    conn.busy_timeout(Duration::from_secs(30))
        .map_err(db_err("busy_timeout"))?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(db_err("journal_mode"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Backend(format!(
            "sqlite refused WAL mode (got {mode}) for {}",
            path.display()
        )));
    }
    let sync = if synchronous_full { "FULL" } else { "NORMAL" };
    conn.execute_batch(&format!(
        "PRAGMA synchronous = {sync}; PRAGMA foreign_keys = OFF; PRAGMA cache_size = -16000;"
    ))
    .map_err(db_err("pragmas"))?;
    conn.execute_batch(DDL).map_err(db_err("schema"))?;
    conn.set_prepared_statement_cache_capacity(32);
    Ok(conn)
}

/// Opens a read-only connection on an existing store file.
pub(crate) fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags).map_err(db_err("open reader"))?;
    conn.busy_timeout(Duration::from_secs(30))
        .map_err(db_err("busy_timeout"))?;
    // Readers keep a small private page cache: the file's pages already sit in the OS page
    // cache, and several idle readers with 16 MB each kept ~128 MB resident after big scans.
    conn.execute_batch("PRAGMA cache_size = -2000;")
        .map_err(db_err("reader pragmas"))?;
    conn.set_prepared_statement_cache_capacity(32);
    Ok(conn)
}

/// The latest revision ever assigned (AUTOINCREMENT's high-water mark; 0 when empty).
pub(crate) fn current_revision(conn: &Connection) -> Result<i64, StoreError> {
    let seq: Option<i64> = conn
        .prepare_cached("SELECT seq FROM sqlite_sequence WHERE name = 'kv'")
        .and_then(|mut s| s.query_row([], |r| r.get(0)).optional())
        .map_err(db_err("read revision"))?;
    Ok(seq.unwrap_or(0))
}

/// The revision history has been compacted to (reads below it fail).
pub(crate) fn compacted_revision(conn: &Connection) -> Result<i64, StoreError> {
    let rev: Option<i64> = conn
        .prepare_cached("SELECT value FROM meta WHERE key = 'compact_revision'")
        .and_then(|mut s| s.query_row([], |r| r.get(0)).optional())
        .map_err(db_err("read compact revision"))?;
    Ok(rev.unwrap_or(0))
}
