//! The cache: content-addressed objects, materialized trees, the action index and the stat cache.
//!
//! Theory of operation. Layout is versioned (`cache/v2/…`). A node's output directory is
//! ingested once: each file is hard-linked into `objects/` under its blake3 digest (read-only),
//! and the directory itself is renamed to `trees/<tree digest>/`, where dependents read it.
//! A built-in action that holds its output in memory (`render`) hands the files over instead:
//! they are hashed in memory and written once, straight into the directory that is renamed.
//! Only then is a record appended to the index journal. A kill -9 at any instant therefore
//! leaves either no record (the node re-runs) or a record whose files are all in place;
//! half-written work lives in `tmp/`, which the next writer clears. Writers hold an exclusive
//! lock on `LOCK`; readers (`plan`, `why`) take no lock and ignore a torn journal tail.

mod index;
mod lock;
pub mod objects;
mod statcache;

use std::path::{Path, PathBuf};

pub use index::{Index, Journal, OutputRecord, Record, Status};
pub use lock::{Lock, LockError};
pub use objects::{NewFile, Tree, TreeEntry};
pub use statcache::StatCache;

/// The cache layout version: bump when the on-disk format changes.
pub const LAYOUT: &str = "v2";

/// Errors from the cache.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cache I/O on `{path}`: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("the cache index `{path}` is corrupt at byte {offset}: {why}")]
    Corrupt { path: PathBuf, offset: u64, why: String },
    #[error("output `{path}` of the action is not a regular file or directory")]
    OddFile { path: PathBuf },
    #[error(transparent)]
    Lock(#[from] LockError),
}

pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io { path: path.to_path_buf(), source }
}

/// Paths inside one versioned cache directory.
#[derive(Debug, Clone)]
pub struct Layout {
    pub root: PathBuf,
}

impl Layout {
    pub fn new(cache_dir: &Path) -> Layout {
        Layout { root: cache_dir.join(LAYOUT) }
    }
    pub fn objects(&self) -> PathBuf {
        self.root.join("objects")
    }
    pub fn trees(&self) -> PathBuf {
        self.root.join("trees")
    }
    pub fn tree(&self, digest: &crate::hash::Digest) -> PathBuf {
        self.trees().join(digest.to_hex())
    }
    pub fn tmp(&self) -> PathBuf {
        self.root.join("tmp")
    }
    pub fn journal(&self) -> PathBuf {
        self.root.join("index.journal")
    }
    pub fn stat_cache(&self) -> PathBuf {
        self.root.join("stat.cache")
    }
    pub fn lock_file(&self) -> PathBuf {
        self.root.join("LOCK")
    }
    pub fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// Creates the directories a writer needs and clears leftovers of interrupted runs.
    /// Call only while holding the lock.
    pub fn prepare(&self) -> Result<(), StoreError> {
        for d in [self.objects(), self.trees(), self.logs()] {
            std::fs::create_dir_all(&d).map_err(io(&d))?;
        }
        let tmp = self.tmp();
        if tmp.exists() {
            remove_tree(&tmp)?;
        }
        std::fs::create_dir_all(&tmp).map_err(io(&tmp))
    }
}

/// Removes a directory tree, making read-only entries writable first where needed.
pub fn remove_tree(path: &Path) -> Result<(), StoreError> {
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(_) => {
            make_writable(path);
            std::fs::remove_dir_all(path).map_err(io(path))
        }
    }
}

fn make_writable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::symlink_metadata(path)
        && meta.is_dir()
    {
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755));
        if let Ok(rd) = std::fs::read_dir(path) {
            for e in rd.flatten() {
                make_writable(&e.path());
            }
        }
    }
}
