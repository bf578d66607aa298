//! Mounts: the pod's `/dev/shm` tmpfs, container overlays, and lazy unmounts.

use std::io;
use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};

/// Mount a `nosuid,nodev,noexec` tmpfs named `source` at `target` with `data` options.
pub(crate) fn tmpfs(target: &Path, source: &str, data: &str) -> io::Result<()> {
    mount(
        Some(source),
        target,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some(data),
    )
    .map_err(io::Error::from)
}

/// Mount an overlay of `lower` (bottom → top) with `upper`/`work` at `target`.
pub(crate) fn overlay(
    target: &Path,
    lower: &[PathBuf],
    upper: &Path,
    work: &Path,
) -> io::Result<()> {
    mount(
        Some("overlay"),
        target,
        Some("overlay"),
        MsFlags::empty(),
        Some(overlay_options(lower, upper, work).as_str()),
    )
    .map_err(io::Error::from)
}

/// overlayfs options: its `lowerdir` lists the top layer first.
fn overlay_options(lower: &[PathBuf], upper: &Path, work: &Path) -> String {
    let lower: Vec<String> = lower
        .iter()
        .rev()
        .map(|p| p.display().to_string())
        .collect();
    format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.join(":"),
        upper.display(),
        work.display()
    )
}

/// Bind-mount `source` at `target`.
pub(crate) fn bind(source: &Path, target: &Path) -> io::Result<()> {
    mount(
        Some(source),
        target,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(io::Error::from)
}

/// Lazily unmount `target`; `Ok(false)` when nothing is mounted there (or it is gone).
pub(crate) fn unmount(target: &Path) -> io::Result<bool> {
    match umount2(target, MntFlags::MNT_DETACH) {
        Ok(()) => Ok(true),
        Err(nix::Error::EINVAL) | Err(nix::Error::ENOENT) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_lists_the_top_layer_first() {
        let layers = [PathBuf::from("/l/base"), PathBuf::from("/l/top")];
        assert_eq!(
            overlay_options(&layers, Path::new("/c/upper"), Path::new("/c/work")),
            "lowerdir=/l/top:/l/base,upperdir=/c/upper,workdir=/c/work"
        );
    }
}
