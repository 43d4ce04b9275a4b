//! `generate`: lays out the files, writes them in parallel and lands the size on target.
//!
//! Rows are planned from two pilot files measured in memory (`sizing.rs`); if the written total
//! still misses the target by more than 5%, the trips are rewritten once at the bytes per row
//! actually written. Every step is a function of the spec alone, so output stays deterministic.
use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::layout::FilePlan;
use super::manifest::{MANIFEST_FORMAT, Manifest};
use super::schema::{describe, trip_schema, zone_schema};
use super::sizing::{plan_for_target, plan_with};
use super::trips::Model;
use super::writer::{write_bytes, write_table, write_trip_file};
use super::{DataError, GENERATOR_VERSION, zones};

/// Accept a pass within this fraction of the target; the contract is 10%.
const RETRY_TOLERANCE: f64 = 0.05;
const SIZE_TOLERANCE: f64 = 0.10;
const MIN_TARGET_BYTES: u64 = 1 << 20;

/// Everything that determines a dataset's bytes (with `GENERATOR_VERSION`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenSpec {
    /// Bytes of trip Parquet on disk to aim for; the result lands within ±10%.
    pub target_bytes: u64,
    pub seed: u64,
    /// First month of trips, and how many consecutive months the trips span.
    pub start_year: i32,
    pub start_month: u32,
    pub months: u32,
}

impl GenSpec {
    /// Twelve months of trips starting January 2023.
    pub fn new(target_bytes: u64, seed: u64) -> GenSpec {
        GenSpec { target_bytes, seed, start_year: 2023, start_month: 1, months: 12 }
    }
}

/// A snapshot of generation progress, reported after every batch and every file. The first
/// report comes after the size pilots (two eighths of a row group encoded in memory, well
/// under a second).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// 1 normally; 2 when the first pass missed the size and the trips are being rewritten.
    pub pass: u32,
    pub rows_done: u64,
    pub rows_total: u64,
    pub files_done: u32,
    pub files_total: u32,
    pub bytes_written: u64,
}

/// Generates the dataset `spec` into `out`, which must be absent or empty. `manifest.json` is
/// written last: on error `out` holds no manifest (and maybe `*.partial` files) and should be
/// removed by the caller.
pub fn generate(spec: &GenSpec, out: &Path, progress: &(dyn Fn(Progress) + Sync)) -> Result<Manifest, DataError> {
    generate_unless(spec, out, progress, &AtomicBool::new(false))
}

/// `generate`, stopping with `DataError::Interrupted` once `cancel` is set: every thread
/// checks it before each batch of rows (a few tens of milliseconds apart), so the build's
/// Ctrl-C stops a dataset node as promptly as a command.
pub fn generate_unless(
    spec: &GenSpec,
    out: &Path,
    progress: &(dyn Fn(Progress) + Sync),
    cancel: &AtomicBool,
) -> Result<Manifest, DataError> {
    validate(spec)?;
    prepare_output(out)?;
    let trip_model = Model::new();
    let ignore_bytes = AtomicU64::new(0);
    let zones = vec![
        write_table(out, "zones/taxi_zone_lookup.parquet", &zones::lookup_batch(), &ignore_bytes)?,
        write_bytes(out, "zones/taxi_zone_lookup.csv", zones::lookup_csv().as_bytes())?,
    ];

    let target = spec.target_bytes as f64;
    let mut plans = plan_for_target(spec, &trip_model, cancel)?;
    let mut pass = 1;
    let trips = loop {
        let trips = write_trips(spec, out, &trip_model, &plans, pass, progress, cancel)?;
        let bytes: f64 = trips.iter().map(|t| t.bytes as f64).sum();
        if (bytes - target).abs() <= target * RETRY_TOLERANCE || pass == 2 {
            break trips;
        }
        let rows: u64 = trips.iter().map(|t| t.rows).sum();
        plans = plan_with(spec, bytes / rows as f64);
        let dir = out.join("trips");
        fs::remove_dir_all(&dir).map_err(DataError::io(dir))?;
        pass += 1;
    };

    let bytes: u64 = trips.iter().map(|t| t.bytes).sum();
    if (bytes as f64 - target).abs() > target * SIZE_TOLERANCE {
        return Err(DataError::SizeMissed { target_bytes: spec.target_bytes, actual_bytes: bytes });
    }
    let mut manifest = Manifest {
        format: MANIFEST_FORMAT,
        generator_version: GENERATOR_VERSION,
        seed: spec.seed,
        target_bytes: spec.target_bytes,
        rows: trips.iter().map(|t| t.rows).sum(),
        bytes,
        digest: String::new(),
        trip_schema: describe(&trip_schema()),
        zone_schema: describe(&zone_schema()),
        trips,
        zones,
    };
    manifest.digest = manifest.compute_digest();
    manifest.write(out)?;
    Ok(manifest)
}

fn validate(spec: &GenSpec) -> Result<(), DataError> {
    let bad = |field, reason| Err(DataError::BadSpec { field, reason });
    if spec.target_bytes < MIN_TARGET_BYTES {
        return Err(DataError::TargetTooSmall { target_bytes: spec.target_bytes, min_bytes: MIN_TARGET_BYTES });
    }
    if !(1..=12).contains(&spec.start_month) {
        return bad("start_month", "must be 1–12");
    }
    if !(1..=240).contains(&spec.months) {
        return bad("months", "must be 1–240");
    }
    if !(1900..=9000).contains(&spec.start_year) {
        return bad("start_year", "must be 1900–9000");
    }
    Ok(())
}

fn prepare_output(out: &Path) -> Result<(), DataError> {
    fs::create_dir_all(out).map_err(DataError::io(out))?;
    let mut entries = fs::read_dir(out).map_err(DataError::io(out))?;
    if entries.next().is_some() {
        return Err(DataError::OutputNotEmpty { path: out.to_path_buf() });
    }
    Ok(())
}

fn write_trips(
    spec: &GenSpec,
    out: &Path,
    model: &Model,
    plans: &[FilePlan],
    pass: u32,
    progress: &(dyn Fn(Progress) + Sync),
    cancel: &AtomicBool,
) -> Result<Vec<super::FileEntry>, DataError> {
    let rows_total: u64 = plans.iter().map(|p| p.rows).sum();
    let files_total = plans.len() as u32;
    let rows_done = AtomicU64::new(0);
    let files_done = AtomicU32::new(0);
    let bytes_written = AtomicU64::new(0);
    let report = |rows_done: u64, files_done: u32| {
        progress(Progress { pass, rows_done, rows_total, files_done, files_total, bytes_written: bytes_written.load(Ordering::Relaxed) })
    };
    let on_batch = |rows: u64| {
        let done = rows_done.fetch_add(rows, Ordering::Relaxed) + rows;
        report(done, files_done.load(Ordering::Relaxed));
    };
    plans
        .par_iter()
        .map(|plan| {
            let entry = write_trip_file(out, plan, model, spec.seed, &bytes_written, &on_batch, cancel)?;
            let files = files_done.fetch_add(1, Ordering::Relaxed) + 1;
            report(rows_done.load(Ordering::Relaxed), files);
            Ok(entry)
        })
        .collect()
}
