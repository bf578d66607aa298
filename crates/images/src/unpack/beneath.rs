//! Paths beneath a layer root: tar names split into plain components (no absolute paths, no
//! `..`), and walks below the root that refuse to pass through symlinks or non-directories.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::UnpackError;

/// Walks `comps` as directories under `root`, creating the missing ones (counted in
/// `created`), refusing symlinks and non-directories on the way.
pub(super) fn ensure_dirs(
    root: &Path,
    comps: &[&OsStr],
    entry: &str,
    created: &mut u64,
) -> Result<PathBuf, UnpackError> {
    let refuse = |p: &Path, what: &str| UnpackError::Unsafe {
        entry: entry.to_string(),
        reason: format!("parent {:?} {what}", rel(root, p)),
    };
    let mut p = root.to_path_buf();
    for c in comps {
        p.push(c);
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(refuse(&p, "is a symlink (would write through it)"))
            }
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(refuse(&p, "is not a directory")),
            Err(_) => {
                fs::create_dir(&p).map_err(|source| UnpackError::Write {
                    entry: entry.to_string(),
                    path: p.clone(),
                    source,
                })?;
                *created += 1;
            }
        }
    }
    Ok(p)
}

/// The path of an existing non-directory under `root` reached without symlinked parents.
pub(super) fn existing_beneath(root: &Path, comps: &[&OsStr]) -> Result<PathBuf, &'static str> {
    let (last, parents) = comps.split_last().ok_or("empty target")?;
    let mut p = root.to_path_buf();
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

/// Splits a tar path into normal components; refuses absolute paths and `..`.
pub(super) fn sanitize(raw: &[u8]) -> Result<Vec<&OsStr>, &'static str> {
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

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root)
        .unwrap_or(p)
        .to_string_lossy()
        .into_owned()
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
