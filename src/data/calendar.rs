//! Civil-calendar arithmetic and the demand curve: when during a month taxi trips start.
//!
//! Demand is a weekly profile (a share per hour for each day type, times a day-of-week factor)
//! shaped after TLC 2023 pickups: a trough at 4–5 am, an evening peak at 6–7 pm, and busier
//! late nights on Friday and Saturday. Months are weighted by the TLC's 2023 monthly volumes.

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub(crate) fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub(crate) fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// Monday = 0 … Sunday = 6 (1970-01-01 was a Thursday).
pub(crate) fn weekday(days: i64) -> usize {
    (days + 3).rem_euclid(7) as usize
}

/// The month `offset` months after `year`-`month`.
pub(crate) fn add_months(year: i32, month: u32, offset: u32) -> (i32, u32) {
    let index = i64::from(year) * 12 + i64::from(month) - 1 + i64::from(offset);
    (index.div_euclid(12) as i32, index.rem_euclid(12) as u32 + 1)
}

/// Share of a day's pickups per hour, in percent: Monday–Thursday, Friday, Saturday, Sunday.
const HOURLY: [[f64; 24]; 4] = [
    [
        2.09, 1.15, 0.73, 0.47, 0.37, 0.47, 1.36, 2.72, 3.87, 4.5, 4.71, 5.03, //
        5.45, 5.65, 6.18, 6.49, 6.6, 7.33, 7.55, 6.6, 5.86, 5.76, 5.34, 3.72,
    ],
    [
        2.29, 1.25, 0.78, 0.52, 0.36, 0.42, 1.15, 2.29, 3.34, 3.96, 4.28, 4.59, //
        5.11, 5.32, 5.84, 6.15, 6.26, 6.88, 7.2, 6.67, 6.15, 6.47, 6.57, 6.15,
    ],
    [
        4.8, 3.55, 2.5, 1.56, 0.83, 0.47, 0.57, 0.94, 1.67, 2.71, 3.96, 4.9, //
        5.63, 5.94, 6.05, 6.15, 6.15, 6.27, 6.26, 5.84, 5.63, 5.84, 6.15, 5.63,
    ],
    [
        5.57, 4.18, 3.0, 1.93, 0.96, 0.54, 0.64, 0.96, 1.71, 2.79, 4.18, 5.36, //
        6.22, 6.54, 6.65, 6.65, 6.54, 6.43, 6.22, 5.68, 5.25, 4.82, 4.18, 3.0,
    ],
];

/// Relative daily volume, Monday … Sunday.
const DAY_FACTOR: [f64; 7] = [0.88, 0.98, 1.03, 1.08, 1.06, 1.04, 0.90];

/// TLC yellow-taxi trips per month in 2023, in millions.
const MONTH_VOLUME: [f64; 12] = [3.07, 2.91, 3.40, 3.29, 3.51, 3.31, 2.91, 2.82, 2.85, 3.52, 3.34, 3.38];

/// Relative pickup demand in one hour of the week.
pub(crate) fn demand(weekday: usize, hour: usize) -> f64 {
    let day_type = match weekday {
        0..=3 => 0,
        4 => 1,
        5 => 2,
        _ => 3,
    };
    HOURLY[day_type][hour] * DAY_FACTOR[weekday]
}

/// Relative trip volume of a calendar month (1–12).
pub(crate) fn month_volume(month: u32) -> f64 {
    MONTH_VOLUME[(month - 1) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2023, 1, 1), 19_358);
        assert_eq!(weekday(days_from_civil(2023, 1, 1)), 6); // a Sunday
        assert_eq!(weekday(days_from_civil(2024, 2, 29)), 3); // a Thursday
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2023, 2), 28);
        assert_eq!(add_months(2023, 11, 3), (2024, 2));
    }

    #[test]
    fn each_day_profile_sums_to_one_hundred_percent() {
        for profile in HOURLY {
            let sum: f64 = profile.iter().sum();
            assert!((sum - 100.0).abs() < 0.01, "{sum}");
        }
    }
}
