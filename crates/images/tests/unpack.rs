//! Unpacking preserves ownership, modes (incl. setuid), mtimes, xattrs, hard links and symlinks,
//! and checks the diff_id.

use std::os::unix::fs::MetadataExt;

fn header(kind: tar::EntryType, mode: u32, uid: u64, size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(uid);
    h.set_gid(uid + 1);
    h.set_mtime(1_234_567_890);
    h.set_size(size);
    h
}

#[test]
fn preserves_metadata_links_and_xattrs() {
    let mut b = tar::Builder::new(Vec::new());
    let mut d = header(tar::EntryType::Directory, 0o750, 7, 0);
    b.append_data(&mut d, "srv/", &[][..]).unwrap();
    b.append_pax_extensions([("SCHILY.xattr.user.skiff", &b"yes"[..])])
        .unwrap();
    let mut f = header(tar::EntryType::Regular, 0o4755, 1000, 5);
    b.append_data(&mut f, "srv/tool", &b"hello"[..]).unwrap();
    let mut l = header(tar::EntryType::Link, 0o644, 0, 0);
    b.append_link(&mut l, "srv/tool-link", "srv/tool").unwrap();
    let mut s = header(tar::EntryType::Symlink, 0o777, 1000, 0);
    b.append_link(&mut s, "srv/abs-link", "/etc/passwd")
        .unwrap();
    let tar = b.into_inner().unwrap();

    let work = tempfile::tempdir().unwrap();
    let blob = work.path().join("layer.tar");
    std::fs::write(&blob, &tar).unwrap();
    let dest = work.path().join("rootfs");
    std::fs::create_dir(&dest).unwrap();
    let diff_id = format!(
        "sha256:{}",
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&tar))
    );
    let (got, usage) = skiff_images::unpack::unpack_layer(
        &blob,
        "application/vnd.oci.image.layer.v1.tar",
        Some(&diff_id),
        &dest,
    )
    .unwrap();
    assert_eq!(got, diff_id);
    assert_eq!(usage.bytes, 5);

    let dir = std::fs::symlink_metadata(dest.join("srv")).unwrap();
    assert_eq!(
        (dir.mode() & 0o7777, dir.uid(), dir.gid(), dir.mtime()),
        (0o750, 7, 8, 1_234_567_890)
    );
    let tool = std::fs::symlink_metadata(dest.join("srv/tool")).unwrap();
    assert_eq!(
        (tool.mode() & 0o7777, tool.uid(), tool.gid(), tool.mtime()),
        (0o4755, 1000, 1001, 1_234_567_890)
    );
    assert_eq!(
        xattr::get(dest.join("srv/tool"), "user.skiff")
            .unwrap()
            .as_deref(),
        Some(&b"yes"[..])
    );
    let link = std::fs::symlink_metadata(dest.join("srv/tool-link")).unwrap();
    assert_eq!(link.ino(), tool.ino(), "hard link shares the inode");
    assert_eq!(
        std::fs::read_link(dest.join("srv/abs-link"))
            .unwrap()
            .to_str(),
        Some("/etc/passwd")
    );
    assert_eq!(
        std::fs::symlink_metadata(dest.join("srv/abs-link"))
            .unwrap()
            .uid(),
        1000
    );

    // A wrong diff_id is refused.
    let dest2 = work.path().join("rootfs2");
    std::fs::create_dir(&dest2).unwrap();
    let wrong = format!("sha256:{}", "0".repeat(64));
    let err = skiff_images::unpack::unpack_layer(&blob, "", Some(&wrong), &dest2).unwrap_err();
    assert!(err.to_string().contains("diff_id mismatch"), "{err}");
}
