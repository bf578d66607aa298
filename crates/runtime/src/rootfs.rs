//! Container root filesystems: an overlayfs with the image layers as shared
//! read-only lowers and a per-container upper/work directory.

use std::path::{Path, PathBuf};

use crate::sys::Syscall;

/// Errors preparing or removing a rootfs.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RootfsError {
    /// The image has no layers.
    #[error("image has no unpacked layers")]
    NoLayers,
    /// File system failure.
    #[error("{path}: {source}")]
    Io {
        /// Path concerned.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// mount/umount failed.
    #[error("{op} {path}: {source}")]
    Mount {
        /// Operation.
        op: &'static str,
        /// Path concerned.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

/// Mount `<dir>/rootfs` as overlay of `layers` (bottom → top) with `<dir>/upper` on top.
pub(crate) fn mount_overlay(
    sys: &dyn Syscall,
    dir: &Path,
    layers: &[PathBuf],
) -> Result<PathBuf, RootfsError> {
    if layers.is_empty() {
        return Err(RootfsError::NoLayers);
    }
    let target = dir.join("rootfs");
    let upper = dir.join("upper");
    let work = dir.join("work");
    for d in [&target, &upper, &work] {
        std::fs::create_dir_all(d).map_err(|source| RootfsError::Io {
            path: d.clone(),
            source,
        })?;
    }
    sys.mount_overlay(&target, layers, &upper, &work)
        .map_err(|source| RootfsError::Mount {
            op: "mount overlay",
            path: target.clone(),
            source,
        })?;
    Ok(target)
}

/// Unmount the rootfs (every mount stacked there) and delete the container directory.
pub(crate) fn remove(sys: &dyn Syscall, dir: &Path) -> Result<(), RootfsError> {
    let target = dir.join("rootfs");
    while sys.unmount(&target).map_err(|source| RootfsError::Mount {
        op: "umount",
        path: target.clone(),
        source,
    })? {}
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(RootfsError::Io {
            path: dir.to_path_buf(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::fake::{Call, Recorder};

    #[test]
    fn mounts_then_unmounts_and_deletes() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("c1");
        let sys = Recorder::default();
        assert!(matches!(
            mount_overlay(&sys, &dir, &[]),
            Err(RootfsError::NoLayers)
        ));
        let root = mount_overlay(&sys, &dir, &[PathBuf::from("/l")]).unwrap();
        assert!(dir.join("upper").is_dir() && dir.join("work").is_dir());
        remove(&sys, &dir).unwrap();
        assert!(!dir.exists());
        assert_eq!(
            sys.calls(),
            [
                Call::MountOverlay(root.clone()),
                Call::Unmount(root.clone()),
                Call::Unmount(root)
            ]
        );
    }
}
