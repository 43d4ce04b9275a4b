//! The action index: an append-only journal of checksummed records, replayed on load.
//!
//! One file, so a no-op build over thousands of nodes reads one file. Each record is framed
//! as `len: u32 LE | blake3(payload)[..16] | payload (postcard)`. A record is appended only
//! after the output it names is fully in place, so a kill -9 can at worst leave a torn last
//! frame, which the checksum exposes: readers ignore it and the next writer truncates it.
//! [`Index::compact`] rewrites the journal (temp file, fsync, rename) when it has grown stale.

use std::collections::HashSet;

use rustc_hash::FxHashMap as HashMap;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{StoreError, Tree, io};
use crate::hash::Digest;

const MAGIC: &[u8; 8] = b"LBJRNL1\n";
const HEADER: usize = 4 + 16;

/// How a node's action ended, as far as its output is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    Ok,
    /// A recorded failure (`on_failure = "record"`): usable downstream, never fresh.
    Failed,
}

/// What a node produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputRecord {
    pub tree: Tree,
    pub status: Status,
    pub duration_ms: u64,
    pub finished_unix: u64,
}

/// One journal entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Record {
    Built {
        node: String,
        key: Digest,
        inputs: Vec<(String, Digest)>,
        output: OutputRecord,
    },
    /// An output kept by compaction that is no node's latest (e.g. another tier's report).
    Output {
        key: Digest,
        output: OutputRecord,
    },
    /// `invalidate`: the node must run again even if its key is unchanged.
    Invalidated {
        node: String,
    },
}

/// The last build of a node, kept to explain what changed since.
#[derive(Debug, Clone)]
pub struct LastBuilt {
    pub key: Digest,
    pub inputs: Vec<(String, Digest)>,
    pub duration_ms: u64,
}

/// The replayed journal.
#[derive(Debug, Default)]
pub struct Index {
    by_key: HashMap<Digest, OutputRecord>,
    last: HashMap<String, LastBuilt>,
    forced: HashSet<String>,
    records: usize,
    /// Length of the valid prefix of the journal file.
    valid_len: u64,
}

impl Index {
    /// Replays the journal at `path`; a missing file is an empty index.
    pub fn load(path: &Path) -> Result<Index, StoreError> {
        let mut bytes = Vec::new();
        match File::open(path) {
            Ok(mut f) => {
                f.read_to_end(&mut bytes).map_err(io(path))?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Index::default()),
            Err(e) => return Err(io(path)(e)),
        }
        let mut index = Index::default();
        if bytes.is_empty() {
            return Ok(index);
        }
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(StoreError::Corrupt {
                path: path.to_path_buf(),
                offset: 0,
                why: "not a loadbuild journal (delete the cache directory to start over)".into(),
            });
        }
        let mut pos = MAGIC.len();
        index.valid_len = pos as u64;
        while pos + HEADER <= bytes.len() {
            let len = u32::from_le_bytes(bytes[pos..pos + 4].try_into().expect("4 bytes")) as usize;
            let Some(payload) = bytes.get(pos + HEADER..pos + HEADER + len) else { break };
            if blake3::hash(payload).as_bytes()[..16] != bytes[pos + 4..pos + HEADER] {
                break; // a torn or garbled tail: everything before it stands
            }
            let Ok(record) = postcard::from_bytes::<Record>(payload) else { break };
            index.apply(record);
            pos += HEADER + len;
            index.valid_len = pos as u64;
        }
        Ok(index)
    }

    fn apply(&mut self, record: Record) {
        self.records += 1;
        match record {
            Record::Built { node, key, inputs, output } => {
                self.forced.remove(&node);
                self.last.insert(node, LastBuilt { key, inputs, duration_ms: output.duration_ms });
                self.by_key.insert(key, output);
            }
            Record::Output { key, output } => {
                self.by_key.insert(key, output);
            }
            Record::Invalidated { node } => {
                self.forced.insert(node);
            }
        }
    }

    pub fn lookup(&self, key: &Digest) -> Option<&OutputRecord> {
        self.by_key.get(key)
    }

    pub fn last(&self, node: &str) -> Option<&LastBuilt> {
        self.last.get(node)
    }

    pub fn is_forced(&self, node: &str) -> bool {
        self.forced.contains(node)
    }

    /// Number of distinct outputs recorded.
    pub fn outputs(&self) -> usize {
        self.by_key.len()
    }

    /// Every output recorded, with its key.
    pub fn iter_outputs(&self) -> impl Iterator<Item = (&Digest, &OutputRecord)> {
        self.by_key.iter()
    }

    /// Number of nodes whose last build is recorded.
    pub fn nodes(&self) -> usize {
        self.last.len()
    }

    /// True when the journal holds much more than its live records.
    pub fn wants_compaction(&self) -> bool {
        let live = self.last.len() + self.forced.len();
        self.records > 1000 && self.records > 2 * live.max(self.by_key.len())
    }

    /// The records needed to rebuild this index: the latest output of every node, plus
    /// pending invalidations; older outputs (e.g. of another tier's report) are dropped
    /// unless `keep` says otherwise.
    fn live_records(&self, keep: &dyn Fn(&Digest) -> bool) -> Vec<Record> {
        let mut out = Vec::new();
        let mut nodes: Vec<_> = self.last.iter().collect();
        nodes.sort_by(|a, b| a.0.cmp(b.0));
        let mut kept = HashSet::new();
        for (node, last) in nodes {
            if let Some(output) = self.by_key.get(&last.key) {
                kept.insert(last.key);
                out.push(Record::Built { node: node.clone(), key: last.key, inputs: last.inputs.clone(), output: output.clone() });
            }
        }
        let mut extra: Vec<_> = self.by_key.iter().filter(|(k, _)| !kept.contains(*k) && keep(k)).collect();
        extra.sort_by_key(|(k, _)| **k);
        for (key, output) in extra {
            out.push(Record::Output { key: *key, output: output.clone() });
        }
        let mut forced: Vec<_> = self.forced.iter().cloned().collect();
        forced.sort();
        out.extend(forced.into_iter().map(|node| Record::Invalidated { node }));
        out
    }

    /// Rewrites the journal with only live records (atomically), returning the new index.
    /// Call while holding the writer lock.
    pub fn compact(&self, path: &Path, keep: &dyn Fn(&Digest) -> bool) -> Result<Index, StoreError> {
        let tmp = path.with_extension("journal.tmp");
        {
            let mut f = File::create(&tmp).map_err(io(&tmp))?;
            let mut buf = MAGIC.to_vec();
            for r in self.live_records(keep) {
                frame(&r, &mut buf);
            }
            f.write_all(&buf).map_err(io(&tmp))?;
            f.sync_all().map_err(io(&tmp))?;
        }
        std::fs::rename(&tmp, path).map_err(io(path))?;
        sync_dir(path);
        Index::load(path)
    }
}

