//! Fetch without unpack against a real docker-registry: blobs verified and stored, no image
//! listed; a later pull unpacks the fetched blobs without downloading them (registry stopped, or
//! serving corrupt bytes); a tampered blob fails the fetch and commits nothing; remove collects.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use skiff_images::{ImageError, PullProgress};

/// Pushes a two-layer image, returning (its layers' blob digests, diff_ids).
async fn push_two_layers(reg: &Registry, repo: &str) -> (Vec<String>, Vec<String>) {
    let big: String = (0..40_000).map(|i| format!("line {i}\n")).collect();
    let layers = [
        Layer::gz(Tar::new().dir("etc").file("etc/big", &big).finish()),
        Layer::gz(Tar::new().exe("hello", "#!/bin/sh\necho hi\n").finish()),
    ];
    let digests = layers.iter().map(|l| sha(&l.blob)).collect();
    let diff_ids = layers.iter().map(|l| l.diff_id.clone()).collect();
    Pusher::new(reg).image(repo, "1", &layers).await;
    (digests, diff_ids)
}

fn blob_path(d: &std::path::Path, digest: &str) -> std::path::PathBuf {
    d.join("content/blobs/sha256").join(&digest[7..])
}

fn kill(reg: &Registry) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(reg.pid),
        nix::sys::signal::Signal::SIGKILL,
    );
    let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(reg.pid), None);
}

#[tokio::test]
async fn fetch_stores_verified_blobs_and_pull_unpacks_them_with_registry_gone() {
    let reg = Registry::start(None);
    let (digests, diff_ids) = push_two_layers(&reg, "fetch/img").await;
    let reference = format!("{}/fetch/img:1", reg.host());
    let (d, store) = store("");
    let events: Arc<Mutex<Vec<PullProgress>>> = Arc::default();
    let sink = Arc::clone(&events);
    let fetched = store
        .fetch(
            &reference,
            None,
            Some(Arc::new(move |p| sink.lock().unwrap().push(p))),
        )
        .await
        .unwrap();
    assert_eq!(fetched.diff_ids, diff_ids);
    let done: Vec<String> = events
        .lock()
        .unwrap()
        .iter()
        .filter(|p| p.done)
        .map(|p| p.layer.clone())
        .collect();
    assert_eq!(done.len(), 2, "one done event per layer: {done:?}");
    for digest in digests.iter().chain([&fetched.id]) {
        assert!(blob_path(d.path(), digest).is_file(), "{digest} stored");
    }
    // Content only: no image listed, no layer unpacked, nothing left in ingest.
    assert!(store.list().is_empty());
    assert!(store.get(&reference).is_none());
    assert!(store.get(&fetched.id).is_none());
    assert!(tree(&d.path().join("content/layers")).is_empty());
    assert!(tree(&d.path().join("content/ingest")).is_empty());

    // Fetching again is a no-op that still succeeds.
    store.fetch(&reference, None, None).await.unwrap();
    assert!(store.list().is_empty());

    // A reopened store (restarted agent) still knows the fetched content; the registry is gone,
    // so the pull can only succeed by unpacking the local blobs.
    kill(&reg);
    drop(store);
    let store =
        skiff_images::ImageStore::open(&d.path().join("content"), Default::default()).unwrap();
    let image = store.pull(&reference, None, None).await.unwrap();
    assert_eq!(image.id, fetched.id);
    assert_eq!(store.list().len(), 1);
    let paths = store.layer_paths(&image);
    assert_eq!(
        std::fs::read_to_string(paths[1].join("hello")).unwrap(),
        "#!/bin/sh\necho hi\n"
    );
    assert!(paths[0].join("etc/big").is_file());
    // The fetched record became the image: removing it collects everything.
    store.remove(&reference).await.unwrap();
    assert!(tree(&d.path().join("content/blobs/sha256")).is_empty());
    assert!(tree(&d.path().join("content/layers")).is_empty());
}

#[tokio::test]
async fn pull_after_fetch_does_not_download_layers_again() {
    let reg = Registry::start(None);
    let (digests, _) = push_two_layers(&reg, "fetch/reuse").await;
    let reference = format!("{}/fetch/reuse:1", reg.host());
    let (d, store) = store("");
    store.fetch(&reference, None, None).await.unwrap();
    // The registry now serves garbage for both layers: a download would fail its digest check.
    for digest in &digests {
        let len = std::fs::metadata(reg.blob_file(digest)).unwrap().len() as usize;
        std::fs::write(reg.blob_file(digest), vec![0x1f; len]).unwrap();
    }
    let image = store.pull(&reference, None, None).await.unwrap();
    assert_eq!(store.list().len(), 1);
    assert!(store.layer_paths(&image).iter().all(|p| p.is_dir()));
    for digest in &digests {
        assert!(blob_path(d.path(), digest).is_file());
    }
}

#[tokio::test]
async fn fetch_of_tampered_blob_fails_and_commits_nothing() {
    let reg = Registry::start(None);
    let (digests, _) = push_two_layers(&reg, "fetch/tamper").await;
    let mut tampered = std::fs::read(reg.blob_file(&digests[0])).unwrap();
    // Another gzip header mtime: same length, same tar inside, but another blob digest.
    tampered[4] ^= 0x5a;
    std::fs::write(reg.blob_file(&digests[0]), &tampered).unwrap();
    let reference = format!("{}/fetch/tamper:1", reg.host());
    let (d, store) = store("");
    let err = store.fetch(&reference, None, None).await.unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("digest mismatch") && msg.contains(&digests[0]),
        "{msg}"
    );
    assert!(!blob_path(d.path(), &digests[0]).exists());
    assert!(tree(&d.path().join("content/ingest")).is_empty());
    assert!(tree(&d.path().join("content/layers")).is_empty());
    assert!(store.list().is_empty());
    // Nothing was recorded for the reference.
    assert!(matches!(
        store.remove(&reference).await,
        Err(ImageError::NotFound(_))
    ));
}

#[tokio::test]
async fn remove_drops_fetched_content() {
    let reg = Registry::start(None);
    push_two_layers(&reg, "fetch/rm").await;
    let reference = format!("{}/fetch/rm:1", reg.host());
    let (d, store) = store("");
    let fetched = store.fetch(&reference, None, None).await.unwrap();
    let blobs = d.path().join("content/blobs/sha256");
    assert!(!tree(&blobs).is_empty());
    // Removing another image collects garbage but spares the fetched blobs.
    push_two_layers(&reg, "fetch/other").await;
    let other = format!("{}/fetch/other:1", reg.host());
    store.pull(&other, None, None).await.unwrap();
    store.remove(&other).await.unwrap();
    assert!(blob_path(d.path(), &fetched.id).is_file());
    // By id as well as by reference.
    store.remove(&fetched.id).await.unwrap();
    assert!(tree(&blobs).is_empty(), "{:?}", tree(&blobs));
    assert!(matches!(
        store.remove(&reference).await,
        Err(ImageError::NotFound(_))
    ));
}
