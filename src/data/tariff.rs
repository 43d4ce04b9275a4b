//! The 2023 NYC yellow-taxi meter in cents, and the exact conversion of cents to the dollar
//! amounts the TLC publishes (flat fares and surcharges are set by the trip model).
use std::sync::LazyLock;

/// Metered fare: $3.00, plus $0.70 per fifth of a mile, plus $0.70 per minute spent below
/// 12 mph.
pub(crate) fn metered_cents(miles: f64, seconds: i64) -> i64 {
    300 + 70 * (miles * 5.0).ceil() as i64 + 70 * slow_minutes(miles, seconds)
}

/// Minutes the meter charged by time: the part of the trip slower than 12 mph.
fn slow_minutes(miles: f64, seconds: i64) -> i64 {
    let at_twelve_mph = miles * (3600.0 / 12.0);
    ((seconds as f64 - at_twelve_mph).max(0.0) * (1.0 / 60.0)) as i64
}

/// Cents to dollars, exactly as `cents / 100.0`; small amounts come from a table, because
/// surcharges repeat on every row and a division costs more than the rest of the row's
/// arithmetic.
#[inline]
pub(crate) fn dollars(cents: i64) -> f64 {
    static SMALL: LazyLock<Vec<f64>> = LazyLock::new(|| (-SMALL_CENTS..=SMALL_CENTS).map(|c| c as f64 / 100.0).collect());
    match usize::try_from(cents + SMALL_CENTS) {
        Ok(index) if index < SMALL.len() => SMALL[index],
        _ => cents as f64 / 100.0,
    }
}

const SMALL_CENTS: i64 = 2000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_are_exact_divisions() {
        for cents in [-250_000, -2001, -2000, -175, -1, 0, 1, 50, 694, 1999, 2000, 2001, 12_345] {
            assert_eq!(dollars(cents), cents as f64 / 100.0, "{cents}");
        }
    }

    #[test]
    fn meter_charges_distance_and_slow_minutes() {
        // 2 miles in 10 minutes: 10 fifths of a mile, and 10 − 2/12·60 = 0 slow minutes.
        assert_eq!(metered_cents(2.0, 600), 300 + 700);
        // 1 mile in 15 minutes: 5 fifths, and 15 − 5 = 10 slow minutes.
        assert_eq!(metered_cents(1.0, 900), 300 + 350 + 700);
    }
}
