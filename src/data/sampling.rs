//! Seeded random streams and the small samplers the trip model is built from.
//!
//! Each file draws from its own xoshiro256++ stream whose 256-bit state is blake3(seed, file
//! index), so no RNG is shared between threads and a file's bytes do not depend on which thread
//! wrote it. Samplers are tables built once, so a draw costs a few loads and no `exp`.
use std::sync::LazyLock;

use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, SeedableRng};

pub(crate) type Stream = Xoshiro256PlusPlus;

/// The random stream of one output file.
pub(crate) fn file_stream(seed: u64, file_index: u64) -> Stream {
    let mut material = [0u8; 16];
    material[..8].copy_from_slice(&seed.to_le_bytes());
    material[8..].copy_from_slice(&file_index.to_le_bytes());
    Stream::from_seed(blake3::derive_key("loadbuild 2025 dataset file stream v1", &material))
}

/// Splits `total` into parts proportional to `weights` (largest remainder, ties to the lower
/// index), so the parts always add up to `total` exactly.
pub(crate) fn apportion(total: u64, weights: &[f64]) -> Vec<u64> {
    let sum: f64 = weights.iter().sum();
    let shares: Vec<f64> = weights.iter().map(|w| total as f64 * w / sum).collect();
    let mut parts: Vec<u64> = shares.iter().map(|share| share.floor() as u64).collect();
    let assigned: u64 = parts.iter().sum();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        let frac = |i: usize| shares[i] - parts[i] as f64;
        frac(b).total_cmp(&frac(a)).then(a.cmp(&b))
    });
    for &i in order.iter().cycle().take(total.saturating_sub(assigned) as usize) {
        parts[i] += 1;
    }
    parts
}

/// A discrete distribution sampled by Walker's alias method: one 64-bit draw picks a column
/// (high half) and accepts its value or takes its alias (low half). The table has one small
/// entry per value, so it stays in L1 cache however many values it has — a 65,536-slot lookup
/// table per column missed the cache on every draw and cost more than the Parquet encoding.
/// Each entry holds both candidate values, so a draw is one load and a conditional move.
pub(crate) struct Table<T> {
    columns: Vec<Column<T>>,
}

#[derive(Clone, Copy)]
struct Column<T> {
    /// Accept `value` below this threshold (out of 2^32), else take `alias`.
    threshold: u64,
    value: T,
    alias: T,
}

impl<T: Copy> Table<T> {
    pub(crate) fn new(weights: &[(T, f64)]) -> Table<T> {
        let positive: Vec<(T, f64)> = weights.iter().copied().filter(|(_, w)| *w > 0.0).collect();
        assert!(!positive.is_empty(), "a table needs one positive weight");
        let n = positive.len();
        let sum: f64 = positive.iter().map(|(_, w)| w).sum();
        let mut scaled: Vec<f64> = positive.iter().map(|(_, w)| w * n as f64 / sum).collect();
        let mut columns: Vec<Column<T>> = positive.iter().map(|&(value, _)| Column { threshold: 1 << 32, value, alias: value }).collect();
        let (mut small, mut large): (Vec<usize>, Vec<usize>) = (0..n).partition(|&i| scaled[i] < 1.0);
        while let (Some(&s), Some(&l)) = (small.last(), large.last()) {
            small.pop();
            columns[s].threshold = (scaled[s] * 4_294_967_296.0) as u64;
            columns[s].alias = positive[l].0;
            scaled[l] -= 1.0 - scaled[s];
            if scaled[l] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        // Leftovers are 1 up to rounding: they always accept (threshold 2^32, alias itself).
        Table { columns }
    }

    #[inline]
    pub(crate) fn sample(&self, rng: &mut Stream) -> T {
        let draw = rng.next_u64();
        let column = &self.columns[(((draw >> 32) * self.columns.len() as u64) >> 32) as usize];
        if (draw & 0xffff_ffff) < column.threshold { column.value } else { column.alias }
    }

    /// A draw from 32 random bits: 16 pick the column, 16 accept or alias it. For tables of
    /// a handful of values, whose weights need no finer grain than 1/65,536 of a column.
    #[inline]
    pub(crate) fn sample_from(&self, bits: u32) -> T {
        let column = &self.columns[((u64::from(bits >> 16) * self.columns.len() as u64) >> 16) as usize];
        if u64::from(bits & 0xffff) << 16 < column.threshold { column.value } else { column.alias }
    }
}

/// One 64-bit draw dealt out in pieces, so decisions that need 16 or 24 bits of precision
/// share a draw: each draw is a link in the stream's serial dependency chain.
pub(crate) struct Bits {
    bits: u64,
    /// Bits not yet dealt (checked in debug builds: a piece taken from nothing is a bug).
    left: u32,
}

impl Bits {
    #[inline]
    pub(crate) fn draw(rng: &mut Stream) -> Bits {
        Bits { bits: rng.next_u64(), left: 64 }
    }

