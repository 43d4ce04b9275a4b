//! Content-addressed objects and the trees that name them.
//!
//! [`ingest`] turns a finished output directory into a [`Tree`]: every file becomes a
//! read-only object under its blake3 digest (hard-linked, not copied), and the directory is
//! renamed into `trees/<digest>/` where dependents read it. A tree's digest covers paths,
//! contents and the executable bit, never timestamps, so identical output means an identical
//! digest (early cutoff). Each entry also keeps a stat stamp so verifying a fresh tree —
//! even an 11 GiB dataset — costs one `stat` per file, not a re-hash.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Layout, StoreError, io, remove_tree};
use crate::hash::Digest;

/// Files of at least this size are hashed memory-mapped on all cores.
const BIG_FILE: u64 = 4 << 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeEntry {
    /// Relative path with `/` separators.
    pub path: String,
    pub digest: Digest,
    pub size: u64,
    pub executable: bool,
    /// `(mtime in ns, inode)` of the stored file: not part of the tree's digest.
    pub stamp: (i64, u64),
}

/// A directory of outputs, sorted by path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tree {
    pub digest: Digest,
    pub entries: Vec<TreeEntry>,
}

impl Tree {
    fn digest_of(entries: &[TreeEntry]) -> Digest {
        let content: Vec<(&str, &Digest, u64, bool)> = entries.iter().map(|e| (e.path.as_str(), &e.digest, e.size, e.executable)).collect();
        Digest::of("loadbuild 2026-11 tree", &content)
    }

    pub fn bytes(&self) -> u64 {
        self.entries.iter().map(|e| e.size).sum()
    }

    /// Is the materialized tree still exactly as stored? One `stat` per file.
    pub fn verify(&self, layout: &Layout) -> Result<(), String> {
        if let Some(trees) = layout.trees_dir() {
            let hex = self.digest.to_hex();
            for e in &self.entries {
                match trees.stat(&format!("{hex}/{}", e.path)) {
                    Ok(m) if m.size == e.size && (m.mtime_ns, m.ino) == e.stamp => {}
                    Ok(_) => return Err(format!("output `{}` was modified", e.path)),
                    Err(_) => return Err(format!("output `{}` is missing", e.path)),
                }
            }
            if self.entries.is_empty() && trees.stat(&hex).is_err() {
                return Err("output directory is missing".into());
            }
            return Ok(());
        }
        let dir = layout.tree(&self.digest);
        for e in &self.entries {
            let p = dir.join(&e.path);
            match std::fs::metadata(&p) {
                Ok(m) if m.len() == e.size && (m.mtime() * 1_000_000_000 + m.mtime_nsec(), m.ino()) == e.stamp => {}
                Ok(_) => return Err(format!("output `{}` was modified", e.path)),
                Err(_) => return Err(format!("output `{}` is missing", e.path)),
            }
        }
        if self.entries.is_empty() && !dir.is_dir() {
            return Err("output directory is missing".into());
        }
        Ok(())
    }
}

/// Hashes a file: streamed for small files, memory-mapped on all cores for big ones.
pub fn hash_file(path: &Path, size: u64) -> Result<Digest, StoreError> {
    let mut h = blake3::Hasher::new();
    if size >= BIG_FILE {
        h.update_mmap_rayon(path).map_err(io(path))?;
    } else {
        let bytes = std::fs::read(path).map_err(io(path))?;
        h.update(&bytes);
    }
    Ok(Digest(*h.finalize().as_bytes()))
}

fn walk(dir: &Path, rel: &str, out: &mut Vec<(String, PathBuf)>) -> Result<(), StoreError> {
    let mut entries: Vec<_> = std::fs::read_dir(dir).map_err(io(dir))?.collect::<Result<_, _>>().map_err(io(dir))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let rel_path = if rel.is_empty() { name } else { format!("{rel}/{name}") };
        let ft = e.file_type().map_err(io(&e.path()))?;
        if ft.is_dir() {
            walk(&e.path(), &rel_path, out)?;
        } else if ft.is_file() {
            out.push((rel_path, e.path()));
        } else {
            return Err(StoreError::OddFile { path: e.path() });
        }
    }
    Ok(())
}

