//! Pulls from a real docker-registry: mirrors, manifests/indexes, whiteouts, zstd, auth, hostile
//! and corrupt content, dedup and garbage collection.

mod common;

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::sync::{Arc, Mutex};

use common::*;
use skiff_images::{ImageError, PullProgress, RegistryAuth};

fn mirror_yaml(reg: &Registry, upstream: &str) -> String {
    format!(
        "mirrors:\n  \"{upstream}\":\n    endpoint: [\"http://{}\"]\n",
        reg.host()
    )
}

#[tokio::test]
async fn pull_bootcamp_via_gcr_mirror() {
    let reg = Registry::start(None);
    let root = repo_root();
    let work = tempfile::tempdir().unwrap();
    let archive = work.path().join("bootcamp.tar");
    let st = std::process::Command::new(root.join("examples/bootcamp/build-image.sh"))
        .arg(&archive)
        .arg("v1")
        .status()
        .unwrap();
    assert!(st.success());
    let st = std::process::Command::new(root.join("tests/fixtures/push-image.sh"))
        .arg(&archive)
        .arg(reg.host())
        .arg("google-samples/kubernetes-bootcamp:v1")
        .status()
        .unwrap();
    assert!(st.success());

    // An unreachable first mirror endpoint must be skipped.
    let yaml = format!(
        "mirrors:\n  gcr.io:\n    endpoint: [\"http://127.0.0.1:{}\", \"http://{}\"]\n",
        free_port(),
        reg.host()
    );
    let (dir, store) = store(&yaml);
    let seen: Arc<Mutex<Vec<PullProgress>>> = Arc::default();
    let s2 = Arc::clone(&seen);
    let progress: skiff_images::ProgressFn = Arc::new(move |p| s2.lock().unwrap().push(p));
    let img = store
        .pull(
            "gcr.io/google-samples/kubernetes-bootcamp:v1",
            None,
            Some(progress),
        )
        .await
        .unwrap();
    assert_eq!(
        img.repo_tags,
        vec!["gcr.io/google-samples/kubernetes-bootcamp:v1"]
    );
    assert_eq!(img.config.cmd, vec!["/app/bootcamp"]);
    assert_eq!(img.config.working_dir, "/app");
    assert_eq!(img.config.exposed_ports, vec!["8080/tcp"]);
    assert_eq!(img.diff_ids.len(), 2);
    assert!(img.repo_digests[0].starts_with("gcr.io/google-samples/kubernetes-bootcamp@sha256:"));
    let done: Vec<_> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|p| p.done)
        .map(|p| p.layer.clone())
        .collect();
    assert_eq!(done.len(), 2, "one done event per layer");

    let paths = store.layer_paths(&img);
    assert!(paths[0].join("bin/busybox").is_file());
    assert!(paths[0].join("bin/bash").is_file());
    assert_eq!(
        std::fs::read_link(paths[0].join("bin/sh"))
            .unwrap()
            .to_str(),
        Some("busybox")
    );
    assert!(paths[1].join("app/bootcamp").metadata().unwrap().mode() & 0o111 != 0);
    assert!(paths[1].join("app/server.rs").is_file());
    assert_eq!(
        std::fs::read_link(paths[1].join("usr/bin/curl"))
            .unwrap()
            .to_str(),
        Some("/app/bootcamp")
    );

    // Lookups by every accepted form.
    for key in [
        "gcr.io/google-samples/kubernetes-bootcamp:v1".to_string(),
        img.id.clone(),
        img.id[7..19].to_string(),
        img.repo_digests[0].clone(),
    ] {
        assert_eq!(store.get(&key).map(|i| i.id), Some(img.id.clone()), "{key}");
    }
    assert!(store.fs_usage().used_bytes > 1_000_000);

    // A restarted store sees the image.
    drop(store);
    let again =
        skiff_images::ImageStore::open(&dir.path().join("content"), Default::default()).unwrap();
    assert_eq!(again.list(), vec![img]);
}

