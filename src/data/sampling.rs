//! Seeded random streams and the small samplers the trip model is built from.
//!
//! Each file draws from its own ChaCha8 stream keyed by (seed, file index) through blake3, so
//! no RNG is shared between threads and a file's bytes do not depend on which thread wrote it.
use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

pub(crate) type Stream = ChaCha8Rng;

/// The random stream of one output file.
pub(crate) fn file_stream(seed: u64, file_index: u64) -> Stream {
    let mut material = [0u8; 16];
    material[..8].copy_from_slice(&seed.to_le_bytes());
    material[8..].copy_from_slice(&file_index.to_le_bytes());
    Stream::from_seed(blake3::derive_key(
        "loadbuild 2025 dataset file stream v1",
        &material,
    ))
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
    for &i in order
        .iter()
        .cycle()
        .take(total.saturating_sub(assigned) as usize)
    {
        parts[i] += 1;
    }
    parts
}

/// A discrete distribution as a 65,536-slot lookup table: one draw is one table read.
/// Every value with a positive weight gets at least one slot (p ≥ 1.5e-5).
pub(crate) struct Table<T> {
    slots: Vec<T>,
}

const SLOTS: u64 = 1 << 16;

impl<T: Copy> Table<T> {
    pub(crate) fn new(weights: &[(T, f64)]) -> Table<T> {
        let positive: Vec<(T, f64)> = weights.iter().copied().filter(|(_, w)| *w > 0.0).collect();
        assert!(!positive.is_empty(), "a table needs one positive weight");
        let floor = positive.len() as u64;
        let extra = apportion(
            SLOTS - floor,
            &positive.iter().map(|(_, w)| *w).collect::<Vec<_>>(),
        );
        let mut slots = Vec::with_capacity(SLOTS as usize);
        for ((value, _), extra) in positive.iter().zip(extra) {
            slots.extend(std::iter::repeat_n(*value, 1 + extra as usize));
        }
        Table { slots }
    }

    #[inline]
    pub(crate) fn sample(&self, rng: &mut Stream) -> T {
        self.slots[(rng.next_u32() >> 16) as usize]
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

/// Uniform in [0, 1).
#[inline]
pub(crate) fn unit(rng: &mut Stream) -> f64 {
    rng.random::<f64>()
}

/// Log-normal with the given median and shape `sigma`.
#[inline]
pub(crate) fn log_normal(rng: &mut Stream, median: f64, sigma: f64) -> f64 {
    let z: f64 = rng.sample(StandardNormal);
    median * (sigma * z).exp()
}

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
    fn table_keeps_rare_values_and_shares() {
        let table = Table::new(&[(1u8, 0.999_99), (2u8, 0.000_01), (3u8, 0.0)]);
        assert_eq!(table.slots.len(), SLOTS as usize);
        assert_eq!(table.slots.iter().filter(|&&v| v == 2).count(), 1);
        assert!(!table.slots.contains(&3));
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
