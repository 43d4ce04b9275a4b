//! The Arrow schemas of the trip records and the zone lookup, and the Parquet writer settings.
//!
//! Column names, order and types follow the TLC yellow-taxi files of 2024 (the last year with
//! 19 columns): timestamps are microseconds without a time zone, local New York time.
use std::sync::{Arc, LazyLock};

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::basic::{Compression, Encoding};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::schema::types::ColumnPath;
use serde::{Deserialize, Serialize};

/// One column as the manifest records it: name, Arrow type and nullability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnSpec {
    pub name: String,
    pub data_type: String,
    pub nullable: bool,
}

/// Rows per Parquet row group: about 20 MiB of Snappy data, large enough for Spark to plan
/// one task per row group and small enough that each writer thread buffers little.
pub(crate) const ROW_GROUP_ROWS: usize = 1 << 20;

/// The 19 yellow-taxi trip columns, in the TLC's order.
pub fn trip_schema() -> SchemaRef {
    static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
        let timestamp = DataType::Timestamp(TimeUnit::Microsecond, None);
        let money = |name| Field::new(name, DataType::Float64, false);
        Arc::new(Schema::new(vec![
            Field::new("VendorID", DataType::Int32, false),
            Field::new("tpep_pickup_datetime", timestamp.clone(), false),
            Field::new("tpep_dropoff_datetime", timestamp, false),
            Field::new("passenger_count", DataType::Int64, true),
            Field::new("trip_distance", DataType::Float64, false),
            Field::new("RatecodeID", DataType::Int64, true),
            Field::new("store_and_fwd_flag", DataType::Utf8, true),
            Field::new("PULocationID", DataType::Int32, false),
            Field::new("DOLocationID", DataType::Int32, false),
            Field::new("payment_type", DataType::Int64, false),
            money("fare_amount"),
            money("extra"),
            money("mta_tax"),
            money("tip_amount"),
            money("tolls_amount"),
            money("improvement_surcharge"),
            money("total_amount"),
            Field::new("congestion_surcharge", DataType::Float64, true),
            Field::new("airport_fee", DataType::Float64, true),
        ]))
    });
    SCHEMA.clone()
}

/// The taxi zone lookup table joined by the `join` workload.
pub fn zone_schema() -> SchemaRef {
    static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
        Arc::new(Schema::new(vec![
            Field::new("LocationID", DataType::Int32, false),
            Field::new("Borough", DataType::Utf8, false),
            Field::new("Zone", DataType::Utf8, false),
            Field::new("service_zone", DataType::Utf8, false),
        ]))
    });
    SCHEMA.clone()
}

/// The schema in the manifest's words: one entry per column.
pub fn describe(schema: &Schema) -> Vec<ColumnSpec> {
    schema
        .fields()
        .iter()
        .map(|field| ColumnSpec { name: field.name().clone(), data_type: field.data_type().to_string(), nullable: field.is_nullable() })
        .collect()
}

/// Snappy, format 1 data pages, chunk statistics and no page index, as pyarrow writes by
/// default. parquet-rs' column writer only writes the two timestamps (`writer.rs`): they are
/// sorted within a file, so deltas take a byte or two where a dictionary would overflow and
/// fall back to plain 8-byte values. The other columns are dictionary-encoded by
/// `dictionary.rs`, which writes the same page layout.
pub(crate) fn writer_properties() -> WriterProperties {
    let mut builder = WriterProperties::builder()
        .set_writer_version(WriterVersion::PARQUET_1_0)
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_offset_index_disabled(true);
    for column in ["tpep_pickup_datetime", "tpep_dropoff_datetime"] {
        let path = ColumnPath::from(column);
        builder = builder.set_column_dictionary_enabled(path.clone(), false).set_column_encoding(path, Encoding::DELTA_BINARY_PACKED);
    }
    builder.build()
}
