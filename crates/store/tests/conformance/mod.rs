//! Backend-independent checks of the `Store` contract (etcd semantics),
//! run against every backend by its own test file.
#![allow(clippy::unwrap_used, missing_docs)] // test code: a failed unwrap is a failed test
#![allow(dead_code)]

use futures::StreamExt;
use skiff_store::{Event, EventKind, Store, StoreError};
use std::sync::Arc;
use std::time::Duration;

/// Collects `n` events from a watch stream, failing after a timeout.
pub async fn take_events(
    stream: &mut futures::stream::BoxStream<'static, Result<Event, StoreError>>,
    n: usize,
) -> Vec<Event> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let next = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .unwrap_or_else(|_| panic!("timed out after {} of {n} events", out.len()));
        match next {
            Some(Ok(ev)) => out.push(ev),
            Some(Err(e)) => panic!("watch error after {} events: {e}", out.len()),
            None => panic!("watch ended after {} of {n} events", out.len()),
        }
    }
    out
}

/// create, get, AlreadyExists, revisions strictly increasing.
pub async fn create_and_get(s: &dyn Store, p: &str) {
    let k = format!("{p}/a");
    let start = s.current_revision().await.unwrap();
    let a = s.create(&k, b"1".to_vec()).await.unwrap();
    assert!(a.mod_revision > start);
    assert_eq!(a.create_revision, a.mod_revision);
    assert_eq!(s.current_revision().await.unwrap(), a.mod_revision);
    let got = s.get(&k, None).await.unwrap().unwrap();
    assert_eq!(got, a);
    match s.create(&k, b"2".to_vec()).await {
        Err(StoreError::AlreadyExists(key)) => assert_eq!(key, k),
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    let b = s.create(&format!("{p}/b"), b"x".to_vec()).await.unwrap();
    assert!(b.mod_revision > a.mod_revision);
    assert!(s
        .get(&format!("{p}/missing"), None)
        .await
        .unwrap()
        .is_none());
}

/// update is compare-and-swap on the mod revision.
pub async fn update_cas(s: &dyn Store, p: &str) {
    let k = format!("{p}/u");
    let a = s.create(&k, b"1".to_vec()).await.unwrap();
    let b = s.update(&k, b"2".to_vec(), a.mod_revision).await.unwrap();
    assert!(b.mod_revision > a.mod_revision);
    assert_eq!(b.create_revision, a.create_revision);
    assert_eq!(b.value, b"2");
    match s.update(&k, b"3".to_vec(), a.mod_revision).await {
        Err(StoreError::Conflict {
            key,
            expected,
            actual,
        }) => {
            assert_eq!(
                (key.as_str(), expected, actual),
                (k.as_str(), a.mod_revision, b.mod_revision)
            );
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(s.get(&k, None).await.unwrap().unwrap().value, b"2");
    assert!(matches!(
        s.update(&format!("{p}/nope"), b"x".to_vec(), 1).await,
        Err(StoreError::NotFound(_))
    ));
}

/// Many clients racing on one base revision: exactly one wins.
pub async fn concurrent_cas_one_winner(s: Arc<dyn Store>, p: &str) {
    let k = format!("{p}/race");
    let base = s.create(&k, b"0".to_vec()).await.unwrap().mod_revision;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let (s, k) = (Arc::clone(&s), k.clone());
        tasks.push(tokio::spawn(
            async move { s.update(&k, vec![i], base).await },
        ));
    }
    let mut wins = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => wins += 1,
            Err(StoreError::Conflict { .. }) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(wins, 1);
}

/// delete: conditional and unconditional; returns last value at the deleting revision.
pub async fn delete_semantics(s: &dyn Store, p: &str) {
    let k = format!("{p}/d");
    let a = s.create(&k, b"v1".to_vec()).await.unwrap();
    let b = s.update(&k, b"v2".to_vec(), a.mod_revision).await.unwrap();
    assert!(matches!(
        s.delete(&k, Some(a.mod_revision)).await,
        Err(StoreError::Conflict { .. })
    ));
    let d = s.delete(&k, Some(b.mod_revision)).await.unwrap();
    assert_eq!(d.value, b"v2");
    assert!(d.mod_revision > b.mod_revision);
    assert_eq!(d.create_revision, a.create_revision);
    assert!(s.get(&k, None).await.unwrap().is_none());
    assert!(matches!(
        s.delete(&k, None).await,
        Err(StoreError::NotFound(_))
    ));
    // Re-create after delete starts a new life.
    let c = s.create(&k, b"v3".to_vec()).await.unwrap();
    assert_eq!(c.create_revision, c.mod_revision);
    let gone = s.delete(&k, None).await.unwrap();
    assert_eq!(gone.value, b"v3");
    // Reading at old revisions sees each life.
    assert_eq!(
        s.get(&k, Some(b.mod_revision))
            .await
            .unwrap()
            .unwrap()
            .value,
        b"v2"
    );
    assert!(s.get(&k, Some(d.mod_revision)).await.unwrap().is_none());
    assert_eq!(s.get(&k, Some(c.mod_revision)).await.unwrap().unwrap(), c);
}

/// Prefix listing: order, pagination, revision, neighbours excluded.
pub async fn list_semantics(s: &dyn Store, p: &str) {
    let dir = format!("{p}/pods/");
    for name in ["c", "a", "e", "b", "d"] {
        s.create(&format!("{dir}{name}"), name.as_bytes().to_vec())
            .await
            .unwrap();
    }
    s.create(&format!("{p}/pods0"), b"neighbour".to_vec())
        .await
        .unwrap();
    s.create(&format!("{p}/pod"), b"neighbour".to_vec())
        .await
        .unwrap();
    let all = s.list(&dir, None, 0, None).await.unwrap();
    let names: Vec<_> = all
        .items
        .iter()
        .map(|kv| kv.key.trim_start_matches(&dir).to_owned())
        .collect();
    assert_eq!(names, ["a", "b", "c", "d", "e"]);
    assert!(!all.more);
    assert_eq!(all.revision, s.current_revision().await.unwrap());

    let page1 = s.list(&dir, None, 2, None).await.unwrap();
    assert!(page1.more);
    assert_eq!(page1.items.len(), 2);
    let last = page1.items[1].key.clone();
    // Continue at the same revision even after changes.
    let e = s.get(&format!("{dir}e"), None).await.unwrap().unwrap();
    s.update(&e.key, b"changed".to_vec(), e.mod_revision)
        .await
        .unwrap();
    s.delete(&format!("{dir}c"), None).await.unwrap();
    let page2 = s
        .list(&dir, Some(&last), 2, Some(page1.revision))
        .await
        .unwrap();
    assert_eq!(page2.revision, page1.revision);
    let names: Vec<_> = page2
        .items
        .iter()
        .map(|kv| kv.key.trim_start_matches(&dir).to_owned())
        .collect();
    assert_eq!(names, ["c", "d"]);
    assert!(page2.more);
    let page3 = s
        .list(&dir, Some(&page2.items[1].key), 2, Some(page1.revision))
        .await
        .unwrap();
    assert_eq!(page3.items.len(), 1);
    assert_eq!(page3.items[0].value, b"e");
    assert!(!page3.more);
    // Now: c gone, e changed.
    let now = s.list(&dir, None, 0, None).await.unwrap();
    let names: Vec<_> = now
        .items
        .iter()
        .map(|kv| kv.key.trim_start_matches(&dir).to_owned())
        .collect();
    assert_eq!(names, ["a", "b", "d", "e"]);
    assert_eq!(now.items[3].value, b"changed");
    // start_after before the prefix is harmless.
    let before = s.list(&dir, Some(p), 1, None).await.unwrap();
    assert_eq!(before.items[0].key, format!("{dir}a"));
}

/// Future revisions are refused.
pub async fn future_revision(s: &dyn Store, p: &str) {
    s.create(&format!("{p}/f"), b"1".to_vec()).await.unwrap();
    let future = s.current_revision().await.unwrap() + 100;
    assert!(
        matches!(s.get(&format!("{p}/f"), Some(future)).await, Err(StoreError::FutureRevision(r)) if r == future)
    );
    assert!(matches!(
        s.list(p, None, 0, Some(future)).await,
        Err(StoreError::FutureRevision(_))
    ));
}

/// Watch replays history after the revision, then delivers live events in order.
pub async fn watch_replay_then_live(s: &dyn Store, p: &str) {
    let a = s.create(&format!("{p}/w/a"), b"1".to_vec()).await.unwrap();
    let a2 = s
        .update(&a.key, b"2".to_vec(), a.mod_revision)
        .await
        .unwrap();
    s.create(&format!("{p}/other"), b"x".to_vec())
        .await
        .unwrap();
    let mut w = s.watch(&format!("{p}/w/"), a.mod_revision).await.unwrap();
    let replay = take_events(&mut w, 1).await;
    assert_eq!(replay[0].kind, EventKind::Put);
    assert_eq!(replay[0].kv, a2);
    assert_eq!(replay[0].prev.as_ref().unwrap().value, b"1");
    let b = s.create(&format!("{p}/w/b"), b"b".to_vec()).await.unwrap();
    let d = s.delete(&a.key, None).await.unwrap();
    let live = take_events(&mut w, 2).await;
    assert_eq!(live[0].kv, b);
    assert!(live[0].prev.is_none());
    assert_eq!(live[1].kind, EventKind::Delete);
    assert_eq!(live[1].kv.mod_revision, d.mod_revision);
    assert_eq!(live[1].prev.as_ref().unwrap().value, b"2");
}

/// Concurrent writers while a watch replays and goes live: every event, in order, once.
pub async fn watch_concurrent_writers(s: Arc<dyn Store>, p: &str) {
    let start = s.current_revision().await.unwrap();
    let prefix = format!("{p}/cw/");
    // Some history before the watch starts.
    for i in 0..50 {
        s.create(&format!("{prefix}pre{i}"), vec![1]).await.unwrap();
    }
    let mut writers = Vec::new();
    for w in 0..8 {
        let (s, prefix) = (Arc::clone(&s), prefix.clone());
        writers.push(tokio::spawn(async move {
            for i in 0..100 {
                let kv = s
                    .create(&format!("{prefix}w{w}-{i}"), vec![2])
                    .await
                    .unwrap();
                if i % 3 == 0 {
                    s.update(&kv.key, vec![3], kv.mod_revision).await.unwrap();
                }
            }
        }));
    }
    // Start watching while writers are running.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let mut w = s.watch(&prefix, start).await.unwrap();
    let expected = 50 + 8 * 100 + 8 * 34;
    let events = take_events(&mut w, expected).await;
    for t in writers {
        t.await.unwrap();
    }
    let mut last = start;
    for ev in &events {
        assert!(
            ev.kv.mod_revision > last,
            "out of order or duplicate at {}",
            ev.kv.mod_revision
        );
        last = ev.kv.mod_revision;
    }
    // Nothing more arrives.
    let extra = tokio::time::timeout(Duration::from_millis(200), w.next()).await;
    assert!(extra.is_err(), "unexpected extra event {extra:?}");
}

/// Compaction: history below is gone (Compacted), latest values stay.
pub async fn compaction(s: &dyn Store, p: &str) {
    let k = format!("{p}/c/k");
    let mut kv = s.create(&k, b"0".to_vec()).await.unwrap();
    let first = kv.mod_revision;
    for i in 1..20u8 {
        kv = s.update(&k, vec![i], kv.mod_revision).await.unwrap();
    }
    let gone = s
        .create(&format!("{p}/c/gone"), b"g".to_vec())
        .await
        .unwrap();
    s.delete(&gone.key, None).await.unwrap();
    let keep = s
        .create(&format!("{p}/c/keep"), b"keep".to_vec())
        .await
        .unwrap();
    let mid = s.current_revision().await.unwrap();
    let k_at_mid = s.get(&k, None).await.unwrap().unwrap();
    s.compact(mid).await.unwrap();
    assert_eq!(s.compacted_revision().await.unwrap(), mid);
    assert!(matches!(
        s.get(&k, Some(first)).await,
        Err(StoreError::Compacted { requested, compacted }) if requested == first && compacted == mid
    ));
    assert!(matches!(
        s.list(p, None, 0, Some(first)).await,
        Err(StoreError::Compacted { .. })
    ));
    assert!(matches!(
        s.watch(p, first).await,
        Err(StoreError::Compacted { .. })
    ));
    // At and after the compacted revision, everything is as before.
    assert_eq!(s.get(&k, Some(mid)).await.unwrap().unwrap(), k_at_mid);
    assert_eq!(s.get(&keep.key, None).await.unwrap().unwrap(), keep);
    assert!(s.get(&gone.key, Some(mid)).await.unwrap().is_none());
    let listed = s
        .list(&format!("{p}/c/"), None, 0, Some(mid))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 2);
    // A watch from the compacted revision still works.
    let next = s
        .update(&k, b"after".to_vec(), k_at_mid.mod_revision)
        .await
        .unwrap();
    let mut w = s.watch(&format!("{p}/c/"), mid).await.unwrap();
    let evs = take_events(&mut w, 1).await;
    assert_eq!(evs[0].kv, next);
    assert_eq!(evs[0].prev.as_ref().unwrap(), &k_at_mid);
    // Compacting again at or below is a no-op; beyond the head is refused.
    s.compact(mid).await.unwrap();
    let head = s.current_revision().await.unwrap();
    assert!(matches!(
        s.compact(head + 10).await,
        Err(StoreError::FutureRevision(_))
    ));
    // Re-create of a key whose tombstone was compacted.
    let again = s.create(&gone.key, b"again".to_vec()).await.unwrap();
    assert_eq!(again.create_revision, again.mod_revision);
}
