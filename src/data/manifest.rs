//! `manifest.json`: what a generated dataset holds, and the checks that it still holds it.
//!
//! The dataset digest covers the generator version, the schema and every file's path, size and
//! blake3, and nothing else: two runs that wrote the same bytes have the same digest, whatever
//! directory, machine or thread count they ran on.
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::DataError;
use super::schema::ColumnSpec;

pub const MANIFEST_FILE: &str = "manifest.json";

/// Bumped when the manifest's own layout changes.
pub const MANIFEST_FORMAT: u32 = 1;

/// One file of the dataset; `path` is relative to the dataset root with `/` separators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub rows: u64,
    pub bytes: u64,
    pub blake3: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub generator_version: u32,
    pub seed: u64,
    pub target_bytes: u64,
    /// Trip rows over all trip files.
    pub rows: u64,
    /// Bytes of the trip files, the quantity the size target is about.
    pub bytes: u64,
    /// Hex blake3 over the generator version, schemas and file entries: the dataset's identity.
    pub digest: String,
    pub trip_schema: Vec<ColumnSpec>,
    pub zone_schema: Vec<ColumnSpec>,
    /// Trip files in `trips/year=YYYY/month=MM/`, in file-index order.
    pub trips: Vec<FileEntry>,
    /// The zone lookup as Parquet and CSV.
    pub zones: Vec<FileEntry>,
}

#[derive(Serialize)]
struct DigestInput<'a> {
    generator_version: u32,
    trip_schema: &'a [ColumnSpec],
    zone_schema: &'a [ColumnSpec],
    trips: &'a [FileEntry],
    zones: &'a [FileEntry],
}

impl Manifest {
    /// Recomputes the digest from the manifest's contents.
    pub fn compute_digest(&self) -> String {
        let input = DigestInput {
            generator_version: self.generator_version,
            trip_schema: &self.trip_schema,
            zone_schema: &self.zone_schema,
            trips: &self.trips,
            zones: &self.zones,
        };
        let encoded = serde_json::to_vec(&input).expect("a digest input always serializes");
        blake3::Hasher::new_derive_key("loadbuild 2025 dataset digest v1").update(&encoded).finalize().to_hex().to_string()
    }

    /// Every file: trips first, then the zone lookup.
    pub fn files(&self) -> impl Iterator<Item = &FileEntry> {
        self.trips.iter().chain(&self.zones)
    }

    /// Reads `dir/manifest.json` and checks that its digest matches its entries.
    pub fn read(dir: &Path) -> Result<Manifest, DataError> {
        let path = dir.join(MANIFEST_FILE);
        let text = fs::read_to_string(&path).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => DataError::FileMissing { path: path.clone() },
            _ => DataError::Io { path: path.clone(), source },
        })?;
        let bad = |reason: String| DataError::BadManifest { path: path.clone(), reason };
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if manifest.format != MANIFEST_FORMAT {
            return Err(bad(format!("format `{}` is not the supported `{MANIFEST_FORMAT}`", manifest.format)));
        }
        if manifest.compute_digest() != manifest.digest {
            return Err(bad(format!("digest `{}` does not match its file entries", manifest.digest)));
        }
        Ok(manifest)
    }

    /// Writes `dir/manifest.json` atomically (temp file, sync, rename).
    pub(crate) fn write(&self, dir: &Path) -> Result<(), DataError> {
        let path = dir.join(MANIFEST_FILE);
        let partial = dir.join(format!("{MANIFEST_FILE}.partial"));
        let mut text = serde_json::to_string_pretty(self).expect("a manifest always serializes");
        text.push('\n');
        fs::write(&partial, text).map_err(DataError::io(&partial))?;
        File::open(&partial).and_then(|f| f.sync_all()).map_err(DataError::io(&partial))?;
        fs::rename(&partial, &path).map_err(DataError::io(&path))
    }
}

/// How thoroughly `verify` looks at the files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Every file exists with the size the manifest records (a `stat` per file).
    Sizes,
    /// Sizes, then every byte re-hashed against the recorded blake3.
    Contents,
}

/// Re-reads the manifest of the dataset at `dir` and checks its files.
pub fn verify(dir: &Path, check: Check) -> Result<Manifest, DataError> {
    let manifest = Manifest::read(dir)?;
    for entry in manifest.files() {
        let path = dir.join(&entry.path);
        let actual = match fs::metadata(&path) {
            Ok(meta) => meta.len(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(DataError::FileMissing { path });
            }
            Err(source) => return Err(DataError::Io { path, source }),
        };
        if actual != entry.bytes {
            return Err(DataError::SizeMismatch { path, expected: entry.bytes, actual });
        }
    }
    if check == Check::Contents {
        for entry in manifest.files() {
            let path = dir.join(&entry.path);
            let actual = hash_file(&path)?;
            if actual != entry.blake3 {
                return Err(DataError::DigestMismatch { path, expected: entry.blake3.clone(), actual });
            }
        }
    }
    Ok(manifest)
}

/// Hex blake3 of a file's contents, read in 1 MiB blocks.
pub(crate) fn hash_file(path: &PathBuf) -> Result<String, DataError> {
    let mut file = File::open(path).map_err(DataError::io(path))?;
    let mut hasher = blake3::Hasher::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = file.read(&mut buffer).map_err(DataError::io(path))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hasher.finalize().to_hex().to_string())
}