#[tokio::test]
async fn whiteouts_and_opaque_dirs_give_overlay_semantics() {
    let reg = Registry::start(None);
    let push = Pusher::new(&reg);
    let l1 = Layer::gz(
        Tar::new()
            .dir("a/")
            .file("a/file1", "1")
            .file("a/file2", "2")
            .dir("b/")
            .file("b/x", "x")
            .dir("c/")
            .file("c/keep", "k")
            .finish(),
    );
    let l2 = Layer::gz(
        Tar::new()
            .file("a/.wh.file1", "")
            .file(".wh.b", "")
            .dir("c/")
            .file("c/.wh..wh..opq", "")
            .file("c/new", "n")
            .file(".wh.ghost", "")
            .file("ghost", "same layer wins")
            .finish(),
    );
    push.image("wh/test", "1", &[l1, l2]).await;
    let (_d, store) = store("");
    let img = store
        .pull(&format!("{}/wh/test:1", reg.host()), None, None)
        .await
        .unwrap();
    let paths = store.layer_paths(&img);
    let top = &paths[1];
    let wb = std::fs::symlink_metadata(top.join("b")).unwrap();
    assert!(
        wb.file_type().is_char_device() && wb.rdev() == 0,
        "b is a whiteout"
    );
    assert!(std::fs::symlink_metadata(top.join("a/file1"))
        .unwrap()
        .file_type()
        .is_char_device());
    assert_eq!(
        xattr::get(top.join("c"), "trusted.overlay.opaque")
            .unwrap()
            .as_deref(),
        Some(&b"y"[..])
    );
    assert_eq!(
        std::fs::read_to_string(top.join("ghost")).unwrap(),
        "same layer wins"
    );

    // Mount the layers as overlay lowers and look at the merged view.
    let mnt = tempfile::tempdir().unwrap();
    let lower = format!("lowerdir={}:{}", paths[1].display(), paths[0].display());
    nix::mount::mount(
        Some("overlay"),
        mnt.path(),
        Some("overlay"),
        nix::mount::MsFlags::MS_RDONLY,
        Some(lower.as_str()),
    )
    .unwrap();
    let merged = tree(mnt.path());
    let _ = nix::mount::umount2(mnt.path(), nix::mount::MntFlags::MNT_DETACH);
    assert_eq!(merged, vec!["a", "a/file2", "c", "c/new", "ghost"]);
}

#[tokio::test]
async fn zstd_layer_and_docker_schema2_manifest() {
    let reg = Registry::start(None);
    let push = Pusher::new(&reg);
    let z = [Layer::zst(Tar::new().file("etc/zstd", "zstd!").finish())];
    push.image("z/img", "1", &z).await;
    let g = [Layer::gz(Tar::new().file("etc/docker", "docker!").finish())];
    push.image_with("d/img", "1", &g, &config_json(&g, "amd64", &["x"]), true)
        .await;
    let (_d, store) = store("");
    let zi = store
        .pull(&format!("{}/z/img:1", reg.host()), None, None)
        .await
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(store.layer_paths(&zi)[0].join("etc/zstd")).unwrap(),
        "zstd!"
    );
    let di = store
        .pull(&format!("{}/d/img:1", reg.host()), None, None)
        .await
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(store.layer_paths(&di)[0].join("etc/docker")).unwrap(),
        "docker!"
    );
    assert_eq!(di.config.cmd, vec!["x"]);
}

