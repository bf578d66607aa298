//! Air-gap import of OCI archives (the bootcamp image) and docker-save tars.
#![allow(clippy::unwrap_used, missing_docs)] // test code: a failed unwrap is a failed test

mod common;

use std::io::Write;

use common::*;

fn tar_of(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, &data[..]).unwrap();
    }
    b.into_inner().unwrap()
}

#[tokio::test]
async fn imports_oci_archive_of_bootcamp() {
    let work = tempfile::tempdir().unwrap();
    let archive = work.path().join("bootcamp-v2.tar");
    let st = std::process::Command::new(repo_root().join("examples/bootcamp/build-image.sh"))
        .arg(&archive)
        .arg("v2")
        .status()
        .unwrap();
    assert!(st.success());
    let (_d, store) = store("");
    let images = store.import_archive(&archive).await.unwrap();
    assert_eq!(images.len(), 1);
    let img = &images[0];
    assert_eq!(
        img.repo_tags,
        vec!["gcr.io/google-samples/kubernetes-bootcamp:v2"]
    );
    assert_eq!(img.config.cmd, vec!["/app/bootcamp"]);
    let paths = store.layer_paths(img);
    assert!(paths[1].join("app/bootcamp").is_file());
    assert!(store
        .get("gcr.io/google-samples/kubernetes-bootcamp:v2")
        .is_some());
    // Importing again is idempotent.
    let again = store.import_archive(&archive).await.unwrap();
    assert_eq!(again[0].id, img.id);
    assert_eq!(store.list().len(), 1);
}

#[tokio::test]
async fn imports_docker_save_tar_and_a_directory() {
    let layer = Tar::new().file("etc/hello", "from docker save").finish();
    let diff_id = sha(&layer);
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["/bin/hello"], "Env": ["A=b"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]}
    }))
    .unwrap();
    let cfg_name = format!("{}.json", &sha(&config)[7..]);
    let manifest = serde_json::to_vec(&serde_json::json!([
        {"Config": cfg_name, "RepoTags": ["hello:test", "example.com/team/hello:1"], "Layers": ["abc123/layer.tar"]}
    ]))
    .unwrap();
    let archive = tar_of(&[
        ("abc123/VERSION", b"1.0".to_vec()),
        ("abc123/json", b"{}".to_vec()),
        ("abc123/layer.tar", layer),
        (&cfg_name, config),
        ("manifest.json", manifest),
        ("repositories", b"{}".to_vec()),
    ]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.tar"), &archive).unwrap();
    // A gzip-compressed copy and a broken file in the same directory.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&archive).unwrap();
    std::fs::write(dir.path().join("hello2.tar.gz"), gz.finish().unwrap()).unwrap();
    std::fs::write(dir.path().join("broken.tar"), b"not a tar at all").unwrap();

    let (_d, store) = store("");
    let img = store
        .import_archive(&dir.path().join("hello.tar"))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        img.repo_tags,
        vec!["docker.io/library/hello:test", "example.com/team/hello:1"]
    );
    assert_eq!(img.diff_ids, vec![diff_id]);
    assert_eq!(img.config.env, vec!["A=b"]);
    assert_eq!(
        std::fs::read_to_string(store.layer_paths(&img)[0].join("etc/hello")).unwrap(),
        "from docker save"
    );
    assert_eq!(store.get("hello:test").unwrap().id, img.id);

    let all = store.import_dir(dir.path()).await.unwrap();
    assert_eq!(all.len(), 2, "two good archives, the broken one skipped");
    assert!(all.iter().all(|i| i.id == img.id));
}

#[tokio::test]
async fn two_processes_share_the_index() {
    // The agent's store and `skiff image import` open the same root separately.
    let layer = Tar::new().file("x", "shared index").finish();
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": [sha(&layer)]}
    }))
    .unwrap();
    let manifest = serde_json::to_vec(&serde_json::json!([
        {"Config": "c.json", "RepoTags": ["shared:1"], "Layers": ["l/layer.tar"]}
    ]))
    .unwrap();
    let work = tempfile::tempdir().unwrap();
    let archive = work.path().join("shared.tar");
    std::fs::write(
        &archive,
        tar_of(&[
            ("l/layer.tar", layer),
            ("c.json", config),
            ("manifest.json", manifest),
        ]),
    )
    .unwrap();

    let (dir, agent) = store("");
    assert!(agent.get("shared:1").is_none());
    let cli =
        skiff_images::ImageStore::open(&dir.path().join("content"), Default::default()).unwrap();
    cli.import_archive(&archive).await.unwrap();
    let seen = agent.get("shared:1").expect("agent sees the CLI's import");
    assert!(agent.layer_paths(&seen)[0].join("x").is_file());
    agent.remove("shared:1").await.unwrap();
    assert!(cli.get("shared:1").is_none());
    assert!(cli.list().is_empty());
}
