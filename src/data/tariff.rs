//! The 2023 NYC yellow-taxi meter in cents (flat fares and surcharges are set by the trip
//! model).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meter_charges_distance_and_slow_minutes() {
        // 2 miles in 10 minutes: 10 fifths of a mile, and 10 − 2/12·60 = 0 slow minutes.
        assert_eq!(metered_cents(2.0, 600), 300 + 700);
        // 1 mile in 15 minutes: 5 fifths, and 15 − 5 = 10 slow minutes.
        assert_eq!(metered_cents(1.0, 900), 300 + 350 + 700);
    }
}