#[tokio::test]
async fn index_with_several_platforms_picks_linux_amd64() {
    let reg = Registry::start(None);
    let push = Pusher::new(&reg);
    let mut entries = Vec::new();
    for arch in ["arm64", "amd64", "s390x"] {
        let l = [Layer::gz(Tar::new().file("arch", arch).finish())];
        let (d, m) = push
            .image_with("multi/img", arch, &l, &config_json(&l, arch, &["x"]), false)
            .await;
        entries.push(
            serde_json::json!({"mediaType": OCI_MANIFEST, "digest": d, "size": m.len(),
            "platform": {"architecture": arch, "os": "linux"}}),
        );
    }
    let idx = serde_json::to_vec(
        &serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}),
    )
    .unwrap();
    let idx_digest = push.manifest("multi/img", "latest", OCI_INDEX, &idx).await;
    let (_d, store) = store("");
    let img = store
        .pull(&format!("{}/multi/img", reg.host()), None, None)
        .await
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(store.layer_paths(&img)[0].join("arch")).unwrap(),
        "amd64"
    );
    assert_eq!(
        img.repo_digests,
        vec![format!("{}/multi/img@{idx_digest}", reg.host())]
    );
    // Pull by the index digest too.
    let by_digest = store
        .pull(
            &format!("{}/multi/img@{idx_digest}", reg.host()),
            None,
            None,
        )
        .await
        .unwrap();
    assert_eq!(by_digest.id, img.id);
}

#[tokio::test]
async fn basic_auth_from_registries_yaml_and_from_caller() {
    let work = tempfile::tempdir().unwrap();
    let hash = std::process::Command::new("python3")
        .args(["-W", "ignore", "-c", "import crypt;print(crypt.crypt('s3cret', crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))"])
        .output()
        .unwrap();
    let htpasswd = work.path().join("htpasswd");
    std::fs::write(
        &htpasswd,
        format!("alice:{}", String::from_utf8_lossy(&hash.stdout).trim()),
    )
    .unwrap();
    let reg = Registry::start(Some(&htpasswd));
    let mut push = Pusher::new(&reg);
    push.auth = Some(("alice".into(), "s3cret".into()));
    push.image(
        "private/img",
        "1",
        &[Layer::gz(Tar::new().file("secret", "s").finish())],
    )
    .await;
    let reference = format!("{}/private/img:1", reg.host());

    let (_d, anon) = store("");
    let err = anon.pull(&reference, None, None).await.unwrap_err();
    assert!(err.to_string().contains("unauthorized"), "{err}");
    let wrong = RegistryAuth {
        username: "alice".into(),
        password: "nope".into(),
    };
    assert!(anon.pull(&reference, Some(wrong), None).await.is_err());
    let right = RegistryAuth {
        username: "alice".into(),
        password: "s3cret".into(),
    };
    anon.pull(&reference, Some(right), None).await.unwrap();

    let yaml = format!(
        "configs:\n  \"{}\":\n    auth:\n      username: alice\n      password: s3cret\n",
        reg.host()
    );
    let (_d2, configured) = store(&yaml);
    configured.pull(&reference, None, None).await.unwrap();
}

#[tokio::test]
async fn corrupt_blob_is_rejected_by_digest() {
    let reg = Registry::start(None);
    let push = Pusher::new(&reg);
    let l = Layer::gz(Tar::new().file("f", "original content").finish());
    let blob_digest = sha(&l.blob);
    let len = l.blob.len();
    push.image("bad/img", "1", &[l]).await;
    // Same length, different bytes: only a digest check can tell.
    std::fs::write(reg.blob_file(&blob_digest), vec![0x1f; len]).unwrap();
    let (d, store) = store("");
    let err = store
        .pull(&format!("{}/bad/img:1", reg.host()), None, None)
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("digest mismatch") && msg.contains(&blob_digest),
        "{msg}"
    );
    assert!(store.list().is_empty());
    let content = d.path().join("content");
    assert!(!content
        .join("blobs/sha256")
        .join(&blob_digest[7..])
        .exists());
    assert!(tree(&content.join("ingest")).is_empty());
}

