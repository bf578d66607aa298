//! Watch fan-out: many watchers, a burst of concurrent writes, nothing lost.

use futures::StreamExt;
use skiff_store::{SqliteOptions, SqliteStore, Store};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_watchers_see_every_event_of_a_burst() {
    const WATCHERS: usize = 200;
    const WRITES: usize = 3000;
    const WRITERS: usize = 32;
    let dir = tempfile::tempdir().unwrap();
    let opts = SqliteOptions {
        synchronous_full: false,
        ..SqliteOptions::default()
    };
    let s = Arc::new(SqliteStore::open_with(&dir.path().join("s.db"), opts).unwrap());
    let mut watchers = Vec::new();
    for _ in 0..WATCHERS {
        let mut w = s.watch("/registry/pods/", 0).await.unwrap();
        watchers.push(tokio::spawn(async move {
            let mut last = 0;
            let mut seen = 0;
            while seen < WRITES {
                let ev = tokio::time::timeout(Duration::from_secs(60), w.next())
                    .await
                    .expect("watch stalled")
                    .expect("watch ended")
                    .expect("watch error");
                assert!(ev.kv.mod_revision > last, "gap-free order");
                last = ev.kv.mod_revision;
                seen += 1;
            }
            seen
        }));
    }
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let s = Arc::clone(&s);
        writers.push(tokio::spawn(async move {
            for i in (w..WRITES).step_by(WRITERS) {
                s.create(&format!("/registry/pods/default/p{i}"), vec![b'x'; 256])
                    .await
                    .unwrap();
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    for w in watchers {
        assert_eq!(w.await.unwrap(), WRITES);
    }
}
