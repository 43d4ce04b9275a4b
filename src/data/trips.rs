//! The trip model: one yellow-cab trip at a time, each field drawn so that the fields agree.
//!
//! Zones decide the route and its distance; distance, hour and weekday decide the duration;
//! rate code, distance and slow minutes decide the meter fare under the 2023 NYC tariff; the
//! payment type decides the tip. `docs/datasets.md` lists every distribution and its source.
use super::columns::TripColumns;
use super::route::Route;
use super::sampling::{Bits, LogNormal, Stream, Table, below, chance, round, unit};
use super::tariff::metered_cents;
use super::zones::{self, Borough, JFK, LAGUARDIA, ServiceZone};

/// Share of trips the TLC could not attribute (payment type 0): passenger count, rate code,
/// store-and-forward flag, congestion surcharge and airport fee are null together.
pub(crate) const UNKNOWN_ROW_SHARE: f64 = 0.025;
const SAME_ZONE_SHARE: f64 = 0.06;
const ZERO_DISTANCE_SHARE: f64 = 0.015;
const BOGUS_DISTANCE_SHARE: f64 = 0.000_02;
const ZERO_FARE_SHARE: f64 = 0.000_3;
const CARD_TIP_SHARE: f64 = 0.86;
/// Creative Mobile Technologies (1); the rest are VeriFone (2).
const VENDOR_1_SHARE: f64 = 0.27;
/// Vendor 1's trips stored and forwarded (its tablets lost the connection).
const FORWARDED_SHARE: f64 = 0.02;

/// Average door-to-door speed in mph by hour of a weekday; weekends run 12% faster, and long
/// trips up to 1.8× faster (`highway_speedup`).
const SPEED_MPH: [f64; 24] = [
    15.5, 17.0, 18.0, 18.5, 18.5, 17.0, 14.0, 11.0, 9.5, 9.5, 9.5, 9.3, //
    9.2, 9.2, 9.0, 8.8, 8.8, 9.0, 9.5, 10.5, 11.5, 12.5, 13.5, 14.5,
];

const MICROS: i64 = 1_000_000;

/// One hour of pickups to generate: its start (local seconds since 1970) and its row count.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hour {
    pub start: i64,
    pub rows: u32,
    pub weekday: u8,
    pub hour: u8,
}

#[derive(Clone, Copy)]
enum Tip {
    Percent(i64),
    Custom,
    WholeDollars,
}

/// One trip, in the units of `TripColumns`; built in registers and appended in chunks.
#[derive(Clone, Copy, Default)]
pub(crate) struct Trip {
    pub vendor: i32,
    pub pickup: i64,
    pub dropoff: i64,
    pub passengers: i32,
    pub distance: i32,
    pub rate_code: i32,
    pub stored_and_forwarded: i32,
    pub known: bool,
    pub pickup_zone: i32,
    pub dropoff_zone: i32,
    pub payment: i32,
    pub fare: i32,
    pub extra: i32,
    pub mta_tax: i32,
    pub tip: i32,
    pub tolls: i32,
    pub improvement: i32,
    pub total: i32,
    pub congestion: i32,
    pub airport: i32,
}

/// Trips built before they are appended to the columns: small enough to stay in L1 cache.
const CHUNK: usize = 64;

/// Zones grouped by what decides a route: the airports, Newark, an unknown zone, or the
/// borough. A route is a lookup by (class, class) — tables small enough for L1 cache, where a
/// 266 × 266 table of pairs missed it.
const CLASSES: usize = 4 + 7;

fn route_class(id: i32, borough: Borough) -> usize {
    match (id, borough) {
        (_, Borough::Unknown) => 0,
        (JFK, _) => 1,
        (LAGUARDIA, _) => 2,
        (zones::NEWARK, _) => 3,
        (_, borough) => 4 + borough as usize,
    }
}

