//! Guards for the README's promise that both commands work on a fresh machine: everything the
//! build and the tests use must be brought by `scripts/install-deps.sh`, whose last step
//! (`scripts/check-deps.sh`) checks it. A package dropped from the list, or one that lacks a
//! part (protobuf-compiler without libprotobuf-dev), fails these tests.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn check_deps_finds_everything_the_build_and_tests_use() {
    let out = Command::new("bash")
        .arg(repo_root().join("scripts/check-deps.sh"))
        .output()
        .expect("run scripts/check-deps.sh");
    assert!(
        out.status.success(),
        "scripts/check-deps.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// etcd-client's build script compiles protos importing the well-known types with protoc's
/// default include path only: the check that would have caught issue 10.
#[test]
fn protoc_compiles_an_import_of_the_well_known_types() {
    let dir = tempfile::tempdir().expect("temp dir");
    let proto = dir.path().join("wkt.proto");
    std::fs::write(
        &proto,
        "syntax = \"proto3\";\nimport \"google/protobuf/descriptor.proto\";\n\
         message M { google.protobuf.FileDescriptorProto f = 1; }\n",
    )
    .expect("write proto");
    let out = Command::new("protoc")
        .arg(format!("--proto_path={}", dir.path().display()))
        .arg(format!(
            "--descriptor_set_out={}",
            dir.path().join("out.pb").display()
        ))
        .arg(&proto)
        .output()
        .expect("protoc must be installed by scripts/install-deps.sh");
    assert!(
        out.status.success(),
        "protoc: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        dir.path()
            .join("out.pb")
            .metadata()
            .expect("descriptor set")
            .len()
            > 0
    );
}

/// Every package named in install-deps.sh must really be a package Debian knows, so a typo
/// cannot leave a fresh machine without it while this machine happens to have it.
#[test]
fn install_deps_names_only_installable_packages() {
    let script = std::fs::read_to_string(repo_root().join("scripts/install-deps.sh"))
        .expect("read install-deps.sh");
    let start = script.find("packages=(").expect("packages list") + "packages=(".len();
    let end = start + script[start..].find(')').expect("end of packages list");
    let names: Vec<&str> = script[start..end].split_whitespace().collect();
    assert!(names.contains(&"libprotobuf-dev"), "{names:?}");
    for name in names {
        let out = Command::new("dpkg-query")
            .args(["-W", "-f=${Status}", name])
            .output()
            .expect("dpkg-query");
        let status = String::from_utf8_lossy(&out.stdout);
        assert!(
            status.contains("install ok installed"),
            "{name} is listed in install-deps.sh but not installed: {status}"
        );
    }
}
