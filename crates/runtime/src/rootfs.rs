//! Container root filesystems: an overlayfs with the image layers as shared
//! read-only lowers and a per-container upper/work directory.

use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};

/// Errors preparing or removing a rootfs.
#[derive(Debug, thiserror::Error)]
pub enum RootfsError {
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
        source: nix::Error,
    },
}

/// Mount `<dir>/rootfs` as overlay of `layers` (bottom → top) with `<dir>/upper` on top.
pub fn mount_overlay(dir: &Path, layers: &[PathBuf]) -> Result<PathBuf, RootfsError> {
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
    let lower: Vec<String> = layers
        .iter()
        .rev()
        .map(|p| p.display().to_string())
        .collect();
    let opts = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.join(":"),
        upper.display(),
        work.display()
    );
    mount(
        Some("overlay"),
        &target,
        Some("overlay"),
        MsFlags::empty(),
        Some(opts.as_str()),
    )
    .map_err(|source| RootfsError::Mount {
        op: "mount overlay",
        path: target.clone(),
        source,
    })?;
    Ok(target)
}

/// Unmount the rootfs (if mounted) and delete the container directory.
pub fn remove(dir: &Path) -> Result<(), RootfsError> {
    let target = dir.join("rootfs");
    loop {
        match umount2(&target, MntFlags::MNT_DETACH) {
            Ok(()) => continue,
            Err(nix::Error::EINVAL) | Err(nix::Error::ENOENT) => break,
            Err(source) => {
                return Err(RootfsError::Mount {
                    op: "umount",
                    path: target,
                    source,
                })
            }
        }
    }
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(RootfsError::Io {
            path: dir.to_path_buf(),
            source,
        }),
    }
}