    #[inline]
    fn take(&mut self, bits: u32) -> u64 {
        debug_assert!(bits <= self.left, "a draw of 64 bits dealt out more than 64");
        self.left -= bits;
        let value = self.bits & ((1 << bits) - 1);
        self.bits >>= bits;
        value
    }

    /// True with probability `p`, to within 1/65,536.
    #[inline]
    pub(crate) fn chance16(&mut self, p: f64) -> bool {
        (self.take(16) as f64) < p * 65_536.0
    }

    /// True with probability `p`, to within 1/16,777,216.
    #[inline]
    pub(crate) fn chance24(&mut self, p: f64) -> bool {
        (self.take(24) as f64) < p * 16_777_216.0
    }

    #[inline]
    pub(crate) fn take32(&mut self) -> u32 {
        self.take(32) as u32
    }
}

impl From<u32> for Bits {
    fn from(bits: u32) -> Bits {
        Bits { bits: u64::from(bits), left: 32 }
    }
}

/// True with probability `p`.
#[inline]
pub(crate) fn chance(rng: &mut Stream, p: f64) -> bool {
    (rng.next_u32() as f64) < p * 4_294_967_296.0
}

/// Uniform in `0..n` (multiply-shift: no division, bias below 2^-32 · n).
#[inline]
pub(crate) fn below(rng: &mut Stream, n: u32) -> u32 {
    ((u64::from(rng.next_u32()) * u64::from(n)) >> 32) as u32
}

/// Uniform in [0, 1), with 53 random bits.
#[inline]
pub(crate) fn unit(rng: &mut Stream) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Rounds a non-negative value to the nearest integer (a cast, not a libm call).
#[inline]
pub(crate) fn round(value: f64) -> i64 {
    debug_assert!(value >= 0.0, "round() is for non-negative values");
    (value + 0.5) as i64
}

/// Points of the quantile tables: the tails are cut at the 1/512 quantiles (±2.9σ); 2 KiB per
/// table keeps all of the model's tables in L1 cache.
const QUANTILES: usize = 256;

/// A log-normal distribution as a table of its quantiles, sampled by interpolating between
/// neighbouring quantiles: one 64-bit draw, two loads and a multiply-add.
pub(crate) struct LogNormal {
    quantiles: Vec<f64>,
}

impl LogNormal {
    pub(crate) fn new(median: f64, sigma: f64) -> LogNormal {
        let quantiles = STANDARD_NORMAL.iter().map(|z| median * (sigma * z).exp()).collect();
        LogNormal { quantiles }
    }

    #[inline]
    pub(crate) fn sample(&self, rng: &mut Stream) -> f64 {
        let draw = rng.next_u64();
        let index = (((draw >> 32) * (QUANTILES as u64 - 1)) >> 32) as usize;
        let fraction = (draw & 0xffff_ffff) as f64 * (1.0 / 4_294_967_296.0);
        let (low, high) = (self.quantiles[index], self.quantiles[index + 1]);
        low + (high - low) * fraction
    }

