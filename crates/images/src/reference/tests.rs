//! Table tests of reference parsing; the cases are those of `distribution/reference`'s
//! `normalize_test.go` (valid and invalid names, repository info, `ParseDockerRef`).

use super::*;

const DIGEST: &str = "sha256:e6693c20186f837fc393390135d8a598a96a833917917789d63766cab6c59582";

#[test]
fn accepts_upstreams_valid_names() {
    for name in [
        "docker/docker",
        "library/debian",
        "debian",
        "localhost/library/debian",
        "localhost/debian",
        "LOCALDOMAIN/library/debian",
        "LOCALDOMAIN/debian",
        "docker.io/docker/docker",
        "docker.io/library/debian",
        "docker.io/debian",
        "index.docker.io/docker/docker",
        "index.docker.io/library/debian",
        "index.docker.io/debian",
        "127.0.0.1:5000/docker/docker",
        "127.0.0.1:5000/library/debian",
        "127.0.0.1:5000/debian",
        "192.168.0.1",
        "192.168.0.1:80",
        "192.168.0.1:8/debian",
        "192.168.0.2:25000/debian",
        "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
        "[fc00::1]:5000/docker",
        "[fc00::1]:5000/docker/docker",
        "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
        "docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
        "Docker/docker",
        "DOCKER/docker",
        // Remote names.
        "docker-rules/docker",
        "docker---rules/docker",
        "doc/docker",
        "d/docker",
        "jess/t",
        "dock__er/docker",
    ] {
        assert!(Reference::parse(name).is_ok(), "{name} should be valid");
    }
}

#[test]
fn rejects_upstreams_invalid_names() {
    let long_namespace = format!("{}/docker", "this_is_not_a_valid_namespace".repeat(9));
    let mut names = vec![
        "",
        "https://github.com/docker/docker",
        "docker/Docker",
        "-docker",
        "-docker/docker",
        "-docker.io/docker/docker",
        "docker///docker",
        "docker.io/docker/Docker",
        "docker.io/docker///docker",
        "[fc00::1]",
        "[fc00::1]:5000",
        "fc00::1:5000/debian",
        "[fe80::1%eth0]:5000/debian",
        "[2001:db8:3:4::192.0.2.33]:5000/debian",
        "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
        // Remote names.
        "docker-/docker",
        "-docker-/docker",
        "____/____",
        "_docker/_docker",
        "dock..er/docker",
        "dock_.er/docker",
        "dock-.er/docker",
        "docker/",
        // Tags and digests.
        "busybox:-x",
        "a:b:c",
        "busybox@sha256:abc",
        "busybox@md5:d41d8cd98f00b204e9800998ecf8427e",
    ];
    names.push(&long_namespace);
    for name in names {
        assert!(
            Reference::parse(name).is_err(),
            "{name:?} should be invalid"
        );
    }
}

#[test]
fn splits_registry_and_repository_like_upstream() {
    // (input, registry, repository): upstream's TestNormalizedSplitHostname.
    for (input, registry, repository) in [
        ("test.com/foo", "test.com", "foo"),
        ("test_com/foo", "docker.io", "test_com/foo"),
        ("docker/migrator", "docker.io", "docker/migrator"),
        ("test.com:8080/foo", "test.com:8080", "foo"),
        ("test-com:8080/foo", "test-com:8080", "foo"),
        ("foo", "docker.io", "library/foo"),
        ("xn--n3h.com/foo", "xn--n3h.com", "foo"),
        ("xn--n3h.com:18080/foo", "xn--n3h.com:18080", "foo"),
        ("docker.io/foo", "docker.io", "library/foo"),
        ("docker.io/library/foo", "docker.io", "library/foo"),
        ("docker.io/library/foo/bar", "docker.io", "library/foo/bar"),
    ] {
        let r = Reference::parse(input).unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str()),
            (registry, repository),
            "{input}"
        );
    }
}

