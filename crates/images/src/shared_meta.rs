//! The image index shared between processes on one node (the agent and `skiff image …`): reads
//! reload `images.json` when another process replaced it; updates take an exclusive `flock`,
//! re-read the file, apply the change and write it back.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

use nix::fcntl::{Flock, FlockArg};

use crate::error::ImageError;
use crate::meta::{MetaError, MetaIndex};

/// Identity of the file version last loaded: (inode, size, mtime ns).
type Stamp = (u64, u64, i64);

fn stamp(path: &Path) -> Option<Stamp> {
    let m = std::fs::metadata(path).ok()?;
    Some((
        m.ino(),
        m.size(),
        m.mtime() * 1_000_000_000 + m.mtime_nsec(),
    ))
}

/// `images.json` plus its in-memory copy.
pub struct SharedMeta {
    path: PathBuf,
    lock_path: PathBuf,
    index: RwLock<MetaIndex>,
    loaded: Mutex<Option<Stamp>>,
}

impl SharedMeta {
    /// Loads `root/images.json`.
    pub fn open(root: &Path) -> Result<Self, ImageError> {
        let path = root.join("images.json");
        let loaded = stamp(&path);
        let index = MetaIndex::load(&path)?;
        Ok(Self {
            lock_path: root.join("images.lock"),
            path,
            index: RwLock::new(index),
            loaded: Mutex::new(loaded),
        })
    }

    /// Reloads if another process replaced the file (a failed reload keeps the old copy).
    fn refresh(&self) {
        let now = stamp(&self.path);
        let mut loaded = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        if *loaded == now {
            return;
        }
        match MetaIndex::load(&self.path) {
            Ok(fresh) => {
                *self.index.write().unwrap_or_else(|p| p.into_inner()) = fresh;
                *loaded = now;
            }
            Err(e) => tracing::warn!(error = %e, "cannot reload image index"),
        }
    }

    /// Runs `f` on the current index.
    pub fn read<T>(&self, f: impl FnOnce(&MetaIndex) -> T) -> T {
        self.refresh();
        f(&self.index.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Applies `f` to the freshest index under the cross-process lock and persists the result
    /// (nothing is written when `f` fails).
    pub fn update<T>(
        &self,
        f: impl FnOnce(&mut MetaIndex) -> Result<T, ImageError>,
    ) -> Result<T, ImageError> {
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.lock_path)
            .map_err(|source| MetaError::Io {
                path: self.lock_path.clone(),
                source,
            })?;
        let _lock =
            Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, errno)| MetaError::Io {
                path: self.lock_path.clone(),
                source: errno.into(),
            })?;
        let mut loaded = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        let mut index = self.index.write().unwrap_or_else(|p| p.into_inner());
        let now = stamp(&self.path);
        if *loaded != now {
            *index = MetaIndex::load(&self.path)?;
        }
        let mut next = index.clone();
        let out = f(&mut next)?;
        next.save(&self.path)?;
        *index = next;
        *loaded = stamp(&self.path);
        Ok(out)
    }
}
