//! Applies tar entries under a layer root safely: no path may leave the root (`..`, absolute
//! paths, symlinked parents, hard links to outside), no device nodes or fifos from the layer;
//! AUFS whiteouts become overlayfs whiteouts (char 0/0) and opaque dirs get
//! `trusted.overlay.opaque=y`. Ownership, modes, xattrs and mtimes are preserved.

use std::ffi::OsStr;
use std::fs;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::sys::stat::{makedev, mknod, utimensat, Mode, SFlag, UtimensatFlags};
use nix::sys::time::TimeSpec;

use super::beneath::{ensure_dirs, existing_beneath, sanitize};
use super::UnpackError;

const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE_MARKER: &str = ".wh..wh..opq";
const OVERLAY_OPAQUE_XATTR: &str = "trusted.overlay.opaque";
/// Files at least this large get their writeback started as soon as they are written.
const WRITEBACK_MIN: u64 = 64 * 1024;

/// Space and inodes a layer directory takes.
#[derive(Clone, Copy, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Usage {
    /// Sum of regular file sizes.
    pub bytes: u64,
    /// Number of filesystem objects created.
    pub inodes: u64,
}

/// Applies entries of one layer under `root`.
pub struct Applier {
    root: PathBuf,
    dirs: Vec<(PathBuf, u64)>,
    usage: Usage,
}

impl Applier {
    /// Starts applying into `root` (an existing empty directory).
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            dirs: Vec::new(),
            usage: Usage::default(),
        }
    }

    /// Applies one entry.
    pub fn apply<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<(), UnpackError> {
        let raw = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&raw).into_owned();
        let kind = entry.header().entry_type();
        if matches!(
            kind,
            tar::EntryType::XGlobalHeader
                | tar::EntryType::XHeader
                | tar::EntryType::GNULongName
                | tar::EntryType::GNULongLink
        ) {
            return Ok(());
        }
        let comps = sanitize(&raw).map_err(|r| unsafe_entry(&name, r))?;
        let Some((last, parents)) = comps.split_last() else {
            return Ok(()); // the root itself: keep the layer root's own attributes
        };
        let file_name = last.to_string_lossy();
        if let Some(hidden) = file_name.strip_prefix(WHITEOUT_PREFIX) {
            let parent = ensure_dirs(&self.root, parents, &name, &mut self.usage.inodes)?;
            return self.whiteout(&parent, &file_name, hidden, &name);
        }
        match kind {
            tar::EntryType::Char | tar::EntryType::Block => {
                return Err(unsafe_entry(
                    &name,
                    "device nodes are not allowed in image layers",
                ))
            }
            tar::EntryType::Fifo => {
                tracing::warn!(entry = %name, "skipping fifo in image layer");
                return Ok(());
            }
            _ => {}
        }
        let path = ensure_dirs(&self.root, parents, &name, &mut self.usage.inodes)?.join(last);
        clear_for(&path, kind == tar::EntryType::Directory, &name)?;
        match self.create(entry, &path, kind, &name)? {
            Created::Own => {
                self.usage.inodes += 1;
                self.set_metadata(entry, &path, kind, &name)
            }
            // A hard link shares the target's inode and metadata.
            Created::Link => {
                self.usage.inodes += 1;
                Ok(())
            }
            Created::Skipped => Ok(()),
        }
    }

    /// Applies an AUFS whiteout entry `file_name` (`.wh.<hidden>`) found in `parent`.
    fn whiteout(
        &mut self,
        parent: &Path,
        file_name: &str,
        hidden: &str,
        name: &str,
    ) -> Result<(), UnpackError> {
        if file_name == OPAQUE_MARKER {
            return xattr::set(parent, OVERLAY_OPAQUE_XATTR, b"y").map_err(|source| {
                UnpackError::Write {
                    entry: name.to_string(),
                    path: parent.to_path_buf(),
                    source,
                }
            });
        }
        if hidden.starts_with(WHITEOUT_PREFIX) {
            return Ok(()); // other AUFS metadata (.wh..wh.plnk, .wh..wh.aufs)
        }
        if hidden.is_empty() || hidden == "." || hidden == ".." || hidden.contains('/') {
            return Err(unsafe_entry(name, "malformed whiteout name"));
        }
        let target = parent.join(hidden);
        if fs::symlink_metadata(&target).is_ok() {
            return Ok(()); // content of this same layer is not hidden by its own whiteout
        }
        mknod(&target, SFlag::S_IFCHR, Mode::empty(), makedev(0, 0)).map_err(|e| {
            UnpackError::Write {
                entry: name.to_string(),
                path: target.clone(),
                source: e.into(),
            }
        })?;
        self.usage.inodes += 1;
        Ok(())
    }

    /// Creates the file system object of a (non-whiteout) entry at `path`.
    fn create<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        path: &Path,
        kind: tar::EntryType,
        name: &str,
    ) -> Result<Created, UnpackError> {
        let write_err = |source: std::io::Error| UnpackError::Write {
            entry: name.to_string(),
            path: path.to_path_buf(),
            source,
        };
        match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                let mut f = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(path)
                    .map_err(write_err)?;
                let n = copy_big(entry, &mut f).map_err(UnpackError::Stream)?;
                if n >= WRITEBACK_MIN {
                    crate::durable::start_writeback(&f);
                }
                self.usage.bytes += n;
            }
            tar::EntryType::Directory => {
                if !path.is_dir() {
                    fs::create_dir(path).map_err(write_err)?;
                }
            }
            tar::EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| unsafe_entry(name, "symlink without a target"))?
                    .into_owned();
                std::os::unix::fs::symlink(OsStr::from_bytes(&target), path).map_err(write_err)?;
            }
            tar::EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| unsafe_entry(name, "hard link without a target"))?
                    .into_owned();
                let bad_target = |r| unsafe_entry(name, &format!("hard link target: {r}"));
                let tcomps = sanitize(&target).map_err(bad_target)?;
                let src = existing_beneath(&self.root, &tcomps).map_err(bad_target)?;
                fs::hard_link(&src, path).map_err(write_err)?;
                return Ok(Created::Link);
            }
            other => {
                tracing::warn!(entry = %name, kind = ?other, "skipping unsupported tar entry type");
                return Ok(Created::Skipped);
            }
        }
        Ok(Created::Own)
    }

    /// Ownership, mode, xattrs, mtime (directories' mtimes are set in `finish`).
    fn set_metadata<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        path: &Path,
        kind: tar::EntryType,
        name: &str,
    ) -> Result<(), UnpackError> {
        let h = entry.header().clone();
        let err = |source: std::io::Error| UnpackError::Write {
            entry: name.to_string(),
            path: path.to_path_buf(),
            source,
        };
        let uid = h
            .uid()
            .ok()
            .and_then(|u| u32::try_from(u).ok())
            .unwrap_or(0);
        let gid = h
            .gid()
            .ok()
            .and_then(|g| u32::try_from(g).ok())
            .unwrap_or(0);
        std::os::unix::fs::lchown(path, Some(uid), Some(gid)).map_err(err)?;
        if kind != tar::EntryType::Symlink {
            let mode = h.mode().unwrap_or(0o644) & 0o7777;
            fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(err)?;
        }
        if let Ok(Some(exts)) = entry.pax_extensions() {
            for ext in exts.flatten() {
                let Ok(key) = ext.key() else { continue };
                let Some(attr) = key.strip_prefix("SCHILY.xattr.") else {
                    continue;
                };
                if attr.starts_with("trusted.overlay.") {
                    tracing::warn!(entry = name, attr, "ignoring overlay xattr from layer");
                    continue;
                }
                if let Err(e) = xattr::set(path, attr, ext.value_bytes()) {
                    tracing::debug!(entry = name, attr, error = %e, "could not set xattr");
                }
            }
        }
        let mtime = h.mtime().unwrap_or(0);
        if kind == tar::EntryType::Directory {
            self.dirs.push((path.to_path_buf(), mtime));
        } else {
            set_mtime(path, mtime);
        }
        Ok(())
    }

    /// Sets directory mtimes (deepest first) and returns the usage.
    pub fn finish(mut self) -> Result<Usage, UnpackError> {
        self.dirs.sort_by(|a, b| b.0.cmp(&a.0));
        for (dir, mtime) in &self.dirs {
            set_mtime(dir, *mtime);
        }
        Ok(self.usage)
    }
}

