//! Backend-specific tests: lagging watchers, background compaction, reopen, group commit.

use super::{SqliteOptions, SqliteStore};
use crate::{Store, StoreError};
use futures::StreamExt;
use std::sync::Arc;
use std::time::Duration;

fn quiet() -> SqliteOptions {
    SqliteOptions {
        synchronous_full: false,
        compaction_interval: None,
        retained_revisions: 1000,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lagging_watchers_recover_every_event() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open_inner(&dir.path().join("s.db"), quiet(), 8).unwrap();
    let mut slow = s.watch("/k/", 0).await.unwrap();
    let mut fast = s.watch("/k/", 0).await.unwrap();
    let fast_reader = tokio::spawn(async move {
        let mut revs = Vec::new();
        while revs.len() < 2000 {
            match fast.next().await {
                Some(Ok(ev)) => revs.push(ev.kv.mod_revision),
                other => panic!("fast watcher: {other:?}"),
            }
        }
        revs
    });
    // One write per batch: far more batches than the broadcast holds.
    for i in 0..2000 {
        s.create(&format!("/k/{i:05}"), vec![0; 64]).await.unwrap();
    }
    let mut last = 0;
    for i in 0..2000 {
        let ev = tokio::time::timeout(Duration::from_secs(20), slow.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(ev.kv.key, format!("/k/{i:05}"));
        assert!(ev.kv.mod_revision > last);
        last = ev.kv.mod_revision;
    }
    let fast_revs = fast_reader.await.unwrap();
    assert!(fast_revs.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(fast_revs.len(), 2000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lagging_watcher_past_compaction_gets_compacted_error() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open_inner(&dir.path().join("s.db"), quiet(), 4).unwrap();
    let mut w = s.watch("/k/", 0).await.unwrap();
    let mut kv = s.create("/k/x", vec![0]).await.unwrap();
    for i in 0..1500u32 {
        kv = s
            .update("/k/x", i.to_le_bytes().to_vec(), kv.mod_revision)
            .await
            .unwrap();
    }
    s.compact(kv.mod_revision).await.unwrap();
    let mut delivered = 0;
    loop {
        match tokio::time::timeout(Duration::from_secs(20), w.next())
            .await
            .unwrap()
        {
            Some(Ok(_)) => delivered += 1,
            Some(Err(StoreError::Compacted { compacted, .. })) => {
                assert_eq!(compacted, kv.mod_revision);
                break;
            }
            other => panic!("expected Compacted, got {other:?}"),
        }
    }
    assert!(
        delivered < 1501,
        "the watcher must not silently skip history"
    );
    assert!(w.next().await.is_none(), "stream ends after the error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_compaction_keeps_window_and_live_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let opts = SqliteOptions {
        compaction_interval: Some(Duration::from_millis(20)),
        retained_revisions: 10,
        ..quiet()
    };
    let s = SqliteStore::open_with(&path, opts).unwrap();
    let mut last = Vec::new();
    for k in 0..5 {
        let mut kv = s.create(&format!("/k/{k}"), vec![0]).await.unwrap();
        for v in 1..40u8 {
            kv = s.update(&kv.key, vec![v], kv.mod_revision).await.unwrap();
        }
        last.push(kv);
    }
    let doomed = s.create("/k/doomed", vec![1]).await.unwrap();
    s.delete(&doomed.key, None).await.unwrap();
    for i in 0..20 {
        s.create(&format!("/pad/{i}"), vec![]).await.unwrap();
    }
    let head = s.current_revision().await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while s.compacted_revision().await.unwrap() < head - 10 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "background compaction did not run"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(s.compacted_revision().await.unwrap(), head - 10);
    for kv in &last {
        assert_eq!(s.get(&kv.key, None).await.unwrap().as_ref(), Some(kv));
    }
    let rows: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM kv", [], |r| r.get(0))
        .unwrap();
    // 5 live keys + 20 pads, nothing of the 195 superseded rows or the tombstone.
    assert_eq!(rows, 25);
    assert!(matches!(
        s.get("/k/0", Some(head - 11)).await,
        Err(StoreError::Compacted { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopen_keeps_data_revision_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/s.db");
    let (rev, compacted) = {
        let s = SqliteStore::open_with(&path, quiet()).unwrap();
        let a = s.create("/a", b"1".to_vec()).await.unwrap();
        s.update("/a", b"2".to_vec(), a.mod_revision).await.unwrap();
        let b = s.create("/b", b"1".to_vec()).await.unwrap();
        s.delete("/b", None).await.unwrap();
        s.compact(b.mod_revision).await.unwrap();
        (s.current_revision().await.unwrap(), b.mod_revision)
    };
    // The writer thread finishes once its handle is gone.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.current_revision().await.unwrap(), rev);
    assert_eq!(s.compacted_revision().await.unwrap(), compacted);
    assert_eq!(s.get("/a", None).await.unwrap().unwrap().value, b"2");
    assert!(s.get("/b", None).await.unwrap().is_none());
    let c = s.create("/c", vec![]).await.unwrap();
    assert_eq!(c.mod_revision, rev + 1, "revisions are never reused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_requests_do_not_fail_their_batch() {
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(SqliteStore::open_with(&dir.path().join("s.db"), quiet()).unwrap());
    let mut tasks = Vec::new();
    for i in 0..128 {
        let s = Arc::clone(&s);
        tasks.push(tokio::spawn(async move {
            s.create(&format!("/k/{}", i % 64), vec![0]).await
        }));
    }
    let (mut ok, mut exists) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::AlreadyExists(_)) => exists += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!((ok, exists), (64, 64));
    assert_eq!(s.list("/k/", None, 0, None).await.unwrap().items.len(), 64);
    assert_eq!(s.current_revision().await.unwrap(), 64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_store_reads_and_watches() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open_with(&dir.path().join("s.db"), quiet()).unwrap();
    assert_eq!(s.current_revision().await.unwrap(), 0);
    assert_eq!(s.compacted_revision().await.unwrap(), 0);
    assert!(s.get("/nothing", None).await.unwrap().is_none());
    let l = s.list("", None, 0, None).await.unwrap();
    assert!(l.items.is_empty() && !l.more && l.revision == 0);
    assert!(matches!(
        s.watch("/", 5).await,
        Err(StoreError::FutureRevision(5))
    ));
    let mut w = s.watch("", 0).await.unwrap();
    let kv = s.create("/first", b"1".to_vec()).await.unwrap();
    assert_eq!(kv.mod_revision, 1);
    let ev = tokio::time::timeout(Duration::from_secs(5), w.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(ev.kv, kv);
}