fn frame(record: &Record, buf: &mut Vec<u8>) {
    let payload = postcard::to_allocvec(record).expect("serializing a record to memory cannot fail");
    buf.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    buf.extend_from_slice(&blake3::hash(&payload).as_bytes()[..16]);
    buf.extend_from_slice(&payload);
}

fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent()
        && let Ok(d) = File::open(dir)
    {
        let _ = d.sync_all();
    }
}

/// The writer's end of the journal. Open it only while holding the lock.
pub struct Journal {
    path: PathBuf,
    file: File,
    buf: Vec<u8>,
    /// Records appended since the last sync.
    unsynced: usize,
}

impl Journal {
    /// Opens for appending, cutting off a torn tail left by a crash.
    pub fn open(path: &Path, index: &Index) -> Result<Journal, StoreError> {
        let file = std::fs::OpenOptions::new().create(true).append(true).read(true).open(path).map_err(io(path))?;
        let len = file.metadata().map_err(io(path))?.len();
        let mut j = Journal { path: path.to_path_buf(), file, buf: Vec::new(), unsynced: 0 };
        if len == 0 {
            j.file.write_all(MAGIC).map_err(io(path))?;
        } else if len > index.valid_len {
            j.file.set_len(index.valid_len.max(MAGIC.len() as u64)).map_err(io(path))?;
        }
        Ok(j)
    }

    /// Appends one record with a single `write`, so it is either wholly there or detectably torn.
    pub fn append(&mut self, record: &Record) -> Result<(), StoreError> {
        self.buf.clear();
        frame(record, &mut self.buf);
        self.unsynced += 1;
        self.file.write_all(&self.buf).map_err(io(&self.path))
    }

    /// Makes everything appended so far durable (objects first, then the journal).
    pub fn sync(&mut self) -> Result<(), StoreError> {
        if self.unsynced == 0 {
            return Ok(());
        }
        self.unsynced = 0;
        // SAFETY: syncfs only reads the descriptor, which `self.file` keeps open.
        unsafe { libc::syncfs(std::os::fd::AsRawFd::as_raw_fd(&self.file)) };
        self.file.sync_data().map_err(io(&self.path))
    }
}

impl Index {
    /// Applies a record just appended, so this index stays current during a build.
    pub fn record(&mut self, record: Record) {
        self.apply(record);
    }
}

impl Index {
    /// The output keys of every node's latest build: what `cache gc` keeps.
    pub fn latest_outputs(&self) -> HashSet<Digest> {
        self.last.values().map(|l| l.key).collect()
    }
}
