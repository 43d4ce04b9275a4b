//! Writes one Parquet file batch by batch and hashes its bytes on the way to disk.
//!
//! A file appears under its final name only once complete and synced (written as `*.partial`,
//! then renamed), so a crash never leaves a truncated file that looks finished.
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;

use super::DataError;
use super::columns::TripColumns;
use super::layout::FilePlan;
use super::manifest::FileEntry;
use super::sampling::file_stream;
use super::schema::{trip_schema, writer_properties};
use super::trips::Model;

/// Rows handed to the Parquet writer at a time (whole hours are never split, so a batch can
/// be somewhat larger): small enough to stay in cache-friendly buffers.
const BATCH_ROWS: usize = 64 * 1024;

/// Counts and hashes every byte passed to the file.
struct HashingWriter<'a> {
    inner: BufWriter<File>,
    hasher: blake3::Hasher,
    bytes: u64,
    progress: &'a AtomicU64,
}

impl Write for HashingWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        self.bytes += written as u64;
        self.progress.fetch_add(written as u64, Ordering::Relaxed);
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Generates and writes the trip file `plan` under `root`; `on_batch` hears of each batch.
pub(crate) fn write_trip_file(
    root: &Path,
    plan: &FilePlan,
    model: &Model,
    seed: u64,
    bytes_written: &AtomicU64,
    on_batch: &(dyn Fn(u64) + Sync),
) -> Result<FileEntry, DataError> {
    write_parquet(root, &plan.relative_path(), trip_schema(), bytes_written, |sink| produce_trips(plan, model, seed, sink, on_batch))
}

/// Generates the trip file `plan` without keeping it: only its size in bytes.
pub(crate) fn measure_trip_file(plan: &FilePlan, model: &Model, seed: u64) -> Result<u64, DataError> {
    let parquet_error = |source| DataError::Parquet { path: PathBuf::from(plan.relative_path()), source };
    let mut writer = ArrowWriter::try_new(ByteCounter(0), trip_schema(), Some(writer_properties())).map_err(parquet_error)?;
    produce_trips(plan, model, seed, &mut |batch| writer.write(batch).map_err(parquet_error), &|_| {})?;
    Ok(writer.into_inner().map_err(parquet_error)?.0)
}

/// Feeds the trips of `plan` to `sink` in batches of whole hours.
fn produce_trips(
    plan: &FilePlan,
    model: &Model,
    seed: u64,
    sink: &mut BatchSink<'_>,
    on_batch: &(dyn Fn(u64) + Sync),
) -> Result<u64, DataError> {
    let mut rng = file_stream(seed, u64::from(plan.index));
    let mut columns = TripColumns::default();
    let mut start = 0;
    while start < plan.hours.len() {
        let mut end = start;
        let mut rows = 0;
        while end < plan.hours.len() && rows < BATCH_ROWS {
            rows += plan.hours[end].rows as usize;
            end += 1;
        }
        columns.reserve(rows);
        model.fill(&mut rng, &plan.hours[start..end], &mut columns);
        let batch_rows = columns.len() as u64;
        sink(&columns.take_batch())?;
        on_batch(batch_rows);
        start = end;
    }
    Ok(plan.rows)
}

/// A `Write` that keeps nothing but the count.
struct ByteCounter(u64);

impl Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes a small table in one batch (the zone lookup).
pub(crate) fn write_table(root: &Path, relative: &str, batch: &RecordBatch, bytes_written: &AtomicU64) -> Result<FileEntry, DataError> {
    write_parquet(root, relative, batch.schema(), bytes_written, |writer| {
        writer(batch)?;
        Ok(batch.num_rows() as u64)
    })
}

/// Writes a non-Parquet file (the zone CSV) the same way: partial, synced, renamed, hashed.
pub(crate) fn write_bytes(root: &Path, relative: &str, bytes: &[u8]) -> Result<FileEntry, DataError> {
    let (partial, path) = paths(root, relative)?;
    let mut file = File::create(&partial).map_err(DataError::io(&partial))?;
    file.write_all(bytes).map_err(DataError::io(&partial))?;
    file.sync_data().map_err(DataError::io(&partial))?;
    fs::rename(&partial, &path).map_err(DataError::io(&path))?;
    Ok(FileEntry {
        path: relative.to_string(),
        rows: bytes.iter().filter(|&&b| b == b'\n').count() as u64 - 1,
        bytes: bytes.len() as u64,
        blake3: blake3::hash(bytes).to_hex().to_string(),
    })
}

fn paths(root: &Path, relative: &str) -> Result<(PathBuf, PathBuf), DataError> {
    let path = root.join(relative);
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(DataError::io(dir))?;
    }
    Ok((root.join(format!("{relative}.partial")), path))
}

type BatchSink<'w> = dyn FnMut(&RecordBatch) -> Result<(), DataError> + 'w;

fn write_parquet(
    root: &Path,
    relative: &str,
    schema: SchemaRef,
    bytes_written: &AtomicU64,
    produce: impl FnOnce(&mut BatchSink<'_>) -> Result<u64, DataError>,
) -> Result<FileEntry, DataError> {
    let (partial, path) = paths(root, relative)?;
    let parquet_error = |source| DataError::Parquet { path: partial.clone(), source };
    let file = File::create(&partial).map_err(DataError::io(&partial))?;
    let sink =
        HashingWriter { inner: BufWriter::with_capacity(1 << 20, file), hasher: blake3::Hasher::new(), bytes: 0, progress: bytes_written };
    let mut writer = ArrowWriter::try_new(sink, schema, Some(writer_properties())).map_err(parquet_error)?;
    let rows = produce(&mut |batch| writer.write(batch).map_err(parquet_error))?;
    let sink = writer.into_inner().map_err(parquet_error)?;
    let file = sink.inner.into_inner().map_err(|e| DataError::io(&partial)(e.into_error()))?;
    file.sync_data().map_err(DataError::io(&partial))?;
    fs::rename(&partial, &path).map_err(DataError::io(&path))?;
    Ok(FileEntry { path: relative.to_string(), rows, bytes: sink.bytes, blake3: sink.hasher.finalize().to_hex().to_string() })
}
