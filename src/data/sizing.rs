//! How many trip rows make the target size.
//!
//! Bytes per row fall as files grow (dictionaries amortise, and denser pickups give smaller
//! timestamp deltas): 22 at 5 K rows per file, 16.7 at 170 K, 15.5 at 1.3 M. So no constant
//! fits all sizes; instead two pilot files of the planned layout are encoded in memory and the
//! rows are re-planned from their measured bytes per row. Pilots are fixed by the spec (files
//! 0 and n/2), so the result does not depend on the thread count.
use super::DataError;
use super::GenSpec;
use super::layout::{FilePlan, plan_files};
use super::schema::ROW_GROUP_ROWS;
use super::trips::Model;
use super::writer::measure_trip_file;

/// A first guess, good to ±30% from 1 MiB to 11 GiB; the pilots correct it.
const GUESS_BYTES_PER_ROW: f64 = 16.5;

/// The file plans whose measured bytes per row meet the spec's target.
pub(crate) fn plan_for_target(spec: &GenSpec, model: &Model) -> Result<Vec<FilePlan>, DataError> {
    let guess = plan_with(spec, GUESS_BYTES_PER_ROW);
    let measured = pilot_bytes_per_row(spec, model, &guess)?;
    Ok(plan_with(spec, measured))
}

/// Plans for `target / bytes_per_row` rows.
pub(crate) fn plan_with(spec: &GenSpec, bytes_per_row: f64) -> Vec<FilePlan> {
    plan_files(spec, (spec.target_bytes as f64 / bytes_per_row).max(1.0) as u64)
}

/// Bytes per row over the first row group of files 0 and n/2 of `plans`, encoded in parallel
/// and thrown away (a file's later row groups cost about the same per row as its first).
fn pilot_bytes_per_row(spec: &GenSpec, model: &Model, plans: &[FilePlan]) -> Result<f64, DataError> {
    let first = first_row_group(&plans[0]);
    let middle = first_row_group(&plans[plans.len() / 2]);
    let (a, b) = rayon::join(|| measure_trip_file(&first, model, spec.seed), || measure_trip_file(&middle, model, spec.seed));
    let bytes = (a? + b?) as f64;
    Ok(bytes / (first.rows + middle.rows).max(1) as f64)
}

/// The plan cut to its first row group's worth of whole hours.
fn first_row_group(plan: &FilePlan) -> FilePlan {
    let mut rows = 0;
    let hours = plan
        .hours
        .iter()
        .take_while(|hour| {
            rows += u64::from(hour.rows);
            rows <= ROW_GROUP_ROWS as u64
        })
        .count()
        .max(1);
    let hours = plan.hours[..hours].to_vec();
    FilePlan { rows: hours.iter().map(|h| u64::from(h.rows)).sum(), hours, ..*plan }
}
