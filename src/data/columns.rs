//! Column buffers for one batch of trips, turned into an Arrow `RecordBatch` without copying.
//!
//! The trip model pushes plain values into `Vec`s; `take_batch` moves each `Vec` into an Arrow
//! buffer. Five columns share one validity mask: the TLC leaves them null together.
use std::mem::take;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow_buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};

use super::schema::trip_schema;

/// Timestamps are microseconds; money is dollars computed from whole cents, so sums are exact
/// to the cent and values repeat.
#[derive(Default)]
pub(crate) struct TripColumns {
    pub vendor: Vec<i32>,
    pub pickup: Vec<i64>,
    pub dropoff: Vec<i64>,
    pub passengers: Vec<i64>,
    pub distance: Vec<f64>,
    pub rate_code: Vec<i64>,
    pub stored_and_forwarded: Vec<bool>,
    /// False where passenger_count, RatecodeID, store_and_fwd_flag, congestion_surcharge
    /// and airport_fee are null.
    pub known: Vec<bool>,
    pub pickup_zone: Vec<i32>,
    pub dropoff_zone: Vec<i32>,
    pub payment: Vec<i64>,
    pub fare: Vec<f64>,
    pub extra: Vec<f64>,
    pub mta_tax: Vec<f64>,
    pub tip: Vec<f64>,
    pub tolls: Vec<f64>,
    pub improvement: Vec<f64>,
    pub total: Vec<f64>,
    pub congestion: Vec<f64>,
    pub airport: Vec<f64>,
}

impl TripColumns {
    pub(crate) fn len(&self) -> usize {
        self.vendor.len()
    }

    /// Makes room for `rows` more rows, so filling a batch never regrows a buffer.
    pub(crate) fn reserve(&mut self, rows: usize) {
        self.vendor.reserve(rows);
        self.pickup.reserve(rows);
        self.dropoff.reserve(rows);
        self.passengers.reserve(rows);
        self.distance.reserve(rows);
        self.rate_code.reserve(rows);
        self.stored_and_forwarded.reserve(rows);
        self.known.reserve(rows);
        self.pickup_zone.reserve(rows);
        self.dropoff_zone.reserve(rows);
        self.payment.reserve(rows);
        for money in [
            &mut self.fare,
            &mut self.extra,
            &mut self.mta_tax,
            &mut self.tip,
            &mut self.tolls,
            &mut self.improvement,
            &mut self.total,
            &mut self.congestion,
            &mut self.airport,
        ] {
            money.reserve(rows);
        }
    }

    /// Moves the buffered rows out as a batch of the trip schema, leaving the buffers empty.
    pub(crate) fn take_batch(&mut self) -> RecordBatch {
        let known = NullBuffer::from(take(&mut self.known));
        let nullable = |values: Vec<i64>| -> ArrayRef { Arc::new(Int64Array::new(ScalarBuffer::from(values), Some(known.clone()))) };
        let int64 = |values: Vec<i64>| -> ArrayRef { Arc::new(Int64Array::from(values)) };
        let int32 = |values: Vec<i32>| -> ArrayRef { Arc::new(Int32Array::from(values)) };
        let money = |dollars: Vec<f64>| -> ArrayRef { Arc::new(Float64Array::from(dollars)) };
        let nullable_money =
            |dollars: Vec<f64>| -> ArrayRef { Arc::new(Float64Array::new(ScalarBuffer::from(dollars), Some(known.clone()))) };
        let timestamp = |micros: Vec<i64>| -> ArrayRef { Arc::new(TimestampMicrosecondArray::new(ScalarBuffer::from(micros), None)) };
        let flags = self.flag_array(&known);
        let columns: Vec<ArrayRef> = vec![
            int32(take(&mut self.vendor)),
            timestamp(take(&mut self.pickup)),
            timestamp(take(&mut self.dropoff)),
            nullable(take(&mut self.passengers)),
            Arc::new(Float64Array::from(take(&mut self.distance))),
            nullable(take(&mut self.rate_code)),
            flags,
            int32(take(&mut self.pickup_zone)),
            int32(take(&mut self.dropoff_zone)),
            int64(take(&mut self.payment)),
            money(take(&mut self.fare)),
            money(take(&mut self.extra)),
            money(take(&mut self.mta_tax)),
            money(take(&mut self.tip)),
            money(take(&mut self.tolls)),
            money(take(&mut self.improvement)),
            money(take(&mut self.total)),
            nullable_money(take(&mut self.congestion)),
            nullable_money(take(&mut self.airport)),
        ];
        RecordBatch::try_new(trip_schema(), columns).expect("trip columns match the trip schema")
    }

    /// `store_and_fwd_flag`: "Y" or "N", one byte per known row, empty where null.
    fn flag_array(&mut self, known: &NullBuffer) -> ArrayRef {
        let flags = take(&mut self.stored_and_forwarded);
        let mut offsets = Vec::with_capacity(flags.len() + 1);
        let mut bytes = Vec::with_capacity(flags.len());
        offsets.push(0i32);
        for (row, forwarded) in flags.into_iter().enumerate() {
            if known.is_valid(row) {
                bytes.push(if forwarded { b'Y' } else { b'N' });
            }
            offsets.push(bytes.len() as i32);
        }
        let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
        Arc::new(StringArray::new(offsets, Buffer::from_vec(bytes), Some(known.clone())))
    }
}
