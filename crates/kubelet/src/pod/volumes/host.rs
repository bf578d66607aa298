//! The host side of volumes: hostPath type checks, directories, tmpfs for
//! memory-backed emptyDirs, and removing a pod's volumes.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;

use super::{fail, VolumeError};

/// Create `dir` and its parents.
pub fn mkdir(dir: &Path, volume: &str) -> Result<(), VolumeError> {
    std::fs::create_dir_all(dir).map_err(|e| fail(volume, format!("mkdir {}: {e}", dir.display())))
}

/// Mount a tmpfs of `size` on `dir` unless one is there.
pub fn mount_tmpfs(dir: &Path, size: Option<&str>, volume: &str) -> Result<(), VolumeError> {
    if is_mountpoint(dir) {
        return Ok(());
    }
    let opts = size
        .and_then(skiff_api::quantity::value)
        .map(|b| format!("size={b}"));
    nix::mount::mount(
        Some("tmpfs"),
        dir,
        Some("tmpfs"),
        nix::mount::MsFlags::empty(),
        opts.as_deref(),
    )
    .map_err(|e| fail(volume, format!("mount tmpfs on {}: {e}", dir.display())))
}

fn is_mountpoint(dir: &Path) -> bool {
    let Ok(mounts) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let want = dir.to_string_lossy();
    mounts
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(want.as_ref()))
}

/// Unmount tmpfs volumes and remove the pod's volume directory.
pub fn cleanup(base: &Path) {
    let empty = base.join("kubernetes.io~empty-dir");
    if let Ok(entries) = std::fs::read_dir(&empty) {
        for e in entries.flatten() {
            if is_mountpoint(&e.path()) {
                let _ = nix::mount::umount2(&e.path(), nix::mount::MntFlags::MNT_DETACH);
            }
        }
    }
    if let Some(pod_dir) = base.parent() {
        let _ = std::fs::remove_dir_all(pod_dir);
    }
}

/// Check (or create) a hostPath per its `type`.
pub fn check_host_path(path: &str, type_: &str, volume: &str) -> Result<(), VolumeError> {
    let p = Path::new(path);
    let meta = std::fs::metadata(p);
    let bad = |what: &str| {
        Err(fail(
            volume,
            format!("hostPath type check failed: {path} is not a {what}"),
        ))
    };
    match type_ {
        "" => Ok(()),
        "DirectoryOrCreate" => {
            if meta.is_err() {
                std::fs::create_dir_all(p).map_err(|e| fail(volume, e.to_string()))?;
                let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755));
                return Ok(());
            }
            if meta.map(|m| m.is_dir()).unwrap_or(false) {
                Ok(())
            } else {
                bad("directory")
            }
        }
        "Directory" => match meta {
            Ok(m) if m.is_dir() => Ok(()),
            Ok(_) => bad("directory"),
            Err(_) => Err(fail(
                volume,
                format!("hostPath type check failed: {path} is not a directory"),
            )),
        },
        "FileOrCreate" => {
            if meta.is_err() {
                if let Some(parent) = p.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| fail(volume, e.to_string()))?;
                }
                std::fs::File::create(p).map_err(|e| fail(volume, e.to_string()))?;
                let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644));
                return Ok(());
            }
            if meta.map(|m| m.is_file()).unwrap_or(false) {
                Ok(())
            } else {
                bad("file")
            }
        }
        "File" => match meta {
            Ok(m) if m.is_file() => Ok(()),
            _ => bad("file"),
        },
        "Socket" => match meta {
            Ok(m) if m.file_type().is_socket() => Ok(()),
            _ => bad("socket"),
        },
        "CharDevice" => match meta {
            Ok(m) if m.file_type().is_char_device() => Ok(()),
            _ => bad("character device"),
        },
        "BlockDevice" => match meta {
            Ok(m) if m.file_type().is_block_device() => Ok(()),
            _ => bad("block device"),
        },
        other => Err(fail(volume, format!("invalid HostPathType {other:?}"))),
    }
}
