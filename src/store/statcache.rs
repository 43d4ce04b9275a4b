//! The stat cache: a source file's digest is re-used while its size, mtime, ctime and inode
//! are unchanged, so a no-op build stats sources instead of reading them.
//!
//! A file modified within the timestamp granularity of being recorded could look unchanged
//! later ("racy git"); entries younger than [`RACY_NS`] at recording time are not trusted.

use rustc_hash::FxHashMap as HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::objects::hash_file;
use super::{StoreError, io};
use crate::hash::Digest;

const RACY_NS: i64 = 2_000_000_000;
const MAGIC: &[u8; 8] = b"LBSTAT1\n";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    size: u64,
    mtime_ns: i64,
    ctime_ns: i64,
    ino: u64,
}

impl Stamp {
    fn of(m: &std::fs::Metadata) -> Stamp {
        Stamp {
            size: m.len(),
            mtime_ns: m.mtime() * 1_000_000_000 + m.mtime_nsec(),
            ctime_ns: m.ctime() * 1_000_000_000 + m.ctime_nsec(),
            ino: m.ino(),
        }
    }
}

#[derive(Debug, Default)]
pub struct StatCache {
    entries: HashMap<String, (Stamp, Digest)>,
    dirty: bool,
}

fn now_ns() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i64)
}

impl StatCache {
    /// Loads the cache; a missing or unreadable file is an empty cache (it only costs re-hashing).
    pub fn load(path: &Path) -> StatCache {
        let Ok(bytes) = std::fs::read(path) else { return StatCache::default() };
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return StatCache::default();
        }
        match postcard::from_bytes::<Vec<(String, Stamp, Digest)>>(&bytes[MAGIC.len()..]) {
            Ok(v) => StatCache { entries: v.into_iter().map(|(p, s, d)| (p, (s, d))).collect(), dirty: false },
            Err(_) => StatCache::default(),
        }
    }

    /// The digest of `root/rel`, hashing it only if its stamp changed.
    pub fn digest(&mut self, root: &Path, rel: &str) -> Result<Digest, StoreError> {
        let path = root.join(rel);
        let meta = std::fs::metadata(&path).map_err(io(&path))?;
        let stamp = Stamp::of(&meta);
        if let Some((s, d)) = self.entries.get(rel)
            && *s == stamp
        {
            return Ok(*d);
        }
        let digest = hash_file(&path, meta.len())?;
        if now_ns() - stamp.mtime_ns.max(stamp.ctime_ns) > RACY_NS {
            self.entries.insert(rel.to_string(), (stamp, digest));
            self.dirty = true;
        }
        Ok(digest)
    }

    /// Writes the cache atomically if anything changed.
    pub fn save(&mut self, path: &Path) -> Result<(), StoreError> {
        if !self.dirty {
            return Ok(());
        }
        let mut v: Vec<(&String, &Stamp, &Digest)> = self.entries.iter().map(|(p, (s, d))| (p, s, d)).collect();
        v.sort_by(|a, b| a.0.cmp(b.0));
        let mut bytes = MAGIC.to_vec();
        bytes.extend(postcard::to_allocvec(&v).expect("serializing to memory cannot fail"));
        let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
        std::fs::write(&tmp, &bytes).map_err(io(&tmp))?;
        std::fs::rename(&tmp, path).map_err(io(path))?;
        self.dirty = false;
        Ok(())
    }
}