/// The lookup tables behind every draw; built once and shared read-only by all threads.
pub(crate) struct Model {
    /// Trip distance by route, indexed by `Route::index`.
    miles: Vec<LogNormal>,
    /// Seconds per mile at the hour's speed, `[weekend as usize][hour]`.
    pace: [[f64; 24]; 2],
    /// 1 / `highway_speedup` at 0, 1, …, 32 miles, interpolated in between.
    highway_pace: [f64; 33],
    speed_noise: LogNormal,
    boarding_seconds: LogNormal,
    short_trip_seconds: LogNormal,
    negotiated_dollars: LogNormal,
    pickup: Table<i32>,
    dropoff: Table<i32>,
    passengers: Table<i64>,
    payment: Table<i64>,
    rate_code: Table<i64>,
    tip: Table<Tip>,
    /// Route class of each zone id, and `Route::index` by (from class, to class) for zones
    /// that differ; the same zone is `Route::SameZone` unless it is unknown.
    class: [u8; ZONE_SLOTS],
    routes: [[u8; CLASSES]; CLASSES],
    /// Zone id in the Yellow Zone (congestion surcharge).
    yellow: [bool; ZONE_SLOTS],
}

/// Zone ids index tables directly: 0 is unused.
const ZONE_SLOTS: usize = zones::ZONE_COUNT as usize + 1;

impl Model {
    pub(crate) fn new() -> Model {
        let mut borough = vec![Borough::Unknown];
        let mut yellow = vec![false];
        for zone in zones::all_zones() {
            borough.push(zone.borough);
            yellow.push(zone.service_zone == ServiceZone::YellowZone);
        }
        Model {
            miles: Route::ALL
                .iter()
                .map(|route| {
                    let (median, sigma) = route.miles();
                    LogNormal::new(median, sigma)
                })
                .collect(),
            pace: [1.0, 1.12].map(|factor| SPEED_MPH.map(|mph| 3600.0 / (mph * factor))),
            highway_pace: std::array::from_fn(|miles| 1.0 / highway_speedup(miles as f64)),
            speed_noise: LogNormal::new(1.0, 0.25),
            boarding_seconds: LogNormal::new(90.0, 0.5),
            short_trip_seconds: LogNormal::new(180.0, 1.0),
            negotiated_dollars: LogNormal::new(65.0, 0.5),
            pickup: Table::new(&zones::pickup_weights()),
            dropoff: Table::new(&zones::dropoff_weights()),
            passengers: Table::new(&[(0, 0.018), (1, 0.76), (2, 0.145), (3, 0.035), (4, 0.02), (5, 0.013), (6, 0.009)]),
            payment: Table::new(&[(1, 0.80), (2, 0.17), (3, 0.009), (4, 0.021)]),
            rate_code: Table::new(&[(1, 0.987), (5, 0.007), (4, 0.0015), (99, 0.0045)]),
            tip: Table::new(&[
                (Tip::Percent(20), 0.42),
                (Tip::Percent(25), 0.20),
                (Tip::Percent(30), 0.10),
                (Tip::Custom, 0.18),
                (Tip::WholeDollars, 0.10),
            ]),
            class: std::array::from_fn(|id| route_class(id as i32, borough[id]) as u8),
            routes: class_routes(&borough),
            yellow: std::array::from_fn(|id| yellow[id]),
        }
    }

    /// `Route::between(from, to)`, from the class tables.
    #[inline]
    fn route(&self, from: i32, to: i32) -> usize {
        let (a, b) = (self.class[from as usize], self.class[to as usize]);
        if from == to && a != 0 { Route::SameZone.index() } else { usize::from(self.routes[usize::from(a)][usize::from(b)]) }
    }

