//! The taxi zones: lookup rows, how popular each zone is for pickups and drop-offs, and the
//! lookup table written beside the trips (Parquet, plus the TLC's CSV form) for the join.
//!
//! Popularity is heavily skewed on purpose: the listed Manhattan zones and the two airports
//! carry most trips, as in TLC data, so joins and group-bys see realistic key skew.
use std::sync::Arc;

use arrow_array::{ArrayRef, Int32Array, RecordBatch, StringArray};

use super::schema::zone_schema;
use super::zone_table::ZONES;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Borough {
    Bronx,
    Brooklyn,
    Ewr,
    Manhattan,
    Queens,
    StatenIsland,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceZone {
    Airports,
    BoroZone,
    EwrZone,
    YellowZone,
    NotApplicable,
}

impl Borough {
    pub fn name(self) -> &'static str {
        match self {
            Borough::Bronx => "Bronx",
            Borough::Brooklyn => "Brooklyn",
            Borough::Ewr => "EWR",
            Borough::Manhattan => "Manhattan",
            Borough::Queens => "Queens",
            Borough::StatenIsland => "Staten Island",
            Borough::Unknown => "Unknown",
        }
    }
}

impl ServiceZone {
    pub fn name(self) -> &'static str {
        match self {
            ServiceZone::Airports => "Airports",
            ServiceZone::BoroZone => "Boro Zone",
            ServiceZone::EwrZone => "EWR",
            ServiceZone::YellowZone => "Yellow Zone",
            ServiceZone::NotApplicable => "N/A",
        }
    }
}

pub const ZONE_COUNT: i32 = 265;
pub const NEWARK: i32 = 1;
pub const JFK: i32 = 132;
pub const LAGUARDIA: i32 = 138;
/// The TLC's two "unknown" zones.
pub const UNKNOWN_ZONES: [i32; 2] = [264, 265];

/// One row of the zone lookup table.
#[derive(Debug, Clone, Copy)]
pub struct Zone {
    pub id: i32,
    pub borough: Borough,
    pub name: &'static str,
    pub service_zone: ServiceZone,
}

/// The zone with LocationID `id` (1–265).
pub fn zone(id: i32) -> Zone {
    let (borough, name, service_zone) = ZONES[(id - 1) as usize];
    Zone { id, borough, name, service_zone }
}

pub fn all_zones() -> impl Iterator<Item = Zone> {
    (1..=ZONE_COUNT).map(zone)
}

/// Pickup weight in percent of trips for the busiest zones, shaped after TLC 2023 pickups.
#[rustfmt::skip]
const TOP_PICKUPS: [(i32, f64); 56] = [
    (132, 5.0), (237, 4.7), (161, 4.7), (236, 4.2), (162, 3.6), (230, 3.4), (186, 3.3),
    (142, 3.2), (138, 3.0), (170, 3.0), (163, 2.9), (239, 2.8), (234, 2.7), (68, 2.5),
    (48, 2.4), (141, 2.3), (249, 2.2), (164, 2.2), (107, 2.1), (79, 2.0), (100, 1.9),
    (263, 1.8), (140, 1.7), (113, 1.7), (229, 1.6), (43, 1.5), (238, 1.5), (90, 1.5),
    (246, 1.5), (233, 1.4), (137, 1.4), (114, 1.3), (231, 1.2), (262, 1.2), (264, 1.0),
    (50, 1.0), (158, 1.0), (143, 1.0), (148, 1.0), (151, 0.8), (13, 0.7), (87, 0.7),
    (211, 0.7), (125, 0.6), (144, 0.6), (166, 0.5), (75, 0.5), (261, 0.5), (74, 0.4),
    (4, 0.4), (224, 0.35), (88, 0.3), (24, 0.3), (41, 0.3), (209, 0.3), (265, 0.1),
];

/// Weight of every other zone by borough: outer boroughs see few yellow-cab pickups.
fn background_pickup(borough: Borough) -> f64 {
    match borough {
        Borough::Manhattan => 0.08,
        Borough::Brooklyn | Borough::Queens => 0.03,
        Borough::Bronx => 0.012,
        Borough::StatenIsland => 0.002,
        Borough::Ewr => 0.01,
        Borough::Unknown => 0.0,
    }
}

/// Pickup weights for all 265 zones, in LocationID order.
pub(crate) fn pickup_weights() -> Vec<(i32, f64)> {
    all_zones()
        .map(|zone| {
            let top = TOP_PICKUPS.iter().find(|(id, _)| *id == zone.id);
            (zone.id, top.map_or(background_pickup(zone.borough), |t| t.1))
        })
        .collect()
}

/// Drop-off weights: the same busy core, flattened, with more trips ending in Brooklyn,
/// Queens and the Bronx, at the airports, and outside the city (265).
pub(crate) fn dropoff_weights() -> Vec<(i32, f64)> {
    pickup_weights()
        .into_iter()
        .map(|(id, weight)| {
            let weight = match (id, zone(id).borough) {
                (JFK, _) => 1.6,
                (LAGUARDIA, _) => 2.2,
                (NEWARK, _) => 0.3,
                (265, _) => 0.45,
                (264, _) => 0.9,
                (_, Borough::Brooklyn) => weight * 4.0,
                (_, Borough::Queens | Borough::Bronx) => weight * 3.0,
                (_, Borough::StatenIsland) => weight * 2.0,
                _ => weight * 0.85,
            };
            (id, weight)
        })
        .collect()
}

/// The lookup table as one Arrow batch (265 rows).
pub(crate) fn lookup_batch() -> RecordBatch {
    let zones: Vec<Zone> = all_zones().collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int32Array::from_iter_values(zones.iter().map(|z| z.id))),
        Arc::new(StringArray::from_iter_values(zones.iter().map(|z| z.borough.name()))),
        Arc::new(StringArray::from_iter_values(zones.iter().map(|z| z.name))),
        Arc::new(StringArray::from_iter_values(zones.iter().map(|z| z.service_zone.name()))),
    ];
    RecordBatch::try_new(zone_schema(), columns).expect("zone columns match the zone schema")
}

/// The lookup table in the TLC's own CSV layout (header and text fields quoted).
pub(crate) fn lookup_csv() -> String {
    let mut csv = String::from("\"LocationID\",\"Borough\",\"Zone\",\"service_zone\"\n");
    for z in all_zones() {
        let line = format!("{},\"{}\",\"{}\",\"{}\"\n", z.id, z.borough.name(), z.name, z.service_zone.name());
        csv.push_str(&line);
    }
    csv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_covers_every_location_id() {
        assert_eq!(zone(1).name, "Newark Airport");
        assert_eq!(zone(JFK).name, "JFK Airport");
        assert_eq!(zone(LAGUARDIA).name, "LaGuardia Airport");
        assert_eq!(zone(237).name, "Upper East Side South");
        assert_eq!(zone(265).borough, Borough::Unknown);
        assert_eq!(lookup_batch().num_rows(), 265);
        assert_eq!(lookup_csv().lines().count(), 266);
    }

    #[test]
    fn top_pickups_name_distinct_zones() {
        let mut ids: Vec<i32> = TOP_PICKUPS.iter().map(|t| t.0).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), TOP_PICKUPS.len());
    }
}
