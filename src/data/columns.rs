//! Column buffers for one batch of trips, in the trip model's own integer units.
//!
//! Money is whole cents and distance whole hundredths of a mile, so sums are exact and the
//! Parquet writer finds a value's dictionary slot by integer hashing (`dictionary.rs`); it
//! writes them as doubles (`cents / 100`). Five columns share one validity mask: the TLC
//! leaves them null together.
use super::dictionary::Physical;
use super::trips::Trip;

/// Timestamps are microseconds; everything else is an integer key of the column's dictionary.
#[derive(Default)]
pub(crate) struct TripColumns {
    pub vendor: Vec<i32>,
    pub pickup: Vec<i64>,
    pub dropoff: Vec<i64>,
    pub passengers: Vec<i32>,
    /// Hundredths of a mile.
    pub distance: Vec<i32>,
    pub rate_code: Vec<i32>,
    /// 1 for "Y", 0 for "N".
    pub stored_and_forwarded: Vec<i32>,
    /// False where passenger_count, RatecodeID, store_and_fwd_flag, congestion_surcharge
    /// and airport_fee are null.
    pub known: Vec<bool>,
    pub pickup_zone: Vec<i32>,
    pub dropoff_zone: Vec<i32>,
    pub payment: Vec<i32>,
    /// Cents, from here on.
    pub fare: Vec<i32>,
    pub extra: Vec<i32>,
    pub mta_tax: Vec<i32>,
    pub tip: Vec<i32>,
    pub tolls: Vec<i32>,
    pub improvement: Vec<i32>,
    pub total: Vec<i32>,
    pub congestion: Vec<i32>,
    pub airport: Vec<i32>,
}

/// A column of the trip schema as the writer sees it, in schema order.
pub(crate) enum Column<'a> {
    Timestamps(&'a [i64]),
    /// Keys, how they are stored, and whether the column shares the `known` mask.
    Keys(&'a [i32], Physical, bool),
}

impl TripColumns {
    pub(crate) fn len(&self) -> usize {
        self.vendor.len()
    }

    /// Makes room for `rows` more rows, so filling a batch never regrows a buffer.
    pub(crate) fn reserve(&mut self, rows: usize) {
        self.pickup.reserve(rows);
        self.dropoff.reserve(rows);
        self.known.reserve(rows);
        for keys in self.keys_mut() {
            keys.reserve(rows);
        }
    }

    /// Appends `trips`, column by column.
    pub(crate) fn append(&mut self, trips: &[Trip]) {
        self.vendor.extend(trips.iter().map(|t| t.vendor));
        self.pickup.extend(trips.iter().map(|t| t.pickup));
        self.dropoff.extend(trips.iter().map(|t| t.dropoff));
        self.passengers.extend(trips.iter().map(|t| t.passengers));
        self.distance.extend(trips.iter().map(|t| t.distance));
        self.rate_code.extend(trips.iter().map(|t| t.rate_code));
        self.stored_and_forwarded.extend(trips.iter().map(|t| t.stored_and_forwarded));
        self.known.extend(trips.iter().map(|t| t.known));
        self.pickup_zone.extend(trips.iter().map(|t| t.pickup_zone));
        self.dropoff_zone.extend(trips.iter().map(|t| t.dropoff_zone));
        self.payment.extend(trips.iter().map(|t| t.payment));
        self.fare.extend(trips.iter().map(|t| t.fare));
        self.extra.extend(trips.iter().map(|t| t.extra));
        self.mta_tax.extend(trips.iter().map(|t| t.mta_tax));
        self.tip.extend(trips.iter().map(|t| t.tip));
        self.tolls.extend(trips.iter().map(|t| t.tolls));
        self.improvement.extend(trips.iter().map(|t| t.improvement));
        self.total.extend(trips.iter().map(|t| t.total));
        self.congestion.extend(trips.iter().map(|t| t.congestion));
        self.airport.extend(trips.iter().map(|t| t.airport));
    }

    /// Empties every buffer, keeping its capacity.
    pub(crate) fn clear(&mut self) {
        self.pickup.clear();
        self.dropoff.clear();
        self.known.clear();
        for keys in self.keys_mut() {
            keys.clear();
        }
    }

    fn keys_mut(&mut self) -> [&mut Vec<i32>; 17] {
        [
            &mut self.vendor,
            &mut self.passengers,
            &mut self.distance,
            &mut self.rate_code,
            &mut self.stored_and_forwarded,
            &mut self.pickup_zone,
            &mut self.dropoff_zone,
            &mut self.payment,
            &mut self.fare,
            &mut self.extra,
            &mut self.mta_tax,
            &mut self.tip,
            &mut self.tolls,
            &mut self.improvement,
            &mut self.total,
            &mut self.congestion,
            &mut self.airport,
        ]
    }

    /// The 19 columns in the order of `trip_schema()`.
    pub(crate) fn in_schema_order(&self) -> [Column<'_>; 19] {
        use Physical::{Hundredths, Int32, Int64, YesNo};
        fn keys(values: &[i32], physical: Physical, nullable: bool) -> Column<'_> {
            Column::Keys(values, physical, nullable)
        }
        [
            keys(&self.vendor, Int32, false),
            Column::Timestamps(&self.pickup),
            Column::Timestamps(&self.dropoff),
            keys(&self.passengers, Int64, true),
            keys(&self.distance, Hundredths, false),
            keys(&self.rate_code, Int64, true),
            keys(&self.stored_and_forwarded, YesNo, true),
            keys(&self.pickup_zone, Int32, false),
            keys(&self.dropoff_zone, Int32, false),
            keys(&self.payment, Int64, false),
            keys(&self.fare, Hundredths, false),
            keys(&self.extra, Hundredths, false),
            keys(&self.mta_tax, Hundredths, false),
            keys(&self.tip, Hundredths, false),
            keys(&self.tolls, Hundredths, false),
            keys(&self.improvement, Hundredths, false),
            keys(&self.total, Hundredths, false),
            keys(&self.congestion, Hundredths, true),
            keys(&self.airport, Hundredths, true),
        ]
    }
}