#[tokio::test]
async fn streamed_layer_with_wrong_digest_commits_nothing() {
    let reg = Registry::start(None);
    let push = Pusher::new(&reg);
    let big: String = (0..50_000).map(|i| format!("line {i}\n")).collect();
    let l = Layer::gz(Tar::new().dir("etc").file("etc/big", &big).finish());
    let blob_digest = sha(&l.blob);
    let mut tampered = l.blob.clone();
    push.image("tamper/img", "1", &[l]).await;
    // Another gzip header mtime: same length, same tar inside (so the unpack and the diff_id
    // check succeed while streaming), but the blob no longer hashes to its digest.
    tampered[4] ^= 0x5a;
    std::fs::write(reg.blob_file(&blob_digest), &tampered).unwrap();
    let (d, store) = store("");
    let err = store
        .pull(&format!("{}/tamper/img:1", reg.host()), None, None)
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("digest mismatch") && msg.contains(&blob_digest),
        "{msg}"
    );
    assert!(store.list().is_empty());
    let content = d.path().join("content");
    assert!(
        tree(&content.join("layers")).is_empty(),
        "no layer, no staging dir"
    );
    assert!(!content
        .join("blobs/sha256")
        .join(&blob_digest[7..])
        .exists());
    assert!(tree(&content.join("ingest")).is_empty());
}

#[tokio::test]
async fn hostile_layers_are_rejected_and_host_untouched() {
    let reg = Registry::start(None);
    let push = Pusher::new(&reg);
    let outside = tempfile::tempdir().unwrap();
    let o = outside.path().display().to_string();
    let rel_escape = format!("../../../../../../../../..{o}/dotdot");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "dotdot",
            Tar::new().file(&rel_escape, "x").finish(),
            "escapes the layer root",
        ),
        (
            "absolute",
            Tar::new().file(&format!("{o}/abs"), "x").finish(),
            "absolute path",
        ),
        (
            "symlink",
            Tar::new()
                .symlink("lnk", &o)
                .file("lnk/pwned", "x")
                .finish(),
            "is a symlink",
        ),
        (
            "hardlink",
            Tar::new().hardlink("passwd", "/etc/passwd").finish(),
            "hard link target",
        ),
        (
            "hardlink-dotdot",
            Tar::new()
                .hardlink("passwd", "../../../../../../etc/passwd")
                .finish(),
            "hard link target",
        ),
        (
            "device",
            Tar::new().chardev("dev/mem").finish(),
            "device nodes are not allowed",
        ),
    ];
    let (d, store) = store("");
    for (name, tar, want) in cases {
        push.image(&format!("evil/{name}"), "1", &[Layer::gz(tar)])
            .await;
        let err = store
            .pull(&format!("{}/evil/{name}:1", reg.host()), None, None)
            .await
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(want) && msg.contains("entry"), "{name}: {msg}");
        assert!(matches!(err, ImageError::Pull { .. }), "{name}");
    }
    assert!(tree(outside.path()).is_empty(), "nothing written outside");
    assert!(store.list().is_empty());
    assert!(
        tree(&d.path().join("content/layers")).is_empty(),
        "no layer dirs, no temp dirs"
    );
}

#[tokio::test]
async fn truncated_gzip_fails_cleanly() {
    let reg = Registry::start(None);
    let push = Pusher::new(&reg);
    let big: String = (0..20_000).map(|i| format!("line {i}\n")).collect();
    let good = Layer::gz(Tar::new().file("big", &big).finish());
    let cut = Layer {
        blob: good.blob[..good.blob.len() / 2].to_vec(),
        ..good
    };
    let cut_digest = sha(&cut.blob);
    push.image("trunc/img", "1", &[cut]).await;
    let (d, store) = store("");
    let err = store
        .pull(&format!("{}/trunc/img:1", reg.host()), None, None)
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(&cut_digest) && msg.contains("layer"), "{msg}");
    assert!(store.list().is_empty());
    assert!(tree(&d.path().join("content/layers")).is_empty());
    // The store still works.
    push.image(
        "ok/img",
        "1",
        &[Layer::gz(Tar::new().file("f", "ok").finish())],
    )
    .await;
    store
        .pull(&format!("{}/ok/img:1", reg.host()), None, None)
        .await
        .unwrap();
}

