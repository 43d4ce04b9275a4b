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
    /// `trees/`, opened on first use: checking a tree's files stats them relative to it.
    trees_dir: std::sync::Arc<std::sync::OnceLock<Option<Dir>>>,
}

impl Layout {
    pub fn new(cache_dir: &Path) -> Layout {
        Layout { root: cache_dir.join(LAYOUT), trees_dir: Default::default() }
    }

    /// `trees/` as an open directory, if it exists.
    pub fn trees_dir(&self) -> Option<&Dir> {
        self.trees_dir.get_or_init(|| Dir::open(&self.trees()).ok()).as_ref()
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

/// An open directory, to stat files relative to it: thousands of `stat`s of files under one
/// directory then walk only the relative part of each path (a no-op build stats every output).
#[derive(Debug)]
pub struct Dir(std::os::fd::OwnedFd);

/// What [`Dir::stat`] tells of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub size: u64,
    /// Modification time in ns since the epoch.
    pub mtime_ns: i64,
    pub ino: u64,
    pub is_file: bool,
}

impl Dir {
    pub fn open(path: &Path) -> std::io::Result<Dir> {
        use std::os::unix::fs::OpenOptionsExt;
        let f = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC).open(path)?;
        Ok(Dir(f.into()))
    }

    /// `stat` of `rel` (relative, following symlinks).
    pub fn stat(&self, rel: &str) -> std::io::Result<Stat> {
        use std::os::fd::AsRawFd;
        let c = std::ffi::CString::new(rel).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
        // SAFETY: `c` is a NUL-terminated path, `st` is written by the call before it is read.
        if unsafe { libc::fstatat(self.0.as_raw_fd(), c.as_ptr(), st.as_mut_ptr(), 0) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: fstatat succeeded, so it filled `st`.
        let st = unsafe { st.assume_init() };
        Ok(Stat {
            size: st.st_size as u64,
            mtime_ns: st.st_mtime * 1_000_000_000 + st.st_mtime_nsec,
            ino: st.st_ino,
            is_file: st.st_mode & libc::S_IFMT == libc::S_IFREG,
        })
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
