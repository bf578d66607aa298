//! The single writer thread: group commit of queued writes, CAS checked per request.
//!
//! Every write goes through one `std::thread` that owns the only write
//! connection. It blocks for the first command, drains whatever else is queued
//! (up to [`MAX_BATCH`]), applies each request in one transaction — each
//! precondition checked on its own, so a failed compare-and-swap only fails
//! its own request — commits once, then answers every caller and publishes the
//! batch's events, in revision order, to the watch broadcast. Between batches
//! it also runs background compaction, a bounded chunk at a time.

use super::compact::{compact_chunk, COMPACT_CHUNK};
use super::schema::{self, db_err, CREATE_REV};
use crate::{Event, EventKind, KeyValue, StoreError};
use rusqlite::{params, Connection, OptionalExtension};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, oneshot};

/// Most requests committed in one transaction.
pub(crate) const MAX_BATCH: usize = 1024;

/// One mutation requested by a caller.
#[derive(Debug)]
pub(crate) enum WriteOp {
    /// Create if absent.
    Create { key: String, value: Vec<u8> },
    /// Compare-and-swap update on the mod revision.
    Update {
        key: String,
        value: Vec<u8>,
        expected: i64,
    },
    /// Delete, optionally compare-and-swap.
    Delete { key: String, expected: Option<i64> },
}

/// A message to the writer thread.
pub(crate) enum Command {
    /// Apply one write; the answer goes back on `reply`.
    Write {
        op: WriteOp,
        reply: oneshot::Sender<Result<KeyValue, StoreError>>,
    },
    /// Compact history up to `revision` (inclusive) and answer when done.
    Compact {
        revision: i64,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
}

/// Revisions shared with readers without touching the database.
#[derive(Debug, Default)]
pub(crate) struct Revisions {
    /// Latest committed revision.
    pub current: AtomicI64,
    /// Latest compacted revision.
    pub compacted: AtomicI64,
}

/// Background compaction policy.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AutoCompact {
    /// How often to look for work; `None` disables it.
    pub interval: Option<Duration>,
    /// Revisions kept below the current one.
    pub retained: i64,
}

/// State owned by the writer thread.
pub(crate) struct Writer {
    conn: Connection,
    revisions: Arc<Revisions>,
    events: broadcast::Sender<Arc<Vec<Event>>>,
    auto: AutoCompact,
}

/// The latest row of one key.
struct Latest {
    id: i64,
    create_revision: i64,
    deleted: bool,
    value: Vec<u8>,
}

impl Writer {
    /// Wraps the opened write connection; loads the revisions it publishes.
    pub(crate) fn new(
        conn: Connection,
        revisions: Arc<Revisions>,
        events: broadcast::Sender<Arc<Vec<Event>>>,
        auto: AutoCompact,
    ) -> Result<Self, StoreError> {
        revisions
            .current
            .store(schema::current_revision(&conn)?, Ordering::SeqCst);
        revisions
            .compacted
            .store(schema::compacted_revision(&conn)?, Ordering::SeqCst);
        Ok(Writer {
            conn,
            revisions,
            events,
            auto,
        })
    }

    /// Runs until every command sender is gone.
    pub(crate) fn run(mut self, rx: Receiver<Command>) {
        let mut next_auto = self.auto.interval.map(|i| Instant::now() + i);
        loop {
            if let Some(at) = next_auto.filter(|at| Instant::now() >= *at) {
                self.auto_compact(&rx);
                next_auto = self.auto.interval.map(|i| at.max(Instant::now()) + i);
            }
            let first = match next_auto {
                None => rx.recv().ok(),
                Some(at) => match rx.recv_timeout(at.saturating_duration_since(Instant::now())) {
                    Ok(cmd) => Some(cmd),
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => None,
                },
            };
            let Some(first) = first else { break };
            self.handle(first, &rx);
        }
        tracing::debug!("sqlite store writer stopped");
    }

