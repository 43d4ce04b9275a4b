//! Issue 4: the generated NYC-taxi dataset, checked through the public library API and read
//! back with the Parquet crate's own reader (not the generator's code).
//!
//! Datasets are small (8–32 MiB) so the suite stays fast in debug builds; the 1 GiB size is
//! exercised by `benches/data.rs`.
use std::fs::{self, File};
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use loadbuild::data::{Check, DataError, GenSpec, Manifest, generate, parse_size, trip_schema, verify};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;

const MIB: u64 = 1 << 20;

fn generate_in(dir: &Path, target_bytes: u64, seed: u64, threads: usize) -> Manifest {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("thread pool");
    pool.install(|| generate(&GenSpec::new(target_bytes, seed), dir, &|_| {})).expect("generation succeeds")
}

fn read_batches(path: &Path) -> Vec<RecordBatch> {
    let file = File::open(path).expect("open parquet file");
    ParquetRecordBatchReaderBuilder::try_new(file)
        .expect("parquet metadata")
        .build()
        .expect("reader")
        .collect::<Result<_, _>>()
        .expect("batches")
}

#[test]
fn issue_4_schema_layout_and_compression_match_the_tlc_files() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = generate_in(dir.path(), 8 * MIB, 1, 2);

    let names: Vec<&str> = manifest.trip_schema.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "VendorID",
            "tpep_pickup_datetime",
            "tpep_dropoff_datetime",
            "passenger_count",
            "trip_distance",
            "RatecodeID",
            "store_and_fwd_flag",
            "PULocationID",
            "DOLocationID",
            "payment_type",
            "fare_amount",
            "extra",
            "mta_tax",
            "tip_amount",
            "tolls_amount",
            "improvement_surcharge",
            "total_amount",
            "congestion_surcharge",
            "airport_fee",
        ]
    );
    assert_eq!(manifest.trips.len(), 12, "one file per month of 2023");
    for entry in &manifest.trips {
        let parts: Vec<&str> = entry.path.split('/').collect();
        assert_eq!(parts.len(), 4, "trips/year=/month=/part: {}", entry.path);
        assert_eq!(parts[0], "trips");
        assert!(parts[1] == "year=2023", "{}", entry.path);
        assert!(parts[2].starts_with("month=") && parts[2].len() == 8, "{}", entry.path);
        assert!(parts[3].starts_with("part-") && parts[3].ends_with(".parquet"));

        let file = File::open(dir.path().join(&entry.path)).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        assert_eq!(reader.schema().fields(), trip_schema().fields());
        let metadata = reader.metadata();
        assert_eq!(metadata.file_metadata().num_rows() as u64, entry.rows);
        for row_group in metadata.row_groups() {
            for column in row_group.columns() {
                assert_eq!(column.compression(), Compression::SNAPPY);
            }
        }
    }

    let zones = read_batches(&dir.path().join("zones/taxi_zone_lookup.parquet"));
    assert_eq!(zones.iter().map(|b| b.num_rows()).sum::<usize>(), 265);
    let csv = fs::read_to_string(dir.path().join("zones/taxi_zone_lookup.csv")).unwrap();
    assert_eq!(csv.lines().next(), Some(r#""LocationID","Borough","Zone","service_zone""#));
    assert!(csv.contains("\n132,\"Queens\",\"JFK Airport\",\"Airports\"\n"));
    assert_eq!(csv.lines().count(), 266);
}

#[test]
fn issue_4_same_seed_gives_identical_bytes_whatever_the_thread_count() {
    let (one, two, other) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let single = generate_in(one.path(), 8 * MIB, 42, 1);
    let dual = generate_in(two.path(), 8 * MIB, 42, 2);
    assert_eq!(single, dual);
    for entry in single.files() {
        let a = fs::read(one.path().join(&entry.path)).unwrap();
        let b = fs::read(two.path().join(&entry.path)).unwrap();
        assert!(a == b, "`{}` differs between 1 and 2 threads", entry.path);
    }
    let reseeded = generate_in(other.path(), 8 * MIB, 43, 2);
    assert_ne!(single.digest, reseeded.digest, "another seed gives other data");
}

#[test]
fn issue_4_size_lands_within_ten_percent_of_the_target() {
    for size in ["8MiB", "32MiB"] {
        let target = parse_size(size).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let manifest = generate_in(dir.path(), target, 7, 2);
        let on_disk: u64 = manifest.trips.iter().map(|e| fs::metadata(dir.path().join(&e.path)).unwrap().len()).sum();
        assert_eq!(on_disk, manifest.bytes);
        let ratio = on_disk as f64 / target as f64;
        assert!((0.9..=1.1).contains(&ratio), "{size}: {on_disk} bytes, ratio {ratio:.3}");
        let rows: u64 = manifest.trips.iter().map(|e| e.rows).sum();
        assert_eq!(rows, manifest.rows);
    }
}

#[test]
fn issue_4_verify_detects_missing_truncated_and_corrupted_files() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = generate_in(dir.path(), 2 * MIB, 3, 2);
    assert_eq!(verify(dir.path(), Check::Contents).unwrap(), manifest);

    let victim = dir.path().join(&manifest.trips[3].path);
    let mut bytes = fs::read(&victim).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    fs::write(&victim, &bytes).unwrap();
    verify(dir.path(), Check::Sizes).expect("a flipped byte keeps the size");
    let err = verify(dir.path(), Check::Contents).unwrap_err();
    assert!(matches!(err, DataError::DigestMismatch { .. }), "{err}");
    assert!(err.to_string().contains("part-00003.parquet"), "{err}");

    fs::write(&victim, &bytes[..middle]).unwrap();
    let err = verify(dir.path(), Check::Sizes).unwrap_err();
    assert!(matches!(err, DataError::SizeMismatch { .. }), "{err}");

    fs::remove_file(&victim).unwrap();
    let err = verify(dir.path(), Check::Sizes).unwrap_err();
    assert!(matches!(err, DataError::FileMissing { .. }), "{err}");
}

