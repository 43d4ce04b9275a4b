//! How many trip rows make the target size.
//!
//! Bytes per row fall as files grow (dictionaries amortise, and denser pickups give smaller
//! timestamp deltas): 20.5 at 9 K rows per file, 16.7 at 170 K, 15.1 at 2 M. So no constant
//! fits all sizes; instead the first eighth of a row group of two files of the planned layout
//! is encoded in memory and the rows are re-planned from its measured bytes per row. Pilots
//! are fixed by the spec (files 0 and n/2), so the result does not depend on the thread count.
use std::sync::atomic::AtomicBool;

use super::DataError;
use super::GenSpec;
use super::layout::{FilePlan, plan_files};
use super::schema::ROW_GROUP_ROWS;
use super::trips::Model;
use super::writer::measure_trip_file;

/// A first guess, good to ±30% from 1 MiB to 11 GiB; the pilots correct it.
const GUESS_BYTES_PER_ROW: f64 = 16.5;

/// Rows a pilot encodes: an eighth of a row group costs 0.4% of a 1 GiB dataset's work (a
/// whole row group of each pilot cost 3%, and 12% at 256 MiB). Its dictionaries amortise over
/// fewer rows, so it overestimates bytes per row slightly: datasets land 0.5–1.5% under
/// target from 32 MiB to 1 GiB (measured), well within the 5% that triggers a rewrite.
const PILOT_ROWS: u64 = ROW_GROUP_ROWS as u64 / 8;

/// The file plans whose measured bytes per row meet the spec's target.
pub(crate) fn plan_for_target(spec: &GenSpec, model: &Model, cancel: &AtomicBool) -> Result<Vec<FilePlan>, DataError> {
    let guess = plan_with(spec, GUESS_BYTES_PER_ROW);
    let measured = pilot_bytes_per_row(spec, model, &guess, cancel)?;
    Ok(plan_with(spec, measured))
}

/// Plans for `target / bytes_per_row` rows.
pub(crate) fn plan_with(spec: &GenSpec, bytes_per_row: f64) -> Vec<FilePlan> {
    plan_files(spec, (spec.target_bytes as f64 / bytes_per_row).max(1.0) as u64)
}

/// Bytes per row over the first `PILOT_ROWS` of files 0 and n/2 of `plans`, encoded in
/// parallel and thrown away (a file's later rows cost about the same per row as its first).
fn pilot_bytes_per_row(spec: &GenSpec, model: &Model, plans: &[FilePlan], cancel: &AtomicBool) -> Result<f64, DataError> {
    let first = pilot(&plans[0]);
    let middle = pilot(&plans[plans.len() / 2]);
    let (a, b) =
        rayon::join(|| measure_trip_file(&first, model, spec.seed, cancel), || measure_trip_file(&middle, model, spec.seed, cancel));
    let bytes = (a? + b?) as f64;
    Ok(bytes / (first.rows + middle.rows).max(1) as f64)
}

/// The plan cut to its first `PILOT_ROWS` rows' worth of whole hours.
fn pilot(plan: &FilePlan) -> FilePlan {
    let mut rows = 0;
    let hours = plan
        .hours
        .iter()
        .take_while(|hour| {
            rows += u64::from(hour.rows);
            rows <= PILOT_ROWS
        })
        .count()
        .max(1);
    let hours = plan.hours[..hours].to_vec();
    FilePlan { rows: hours.iter().map(|h| u64::from(h.rows)).sum(), hours, ..*plan }
}