    /// Handles `first` and whatever else is queued behind it, as one group commit.
    fn handle(&mut self, first: Command, rx: &Receiver<Command>) {
        let mut writes = Vec::new();
        let mut pending = Some(first);
        while let Some(cmd) = pending.take() {
            match cmd {
                Command::Write { op, reply } => writes.push((op, reply)),
                Command::Compact { revision, reply } => {
                    // Keep order: commit what came before the compaction.
                    self.commit_batch(std::mem::take(&mut writes));
                    let _ = reply.send(self.compact_to(revision));
                }
            }
            if writes.len() < MAX_BATCH {
                pending = rx.try_recv().ok();
            }
        }
        self.commit_batch(writes);
    }

    /// Background compaction: keep `retained` revisions, a chunk at a time,
    /// yielding to queued writes between chunks.
    fn auto_compact(&mut self, rx: &Receiver<Command>) {
        let target = self.revisions.current.load(Ordering::SeqCst) - self.auto.retained;
        while self.revisions.compacted.load(Ordering::SeqCst) < target {
            let from = self.revisions.compacted.load(Ordering::SeqCst);
            if let Err(e) = self.compact_step(from, (from + COMPACT_CHUNK).min(target)) {
                tracing::warn!(error = %e, "background compaction failed");
                return;
            }
            match rx.try_recv() {
                Ok(cmd) => self.handle(cmd, rx),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => {}
            }
        }
    }

    /// Compacts up to `revision` in bounded transactions.
    fn compact_to(&mut self, revision: i64) -> Result<(), StoreError> {
        let current = self.revisions.current.load(Ordering::SeqCst);
        if revision > current {
            return Err(StoreError::FutureRevision(revision));
        }
        loop {
            let from = self.revisions.compacted.load(Ordering::SeqCst);
            if from >= revision {
                return Ok(());
            }
            self.compact_step(from, (from + COMPACT_CHUNK).min(revision))?;
        }
    }

