//! Routes: what kind of trip a pair of zones makes, and what that implies for distance and
//! tolls. Airports and borough crossings are what make NYC taxi distances bimodal.
use super::sampling::Bits;
use super::zones::{Borough, JFK, LAGUARDIA, NEWARK};

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Route {
    SameZone,
    Unknown,
    Jfk { manhattan: bool },
    LaGuardia { manhattan: bool },
    Newark,
    WithinBorough { manhattan: bool },
    CrossBorough { manhattan: bool },
}

impl Route {
    pub(crate) const ALL: [Route; 11] = [
        Route::SameZone,
        Route::Unknown,
        Route::Jfk { manhattan: true },
        Route::Jfk { manhattan: false },
        Route::LaGuardia { manhattan: true },
        Route::LaGuardia { manhattan: false },
        Route::Newark,
        Route::WithinBorough { manhattan: true },
        Route::WithinBorough { manhattan: false },
        Route::CrossBorough { manhattan: true },
        Route::CrossBorough { manhattan: false },
    ];

    /// Position in `ALL`.
    pub(crate) fn index(self) -> usize {
        match self {
            Route::SameZone => 0,
            Route::Unknown => 1,
            Route::Jfk { manhattan: true } => 2,
            Route::Jfk { manhattan: false } => 3,
            Route::LaGuardia { manhattan: true } => 4,
            Route::LaGuardia { manhattan: false } => 5,
            Route::Newark => 6,
            Route::WithinBorough { manhattan: true } => 7,
            Route::WithinBorough { manhattan: false } => 8,
            Route::CrossBorough { manhattan: true } => 9,
            Route::CrossBorough { manhattan: false } => 10,
        }
    }

    /// Median and log-normal shape of the distance in miles.
    pub(crate) fn miles(self) -> (f64, f64) {
        match self {
            Route::SameZone => (0.75, 0.55),
            Route::Unknown => (2.8, 0.9),
            Route::Jfk { manhattan: true } => (17.5, 0.12),
            Route::Jfk { manhattan: false } => (11.0, 0.45),
            Route::LaGuardia { manhattan: true } => (9.8, 0.15),
            Route::LaGuardia { manhattan: false } => (6.0, 0.5),
            Route::Newark => (17.0, 0.2),
            Route::WithinBorough { manhattan: true } => (1.7, 0.55),
            Route::WithinBorough { manhattan: false } => (2.6, 0.65),
            Route::CrossBorough { manhattan: true } => (6.5, 0.4),
            Route::CrossBorough { manhattan: false } => (7.5, 0.5),
        }
    }

    /// The route between zones `from` and `to`; `boroughs[id]` is zone `id`'s borough.
    pub(crate) fn between(from: i32, to: i32, boroughs: &[Borough]) -> Route {
        let (a, b) = (boroughs[from as usize], boroughs[to as usize]);
        let manhattan = a == Borough::Manhattan || b == Borough::Manhattan;
        if a == Borough::Unknown || b == Borough::Unknown {
            Route::Unknown
        } else if from == to {
            Route::SameZone
        } else if from == JFK || to == JFK {
            Route::Jfk { manhattan }
        } else if from == LAGUARDIA || to == LAGUARDIA {
            Route::LaGuardia { manhattan }
        } else if from == NEWARK || to == NEWARK {
            Route::Newark
        } else if a == b {
            Route::WithinBorough { manhattan }
        } else {
            Route::CrossBorough { manhattan }
        }
    }

    /// Tolls in cents, from 32 random bits: bridges and tunnels on trips between boroughs, to
    /// the airports and to New Jersey; rarely within a borough.
    pub(crate) fn tolls(self, bits: u32) -> i64 {
        let mut bits = Bits::from(bits);
        let toll_share = match self {
            Route::Newark => return if bits.chance16(0.8) { 1706 } else { 0 },
            Route::Jfk { .. } | Route::LaGuardia { .. } | Route::CrossBorough { .. } => 0.35,
            _ => 0.004,
        };
        if !bits.chance16(toll_share) {
            0
        } else if bits.chance16(0.08) {
            1388
        } else {
            694
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_index_is_the_position_in_all() {
        for (position, route) in Route::ALL.iter().enumerate() {
            assert_eq!(route.index(), position);
        }
    }

    #[test]
    fn airports_outrank_boroughs() {
        let boroughs: Vec<Borough> = std::iter::once(Borough::Unknown).chain(super::super::zones::all_zones().map(|z| z.borough)).collect();
        assert!(Route::between(JFK, 237, &boroughs) == Route::Jfk { manhattan: true });
        assert!(Route::between(237, 236, &boroughs) == Route::WithinBorough { manhattan: true });
        assert!(Route::between(237, 264, &boroughs) == Route::Unknown);
        assert!(Route::between(161, 161, &boroughs) == Route::SameZone);
    }
}