/// Stores the files of `out` as objects and moves `out` to its place under `trees/`.
pub fn ingest(layout: &Layout, out: &Path) -> Result<Tree, StoreError> {
    let mut files = Vec::new();
    walk(out, "", &mut files)?;
    let mut entries = Vec::with_capacity(files.len());
    for (rel, path) in files {
        let meta = std::fs::metadata(&path).map_err(io(&path))?;
        let executable = meta.permissions().mode() & 0o111 != 0;
        let digest = hash_file(&path, meta.len())?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(if executable { 0o555 } else { 0o444 })).map_err(io(&path))?;
        entries.push(TreeEntry { path: rel, digest, size: meta.len(), executable, stamp: (0, 0) });
    }
    let digest = Tree::digest_of(&entries);
    let dest = layout.tree(&digest);
    // The same output may be materialized already (another node, or an earlier run). Keep it
    // if its bytes are intact — replacing it would change the stamps other records rely on —
    // and replace it if it was damaged. Workers of one build may ingest identical trees at the
    // same moment (two nodes with the same output): checking and placing is one step, or one
    // would fail to rename onto the other's tree, or delete it under its feet.
    {
        let _claim = Claim::take(digest);
        if dest.exists() && intact(&dest, &entries) {
            remove_tree(out)?;
        } else {
            remove_tree(&dest)?;
            std::fs::rename(out, &dest).map_err(io(&dest))?;
        }
    }
    for e in &mut entries {
        let p = dest.join(&e.path);
        let m = std::fs::metadata(&p).map_err(io(&p))?;
        e.stamp = (m.mtime() * 1_000_000_000 + m.mtime_nsec(), m.ino());
    }
    link_objects(layout, &dest, &entries)?;
    Ok(Tree { digest, entries })
}

/// A file an action produced in memory, to be stored without a temporary copy on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFile {
    /// Relative path with `/` separators.
    pub path: String,
    pub bytes: Vec<u8>,
    pub executable: bool,
}

/// Stores files an action holds in memory as a tree, like [`ingest`] but without writing them
/// to a temporary directory first and reading them back: each file is hashed in memory and
/// written once, read-only, straight into `trees/<digest>/`. Four syscalls a file and no
/// staging directory to create and rename: for a node with four small files, creating them
/// cost more than rendering.
///
/// Writing in place is as safe as renaming a finished directory: a tree is trusted only when
/// a record names it, and a record is appended only after this returns; a tree left half
/// written by a killed build is found not [`intact`] (its bytes are hashed) by the next build
/// that produces the same digest, and replaced. Within a process, one thread at a time places
/// a given digest ([`Claim`]); another with the same output waits and reuses it.
pub fn store(layout: &Layout, mut files: Vec<NewFile>) -> Result<Tree, StoreError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    for (i, f) in files.iter().enumerate() {
        let bad = f.path.is_empty() || f.path.starts_with('/') || f.path.split('/').any(|c| c.is_empty() || c == "." || c == "..");
        if bad || files.get(i + 1).is_some_and(|next| next.path == f.path) {
            return Err(StoreError::OddFile { path: PathBuf::from(&f.path) });
        }
    }
    let mut entries: Vec<TreeEntry> = files
        .iter()
        .map(|f| TreeEntry {
            path: f.path.clone(),
            digest: Digest(*blake3::hash(&f.bytes).as_bytes()),
            size: f.bytes.len() as u64,
            executable: f.executable,
            stamp: (0, 0),
        })
        .collect();
    let digest = Tree::digest_of(&entries);
    let dest = layout.tree(&digest);
    let _claim = Claim::take(digest);
    let made = match std::fs::create_dir(&dest) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            if intact(&dest, &entries) {
                false
            } else {
                // Damaged, or left half written by a killed build.
                remove_tree(&dest)?;
                std::fs::create_dir(&dest).map_err(io(&dest))?;
                true
            }
        }
        Err(e) => return Err(io(&dest)(e)),
    };
    if made {
        for (f, e) in files.iter().zip(&mut entries) {
            let p = dest.join(&f.path);
            if f.path.contains('/') {
                let parent = p.parent().expect("a path with `/` has a parent");
                std::fs::create_dir_all(parent).map_err(io(parent))?;
            }
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(if f.executable { 0o555 } else { 0o444 })
                .open(&p)
                .map_err(io(&p))?;
            file.write_all(&f.bytes).map_err(io(&p))?;
            let m = file.metadata().map_err(io(&p))?;
            e.stamp = (m.mtime() * 1_000_000_000 + m.mtime_nsec(), m.ino());
        }
    } else {
        for e in &mut entries {
            let p = dest.join(&e.path);
            let m = std::fs::metadata(&p).map_err(io(&p))?;
            e.stamp = (m.mtime() * 1_000_000_000 + m.mtime_nsec(), m.ino());
        }
    }
    link_objects(layout, &dest, &entries)?;
    Ok(Tree { digest, entries })
}