#[test]
fn familiar_full_and_ambiguous_names_agree() {
    // (full name, its other spellings): upstream's TestParseRepositoryInfo.
    for (full, others) in [
        (
            "docker.io/fooo/bar",
            &["fooo/bar", "index.docker.io/fooo/bar"][..],
        ),
        ("docker.io/library/ubuntu", &["ubuntu", "library/ubuntu"]),
        ("docker.io/nonlibrary/ubuntu", &["nonlibrary/ubuntu"]),
        ("docker.io/other/library", &["other/library"]),
        ("127.0.0.1:8000/private/moonbase", &[]),
        ("127.0.0.1:8000/privatebase", &[]),
        ("example.com/private/moonbase", &[]),
        ("example.com:8000/privatebasee", &[]),
        (
            "docker.io/library/ubuntu-12.04-base",
            &[
                "ubuntu-12.04-base",
                "index.docker.io/library/ubuntu-12.04-base",
            ],
        ),
        ("docker.io/library/foo", &["foo", "docker.io/foo"]),
        ("docker.io/library/foo/bar", &["library/foo/bar"]),
        ("docker.io/store/foo/bar", &["store/foo/bar"]),
        ("Foo/bar", &[]),
        ("FOO/bar", &[]),
    ] {
        for spelling in others.iter().copied().chain([full]) {
            assert_eq!(
                Reference::parse(spelling).unwrap().name(),
                full,
                "{spelling}"
            );
        }
    }
    let foo = Reference::parse("Foo/bar").unwrap();
    assert_eq!(
        (foo.registry.as_str(), foo.repository.as_str()),
        ("Foo", "bar")
    );
}

#[test]
fn normalises_like_parse_docker_ref() {
    // upstream's TestParseDockerRef, plus the digest-pinned forms.
    let digest_ref = format!("docker.io/library/busybox@{DIGEST}");
    let cases = [
        (
            "busybox".to_string(),
            "docker.io/library/busybox:latest".to_string(),
        ),
        (
            "busybox:latest".into(),
            "docker.io/library/busybox:latest".into(),
        ),
        (format!("busybox@{DIGEST}"), digest_ref.clone()),
        (
            "library/busybox".into(),
            "docker.io/library/busybox:latest".into(),
        ),
        (
            "docker.io/busybox".into(),
            "docker.io/library/busybox:latest".into(),
        ),
        (
            "docker.io/library/busybox".into(),
            "docker.io/library/busybox:latest".into(),
        ),
        (
            "docker.io/busybox:latest".into(),
            "docker.io/library/busybox:latest".into(),
        ),
        (
            "library/busybox:latest".into(),
            "docker.io/library/busybox:latest".into(),
        ),
        (
            "docker.io/library/busybox:latest".into(),
            "docker.io/library/busybox:latest".into(),
        ),
        (
            "gcr.io/library/busybox".into(),
            "gcr.io/library/busybox:latest".into(),
        ),
        (
            format!("gcr.io/library/busybox:latest@{DIGEST}"),
            format!("gcr.io/library/busybox@{DIGEST}"),
        ),
        (format!("busybox:latest@{DIGEST}"), digest_ref),
        (
            "busybox:1.36".into(),
            "docker.io/library/busybox:1.36".into(),
        ),
        ("rancher/k3s:v1".into(), "docker.io/rancher/k3s:v1".into()),
        (
            "index.docker.io/library/nginx".into(),
            "docker.io/library/nginx:latest".into(),
        ),
        ("localhost/foo".into(), "localhost/foo:latest".into()),
        ("127.0.0.1:5000/a/b:c".into(), "127.0.0.1:5000/a/b:c".into()),
        ("127.0.0.1:5000/x".into(), "127.0.0.1:5000/x:latest".into()),
        (
            "[fc00::1]:5000/docker".into(),
            "[fc00::1]:5000/docker:latest".into(),
        ),
        (
            "192.168.0.1:80".into(),
            "docker.io/library/192.168.0.1:80".into(),
        ),
        (
            "gcr.io/google-samples/kubernetes-bootcamp:v1".into(),
            "gcr.io/google-samples/kubernetes-bootcamp:v1".into(),
        ),
    ];
    for (input, want) in cases {
        assert_eq!(normalize_reference(&input).unwrap(), want, "{input}");
    }
}

#[test]
fn a_digest_is_what_the_registry_is_asked_for() {
    let pinned = Reference::parse(&format!("busybox:1@{DIGEST}")).unwrap();
    assert_eq!((pinned.object(), pinned.tagged()), (DIGEST, None));
    let tagged = Reference::parse("busybox:1").unwrap();
    assert_eq!(tagged.object(), "1");
    assert_eq!(
        tagged.tagged().as_deref(),
        Some("docker.io/library/busybox:1")
    );
    assert!(is_digest(DIGEST));
    assert!(!is_digest(&DIGEST.to_uppercase()));
}