    /// A draw from 32 random bits: 8 pick the quantile interval, 24 the point within it.
    #[inline]
    pub(crate) fn sample_from(&self, bits: u32) -> f64 {
        let index = (((bits >> 24) * (QUANTILES as u32 - 1)) >> 8) as usize;
        let fraction = f64::from(bits & 0xff_ffff) * (1.0 / 16_777_216.0);
        let (low, high) = (self.quantiles[index], self.quantiles[index + 1]);
        low + (high - low) * fraction
    }
}

/// Standard-normal quantiles at (i + 0.5) / QUANTILES, from a trapezoid integral of the
/// density (step 1e-4, error far below the table's resolution).
static STANDARD_NORMAL: LazyLock<Vec<f64>> = LazyLock::new(|| {
    let density = |z: f64| (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let step = 1e-4;
    let mut quantiles = Vec::with_capacity(QUANTILES);
    let (mut z, mut cdf, mut left) = (-9.0, 0.0, density(-9.0));
    while quantiles.len() < QUANTILES {
        let right = density(z + step);
        let area = (left + right) / 2.0 * step;
        loop {
            let target = (quantiles.len() as f64 + 0.5) / QUANTILES as f64;
            if quantiles.len() == QUANTILES || cdf + area < target {
                break;
            }
            quantiles.push(z + (target - cdf) / area * step);
        }
        cdf += area;
        z += step;
        left = right;
    }
    quantiles
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportion_adds_up_and_is_proportional() {
        assert_eq!(apportion(10, &[1.0, 1.0, 2.0]), vec![3, 2, 5]);
        assert_eq!(apportion(7, &[1.0; 7]).iter().sum::<u64>(), 7);
        assert_eq!(apportion(0, &[3.0, 1.0]), vec![0, 0]);
    }

    #[test]
    fn table_draws_each_value_at_its_weight() {
        let table = Table::new(&[(0usize, 0.5), (1, 0.3), (2, 0.0), (3, 0.2), (4, 0.000_5)]);
        let mut rng = file_stream(9, 9);
        let mut counts = [0u32; 5];
        for _ in 0..400_000 {
            counts[table.sample(&mut rng)] += 1;
        }
        let share = |i: usize| f64::from(counts[i]) / 400_000.0;
        assert!((share(0) - 0.5).abs() < 0.005, "{counts:?}");
        assert!((share(1) - 0.3).abs() < 0.005, "{counts:?}");
        assert_eq!(counts[2], 0);
        assert!((share(3) - 0.2).abs() < 0.005, "{counts:?}");
        assert!((50..350).contains(&counts[4]), "{counts:?}");
    }

    #[test]
    fn normal_quantiles_are_symmetric_and_calibrated() {
        let q = &*STANDARD_NORMAL;
        assert_eq!(q.len(), QUANTILES);
        assert!((q[QUANTILES / 2] - 0.004_896).abs() < 1e-5, "{}", q[QUANTILES / 2]);
        assert!((q[0] + q[QUANTILES - 1]).abs() < 1e-6);
        // The 0.975 quantile is 1.959964; it falls between table points 249 and 250.
        let at = 0.975 * QUANTILES as f64 - 0.5;
        let (i, f) = (at.floor() as usize, at.fract());
        let z = q[i] + (q[i + 1] - q[i]) * f;
        assert!((z - 1.959_964).abs() < 2e-3, "{z}");
    }

    #[test]
    fn log_normal_median_is_the_median() {
        let distribution = LogNormal::new(2.0, 0.6);
        let mut rng = file_stream(3, 3);
        let below_median = (0..100_000).filter(|_| distribution.sample(&mut rng) < 2.0).count();
        assert!((49_000..51_000).contains(&below_median), "{below_median}");
    }

    #[test]
    fn streams_differ_by_seed_and_file() {
        let first = |mut s: Stream| s.next_u64();
        let a = first(file_stream(1, 0));
        assert_eq!(a, first(file_stream(1, 0)));
        assert_ne!(a, first(file_stream(1, 1)));
        assert_ne!(a, first(file_stream(2, 0)));
    }
}