    /// Appends every trip of `hours` to `out`, pickups in time order within each hour.
    pub(crate) fn fill(&self, rng: &mut Stream, hours: &[Hour], out: &mut TripColumns) {
        let mut offsets: Vec<u16> = Vec::new();
        let mut per_second = vec![0u32; 3600];
        let mut trips = [Trip::default(); CHUNK];
        for hour in hours {
            offsets.clear();
            if hour.rows < 2048 {
                offsets.extend((0..hour.rows).map(|_| below(rng, 3600) as u16));
                offsets.sort_unstable();
            } else {
                // A counting sort: same sorted offsets, linear time for busy hours.
                per_second.fill(0);
                for _ in 0..hour.rows {
                    per_second[below(rng, 3600) as usize] += 1;
                }
                for (second, &count) in per_second.iter().enumerate() {
                    offsets.extend(std::iter::repeat_n(second as u16, count as usize));
                }
            }
            for chunk in offsets.chunks(CHUNK) {
                for (trip, &offset) in trips.iter_mut().zip(chunk) {
                    *trip = self.trip(rng, hour, hour.start + i64::from(offset));
                }
                out.append(&trips[..chunk.len()]);
            }
        }
    }

    fn trip(&self, rng: &mut Stream, hour: &Hour, pickup: i64) -> Trip {
        // The row's small decisions come from four shared draws (`Bits`); zones and
        // distributions of amounts take a draw each.
        let mut flags = Bits::draw(rng);
        let (known, same_zone) = (!flags.chance16(UNKNOWN_ROW_SHARE), flags.chance16(SAME_ZONE_SHARE));
        let (zero_distance, forwarded) = (flags.chance16(ZERO_DISTANCE_SHARE), flags.chance16(FORWARDED_SHARE));
        let mut tables = Bits::draw(rng);
        let (payment, rate_bits) = (self.payment.sample_from(tables.take32()), tables.take32());
        let mut more_tables = Bits::draw(rng);
        let (passengers, toll_bits) = (self.passengers.sample_from(more_tables.take32()), more_tables.take32());
        let mut rare = Bits::draw(rng);
        let (zero_fare, bogus_distance) = (rare.chance24(ZERO_FARE_SHARE), rare.chance24(BOGUS_DISTANCE_SHARE));
        let vendor = if rare.chance16(VENDOR_1_SHARE) { 1 } else { 2 };
        let from = self.pickup.sample(rng);
        let to = if same_zone { from } else { self.dropoff.sample(rng) };
        let route_index = self.route(from, to);
        let route = Route::ALL[route_index];
        let miles = if zero_distance { 0.0 } else { self.miles[route_index].sample(rng) };
        let hundredths = round(miles * 100.0);
        let weekend = hour.weekday >= 5;
        let seconds = self.trip_seconds(rng, miles, usize::from(hour.hour), weekend);

        let rate_code = match route {
            Route::Jfk { manhattan: true } if chance(rng, 0.85) => 2,
            Route::Newark if chance(rng, 0.8) => 3,
            _ => self.rate_code.sample_from(rate_bits),
        };
        let payment = if known { payment } else { 0 };
        let peak = !weekend && (16..20).contains(&hour.hour);
        let night = hour.hour >= 20 || hour.hour < 6;

        let meter = metered_cents(hundredths, seconds);
        let mut fare = match rate_code {
            2 => 7000,
            3 => meter + 2000,
            4 => meter * 3 / 2,
            5 => round(self.negotiated_dollars.sample(rng)) * 100,
            _ => meter,
        };
        let mut extra = match rate_code {
            2 if peak => 500,
            2 | 5 => 0,
            _ if peak => 250,
            _ if night => 100,
            _ => 0,
        };
        let mut mta_tax = if matches!(rate_code, 4 | 5) { 0 } else { 50 };
        let mut improvement = 100;
        let mut congestion = if self.yellow[from as usize] || self.yellow[to as usize] { 250 } else { 0 };
        let mut airport = if from == JFK || from == LAGUARDIA { 175 } else { 0 };
        let mut tolls = route.tolls(toll_bits);
        if zero_fare {
            (fare, extra, mta_tax, improvement, congestion, airport, tolls) = (0, 0, 0, 0, 0, 0, 0);
        }
        let before_tip = fare + extra + mta_tax + improvement + congestion + airport + tolls;
        let tip = if payment == 1 { self.tip_cents(rng, before_tip) } else { 0 };
        // Refunds and disputes are booked as a second record with every amount negated.
        let sign = match payment {
            4 if chance(rng, 0.5) => -1,
            3 if chance(rng, 0.3) => -1,
            _ => 1,
        };
        let recorded = if bogus_distance { (500 + i64::from(below(rng, 99_501))) * 100 } else { hundredths };

        let cents = |cents: i64| (sign * cents) as i32;
        Trip {
            vendor,
            pickup: pickup * MICROS,
            dropoff: (pickup + seconds) * MICROS,
            passengers: passengers as i32,
            distance: recorded as i32,
            rate_code: rate_code as i32,
            stored_and_forwarded: i32::from(vendor == 1 && forwarded),
            known,
            pickup_zone: from,
            dropoff_zone: to,
            payment: payment as i32,
            fare: cents(fare),
            extra: cents(extra),
            mta_tax: cents(mta_tax),
            tip: cents(tip),
            tolls: cents(tolls),
            improvement: cents(improvement),
            total: cents(before_tip + tip),
            congestion: cents(congestion),
            airport: cents(airport),
        }
    }

