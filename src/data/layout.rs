//! Which files a dataset has: months, rows per month and per file, and each file's hours.
//!
//! Pure arithmetic on the spec and a row count, so the layout — and with it every file's
//! name, row count and random stream — is fixed before any thread starts writing.
use super::GenSpec;
use super::calendar::{add_months, days_from_civil, days_in_month, demand, month_volume, weekday};
use super::sampling::apportion;
use super::trips::Hour;

/// About 40 MiB of Parquet per file: big enough for Spark, small enough to balance threads.
const ROWS_PER_FILE: u64 = 2_000_000;

/// One trip file to write.
#[derive(Debug, Clone)]
pub(crate) struct FilePlan {
    pub index: u32,
    pub year: i32,
    pub month: u32,
    pub rows: u64,
    pub hours: Vec<Hour>,
}

impl FilePlan {
    /// Path relative to the dataset root: one level of Hive-style partition directories.
    pub(crate) fn relative_path(&self) -> String {
        format!("trips/year={:04}/month={:02}/part-{:05}.parquet", self.year, self.month, self.index)
    }
}

/// Spreads `rows` trips over the spec's months by TLC monthly volume, over each month's hours
/// by the weekly demand curve, and cuts each month into equal runs of hours, one per file.
pub(crate) fn plan_files(spec: &GenSpec, rows: u64) -> Vec<FilePlan> {
    let months: Vec<(i32, u32)> = (0..spec.months).map(|offset| add_months(spec.start_year, spec.start_month, offset)).collect();
    let volumes: Vec<f64> = months.iter().map(|&(_, month)| month_volume(month)).collect();
    let month_rows = apportion(rows, &volumes);
    let per_month = rows as f64 / f64::from(spec.months) / ROWS_PER_FILE as f64;
    let files_per_month = (per_month.round() as usize).max(1);

    let mut files = Vec::new();
    for (&(year, month), &rows) in months.iter().zip(&month_rows) {
        let hours = month_hours(year, month, rows);
        let chunk = hours.len().div_ceil(files_per_month);
        for hours in hours.chunks(chunk) {
            files.push(FilePlan {
                index: files.len() as u32,
                year,
                month,
                rows: hours.iter().map(|h| u64::from(h.rows)).sum(),
                hours: hours.to_vec(),
            });
        }
    }
    files
}

/// Every hour of a month with its share of the month's `rows`.
fn month_hours(year: i32, month: u32, rows: u64) -> Vec<Hour> {
    let first_day = days_from_civil(year, month, 1);
    let mut hours = Vec::new();
    for day in first_day..first_day + i64::from(days_in_month(year, month)) {
        for hour in 0..24u8 {
            hours.push(Hour { start: day * 86_400 + i64::from(hour) * 3600, rows: 0, weekday: weekday(day) as u8, hour });
        }
    }
    let weights: Vec<f64> = hours.iter().map(|h| demand(usize::from(h.weekday), usize::from(h.hour))).collect();
    for (hour, rows) in hours.iter_mut().zip(apportion(rows, &weights)) {
        hour.rows = u32::try_from(rows).expect("an hour holds fewer than 4 billion trips");
    }
    hours
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_conserved_and_files_cover_months_in_order() {
        let spec = GenSpec::new(1 << 30, 7);
        let files = plan_files(&spec, 50_000_000);
        assert_eq!(files.iter().map(|f| f.rows).sum::<u64>(), 50_000_000);
        assert_eq!(files.len(), 24);
        assert_eq!(files[0].relative_path(), "trips/year=2023/month=01/part-00000.parquet");
        assert_eq!(files[23].relative_path(), "trips/year=2023/month=12/part-00023.parquet");
        for pair in files.windows(2) {
            assert!(pair[0].hours.last().unwrap().start < pair[1].hours[0].start);
        }
    }

    #[test]
    fn a_small_dataset_still_has_one_file_per_month() {
        let files = plan_files(&GenSpec::new(8 << 20, 7), 300_000);
        assert_eq!(files.len(), 12);
        assert!(files.iter().all(|f| f.rows > 20_000));
    }
}
