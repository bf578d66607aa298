//! Volume permissions as upstream's kubelet sets them: an emptyDir is world-writable
//! (0777), and with a pod `fsGroup` every file of an emptyDir, configMap, secret,
//! downwardAPI or projected volume belongs to that group, readable by it (and writable
//! for writable volumes), directories set-group-ID so new files inherit the group.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// Mode bit that makes new entries of a directory inherit its group.
const SETGID: u32 = 0o2000;

/// An emptyDir's directory mode (upstream `empty_dir.go` creates it 0777).
pub fn make_world_writable(dir: &Path) -> std::io::Result<()> {
    let mode = std::fs::metadata(dir)?.permissions().mode() & 0o7777;
    if mode & 0o777 != 0o777 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode | 0o777))?;
    }
    Ok(())
}

/// Give `root` and everything below it to group `gid`: group read (+write for
/// writable volumes), group execute and set-group-ID on directories. Symlinks are
/// left alone. Skipped when `root` already carries the group and set-group-ID bit
/// (upstream's `OnRootMismatch`: a large emptyDir is not walked on every sync).
pub fn set_volume_ownership(root: &Path, gid: u32, read_only: bool) -> std::io::Result<()> {
    let meta = std::fs::metadata(root)?;
    if meta.gid() == gid && meta.mode() & SETGID != 0 && !read_only {
        return Ok(());
    }
    let file_bits = if read_only { 0o440 } else { 0o660 };
    walk(root, &mut |path, meta| {
        if meta.file_type().is_symlink() {
            return Ok(());
        }
        std::os::unix::fs::lchown(path, None, Some(gid))?;
        let mut mode = meta.mode() & 0o7777 | file_bits;
        if meta.is_dir() {
            mode |= SETGID | 0o110;
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    })
}

fn walk(
    path: &Path,
    visit: &mut dyn FnMut(&Path, &std::fs::Metadata) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(path)?;
    visit(path, &meta)?;
    if meta.is_dir() {
        for entry in std::fs::read_dir(path)? {
            walk(&entry?.path(), visit)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::symlink_metadata(p).unwrap().mode() & 0o7777
    }

    #[test]
    fn empty_dir_becomes_world_writable() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        make_world_writable(dir.path()).unwrap();
        assert_eq!(mode(dir.path()), 0o777);
    }

    #[test]
    fn fs_group_owns_the_tree_with_setgid_directories() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/file"), b"x").unwrap();
        std::fs::set_permissions(
            root.join("sub/file"),
            std::fs::Permissions::from_mode(0o400),
        )
        .unwrap();
        std::os::unix::fs::symlink("sub/file", root.join("link")).unwrap();
        set_volume_ownership(root, 4321, true).unwrap();
        for p in [root.to_path_buf(), root.join("sub"), root.join("sub/file")] {
            assert_eq!(
                std::fs::metadata(&p).unwrap().gid(),
                4321,
                "{}",
                p.display()
            );
        }
        assert_eq!(mode(&root.join("sub/file")), 0o440);
        assert_eq!(mode(&root.join("sub")) & (SETGID | 0o050), SETGID | 0o050);
        // The link itself was not followed into a chmod of its target twice, nor chowned.
        assert_ne!(
            std::fs::symlink_metadata(root.join("link")).unwrap().gid(),
            4321
        );
    }

    #[test]
    fn writable_volumes_get_group_write_and_are_walked_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("file"), b"x").unwrap();
        std::fs::set_permissions(root.join("file"), std::fs::Permissions::from_mode(0o600))
            .unwrap();
        set_volume_ownership(root, 4321, false).unwrap();
        assert_eq!(mode(&root.join("file")), 0o660);
        // Root already matches: a later sync does not walk (and so not reset) the tree.
        std::fs::set_permissions(root.join("file"), std::fs::Permissions::from_mode(0o600))
            .unwrap();
        set_volume_ownership(root, 4321, false).unwrap();
        assert_eq!(mode(&root.join("file")), 0o600);
    }
}