    /// Duration in whole seconds: distance at the hour's speed (up to 1.8× faster on long trips,
    /// which use highways), plus boarding and paying; zero-distance trips are short or
    /// cancelled.
    fn trip_seconds(&self, rng: &mut Stream, miles: f64, hour: usize, weekend: bool) -> i64 {
        if miles == 0.0 {
            return if chance(rng, 0.1) { i64::from(below(rng, 10)) } else { round(self.short_trip_seconds.sample(rng)) };
        }
        let capped = miles.min(32.0);
        let whole = (capped as usize).min(31);
        let (near, far) = (self.highway_pace[whole], self.highway_pace[whole + 1]);
        let highway = near + (far - near) * (capped - whole as f64);
        let mut noise = Bits::draw(rng);
        let pace = self.pace[usize::from(weekend)][hour] * highway * self.speed_noise.sample_from(noise.take32());
        round(miles * pace + self.boarding_seconds.sample_from(noise.take32())).max(1)
    }

    /// A card trip's tip: 86% of riders tip, by the tip table.
    fn tip_cents(&self, rng: &mut Stream, before_tip: i64) -> i64 {
        let mut bits = Bits::draw(rng);
        if !bits.chance16(CARD_TIP_SHARE) {
            return 0;
        }
        let base = before_tip.max(0) as f64;
        match self.tip.sample_from(bits.take32()) {
            Tip::Percent(percent) => (before_tip.max(0) * percent + 50) / 100,
            Tip::Custom => round(base * (0.05 + 0.35 * unit(rng))),
            Tip::WholeDollars => 100 * (1 + i64::from(below(rng, 10))),
        }
    }
}

/// Route index by (from class, to class), from two distinct zones of each class (classes of
/// one zone only meet themselves as the same zone, which `Model::route` handles).
fn class_routes(borough: &[Borough]) -> [[u8; CLASSES]; CLASSES] {
    let mut members: [Vec<i32>; CLASSES] = Default::default();
    for id in 1..ZONE_SLOTS as i32 {
        members[route_class(id, borough[id as usize])].push(id);
    }
    std::array::from_fn(|a| {
        std::array::from_fn(|b| match (members[a].first(), members[b].iter().rev().find(|&&id| Some(&id) != members[a].first())) {
            (Some(&from), Some(&to)) => Route::between(from, to, borough).index() as u8,
            _ => Route::SameZone.index() as u8,
        })
    })
}

/// How much faster than the hour's average a trip of `miles` runs: highways on long trips.
fn highway_speedup(miles: f64) -> f64 {
    1.0 + 0.8 * miles / (miles + 7.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_tables_give_every_pair_its_route() {
        let model = Model::new();
        let borough: Vec<Borough> = std::iter::once(Borough::Unknown).chain(zones::all_zones().map(|z| z.borough)).collect();
        for from in 1..=zones::ZONE_COUNT {
            for to in 1..=zones::ZONE_COUNT {
                assert!(model.route(from, to) == Route::between(from, to, &borough).index(), "{from} → {to}");
            }
        }
    }
}
