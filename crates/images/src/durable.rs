//! Durability helpers: a whole-filesystem `syncfs` (one flush for a layer's many files instead of
//! one `fsync` each) and directory `fsync` to make renames stick before the index records them.

use std::fs::File;
use std::io;
use std::path::Path;

/// Flushes the filesystem that holds `path` (data and metadata) to stable storage.
pub fn syncfs(path: &Path) -> io::Result<()> {
    let dir = File::open(path)?;
    nix::unistd::syncfs(&dir).map_err(io::Error::from)
}

/// Makes the entries of directory `path` (creations, renames) durable.
pub fn fsync_dir(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()
}
