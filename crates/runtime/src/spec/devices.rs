//! The host's device nodes for privileged containers (as containerd's
//! `WithHostDevices`): every character and block device under `/dev`, except the
//! per-container pseudo file systems (`pts`, `shm`, `mqueue`, `fd`) and symlinks.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxDevice, LinuxDeviceBuilder, LinuxDeviceType};

/// Sub-directories of `/dev` a container gets its own copy of.
const SKIP: &[&str] = &["pts", "shm", "mqueue", "fd", ".lxc", ".lxd-mounts", ".udev"];

/// Device nodes under `root` (normally `/dev`), with their numbers, modes and owners.
pub fn host_devices(root: &Path) -> Vec<LinuxDevice> {
    let mut out = Vec::new();
    collect(root, root, &mut out);
    out.sort_by(|a, b| a.path().cmp(b.path()));
    out
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<LinuxDevice>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let ft = meta.file_type();
        if ft.is_dir() {
            let name = entry.file_name();
            if dir == root && SKIP.iter().any(|s| name == *s) {
                continue;
            }
            collect(root, &path, out);
            continue;
        }
        let typ = if ft.is_char_device() {
            LinuxDeviceType::C
        } else if ft.is_block_device() {
            LinuxDeviceType::B
        } else {
            continue;
        };
        let (major, minor) = crate::sys::device_numbers(meta.rdev());
        // The container sees the same path below its own /dev.
        let inside = PathBuf::from("/dev").join(path.strip_prefix(root).unwrap_or(&path));
        if let Ok(dev) = LinuxDeviceBuilder::default()
            .path(inside)
            .typ(typ)
            .major(major)
            .minor(minor)
            .file_mode(meta.mode() & 0o777)
            .uid(meta.uid())
            .gid(meta.gid())
            .build()
        {
            out.push(dev);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_the_hosts_character_devices_with_their_numbers() {
        let devs = host_devices(Path::new("/dev"));
        let null = devs
            .iter()
            .find(|d| d.path() == Path::new("/dev/null"))
            .expect("/dev/null listed");
        assert_eq!((null.major(), null.minor()), (1, 3));
        assert_eq!(null.typ(), LinuxDeviceType::C);
        assert!(devs.iter().all(|d| !d.path().starts_with("/dev/pts")));
    }
}
