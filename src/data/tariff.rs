//! The 2023 NYC yellow-taxi meter in cents (flat fares and surcharges are set by the trip
//! model).
/// Metered fare: $3.00, plus $0.70 per started fifth of a mile, plus $0.70 per minute spent
/// below 12 mph; `hundredths` of a mile. Integer arithmetic: no libm call per trip.
pub(crate) fn metered_cents(hundredths: i64, seconds: i64) -> i64 {
    300 + 70 * ((hundredths + 19) / 20) + 70 * slow_minutes(hundredths, seconds)
}

/// Minutes the meter charged by time: the part of the trip slower than 12 mph (300 seconds a
/// mile, 3 seconds a hundredth).
fn slow_minutes(hundredths: i64, seconds: i64) -> i64 {
    (seconds - 3 * hundredths).max(0) / 60
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meter_charges_distance_and_slow_minutes() {
        // 2 miles in 10 minutes: 10 fifths of a mile, and 10 − 2/12·60 = 0 slow minutes.
        assert_eq!(metered_cents(200, 600), 300 + 700);
        // 1 mile in 15 minutes: 5 fifths, and 15 − 5 = 10 slow minutes.
        assert_eq!(metered_cents(100, 900), 300 + 350 + 700);
        // A started fifth counts: 0.21 miles is two fifths.
        assert_eq!(metered_cents(21, 63), 300 + 140);
    }
}
