//! Writes one Parquet file batch by batch and hashes its bytes on the way to disk.
//!
//! A file appears under its final name only once complete and synced (written as `*.partial`,
//! then renamed), so a crash never leaves a truncated file that looks finished. Trip files go
//! through `TripFileWriter`, which encodes the model's integer columns itself (`dictionary.rs`)
//! and leaves only the two delta-encoded timestamps to parquet-rs' column writer; the small
//! zone table goes through parquet-rs' `ArrowWriter`.
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::{ArrowSchemaConverter, ArrowWriter, add_encoded_arrow_schema_to_metadata};
use parquet::column::page::{CompressedPage, PageWriteSpec, PageWriter};
use parquet::column::writer::{ColumnWriter, get_column_writer, get_typed_column_writer_mut};
use parquet::data_type::Int64Type;
use parquet::file::properties::WriterPropertiesPtr;
use parquet::file::writer::{SerializedFileWriter, SerializedPageWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;

use super::DataError;
use super::columns::{Column, TripColumns};
use super::dictionary::{DictionaryChunk, PAGE_ROWS, Spliced, encode_levels};
use super::layout::FilePlan;
use super::manifest::FileEntry;
use super::sampling::file_stream;
use super::schema::{ROW_GROUP_ROWS, trip_schema, writer_properties};
use super::trips::Model;

/// Rows handed to the Parquet writer at a time (whole hours are never split, so a batch can
/// be somewhat larger): small enough to stay in cache-friendly buffers.
const BATCH_ROWS: usize = 8 * 1024;

/// Counts and hashes every byte passed to the file; it sits behind a 1 MiB `BufWriter`, so
/// blake3 hashes large buffers (its SIMD paths want many 1 KiB chunks at once).
struct HashingWriter<'a> {
    inner: File,
    hasher: blake3::Hasher,
    bytes: u64,
    progress: &'a AtomicU64,
}

impl HashingWriter<'_> {
    fn new(file: File, progress: &AtomicU64) -> BufWriter<HashingWriter<'_>> {
        BufWriter::with_capacity(1 << 20, HashingWriter { inner: file, hasher: blake3::Hasher::new(), bytes: 0, progress })
    }
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
    cancel: &AtomicBool,
) -> Result<FileEntry, DataError> {
    let relative = plan.relative_path();
    let (partial, path) = paths(root, &relative)?;
    let parquet_error = |source| DataError::Parquet { path: partial.clone(), source };
    let file = File::create(&partial).map_err(DataError::io(&partial))?;
    let mut writer = TripFileWriter::new(HashingWriter::new(file, bytes_written)).map_err(parquet_error)?;
    produce_trips(plan, model, seed, &mut |columns| writer.write(columns).map_err(parquet_error), on_batch, cancel)?;
    let sink = writer.finish().map_err(parquet_error)?.into_inner().map_err(|e| DataError::io(&partial)(e.into_error()))?;
    sink.inner.sync_data().map_err(DataError::io(&partial))?;
    fs::rename(&partial, &path).map_err(DataError::io(&path))?;
    Ok(FileEntry { path: relative, rows: plan.rows, bytes: sink.bytes, blake3: sink.hasher.finalize().to_hex().to_string() })
}

/// Generates the trip file `plan` without keeping it: only its size in bytes.
pub(crate) fn measure_trip_file(plan: &FilePlan, model: &Model, seed: u64, cancel: &AtomicBool) -> Result<u64, DataError> {
    let parquet_error = |source| DataError::Parquet { path: PathBuf::from(plan.relative_path()), source };
    let mut writer = TripFileWriter::new(ByteCounter(0)).map_err(parquet_error)?;
    produce_trips(plan, model, seed, &mut |columns| writer.write(columns).map_err(parquet_error), &|_| {}, cancel)?;
    Ok(writer.finish().map_err(parquet_error)?.0)
}

type ColumnsSink<'w> = dyn FnMut(&TripColumns) -> Result<(), DataError> + 'w;