#[tokio::test]
async fn shared_layers_dedup_and_remove_collects_garbage() {
    let reg = Registry::start(None);
    let push = Pusher::new(&reg);
    let base = || Layer::gz(Tar::new().file("base", "shared").finish());
    push.image(
        "dedup/a",
        "1",
        &[base(), Layer::gz(Tar::new().file("a", "a").finish())],
    )
    .await;
    push.image(
        "dedup/b",
        "1",
        &[base(), Layer::gz(Tar::new().file("b", "b").finish())],
    )
    .await;
    let (d, store) = store(&mirror_yaml(&reg, "example.com"));
    // Concurrent pulls of one reference are coalesced and agree.
    let pulls = (0..4).map(|_| store.pull("example.com/dedup/a:1", None, None));
    let results = futures::future::join_all(pulls).await;
    let a = results.into_iter().map(Result::unwrap).collect::<Vec<_>>();
    assert!(a.iter().all(|i| i.id == a[0].id));
    let b = store
        .pull("example.com/dedup/b:1", None, None)
        .await
        .unwrap();
    let layers = d.path().join("content/layers");
    assert_eq!(
        std::fs::read_dir(&layers).unwrap().count(),
        3,
        "base layer unpacked once"
    );
    assert_eq!(store.layer_paths(&a[0])[0], store.layer_paths(&b)[0]);

    store.remove("example.com/dedup/a:1").await.unwrap();
    assert!(store.get("example.com/dedup/a:1").is_none());
    assert_eq!(std::fs::read_dir(&layers).unwrap().count(), 2);
    assert!(store.layer_paths(&b).iter().all(|p| p.is_dir()));
    store.remove(&b.id).await.unwrap();
    assert_eq!(std::fs::read_dir(&layers).unwrap().count(), 0);
    assert_eq!(
        std::fs::read_dir(d.path().join("content/blobs/sha256"))
            .unwrap()
            .count(),
        0
    );
    assert!(matches!(
        store.remove("example.com/dedup/a:1").await,
        Err(ImageError::NotFound(_))
    ));
}

#[tokio::test]
async fn mirror_rewrite_then_upstream_fallback() {
    let mirror = Registry::start(None);
    let upstream = Registry::start(None);
    let mp = Pusher::new(&mirror);
    mp.image(
        "mirrored/busybox",
        "latest",
        &[Layer::gz(Tar::new().file("from", "mirror").finish())],
    )
    .await;
    let up = Pusher::new(&upstream);
    up.image(
        "only/upstream",
        "1",
        &[Layer::gz(Tar::new().file("from", "upstream").finish())],
    )
    .await;
    // docker.io names go to the mirror with a rewrite; the upstream registry is mirrored by an
    // endpoint that lacks the image, so the registry itself must be tried last.
    let yaml = format!(
        "mirrors:\n  docker.io:\n    endpoint: [\"http://{m}\"]\n    rewrite:\n      \"^library/(.*)\": \"mirrored/$1\"\n  \"{u}\":\n    endpoint: [\"http://{m}\"]\n",
        m = mirror.host(),
        u = upstream.host()
    );
    let (_d, store) = store(&yaml);
    let bb = store.pull("busybox", None, None).await.unwrap();
    assert_eq!(bb.repo_tags, vec!["docker.io/library/busybox:latest"]);
    assert_eq!(
        std::fs::read_to_string(store.layer_paths(&bb)[0].join("from")).unwrap(),
        "mirror"
    );
    let u = store
        .pull(&format!("{}/only/upstream:1", upstream.host()), None, None)
        .await
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(store.layer_paths(&u)[0].join("from")).unwrap(),
        "upstream"
    );
}