/// The right to place one tree digest in this process: threads storing or ingesting
/// identical outputs at the same moment take turns, so none writes into, removes or renames
/// onto a tree another is placing.
struct Claim(Digest);

static CLAIMS: std::sync::Mutex<Vec<Digest>> = std::sync::Mutex::new(Vec::new());
static RELEASED: std::sync::Condvar = std::sync::Condvar::new();

impl Claim {
    fn take(digest: Digest) -> Claim {
        let mut claims = CLAIMS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        while claims.contains(&digest) {
            claims = RELEASED.wait(claims).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        claims.push(digest);
        Claim(digest)
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut claims = CLAIMS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        claims.retain(|d| *d != self.0);
        RELEASED.notify_all();
    }
}

/// Hard-links each file of a placed tree into `objects/`, replacing an older object of the
/// same digest with the bytes just verified.
fn link_objects(layout: &Layout, dest: &Path, entries: &[TreeEntry]) -> Result<(), StoreError> {
    let objects = layout.objects();
    for e in entries {
        let p = dest.join(&e.path);
        let hex = e.digest.to_hex();
        // One flat directory: shard directories (`ab/cdef…`) cost a directory inode each, which
        // on ext4 after a mass delete made a full build of small nodes 40% slower.
        let obj = objects.join(&hex);
        let parent = obj.parent().expect("object paths have a parent");
        // The common case is one `link`; the directory is made on first use.
        let linked = match std::fs::hard_link(&p, &obj) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(parent).map_err(io(parent))?;
                std::fs::hard_link(&p, &obj)
            }
            other => other,
        };
        match linked {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                if std::fs::metadata(&obj).is_ok_and(|o| o.ino() == e.stamp.1) {
                    continue;
                }
                // An older object of this digest: replace it with the bytes just verified,
                // through a temporary name so the object is never missing.
                let tmp_link = parent.join(format!(".{hex}.{}", std::process::id()));
                let _ = std::fs::remove_file(&tmp_link);
                std::fs::hard_link(&p, &tmp_link).map_err(io(&tmp_link))?;
                std::fs::rename(&tmp_link, &obj).map_err(io(&obj))?;
            }
            Err(err) => return Err(io(&obj)(err)),
        }
    }
    Ok(())
}

/// Does `dir` hold exactly these files with these contents? Hashes every file.
fn intact(dir: &Path, entries: &[TreeEntry]) -> bool {
    entries.iter().all(|e| {
        let p = dir.join(&e.path);
        std::fs::metadata(&p).is_ok_and(|m| m.len() == e.size) && hash_file(&p, e.size).is_ok_and(|d| d == e.digest)
    })
}
