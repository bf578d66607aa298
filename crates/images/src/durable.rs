//! Durability helpers: a whole-filesystem `syncfs` (one flush for a layer's many files instead of
//! one `fsync` each), early writeback so that flush finds little left to write, and directory `fsync`
//! to make renames stick before the index records them.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
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

/// Asks the kernel to start writing `file`'s dirty pages now, without waiting (best effort): the
/// disk works while unpacking goes on, and the `syncfs` at commit has little left to do.
pub fn start_writeback(file: &File) {
    // SAFETY: sync_file_range only reads its integer arguments; the descriptor is owned by
    // `file`, which outlives the call.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE) };
    if rc != 0 {
        tracing::debug!(error = %io::Error::last_os_error(), "sync_file_range");
    }
}