/// What `Applier::create` made of an entry.
enum Created {
    /// A new object whose metadata comes from the entry.
    Own,
    /// A hard link to an existing object.
    Link,
    /// Nothing (an unsupported entry type).
    Skipped,
}

fn unsafe_entry(name: &str, reason: &str) -> UnpackError {
    UnpackError::Unsafe {
        entry: name.to_string(),
        reason: reason.to_string(),
    }
}

/// Removes what is at `path` unless a directory entry meets an existing directory.
fn clear_for(path: &Path, is_dir: bool, name: &str) -> Result<(), UnpackError> {
    let Ok(existing) = fs::symlink_metadata(path) else {
        return Ok(());
    };
    if is_dir && existing.is_dir() {
        return Ok(());
    }
    let removed = if existing.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    removed.map_err(|source| UnpackError::Write {
        entry: name.to_string(),
        path: path.to_path_buf(),
        source,
    })
}

/// `io::copy` with a 128 KiB buffer (std's generic copy reads 8 KiB at a time).
fn copy_big(r: &mut impl Read, w: &mut fs::File) -> std::io::Result<u64> {
    use std::io::Write;
    let mut buf = vec![0u8; 128 * 1024];
    let mut total = 0;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        w.write_all(&buf[..n])?;
        total += n as u64;
    }
}

fn set_mtime(path: &Path, mtime: u64) {
    let secs = i64::try_from(mtime).unwrap_or(0);
    let ts = TimeSpec::new(secs, 0);
    if let Err(e) = utimensat(
        nix::fcntl::AT_FDCWD,
        path,
        &ts,
        &ts,
        UtimensatFlags::NoFollowSymlink,
    ) {
        tracing::debug!(path = %path.display(), error = %e, "could not set mtime");
    }
}
