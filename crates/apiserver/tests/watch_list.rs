//! LIST and WATCH semantics against a real server through kube-rs: bookmarks,
//! `sendInitialEvents`, `timeoutSeconds`, paging at one revision, 410 after compaction.

mod common;

use common::{json, watch_lines};
use serde_json::{json, Value};
use skiff_store::Store;
use std::time::{Duration, Instant};

const CMS: &str = "/api/v1/namespaces/default/configmaps";

fn cm(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}})
}

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|i| i["metadata"]["name"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_bookmarks_and_timeout() {
    let t = common::start_server().await;
    let c = t.client().await;
    let (_, list) = json(&c, "GET", CMS, Value::Null).await;
    let rv = list["metadata"]["resourceVersion"]
        .as_str()
        .expect("rv")
        .to_string();
    let started = Instant::now();
    let (events, ended) = watch_lines(
        &c,
        &format!("{CMS}?watch=true&resourceVersion={rv}&allowWatchBookmarks=true&timeoutSeconds=3"),
        Duration::from_secs(15),
        |_| false,
    )
    .await;
    let took = started.elapsed();
    assert!(ended, "the watch did not end at its timeout");
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(6),
        "{took:?}"
    );
    let bm = events
        .iter()
        .find(|e| e["type"] == "BOOKMARK")
        .unwrap_or_else(|| panic!("no bookmark in {events:?}"));
    assert_eq!(bm["object"]["kind"], "ConfigMap");
    assert_eq!(bm["object"]["metadata"]["resourceVersion"], rv);
    // Without allowWatchBookmarks there are none.
    let (events, ended) = watch_lines(
        &c,
        &format!("{CMS}?watch=true&resourceVersion={rv}&timeoutSeconds=2"),
        Duration::from_secs(15),
        |_| false,
    )
    .await;
    assert!(ended);
    assert!(events.is_empty(), "{events:?}");
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_send_initial_events_ends_with_annotated_bookmark() {
    let t = common::start_server().await;
    let c = t.client().await;
    for n in ["a", "b", "c"] {
        assert_eq!(json(&c, "POST", CMS, cm(n)).await.0, 201);
    }
    let c2 = c.clone();
    let writer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(700)).await;
        json(&c2, "POST", CMS, cm("d")).await.0
    });
    let (events, _) = watch_lines(
        &c,
        &format!("{CMS}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=20"),
        Duration::from_secs(15),
        |evs| evs.iter().any(|e| e["object"]["metadata"]["name"] == "d"),
    )
    .await;
    assert_eq!(writer.await.expect("writer"), 201);
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(
        types,
        ["ADDED", "ADDED", "ADDED", "BOOKMARK", "ADDED"],
        "{events:?}"
    );
    let bm = &events[3]["object"];
    assert_eq!(
        bm["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    let bm_rv: i64 = bm["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|r| r.parse().ok())
        .expect("bookmark rv");
    let c_rv: i64 = events[2]["object"]["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|r| r.parse().ok())
        .expect("rv");
    assert!(bm_rv >= c_rv);
    // sendInitialEvents needs resourceVersionMatch=NotOlderThan.
    let (code, st) = json(
        &c,
        "GET",
        &format!("{CMS}?watch=true&sendInitialEvents=true"),
        Value::Null,
    )
    .await;
    assert_eq!(code, 422, "{st}");
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_is_consistent_and_expires_after_compaction() {
    let t = common::start_server().await;
    let c = t.client().await;
    for i in 0..5 {
        assert_eq!(json(&c, "POST", CMS, cm(&format!("p{i}"))).await.0, 201);
    }
    let (code, page1) = json(&c, "GET", &format!("{CMS}?limit=2"), Value::Null).await;
    assert_eq!(code, 200);
    assert_eq!(names(&page1), ["p0", "p1"]);
    let rv = page1["metadata"]["resourceVersion"].clone();
    let cont = page1["metadata"]["continue"]
        .as_str()
        .expect("continue")
        .to_string();
    // Writes between pages do not show up in later pages.
    assert_eq!(json(&c, "POST", CMS, cm("p5")).await.0, 201);
    assert_eq!(
        json(&c, "DELETE", &format!("{CMS}/p4"), Value::Null)
            .await
            .0,
        200
    );
    let (code, page2) = json(
        &c,
        "GET",
        &format!("{CMS}?limit=2&continue={cont}"),
        Value::Null,
    )
    .await;
    assert_eq!(code, 200, "{page2}");
    assert_eq!(names(&page2), ["p2", "p3"]);
    assert_eq!(page2["metadata"]["resourceVersion"], rv);
    let cont2 = page2["metadata"]["continue"]
        .as_str()
        .expect("continue")
        .to_string();
    let (_, page3) = json(
        &c,
        "GET",
        &format!("{CMS}?limit=2&continue={cont2}"),
        Value::Null,
    )
    .await;
    assert_eq!(names(&page3), ["p4"]);
    assert!(page3["metadata"].get("continue").is_none(), "{page3}");
    // A fresh list sees the writes.
    let (_, all) = json(&c, "GET", CMS, Value::Null).await;
    assert_eq!(names(&all), ["p0", "p1", "p2", "p3", "p5"]);

    // Compact past the token's revision: continue is 410 Expired.
    let rv_old: i64 = rv.as_str().and_then(|r| r.parse().ok()).expect("rv");
    for i in 0..3 {
        assert_eq!(json(&c, "POST", CMS, cm(&format!("q{i}"))).await.0, 201);
    }
    let now = t.store.current_revision().await.expect("rev");
    t.store.compact(now).await.expect("compact");
    let (code, st) = json(
        &c,
        "GET",
        &format!("{CMS}?limit=2&continue={cont2}"),
        Value::Null,
    )
    .await;
    assert_eq!(code, 410, "{st}");
    assert_eq!(st["reason"], "Expired");
    assert!(st["message"]
        .as_str()
        .unwrap_or("")
        .starts_with("The provided continue parameter is too old"));
    // An exact list at a compacted revision is 410 too.
    let (code, st) = json(
        &c,
        "GET",
        &format!("{CMS}?resourceVersion={rv_old}&resourceVersionMatch=Exact"),
        Value::Null,
    )
    .await;
    assert_eq!(code, 410, "{st}");
    assert_eq!(
        st["message"],
        format!("too old resource version: {rv_old} ({now})")
    );
    // A watch from a compacted revision gets a 410 ERROR event.
    let (events, _) = watch_lines(
        &c,
        &format!("{CMS}?watch=true&resourceVersion={rv_old}"),
        Duration::from_secs(10),
        |evs| !evs.is_empty(),
    )
    .await;
    assert_eq!(events[0]["type"], "ERROR", "{events:?}");
    assert_eq!(events[0]["object"]["code"], 410);
    assert_eq!(events[0]["object"]["reason"], "Expired");
    t.server.shutdown().await;
}
