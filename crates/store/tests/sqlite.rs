//! The `Store` contract, checked against the embedded SQLite backend.
#![allow(clippy::unwrap_used, missing_docs)] // test code: a failed unwrap is a failed test

mod conformance;

use skiff_store::{SqliteOptions, SqliteStore, Store};
use std::sync::Arc;

fn open(dir: &tempfile::TempDir) -> Arc<dyn Store> {
    let opts = SqliteOptions {
        synchronous_full: false,
        compaction_interval: None,
        retained_revisions: 1000,
    };
    Arc::new(SqliteStore::open_with(&dir.path().join("db/state.db"), opts).unwrap())
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let dir = tempfile::tempdir().unwrap();
            let s = open(&dir);
            conformance::$name(&*s, "/registry/t").await;
        }
    )*};
}

conformance!(
    create_and_get,
    update_cas,
    delete_semantics,
    list_semantics,
    future_revision,
    watch_replay_then_live,
    compaction,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_cas_one_winner() {
    let dir = tempfile::tempdir().unwrap();
    conformance::concurrent_cas_one_winner(open(&dir), "/registry/t").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_concurrent_writers() {
    let dir = tempfile::tempdir().unwrap();
    conformance::watch_concurrent_writers(open(&dir), "/registry/t").await;
}