/// Feeds the trips of `plan` to `sink` in batches of whole hours, until `cancel` is set.
fn produce_trips(
    plan: &FilePlan,
    model: &Model,
    seed: u64,
    sink: &mut ColumnsSink<'_>,
    on_batch: &(dyn Fn(u64) + Sync),
    cancel: &AtomicBool,
) -> Result<(), DataError> {
    let mut rng = file_stream(seed, u64::from(plan.index));
    let mut columns = TripColumns::default();
    let mut start = 0;
    while start < plan.hours.len() {
        if cancel.load(Ordering::Relaxed) {
            return Err(DataError::Interrupted);
        }
        let mut end = start;
        let mut rows = 0;
        while end < plan.hours.len() && rows < BATCH_ROWS {
            rows += plan.hours[end].rows as usize;
            end += 1;
        }
        columns.clear();
        columns.reserve(rows);
        model.fill(&mut rng, &plan.hours[start..end], &mut columns);
        sink(&columns)?;
        on_batch(columns.len() as u64);
        start = end;
    }
    Ok(())
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

/// One column chunk of the row group being written.
enum Chunk {
    Dictionary(Box<DictionaryChunk>),
    /// parquet-rs' own column writer (delta-encoded timestamps), paging into `buffer`.
    Writer(Box<ColumnWriter<'static>>, Arc<Mutex<Vec<u8>>>),
}

/// A trip Parquet file: row groups of `ROW_GROUP_ROWS` rows, each column chunk encoded in
/// memory and spliced into the file when the row group is complete.
struct TripFileWriter<W: Write + Send> {
    file: SerializedFileWriter<W>,
    columns: Vec<ColumnDescPtr>,
    props: WriterPropertiesPtr,
    chunks: Vec<Chunk>,
    group_rows: usize,
    /// The current page of the dictionary columns: its rows and which are known (non-null).
    page_rows: usize,
    page_known: Vec<bool>,
    levels: Vec<u8>,
}

impl<W: Write + Send> TripFileWriter<W> {
    fn new(sink: W) -> parquet::errors::Result<Self> {
        let schema = trip_schema();
        let parquet_schema = ArrowSchemaConverter::new().convert(&schema)?;
        let mut props = writer_properties();
        add_encoded_arrow_schema_to_metadata(&schema, &mut props);
        let props = Arc::new(props);
        let file = SerializedFileWriter::new(sink, parquet_schema.root_schema_ptr(), Arc::clone(&props))?;
        let columns = parquet_schema.columns().to_vec();
        let mut writer = TripFileWriter {
            file,
            columns,
            props,
            chunks: Vec::new(),
            group_rows: 0,
            page_rows: 0,
            page_known: Vec::with_capacity(PAGE_ROWS),
            levels: Vec::new(),
        };
        writer.start_group();
        Ok(writer)
    }

    /// The column chunks of a row group; `flush_group` readies them for the next one.
    fn start_group(&mut self) {
        self.chunks = TripColumns::default()
            .in_schema_order()
            .iter()
            .zip(&self.columns)
            .map(|(column, descr)| match column {
                Column::Keys(_, physical, _) => Chunk::Dictionary(Box::new(DictionaryChunk::new(descr.clone(), *physical))),
                Column::Timestamps(_) => {
                    let buffer = Arc::new(Mutex::new(Vec::new()));
                    Chunk::Writer(Box::new(timestamp_writer(descr, &self.props, &buffer)), buffer)
                }
            })
            .collect();
        self.group_rows = 0;
    }

    /// Appends a batch, in pieces that end at page and row-group boundaries.
    fn write(&mut self, batch: &TripColumns) -> parquet::errors::Result<()> {
        let mut start = 0;
        while start < batch.len() {
            let room = (PAGE_ROWS - self.page_rows).min(ROW_GROUP_ROWS - self.group_rows);
            let end = batch.len().min(start + room);
            let known = &batch.known[start..end];
            for (chunk, column) in self.chunks.iter_mut().zip(batch.in_schema_order()) {
                match (chunk, column) {
                    (Chunk::Dictionary(chunk), Column::Keys(keys, _, nullable)) => {
                        chunk.append(&keys[start..end], nullable.then_some(known));
                    }
                    (Chunk::Writer(writer, _), Column::Timestamps(micros)) => {
                        get_typed_column_writer_mut::<Int64Type>(writer).write_batch(&micros[start..end], None, None)?;
                    }
                    _ => unreachable!("chunks are made from the same column list"),
                }
            }
            self.page_known.extend_from_slice(known);
            self.page_rows += end - start;
            self.group_rows += end - start;
            if self.group_rows == ROW_GROUP_ROWS {
                self.flush_group()?;
            } else if self.page_rows == PAGE_ROWS {
                self.end_page()?;
            }
            start = end;
        }
        Ok(())
    }

    /// Ends the dictionary columns' current page; their definition levels are encoded once.
    fn end_page(&mut self) -> parquet::errors::Result<()> {
        encode_levels(&self.page_known, &mut self.levels);
        for chunk in &mut self.chunks {
            if let Chunk::Dictionary(chunk) = chunk {
                chunk.end_page(&self.levels)?;
            }
        }
        self.page_known.clear();
        self.page_rows = 0;
        Ok(())
    }

    /// Writes the buffered row group to the file and readies the chunks for the next one.
    fn flush_group(&mut self) -> parquet::errors::Result<()> {
        self.end_page()?;
        let mut chunks = std::mem::take(&mut self.chunks);
        let mut group = self.file.next_row_group()?;
        for (chunk, descr) in chunks.iter_mut().zip(&self.columns) {
            match chunk {
                Chunk::Dictionary(chunk) => {
                    let (bytes, close) = chunk.finish()?;
                    group.append_column(&bytes, close)?;
                    chunk.reset();
                }
                Chunk::Writer(writer, buffer) => {
                    // The next row group's writer pages into the same buffer, once emptied.
                    let close = std::mem::replace(&mut **writer, timestamp_writer(descr, &self.props, buffer)).close()?;
                    let mut bytes = buffer.lock().expect("no panics while the lock is held");
                    group.append_column(&Spliced { head: &[], tail: &bytes }, close)?;
                    bytes.clear();
                }
            }
        }
        group.close()?;
        self.chunks = chunks;
        self.group_rows = 0;
        Ok(())
    }

    /// Writes the last row group and the footer; returns the sink.
    fn finish(mut self) -> parquet::errors::Result<W> {
        if self.group_rows > 0 {
            self.flush_group()?;
        }
        self.file.into_inner()
    }
}

/// parquet-rs' column writer for `descr`, paging into `buffer`.
fn timestamp_writer(descr: &ColumnDescPtr, props: &WriterPropertiesPtr, buffer: &Arc<Mutex<Vec<u8>>>) -> ColumnWriter<'static> {
    let pages = Box::new(BufferPages(TrackedWrite::new(SharedBuffer(Arc::clone(buffer)))));
    get_column_writer(descr.clone(), Arc::clone(props), pages)
}

/// A `Write` into a buffer shared with the code that splices the finished column chunk.
struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("no panics while the lock is held").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Pages of one column chunk, serialized into memory.
struct BufferPages(TrackedWrite<SharedBuffer>);

impl PageWriter for BufferPages {
    fn write_page(&mut self, page: CompressedPage) -> parquet::errors::Result<PageWriteSpec> {
        SerializedPageWriter::new(&mut self.0).write_page(page)
    }

    fn close(&mut self) -> parquet::errors::Result<()> {
        self.0.flush()?;
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
    let mut writer =
        ArrowWriter::try_new(HashingWriter::new(file, bytes_written), schema, Some(writer_properties())).map_err(parquet_error)?;
    let rows = produce(&mut |batch| writer.write(batch).map_err(parquet_error))?;
    let sink = writer.into_inner().map_err(parquet_error)?.into_inner().map_err(|e| DataError::io(&partial)(e.into_error()))?;
    sink.inner.sync_data().map_err(DataError::io(&partial))?;
    fs::rename(&partial, &path).map_err(DataError::io(&path))?;
    Ok(FileEntry { path: relative.to_string(), rows, bytes: sink.bytes, blake3: sink.hasher.finalize().to_hex().to_string() })
}
