//! Acknowledged writes survive `kill -9` of the writing process.
//!
//! The test re-executes its own binary as the writer child (selected by an
//! environment variable), reads the keys the child prints after each
//! acknowledged create, kills it with SIGKILL mid-stream, reopens the store
//! and checks every acknowledged key is there with its value.
#![allow(clippy::unwrap_used, missing_docs)] // test code: a failed unwrap is a failed test

use skiff_store::{SqliteOptions, SqliteStore, Store};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const CHILD_DB: &str = "SKIFF_STORE_TEST_CHILD_DB";
const CHILD_FULL: &str = "SKIFF_STORE_TEST_CHILD_FULL";

/// The child: writes forever from 8 concurrent tasks, printing `ACK key rev`
/// after each acknowledged create. Does nothing in a normal test run.
#[test]
fn child_writer_process() {
    let Ok(db) = std::env::var(CHILD_DB) else {
        return;
    };
    let full = std::env::var(CHILD_FULL).is_ok_and(|v| v == "1");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async move {
        let opts = SqliteOptions {
            synchronous_full: full,
            ..SqliteOptions::default()
        };
        let store = std::sync::Arc::new(SqliteStore::open_with(db.as_ref(), opts).unwrap());
        let mut tasks = Vec::new();
        for t in 0..8 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0u64.. {
                    let key = format!("/durable/{t}/{i}");
                    let kv = store.create(&key, key.as_bytes().to_vec()).await.unwrap();
                    println!("ACK {key} {}", kv.mod_revision);
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
}

fn kill_mid_stream_and_check(full: bool) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "child_writer_process",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DB, &db)
        .env(CHILD_FULL, if full { "1" } else { "0" })
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut acked: Vec<(String, i64)> = Vec::new();
    while acked.len() < 400 {
        let line = lines.next().expect("child ended early").unwrap();
        if let Some(rest) = line.strip_prefix("ACK ") {
            let (key, rev) = rest.split_once(' ').unwrap();
            acked.push((key.to_owned(), rev.parse().unwrap()));
        }
    }
    // SIGKILL while the child keeps writing.
    child.kill().unwrap();
    // Lines already written before the kill were acknowledged too.
    for line in lines {
        let Ok(line) = line else { break };
        if let Some(rest) = line.strip_prefix("ACK ") {
            if let Some((key, rev)) = rest.split_once(' ') {
                if let Ok(rev) = rev.parse() {
                    acked.push((key.to_owned(), rev));
                }
            }
        }
    }
    child.wait().unwrap();

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = SqliteStore::open(&db).unwrap();
        let head = store.current_revision().await.unwrap();
        for (key, rev) in &acked {
            let kv = store
                .get(key, None)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("acknowledged key {key} (revision {rev}) lost"));
            assert_eq!(kv.mod_revision, *rev);
            assert_eq!(kv.value, key.as_bytes());
            assert!(*rev <= head);
        }
        // The store keeps working after the crash.
        store.create("/after-crash", vec![]).await.unwrap();
    });
    assert!(acked.len() >= 400);
    eprintln!(
        "checked {} acknowledged keys after SIGKILL (full={full})",
        acked.len()
    );
}

#[test]
fn acknowledged_writes_survive_kill9_synchronous_normal() {
    if std::env::var(CHILD_DB).is_ok() {
        return;
    }
    kill_mid_stream_and_check(false);
}

#[test]
fn acknowledged_writes_survive_kill9_synchronous_full() {
    if std::env::var(CHILD_DB).is_ok() {
        return;
    }
    kill_mid_stream_and_check(true);
}
