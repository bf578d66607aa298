//! The embedded SQLite backend: a kine-like revision log in one WAL database.
//!
//! Layout: [`schema`] (table and connections), [`writer`] (the single writer
//! thread with group commit), [`compact`] (history compaction), [`reader`]
//! (read pool and queries), [`watch`] (replay + live watch streams).
//!
//! # Durability
//!
//! A write is acknowledged only after its transaction committed. The database
//! runs in WAL mode; the sync level is chosen by
//! [`SqliteOptions::synchronous_full`]:
//!
//! * `synchronous = FULL` (the default): the WAL is fsynced at every commit,
//!   so an acknowledged write survives `kill -9` *and* power loss/kernel crash,
//!   like etcd. Group commit shares one fsync among all writes queued
//!   together, which keeps many concurrent clients fast.
//! * `synchronous = NORMAL`: the WAL is fsynced only at checkpoints. An
//!   acknowledged write survives `kill -9` of the process (the data is in the
//!   OS page cache) but the last commits can be lost on power loss. Faster for
//!   a single sequential writer.
//!
//! Measured figures for both are in `docs/benchmarks.md`, section "Store".

mod compact;
mod reader;
mod schema;
mod watch;
mod writer;

#[cfg(test)]
mod tests;

use crate::{Event, KeyValue, ListResult, Store, StoreError};
use futures::stream::BoxStream;
use reader::ReadPool;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::time::Duration;
use tokio::sync::{broadcast, oneshot};
use watch::WatchTask;
use writer::{AutoCompact, Command, Revisions, WriteOp, Writer};

/// Committed batches kept for slow watchers before they must re-read the database.
const BROADCAST_CAPACITY: usize = 4096;

/// Tuning of a [`SqliteStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqliteOptions {
    /// `synchronous = FULL` (survives power loss) instead of `NORMAL`
    /// (survives process kill only). Default: true.
    pub synchronous_full: bool,
    /// How often background compaction runs; `None` disables it. Default: 60 s.
    pub compaction_interval: Option<Duration>,
    /// Revisions kept below the current one by background compaction. Default: 1000.
    pub retained_revisions: i64,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            synchronous_full: true,
            compaction_interval: Some(Duration::from_secs(60)),
            retained_revisions: 1000,
        }
    }
}

/// The embedded store: one SQLite file, one writer thread, pooled readers.
///
/// Cheap to share behind an `Arc`; dropping the last handle stops the writer
/// thread once queued writes are done.
#[derive(Debug)]
pub struct SqliteStore {
    commands: mpsc::Sender<Command>,
    revisions: Arc<Revisions>,
    events: broadcast::Sender<Arc<Vec<Event>>>,
    pool: Arc<ReadPool>,
    path: PathBuf,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Write { op, .. } => f.debug_struct("Write").field("op", op).finish(),
            Command::Compact { revision, .. } => f
                .debug_struct("Compact")
                .field("revision", revision)
                .finish(),
        }
    }
}

impl SqliteStore {
    /// Opens (creating directories and file as needed) the store at `path`
    /// with default options.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        Self::open_with(path, SqliteOptions::default())
    }

    /// Opens the store at `path` with `options`.
    pub fn open_with(path: &Path, options: SqliteOptions) -> Result<SqliteStore, StoreError> {
        Self::open_inner(path, options, BROADCAST_CAPACITY)
    }

    /// Opens with a chosen broadcast capacity (tests force lagging watchers with a small one).
    fn open_inner(
        path: &Path,
        options: SqliteOptions,
        broadcast_capacity: usize,
    ) -> Result<SqliteStore, StoreError> {
        let conn = schema::open_writer(path, options.synchronous_full)?;
        let revisions = Arc::new(Revisions::default());
        let (events, _) = broadcast::channel(broadcast_capacity.max(1));
        let auto = AutoCompact {
            interval: options.compaction_interval,
            retained: options.retained_revisions.max(0),
        };
        let writer = Writer::new(conn, Arc::clone(&revisions), events.clone(), auto)?;
        let (commands, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("skiff-store-writer".to_owned())
            .spawn(move || writer.run(rx))
            .map_err(|e| StoreError::Backend(format!("starting store writer thread: {e}")))?;
        tracing::info!(path = %path.display(), ?options, "opened sqlite store");
        Ok(SqliteStore {
            commands,
            revisions,
            events,
            pool: Arc::new(ReadPool::new(path.to_path_buf())),
            path: path.to_path_buf(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sends `op` to the writer and waits for its commit.
    async fn write(&self, op: WriteOp) -> Result<KeyValue, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Write { op, reply })
            .map_err(|_| StoreError::Backend("store writer stopped".to_owned()))?;
        answer
            .await
            .map_err(|_| StoreError::Backend("store writer dropped the request".to_owned()))?
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn create(&self, key: &str, value: Vec<u8>) -> Result<KeyValue, StoreError> {
        self.write(WriteOp::Create {
            key: key.to_owned(),
            value,
        })
        .await
    }

    async fn get(&self, key: &str, revision: Option<i64>) -> Result<Option<KeyValue>, StoreError> {
        let key = key.to_owned();
        self.pool
            .read(move |tx, snap| reader::get(tx, &key, snap.at(revision)?))
            .await
    }

    async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
        revision: Option<i64>,
    ) -> Result<ListResult, StoreError> {
        let prefix = prefix.to_owned();
        let start_after = start_after.map(str::to_owned);
        self.pool
            .read(move |tx, snap| {
                let rev = snap.at(revision)?;
                reader::list(tx, &prefix, start_after.as_deref(), limit, rev)
            })
            .await
    }

    async fn update(
        &self,
        key: &str,
        value: Vec<u8>,
        expected_mod_revision: i64,
    ) -> Result<KeyValue, StoreError> {
        self.write(WriteOp::Update {
            key: key.to_owned(),
            value,
            expected: expected_mod_revision,
        })
        .await
    }

    async fn delete(
        &self,
        key: &str,
        expected_mod_revision: Option<i64>,
    ) -> Result<KeyValue, StoreError> {
        self.write(WriteOp::Delete {
            key: key.to_owned(),
            expected: expected_mod_revision,
        })
        .await
    }

    async fn watch(
        &self,
        prefix: &str,
        after_revision: i64,
    ) -> Result<BoxStream<'static, Result<Event, StoreError>>, StoreError> {
        // Subscribe first: anything committed after this point is either in
        // the replay below or arrives on the subscription.
        let live = self.events.subscribe();
        let current = self.revisions.current.load(Ordering::SeqCst);
        if after_revision > current {
            return Err(StoreError::FutureRevision(after_revision));
        }
        let compacted = self.revisions.compacted.load(Ordering::SeqCst);
        if after_revision < compacted {
            return Err(StoreError::Compacted {
                requested: after_revision,
                compacted,
            });
        }
        Ok(WatchTask {
            pool: Arc::clone(&self.pool),
            live,
            prefix: prefix.to_owned(),
            after: after_revision,
        }
        .spawn())
    }

    async fn current_revision(&self) -> Result<i64, StoreError> {
        Ok(self.revisions.current.load(Ordering::SeqCst))
    }

    async fn compact(&self, revision: i64) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Compact { revision, reply })
            .map_err(|_| StoreError::Backend("store writer stopped".to_owned()))?;
        answer
            .await
            .map_err(|_| StoreError::Backend("store writer dropped the request".to_owned()))?
    }

    async fn compacted_revision(&self) -> Result<i64, StoreError> {
        Ok(self.revisions.compacted.load(Ordering::SeqCst))
    }
}
