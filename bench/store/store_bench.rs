//! Store benchmark: create throughput (1 and 32 writers, both sync levels),
//! listing 10,000 keys, and watch fan-out (200 watchers × 10,000 writes).
//!
//! Run: `cargo run -p skiff-store --release --example store_bench`
//! (optional argument: a directory on the disk to measure; default: a temp dir).

use futures::StreamExt;
use skiff_store::{SqliteOptions, SqliteStore, Store};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A pod-sized JSON value (~1.4 KB), like the API server stores.
fn pod_value(i: usize) -> Vec<u8> {
    let labels: String = (0..8)
        .map(|l| format!(r#""label-{l}":"value-{l}-{i}","#))
        .collect();
    format!(
        r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"pod-{i}","namespace":"default","uid":"00000000-0000-0000-0000-{i:012}","labels":{{{labels}"app":"bench"}}}},"spec":{{"containers":[{{"name":"app","image":"registry.local/bench/app:1.0","ports":[{{"containerPort":8080,"protocol":"TCP"}}],"resources":{{"requests":{{"cpu":"100m","memory":"64Mi"}}}}}}],"restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst","schedulerName":"default-scheduler"}},"status":{{"phase":"Pending","qosClass":"Burstable","conditions":[{{"type":"PodScheduled","status":"False","lastProbeTime":null,"lastTransitionTime":"2025-01-01T00:00:00Z"}}]}},"pad":"{}"}}"#,
        "x".repeat(400)
    )
    .into_bytes()
}

fn opts(full: bool) -> SqliteOptions {
    SqliteOptions {
        synchronous_full: full,
        ..SqliteOptions::default()
    }
}

fn open(dir: &Path, name: &str, full: bool) -> Arc<SqliteStore> {
    Arc::new(SqliteStore::open_with(&dir.join(name), opts(full)).expect("open store"))
}

/// Creates `total` keys from `writers` concurrent clients; returns creates/s.
async fn creates_per_sec(
    store: &Arc<SqliteStore>,
    prefix: &str,
    writers: usize,
    total: usize,
) -> f64 {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let (store, prefix) = (Arc::clone(store), prefix.to_owned());
        tasks.push(tokio::spawn(async move {
            for i in (w..total).step_by(writers) {
                store
                    .create(&format!("{prefix}pod-{i}"), pod_value(i))
                    .await
                    .expect("create");
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer task");
    }
    total as f64 / start.elapsed().as_secs_f64()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

async fn bench_writes(dir: &Path) {
    for full in [false, true] {
        let level = if full { "FULL" } else { "NORMAL" };
        let store = open(dir, &format!("writes-{level}.db"), full);
        let one = creates_per_sec(&store, "/registry/core/pods/one/", 1, 3000).await;
        let many = creates_per_sec(&store, "/registry/core/pods/many/", 32, 20000).await;
        println!("writes  synchronous={level:<6}  1 writer: {one:>8.0} creates/s   32 writers: {many:>8.0} creates/s");
    }
}

async fn bench_list(dir: &Path) {
    let store = open(dir, "list.db", true);
    creates_per_sec(&store, "/registry/core/pods/default/", 32, 10_000).await;
    // A second generation of updates, so the listing has history to skip.
    let old_rev = store.current_revision().await.expect("revision");
    for i in (0..10_000).step_by(10) {
        let key = format!("/registry/core/pods/default/pod-{i}");
        let kv = store.get(&key, None).await.expect("get").expect("present");
        store
            .update(&key, pod_value(i + 1), kv.mod_revision)
            .await
            .expect("update");
    }
    // Unrelated keys next to the prefix.
    creates_per_sec(&store, "/registry/core/services/default/", 8, 2000).await;
    let mut full = Vec::new();
    let mut at_rev = Vec::new();
    let mut paged = Vec::new();
    for _ in 0..15 {
        let t = Instant::now();
        let r = store
            .list("/registry/core/pods/", None, 0, None)
            .await
            .expect("list");
        full.push(t.elapsed());
        assert_eq!(r.items.len(), 10_000);
        let t = Instant::now();
        let r = store
            .list("/registry/core/pods/", None, 0, Some(old_rev))
            .await
            .expect("list");
        at_rev.push(t.elapsed());
        assert_eq!(r.items.len(), 10_000);
        let t = Instant::now();
        let mut after: Option<String> = None;
        let mut n = 0;
        let rev = store.current_revision().await.expect("rev");
        loop {
            let page = store
                .list("/registry/core/pods/", after.as_deref(), 500, Some(rev))
                .await
                .expect("page");
            n += page.items.len();
            after = page.items.last().map(|kv| kv.key.clone());
            if !page.more {
                break;
            }
        }
        paged.push(t.elapsed());
        assert_eq!(n, 10_000);
    }
    let mut gets = Vec::new();
    for i in 0..2000 {
        let t = Instant::now();
        store
            .get(&format!("/registry/core/pods/default/pod-{}", i * 5), None)
            .await
            .expect("get");
        gets.push(t.elapsed());
    }
    println!("list    10,000 pods (~1.4 KB each), median of 15: current {}, at an older revision {}, in pages of 500 {}",
        ms(median(full)), ms(median(at_rev)), ms(median(paged)));
    println!("get     median {:.0} µs", median(gets).as_secs_f64() * 1e6);
}

async fn bench_fanout(dir: &Path) {
    const WATCHERS: usize = 200;
    const WRITES: usize = 10_000;
    let store = open(dir, "fanout.db", true);
    let mut watchers = Vec::new();
    for _ in 0..WATCHERS {
        let mut w = store.watch("/registry/core/pods/", 0).await.expect("watch");
        watchers.push(tokio::spawn(async move {
            let mut seen = 0usize;
            let mut last = 0;
            let mut disorder = 0usize;
            while seen < WRITES {
                match tokio::time::timeout(Duration::from_secs(60), w.next()).await {
                    Ok(Some(Ok(ev))) => {
                        if ev.kv.mod_revision <= last {
                            disorder += 1;
                        }
                        last = ev.kv.mod_revision;
                        seen += 1;
                    }
                    _ => break,
                }
            }
            (seen, disorder)
        }));
    }
    let start = Instant::now();
    let rate = creates_per_sec(&store, "/registry/core/pods/default/", 32, WRITES).await;
    let mut lost = 0;
    let mut disorder = 0;
    for w in watchers {
        let (seen, d) = w.await.expect("watcher");
        lost += WRITES - seen;
        disorder += d;
    }
    println!(
        "watch   {WATCHERS} watchers × {WRITES} writes: writes {rate:.0}/s, all delivered after {}, events lost = {lost}, out of order = {disorder}",
        ms(start.elapsed())
    );
}

#[tokio::main]
async fn main() {
    let arg = std::env::args().nth(1).map(PathBuf::from);
    let tmp =
        tempfile::tempdir_in(arg.as_deref().unwrap_or(&std::env::temp_dir())).expect("temp dir");
    println!("store bench (sqlite) in {}", tmp.path().display());
    bench_writes(tmp.path()).await;
    bench_list(tmp.path()).await;
    bench_fanout(tmp.path()).await;
}
