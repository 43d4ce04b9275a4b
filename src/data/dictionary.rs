//! One dictionary-encoded Parquet column chunk, encoded from the generator's integer keys.
//!
//! The trip model produces whole cents, hundredths of a mile and small ids, so a value's
//! dictionary slot is found by indexing a table with the key (or hashing the rare far-out
//! key) instead of hashing 8-byte doubles; statistics
//! come from the dictionary, not from every row. The chunk has the layout other writers give
//! it: one PLAIN dictionary page, then RLE_DICTIONARY data pages (format 1) of `PAGE_ROWS`
//! rows, Snappy-compressed; past the 1 MiB dictionary limit it falls back to PLAIN pages, as
//! pyarrow and parquet-rs do.
use std::io::{Read, Write};

use bytes::Bytes;
use parquet::basic::{Compression, Encoding, PageType};
use parquet::column::page::{CompressedPage, Page, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::data_type::ByteArray;
use parquet::errors::Result;
use parquet::file::metadata::{ColumnChunkMetaData, PageEncodingStats};
use parquet::file::reader::{ChunkReader, Length};
use parquet::file::statistics::{Statistics, ValueStatistics};
use parquet::file::writer::{SerializedPageWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;

use super::rle;

/// Rows per data page (the parquet-rs default).
pub(crate) const PAGE_ROWS: usize = 20_000;
/// Keys from −$200.00 to $455.35 (and ids, counts, distances up to 655 miles) find their
/// slot by direct lookup.
const DIRECT_MIN: i32 = -20_000;
const DIRECT_LEN: usize = 1 << 16;
/// Dictionary pages stop growing at 1 MiB of PLAIN values (the pyarrow and parquet-rs default).
const DICTIONARY_LIMIT_BYTES: usize = 1 << 20;

/// A page's definition levels as a format-1 data page holds them: their byte length, then the
/// RLE/bit-packing hybrid of 1 (a value) and 0 (null). The nullable trip columns are null
/// together, so the writer encodes this once per page for all of them.
pub(crate) fn encode_levels(valid: &[bool], out: &mut Vec<u8>) {
    let levels: Vec<u32> = valid.iter().map(|&v| u32::from(v)).collect();
    out.clear();
    out.extend_from_slice(&[0; 4]);
    rle::encode(&levels, 1, out);
    let length = (out.len() - 4) as u32;
    out[..4].copy_from_slice(&length.to_le_bytes());
}

/// How a key is stored: the Parquet physical type and the value a key stands for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Physical {
    Int32,
    Int64,
    /// A double of `key / 100` (cents to dollars, hundredths of a mile to miles).
    Hundredths,
    /// A string: key 1 is "Y", 0 is "N".
    YesNo,
}

impl Physical {
    fn plain_bytes(self) -> usize {
        match self {
            Physical::Int32 => 4,
            Physical::Int64 | Physical::Hundredths => 8,
            Physical::YesNo => 5,
        }
    }

    fn write_plain(self, key: i32, out: &mut Vec<u8>) {
        match self {
            Physical::Int32 => out.extend_from_slice(&key.to_le_bytes()),
            Physical::Int64 => out.extend_from_slice(&i64::from(key).to_le_bytes()),
            Physical::Hundredths => out.extend_from_slice(&hundredths(key).to_le_bytes()),
            Physical::YesNo => {
                out.extend_from_slice(&1u32.to_le_bytes());
                out.push(if key == 1 { b'Y' } else { b'N' });
            }
        }
    }

    /// Chunk statistics from the smallest and largest key; the deprecated `min`/`max` fields
    /// are filled too for the signed types, as parquet-rs does.
    fn statistics(self, min: i32, max: i32, nulls: u64) -> Statistics {
        match self {
            Physical::Int32 => Statistics::Int32(
                ValueStatistics::new(Some(min), Some(max), None, Some(nulls), false).with_backwards_compatible_min_max(true),
            ),
            Physical::Int64 => Statistics::Int64(
                ValueStatistics::new(Some(i64::from(min)), Some(i64::from(max)), None, Some(nulls), false)
                    .with_backwards_compatible_min_max(true),
            ),
            Physical::Hundredths => Statistics::Double(
                ValueStatistics::new(Some(hundredths(min)), Some(hundredths(max)), None, Some(nulls), false)
                    .with_nan_count(Some(0))
                    .with_backwards_compatible_min_max(true),
            ),
            Physical::YesNo => {
                let text = |key: i32| ByteArray::from(if key == 1 { "Y" } else { "N" });
                Statistics::ByteArray(ValueStatistics::new(Some(text(min)), Some(text(max)), None, Some(nulls), false))
            }
        }
    }
}

/// Exactly `key as f64 / 100.0`: money and distances are whole hundredths.
#[inline]
pub(crate) fn hundredths(key: i32) -> f64 {
    f64::from(key) / 100.0
}

/// An open-addressing map from key to dictionary slot.
struct Slots {
    /// (key, slot + 1); slot 0 means empty.
    table: Vec<(i32, u32)>,
    shift: u32,
}

impl Slots {
    fn new() -> Slots {
        Slots { table: vec![(0, 0); 1024], shift: 64 - 10 }
    }

    #[inline]
    fn position(&self, key: i32) -> usize {
        ((key as u32 as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    /// The slot of `key`, or `None` with the empty position where it would go.
    #[inline]
    fn find(&self, key: i32) -> Result<u32, usize> {
        let mask = self.table.len() - 1;
        let mut at = self.position(key);
        loop {
            let (k, slot) = self.table[at];
            if slot == 0 {
                return Err(at);
            }
            if k == key {
                return Ok(slot - 1);
            }
            at = (at + 1) & mask;
        }
    }

    fn insert(&mut self, at: usize, key: i32, slot: u32, count: usize) {
        self.table[at] = (key, slot + 1);
        if count * 2 > self.table.len() {
            let old = std::mem::take(&mut self.table);
            self.table = vec![(0, 0); old.len() * 2];
            self.shift -= 1;
            for (key, slot) in old.into_iter().filter(|&(_, slot)| slot != 0) {
                let at = self.find(key).expect_err("keys are unique");
                self.table[at] = (key, slot);
            }
        }
    }
}

/// The column chunk of one row group, built page by page.
pub(crate) struct DictionaryChunk {
    descr: ColumnDescPtr,
    physical: Physical,
    nullable: bool,
    /// Slot + 1 of each key in `DIRECT_MIN..DIRECT_MIN + DIRECT_LEN` (0: not seen yet), in
    /// 16 bits so a column's busy range stays in L1 cache; keys outside that range (rare: a
    /// bogus distance, a $400 fare) and slots past 65,534 are hashed in `slots`.
    direct: Vec<u16>,
    slots: Slots,
    /// Dictionary keys by slot, in order of first appearance.
    keys: Vec<i32>,
    /// Keys past the dictionary limit are written PLAIN.
    fallback: bool,
    min: i32,
    max: i32,
    /// The current page: slots (or, after fallback, keys) of its non-null rows.
    page_values: Vec<u32>,
    page_rows: usize,
    rows: u64,
    nulls: u64,
    data: TrackedWrite<Vec<u8>>,
    dictionary: Vec<u8>,
    compressed: Vec<u8>,
    uncompressed_bytes: u64,
    pages: Vec<PageEncodingStats>,
    scratch: Vec<u8>,
    snappy: snap::raw::Encoder,
}

impl DictionaryChunk {
    pub(crate) fn new(descr: ColumnDescPtr, physical: Physical) -> DictionaryChunk {
        let nullable = descr.max_def_level() > 0;
        DictionaryChunk {
            descr,
            physical,
            nullable,
            direct: vec![0; DIRECT_LEN],
            slots: Slots::new(),
            keys: Vec::new(),
            fallback: false,
            min: i32::MAX,
            max: i32::MIN,
            page_values: Vec::with_capacity(PAGE_ROWS),
            page_rows: 0,
            rows: 0,
            nulls: 0,
            data: TrackedWrite::new(Vec::new()),
            dictionary: Vec::new(),
            compressed: Vec::new(),
            uncompressed_bytes: 0,
            pages: Vec::new(),
            scratch: Vec::new(),
            snappy: snap::raw::Encoder::new(),
        }
    }

    /// Appends rows to the current page: `keys[i]` where `valid` is absent or `valid[i]`,
    /// else null. The caller ends the page (`end_page`) after at most `PAGE_ROWS` rows.
    pub(crate) fn append(&mut self, keys: &[i32], valid: Option<&[bool]>) {
        debug_assert!(self.page_rows + keys.len() <= PAGE_ROWS, "a page holds at most PAGE_ROWS rows");
        let mut values = std::mem::take(&mut self.page_values);
        match valid {
            None => self.values_of(keys.iter().copied(), &mut values),
            Some(valid) => self.values_of(keys.iter().zip(valid).filter(|(_, v)| **v).map(|(&key, _)| key), &mut values),
        }
        self.page_values = values;
        self.page_rows += keys.len();
    }

    /// Appends the dictionary slot of each key to `out` (adding new keys), or once the
    /// dictionary is full, the key itself.
    #[inline(always)]
    fn values_of(&mut self, keys: impl Iterator<Item = i32>, out: &mut Vec<u32>) {
        if self.fallback {
            for key in keys {
                self.min = self.min.min(key);
                self.max = self.max.max(key);
                out.push(key as u32);
            }
            return;
        }
        for key in keys {
            let at = key.wrapping_sub(DIRECT_MIN) as u32 as usize;
            let slot = match self.direct.get(at) {
                Some(&slot) if slot != 0 => u32::from(slot) - 1,
                _ => self.new_or_distant(key),
            };
            out.push(slot);
        }
    }

    #[inline(never)]
    fn new_or_distant(&mut self, key: i32) -> u32 {
        match self.slots.find(key) {
            Ok(slot) => slot,
            Err(position) => {
                let slot = self.keys.len() as u32;
                self.keys.push(key);
                let at = key.wrapping_sub(DIRECT_MIN) as u32 as usize;
                match u16::try_from(slot + 1) {
                    Ok(direct) if at < self.direct.len() => self.direct[at] = direct,
                    _ => self.slots.insert(position, key, slot, self.keys.len()),
                }
                self.min = self.min.min(key);
                self.max = self.max.max(key);
                slot
            }
        }
    }

    /// Writes the current page. `levels` are its encoded definition levels (`encode_levels`),
    /// the same for every nullable column of the row group; other columns ignore them.
    pub(crate) fn end_page(&mut self, levels: &[u8]) -> Result<()> {
        if self.page_rows == 0 {
            return Ok(());
        }
        let mut body = std::mem::take(&mut self.scratch);
        body.clear();
        if self.nullable {
            body.extend_from_slice(levels);
        }
        let encoding = if self.fallback {
            for &key in &self.page_values {
                self.physical.write_plain(key as i32, &mut body);
            }
            Encoding::PLAIN
        } else {
            let width = rle::bit_width(self.keys.len().saturating_sub(1) as u32);
            body.push(width);
            rle::encode(&self.page_values, width, &mut body);
            Encoding::RLE_DICTIONARY
        };
        let nulls = (self.page_rows - self.page_values.len()) as u64;
        let page = Page::DataPage {
            buf: self.compress(&body)?,
            num_values: self.page_rows as u32,
            encoding,
            def_level_encoding: Encoding::RLE,
            rep_level_encoding: Encoding::RLE,
            statistics: None,
        };
        self.write_page(CompressedPage::new(page, body.len()))?;
        self.scratch = body;
        self.rows += self.page_rows as u64;
        self.nulls += nulls;
        self.page_rows = 0;
        self.page_values.clear();
        // A full dictionary: the pages after this one are PLAIN.
        if !self.fallback && self.keys.len() * self.physical.plain_bytes() >= DICTIONARY_LIMIT_BYTES {
            self.fallback = true;
        }
        Ok(())
    }

    /// Snappy into a reused buffer (`compress_vec` zeroed a fresh one per page).
    fn compress(&mut self, body: &[u8]) -> Result<Bytes> {
        let most = snap::raw::max_compress_len(body.len());
        if self.compressed.len() < most {
            self.compressed.resize(most, 0);
        }
        let length = self.snappy.compress(body, &mut self.compressed).map_err(|e| parquet::errors::ParquetError::External(Box::new(e)))?;
        Ok(Bytes::copy_from_slice(&self.compressed[..length]))
    }

    fn write_page(&mut self, page: CompressedPage) -> Result<()> {
        let (page_type, encoding) = (page.page_type(), page.encoding());
        let spec = SerializedPageWriter::new(&mut self.data).write_page(page)?;
        self.uncompressed_bytes += spec.uncompressed_size as u64;
        match self.pages.last_mut() {
            Some(stats) if stats.page_type == page_type && stats.encoding == encoding => stats.count += 1,
            _ => self.pages.push(PageEncodingStats { page_type, encoding, count: 1 }),
        }
        Ok(())
    }

    /// Closes the chunk (its last page ended): its bytes, the dictionary page first, and its
    /// metadata. `reset` then readies the chunk for the next row group, keeping its buffers.
    pub(crate) fn finish(&mut self) -> Result<(Spliced<'_>, ColumnCloseResult)> {
        debug_assert_eq!(self.page_rows, 0, "the last page was ended");
        let mut plain = std::mem::take(&mut self.scratch);
        plain.clear();
        for &key in &self.keys {
            self.physical.write_plain(key, &mut plain);
        }
        let page = Page::DictionaryPage {
            buf: self.compress(&plain)?,
            num_values: self.keys.len() as u32,
            encoding: Encoding::PLAIN,
            is_sorted: false,
        };
        let mut dictionary = TrackedWrite::new(std::mem::take(&mut self.dictionary));
        let spec = SerializedPageWriter::new(&mut dictionary).write_page(CompressedPage::new(page, plain.len()))?;
        self.dictionary = dictionary.into_inner()?;
        self.scratch = plain;
        self.data.flush()?;
        let dictionary_bytes = self.dictionary.len() as i64;
        let total = dictionary_bytes + self.data.inner().len() as i64;

        let encodings = vec![Encoding::PLAIN, Encoding::RLE, Encoding::RLE_DICTIONARY];
        let mut pages = vec![PageEncodingStats { page_type: PageType::DICTIONARY_PAGE, encoding: Encoding::PLAIN, count: 1 }];
        pages.extend(self.pages.iter().cloned());
        let mut builder = ColumnChunkMetaData::builder(self.descr.clone())
            .set_compression(Compression::SNAPPY)
            .set_encodings(encodings)
            .set_page_encoding_stats(pages)
            .set_total_compressed_size(total)
            .set_total_uncompressed_size(spec.uncompressed_size as i64 + self.uncompressed_bytes as i64)
            .set_num_values(self.rows as i64)
            .set_dictionary_page_offset(Some(0))
            .set_data_page_offset(dictionary_bytes);
        if self.min <= self.max {
            builder = builder.set_statistics(self.physical.statistics(self.min, self.max, self.nulls));
        }
        let close = ColumnCloseResult {
            bytes_written: total as u64,
            rows_written: self.rows,
            metadata: builder.build()?,
            bloom_filter: None,
            column_index: None,
            offset_index: None,
        };
        Ok((Spliced { head: &self.dictionary, tail: self.data.inner() }, close))
    }

    /// Empties the chunk for the next row group; its tables and buffers keep their memory
    /// (fresh ones cost a page fault per 4 KiB, row group after row group).
    pub(crate) fn reset(&mut self) {
        for &key in &self.keys {
            if let Some(entry) = self.direct.get_mut(key.wrapping_sub(DIRECT_MIN) as u32 as usize) {
                *entry = 0;
            }
        }
        self.slots = Slots::new();
        self.keys.clear();
        self.fallback = false;
        (self.min, self.max) = (i32::MAX, i32::MIN);
        (self.rows, self.nulls, self.uncompressed_bytes) = (0, 0, 0);
        self.data.inner_mut().clear();
        self.dictionary.clear();
        self.pages.clear();
    }
}

/// A column chunk's bytes in two pieces (dictionary page, data pages), read as one: spliced
/// into the file without first copying them together.
pub(crate) struct Spliced<'a> {
    pub head: &'a [u8],
    pub tail: &'a [u8],
}

impl Length for Spliced<'_> {
    fn len(&self) -> u64 {
        (self.head.len() + self.tail.len()) as u64
    }
}

impl<'a> ChunkReader for Spliced<'a> {
    type T = std::io::Chain<&'a [u8], &'a [u8]>;

    fn get_read(&self, start: u64) -> Result<Self::T> {
        let start = start as usize;
        let head = &self.head[start.min(self.head.len())..];
        let tail = &self.tail[start.saturating_sub(self.head.len()).min(self.tail.len())..];
        Ok(head.chain(tail))
    }

    fn get_bytes(&self, start: u64, length: usize) -> Result<Bytes> {
        let mut bytes = Vec::with_capacity(length);
        self.get_read(start)?.take(length as u64).read_to_end(&mut bytes)?;
        Ok(Bytes::from(bytes))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int32Type};
    use arrow_array::{Array, RecordBatch};
    use parquet::arrow::ArrowSchemaConverter;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::file::properties::WriterProperties;
    use parquet::file::reader::FileReader;
    use parquet::file::serialized_reader::SerializedFileReader;
    use parquet::file::writer::SerializedFileWriter;

    use super::*;

    /// Writes `keys` (null where `valid` says so) as a one-column file and reads it back.
    fn round_trip(field: arrow_schema::Field, physical: Physical, keys: &[i32], valid: Option<&[bool]>) -> (RecordBatch, Bytes) {
        let schema = Arc::new(arrow_schema::Schema::new(vec![field]));
        let parquet_schema = ArrowSchemaConverter::new().convert(&schema).unwrap();
        let props = Arc::new(WriterProperties::builder().build());
        let mut file = SerializedFileWriter::new(Vec::new(), parquet_schema.root_schema_ptr(), props).unwrap();
        let mut chunk = DictionaryChunk::new(parquet_schema.column(0), physical);
        let all_valid = vec![true; keys.len()];
        let mut levels = Vec::new();
        for (page, keys) in keys.chunks(PAGE_ROWS).enumerate() {
            let start = page * PAGE_ROWS;
            let page_valid = &valid.unwrap_or(&all_valid)[start..start + keys.len()];
            // In uneven pieces, as batches of hours arrive.
            let cut = keys.len().min(7);
            chunk.append(&keys[..cut], valid.map(|_| &page_valid[..cut]));
            chunk.append(&keys[cut..], valid.map(|_| &page_valid[cut..]));
            encode_levels(page_valid, &mut levels);
            chunk.end_page(&levels).unwrap();
        }
        let (bytes, close) = chunk.finish().unwrap();
        let mut group = file.next_row_group().unwrap();
        group.append_column(&bytes, close).unwrap();
        chunk.reset();
        group.close().unwrap();
        let file = Bytes::from(file.into_inner().unwrap());
        let reader = ParquetRecordBatchReaderBuilder::try_new(file.clone()).unwrap().with_batch_size(keys.len()).build().unwrap();
        let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>().unwrap();
        assert_eq!(batches.len(), 1);
        (batches.into_iter().next().unwrap(), file)
    }

    #[test]
    fn nullable_doubles_read_back_with_their_statistics() {
        let keys: Vec<i32> = (0..50_000).map(|i| [250, 0, -250, 1_234_567][i % 7 % 4]).collect();
        let valid: Vec<bool> = (0..50_000).map(|i| i % 40 != 3).collect();
        let field = arrow_schema::Field::new("c", arrow_schema::DataType::Float64, true);
        let (batch, file) = round_trip(field, Physical::Hundredths, &keys, Some(&valid));
        let column = batch.column(0).as_primitive::<Float64Type>();
        for row in 0..keys.len() {
            assert_eq!(column.is_valid(row), valid[row], "row {row}");
            if valid[row] {
                assert_eq!(column.value(row), f64::from(keys[row]) / 100.0, "row {row}");
            }
        }
        let metadata = ParquetRecordBatchReaderBuilder::try_new(file).unwrap().metadata().clone();
        let chunk = metadata.row_group(0).column(0);
        assert_eq!(chunk.dictionary_page_offset(), Some(4));
        match chunk.statistics().unwrap() {
            Statistics::Double(s) => {
                assert_eq!((s.min_opt(), s.max_opt()), (Some(&-2.5), Some(&12_345.67)));
                assert_eq!(s.null_count_opt(), Some(valid.iter().filter(|v| !**v).count() as u64));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_dictionary_past_its_limit_falls_back_to_plain_pages() {
        // 300,000 distinct int32 keys: 1.2 MB of dictionary, so the later pages are PLAIN.
        let keys: Vec<i32> = (0..300_000i64).map(|i| ((i * 7919) % 300_007 - 150_000) as i32).collect();
        let field = arrow_schema::Field::new("c", arrow_schema::DataType::Int32, false);
        let (batch, file) = round_trip(field, Physical::Int32, &keys, None);
        assert_eq!(batch.column(0).as_primitive::<Int32Type>().values().as_ref(), keys.as_slice());
        let reader = SerializedFileReader::new(file.clone()).unwrap();
        let pages: Vec<(PageType, Encoding)> = reader
            .get_row_group(0)
            .unwrap()
            .get_column_page_reader(0)
            .unwrap()
            .map(|p| p.map(|p| (p.page_type(), p.encoding())))
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(pages[0], (PageType::DICTIONARY_PAGE, Encoding::PLAIN));
        assert_eq!(pages[1], (PageType::DATA_PAGE, Encoding::RLE_DICTIONARY));
        assert_eq!(pages.last(), Some(&(PageType::DATA_PAGE, Encoding::PLAIN)));
        let metadata = ParquetRecordBatchReaderBuilder::try_new(file).unwrap().metadata().clone();
        match metadata.row_group(0).column(0).statistics().unwrap() {
            Statistics::Int32(s) => assert_eq!((s.min_opt(), s.max_opt()), (keys.iter().min(), keys.iter().max())),
            other => panic!("{other:?}"),
        }
    }
}