    /// One compaction transaction over `(from, to]`.
    fn compact_step(&mut self, from: i64, to: i64) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction()
            .map_err(db_err("begin compaction"))?;
        let removed = compact_chunk(&tx, from, to)?;
        tx.commit().map_err(db_err("commit compaction"))?;
        self.revisions.compacted.store(to, Ordering::SeqCst);
        tracing::debug!(from, to, removed, "compacted store history");
        Ok(())
    }

    /// Applies `writes` in one transaction and answers each caller.
    fn commit_batch(
        &mut self,
        writes: Vec<(WriteOp, oneshot::Sender<Result<KeyValue, StoreError>>)>,
    ) {
        if writes.is_empty() {
            return;
        }
        let mut results = Vec::with_capacity(writes.len());
        let mut events = Vec::new();
        let outcome = self.apply_all(&writes, &mut results, &mut events);
        match outcome {
            Ok(()) => {
                if let Some(last) = events.last() {
                    self.revisions
                        .current
                        .store(last.kv.mod_revision, Ordering::SeqCst);
                }
                for ((_, reply), result) in writes.into_iter().zip(results) {
                    let _ = reply.send(result);
                }
                if !events.is_empty() {
                    // No receivers is fine: nobody watches.
                    let _ = self.events.send(Arc::new(events));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, requests = writes.len(), "store batch failed");
                let _ = self.conn.execute_batch("ROLLBACK");
                for (_, reply) in writes {
                    let _ = reply.send(Err(StoreError::Backend(e.to_string())));
                }
            }
        }
    }

    /// Runs the transaction; precondition failures land in `results`,
    /// database failures abort the whole batch.
    fn apply_all(
        &self,
        writes: &[(WriteOp, oneshot::Sender<Result<KeyValue, StoreError>>)],
        results: &mut Vec<Result<KeyValue, StoreError>>,
        events: &mut Vec<Event>,
    ) -> Result<(), StoreError> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(db_err("begin"))?;
        for (op, _) in writes {
            match self.apply(op)? {
                Ok(event) => {
                    results.push(Ok(event.kv.clone()));
                    events.push(event);
                }
                Err(precondition) => results.push(Err(precondition)),
            }
        }
        self.conn.execute_batch("COMMIT").map_err(db_err("commit"))
    }

    /// Checks one request's precondition and appends its row.
    /// Outer error: database failure; inner error: the request's own failure.
    fn apply(&self, op: &WriteOp) -> Result<Result<Event, StoreError>, StoreError> {
        match op {
            WriteOp::Create { key, value } => {
                let latest = self.latest(key)?;
                if matches!(&latest, Some(l) if !l.deleted) {
                    return Ok(Err(StoreError::AlreadyExists(key.clone())));
                }
                let prev = latest.map_or(0, |l| l.id);
                let id = self.insert(key, true, false, 0, prev, value)?;
                let kv = kv(key, value.clone(), id, id);
                Ok(Ok(Event {
                    kind: EventKind::Put,
                    kv,
                    prev: None,
                }))
            }
            WriteOp::Update {
                key,
                value,
                expected,
            } => {
                let l = match self.live(key, Some(*expected))? {
                    Ok(l) => l,
                    Err(e) => return Ok(Err(e)),
                };
                let id = self.insert(key, false, false, l.create_revision, l.id, value)?;
                Ok(Ok(Event {
                    kind: EventKind::Put,
                    kv: kv(key, value.clone(), l.create_revision, id),
                    prev: Some(kv(key, l.value, l.create_revision, l.id)),
                }))
            }
            WriteOp::Delete { key, expected } => {
                let l = match self.live(key, *expected)? {
                    Ok(l) => l,
                    Err(e) => return Ok(Err(e)),
                };
                let id = self.insert(key, false, true, l.create_revision, l.id, &l.value)?;
                let prev = kv(key, l.value, l.create_revision, l.id);
                Ok(Ok(Event {
                    kind: EventKind::Delete,
                    kv: KeyValue {
                        mod_revision: id,
                        ..prev.clone()
                    },
                    prev: Some(prev),
                }))
            }
        }
    }

    /// The key's latest row if it is live and (when asked) at `expected`.
    fn live(
        &self,
        key: &str,
        expected: Option<i64>,
    ) -> Result<Result<Latest, StoreError>, StoreError> {
        let l = match self.latest(key)? {
            Some(l) if !l.deleted => l,
            _ => return Ok(Err(StoreError::NotFound(key.to_owned()))),
        };
        match expected {
            Some(expected) if expected != l.id => Ok(Err(StoreError::Conflict {
                key: key.to_owned(),
                expected,
                actual: l.id,
            })),
            _ => Ok(Ok(l)),
        }
    }

    /// The newest row of `key`, tombstone or not.
    fn latest(&self, key: &str) -> Result<Option<Latest>, StoreError> {
        let sql = format!(
            "SELECT k.id, {CREATE_REV}, k.deleted, k.value FROM kv k
             WHERE k.name = ?1 ORDER BY k.id DESC LIMIT 1"
        );
        let mut stmt = self
            .conn
            .prepare_cached(&sql)
            .map_err(db_err("prepare latest"))?;
        stmt.query_row([key], |r| {
            Ok(Latest {
                id: r.get(0)?,
                create_revision: r.get(1)?,
                deleted: r.get(2)?,
                value: r.get(3)?,
            })
        })
        .optional()
        .map_err(db_err("read latest"))
    }

    /// Appends one row; returns its id, the new revision.
    fn insert(
        &self,
        key: &str,
        created: bool,
        deleted: bool,
        create_revision: i64,
        prev_revision: i64,
        value: &[u8],
    ) -> Result<i64, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "INSERT INTO kv (name, created, deleted, create_revision, prev_revision, value)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(db_err("prepare insert"))?;
        stmt.execute(params![
            key,
            created,
            deleted,
            create_revision,
            prev_revision,
            value
        ])
        .map_err(db_err("insert"))?;
        Ok(self.conn.last_insert_rowid())
    }
}

/// Builds a `KeyValue`.
fn kv(key: &str, value: Vec<u8>, create_revision: i64, mod_revision: i64) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value,
        create_revision,
        mod_revision,
    }
}
