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
        let unsafe_entry = |reason: &str| UnpackError::Unsafe {
            entry: name.clone(),
            reason: reason.to_string(),
        };
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
        let comps = sanitize(&raw).map_err(&unsafe_entry)?;
        let Some((last, parents)) = comps.split_last() else {
            return Ok(()); // the root itself: keep the layer root's own attributes
        };
        let file_name = last.to_string_lossy();
        if let Some(hidden) = file_name.strip_prefix(WHITEOUT_PREFIX) {
            let parent = self.ensure_dirs(parents, &name)?;
            if file_name == OPAQUE_MARKER {
                return xattr::set(&parent, OVERLAY_OPAQUE_XATTR, b"y").map_err(|source| {
                    UnpackError::Write {
                        entry: name.clone(),
                        path: parent.clone(),
                        source,
                    }
                });
            }
            if hidden.starts_with(WHITEOUT_PREFIX) {
                return Ok(()); // other AUFS metadata (.wh..wh.plnk, .wh..wh.aufs)
            }
            if hidden.is_empty() || hidden == "." || hidden == ".." || hidden.contains('/') {
                return Err(unsafe_entry("malformed whiteout name"));
            }
            let target = parent.join(hidden);
            if fs::symlink_metadata(&target).is_ok() {
                return Ok(()); // content of this same layer is not hidden by its own whiteout
            }
            mknod(&target, SFlag::S_IFCHR, Mode::empty(), makedev(0, 0)).map_err(|e| {
                UnpackError::Write {
                    entry: name.clone(),
                    path: target.clone(),
                    source: e.into(),
                }
            })?;
            self.usage.inodes += 1;
            return Ok(());
        }
        match kind {
            tar::EntryType::Char | tar::EntryType::Block => {
                return Err(unsafe_entry("device nodes are not allowed in image layers"))
            }
            tar::EntryType::Fifo => {
                tracing::warn!(entry = %name, "skipping fifo in image layer");
                return Ok(());
            }
            _ => {}
        }
        let parent = self.ensure_dirs(parents, &name)?;
        let path = parent.join(last);
        let write_err = |path: &Path, source: std::io::Error| UnpackError::Write {
            entry: name.clone(),
            path: path.to_path_buf(),
            source,
        };
        let is_dir = kind == tar::EntryType::Directory;
        if let Ok(existing) = fs::symlink_metadata(&path) {
            if !(is_dir && existing.is_dir()) {
                let removed = if existing.is_dir() {
                    fs::remove_dir_all(&path)
                } else {
                    fs::remove_file(&path)
                };
                removed.map_err(|e| write_err(&path, e))?;
            }
        }
        match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                let mut f = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&path)
                    .map_err(|e| write_err(&path, e))?;
                let n = copy_big(entry, &mut f).map_err(UnpackError::Stream)?;
                if n >= WRITEBACK_MIN {
                    crate::durable::start_writeback(&f);
                }
                self.usage.bytes += n;
            }
            tar::EntryType::Directory => {
                if !path.is_dir() {
                    fs::create_dir(&path).map_err(|e| write_err(&path, e))?;
                }
            }
            tar::EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| unsafe_entry("symlink without a target"))?
                    .into_owned();
                std::os::unix::fs::symlink(OsStr::from_bytes(&target), &path)
                    .map_err(|e| write_err(&path, e))?;
            }
            tar::EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| unsafe_entry("hard link without a target"))?
                    .into_owned();
                let tcomps = sanitize(&target)
                    .map_err(|r| unsafe_entry(&format!("hard link target: {r}")))?;
                let src = self
                    .existing_beneath(&tcomps)
                    .map_err(|r| unsafe_entry(&format!("hard link target: {r}")))?;
                fs::hard_link(&src, &path).map_err(|e| write_err(&path, e))?;
                self.usage.inodes += 1;
                return Ok(()); // shares the target's inode and metadata
            }
            other => {
                tracing::warn!(entry = %name, kind = ?other, "skipping unsupported tar entry type");
                return Ok(());
            }
        }
        self.usage.inodes += 1;
        self.set_metadata(entry, &path, kind, &name)
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

    /// Walks/creates `comps` as directories under the root, refusing symlinks and non-directories.
    fn ensure_dirs(&mut self, comps: &[&OsStr], entry: &str) -> Result<PathBuf, UnpackError> {
        let mut p = self.root.clone();
        for c in comps {
            p.push(c);
            match fs::symlink_metadata(&p) {
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(UnpackError::Unsafe {
                        entry: entry.to_string(),
                        reason: format!(
                            "parent {:?} is a symlink (would write through it)",
                            rel(&self.root, &p)
                        ),
                    })
                }
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    return Err(UnpackError::Unsafe {
                        entry: entry.to_string(),
                        reason: format!("parent {:?} is not a directory", rel(&self.root, &p)),
                    })
                }
                Err(_) => {
                    fs::create_dir(&p).map_err(|source| UnpackError::Write {
                        entry: entry.to_string(),
                        path: p.clone(),
                        source,
                    })?;
                    self.usage.inodes += 1;
                }
            }
        }
        Ok(p)
    }

    /// The path of an existing non-directory under the root reached without symlinked parents.
    fn existing_beneath(&self, comps: &[&OsStr]) -> Result<PathBuf, &'static str> {
        let (last, parents) = comps.split_last().ok_or("empty target")?;
        let mut p = self.root.clone();
        for c in parents {
            p.push(c);
            match fs::symlink_metadata(&p) {
                Ok(m) if m.is_dir() => {}
                Ok(m) if m.file_type().is_symlink() => return Err("goes through a symlink"),
                _ => return Err("does not exist in this layer"),
            }
        }
        p.push(last);
        match fs::symlink_metadata(&p) {
            Ok(m) if m.is_dir() => Err("is a directory"),
            Ok(_) => Ok(p),
            Err(_) => Err("does not exist in this layer"),
        }
    }
}

/// Splits a tar path into normal components; refuses absolute paths and `..`.
fn sanitize(raw: &[u8]) -> Result<Vec<&OsStr>, &'static str> {
    if raw.first() == Some(&b'/') {
        return Err("absolute path not allowed in a layer");
    }
    if raw.contains(&0) {
        return Err("NUL byte in path");
    }
    let mut out = Vec::new();
    for c in raw.split(|b| *b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => return Err("path escapes the layer root (\"..\")"),
            c => out.push(OsStr::from_bytes(c)),
        }
    }
    Ok(out)
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

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root)
        .unwrap_or(p)
        .to_string_lossy()
        .into_owned()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizes_paths() {
        assert_eq!(
            sanitize(b"./a//b/./c").unwrap(),
            vec![OsStr::new("a"), OsStr::new("b"), OsStr::new("c")]
        );
        assert!(sanitize(b"").unwrap().is_empty());
        assert!(sanitize(b"a/../../etc").is_err());
        assert!(sanitize(b"/etc/passwd").is_err());
    }
}