#[test]
fn issue_4_generate_refuses_a_non_empty_directory_and_tiny_targets() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("stale.parquet"), b"old").unwrap();
    let err = generate(&GenSpec::new(8 * MIB, 1), dir.path(), &|_| {}).unwrap_err();
    assert!(matches!(err, DataError::OutputNotEmpty { .. }), "{err}");
    let err = generate(&GenSpec::new(1000, 1), &dir.path().join("new"), &|_| {}).unwrap_err();
    assert!(matches!(err, DataError::TargetTooSmall { .. }), "{err}");
}

/// Column `name` of every batch, downcast with `f`.
fn column<'a, T: 'a>(batches: &'a [RecordBatch], name: &str, f: impl Fn(&'a dyn Array) -> T) -> Vec<T> {
    batches.iter().map(|b| f(b.column_by_name(name).expect(name).as_ref())).collect()
}

#[test]
fn issue_4_distributions_look_like_nyc_taxi_data() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = generate_in(dir.path(), 8 * MIB, 11, 2);
    let batches: Vec<RecordBatch> = manifest.trips.iter().flat_map(|e| read_batches(&dir.path().join(&e.path))).collect();
    let rows = manifest.rows as f64;

    // Zone skew: a few Manhattan zones and the airports dominate; unknown zones exist.
    let mut per_zone = vec![0u64; 266];
    for array in column(&batches, "PULocationID", |a| a.as_primitive::<Int32Type>().clone()) {
        for zone in array.values() {
            assert!((1..=265).contains(zone));
            per_zone[*zone as usize] += 1;
        }
    }
    let mut counts = per_zone.clone();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    let top10: u64 = counts[..10].iter().sum();
    assert!(top10 as f64 / rows > 0.35, "top 10 zones hold {top10} of {rows}");
    assert!(per_zone[237] > per_zone[1] * 50, "Upper East Side beats Newark");
    assert!(per_zone[264] > 0 && per_zone[264] as f64 / rows < 0.03);

    // Daily cycle: the evening peak far above the small hours; pickups sorted per file.
    let mut per_hour = [0u64; 24];
    for array in column(&batches, "tpep_pickup_datetime", |a| a.as_primitive::<TimestampMicrosecondType>().clone()) {
        for micros in array.values() {
            per_hour[(micros / 3_600_000_000).rem_euclid(24) as usize] += 1;
        }
    }
    let evening = per_hour[17] + per_hour[18];
    let small_hours = per_hour[4] + per_hour[5];
    assert!(evening > 5 * small_hours, "hours: {per_hour:?}");

    // Nulls come together in about 2.5% of rows.
    let nulls: usize = column(&batches, "passenger_count", |a| a.null_count()).iter().sum();
    let share = nulls as f64 / rows;
    assert!((0.018..0.032).contains(&share), "null share {share}");
    let flag_nulls: usize = column(&batches, "store_and_fwd_flag", |a| a.null_count()).iter().sum();
    assert_eq!(flag_nulls, nulls);

    // Per-row consistency: durations, fares, tips and totals.
    let (mut negative, mut zero_distance, mut card, mut card_tipped, mut cash_tipped) = (0, 0, 0, 0, 0);
    let (mut fare_sum_xy, mut n, mut sx, mut sy, mut sxx, mut syy) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    for batch in &batches {
        let f64s = |name| batch.column_by_name(name).unwrap().as_primitive::<Float64Type>().clone();
        let ts = |name| batch.column_by_name(name).unwrap().as_primitive::<TimestampMicrosecondType>().clone();
        let (pickup, dropoff) = (ts("tpep_pickup_datetime"), ts("tpep_dropoff_datetime"));
        let payment = batch.column_by_name("payment_type").unwrap().as_primitive::<Int64Type>().clone();
        let rate = batch.column_by_name("RatecodeID").unwrap().as_primitive::<Int64Type>().clone();
        let (distance, fare, tip, total) = (f64s("trip_distance"), f64s("fare_amount"), f64s("tip_amount"), f64s("total_amount"));
        let parts = ["fare_amount", "extra", "mta_tax", "tip_amount", "tolls_amount", "improvement_surcharge"].map(f64s);
        let (congestion, airport) = (f64s("congestion_surcharge"), f64s("airport_fee"));
        for row in 0..batch.num_rows() {
            assert!(dropoff.value(row) >= pickup.value(row));
            if row > 0 {
                assert!(pickup.value(row) >= pickup.value(row - 1), "pickups sorted within a batch");
            }
            // Null surcharges hide their amount, so the sum is checked where they are known.
            if congestion.is_valid(row) {
                let sum: f64 = parts.iter().map(|p| p.value(row)).sum::<f64>() + congestion.value(row) + airport.value(row);
                let total = total.value(row);
                assert!((sum - total).abs() < 0.005, "row {row}: parts {sum} vs total {total}");
            }
            negative += usize::from(fare.value(row) < 0.0);
            zero_distance += usize::from(distance.value(row) == 0.0);
            match payment.value(row) {
                1 => {
                    card += 1;
                    card_tipped += usize::from(tip.value(row) != 0.0);
                }
                2 => cash_tipped += usize::from(tip.value(row) != 0.0),
                _ => {}
            }
            let (x, y) = (distance.value(row), fare.value(row));
            if rate.is_valid(row) && rate.value(row) == 1 && x > 0.0 && x < 100.0 && y > 0.0 {
                n += 1.0;
                sx += x;
                sy += y;
                sxx += x * x;
                syy += y * y;
                fare_sum_xy += x * y;
            }
        }
    }
    let negative_share = negative as f64 / rows;
    assert!((0.003..0.03).contains(&negative_share), "negative fares {negative_share}");
    let zero_share = zero_distance as f64 / rows;
    assert!((0.008..0.03).contains(&zero_share), "zero distances {zero_share}");
    assert!(card_tipped as f64 / card as f64 > 0.75, "most card trips tip");
    assert_eq!(cash_tipped, 0, "cash tips are not recorded");
    let correlation = (n * fare_sum_xy - sx * sy) / ((n * sxx - sx * sx).sqrt() * (n * syy - sy * sy).sqrt());
    assert!(correlation > 0.85, "fare follows distance: r = {correlation}");
}
