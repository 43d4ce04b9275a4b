//! Seeded percentile bootstrap of the relative change `median(current) / median(baseline) − 1`.
//!
//! Deterministic: xoshiro256++ seeded from `seed` (a named algorithm, so its stream does not
//! change between rand versions or machines), both samples resampled with replacement in a
//! fixed order, so one seed gives one interval everywhere.
use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, SeedableRng};

use super::error::{StatsError, ensure_finite, ensure_len};
use super::summary::quantile_select;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BootstrapConfig {
    pub resamples: usize,
    pub seed: u64,
    /// Two-sided confidence level, e.g. 0.95.
    pub confidence: f64,
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        BootstrapConfig {
            resamples: 10_000,
            seed: 0x6c6f_6164_6275_696c, // "loadbuil"
            confidence: 0.95,
        }
    }
}

/// Percentile-bootstrap confidence interval of `median(current) / median(baseline) − 1`.
///
/// Errors when a resampled baseline median is not positive: the relative change of a metric
/// that is 0 (or negative) in the baseline has no meaning.
pub fn relative_change_ci(baseline: &[f64], current: &[f64], cfg: &BootstrapConfig) -> Result<(f64, f64), StatsError> {
    ensure_finite("baseline", baseline)?;
    ensure_finite("current", current)?;
    ensure_len("bootstrap", "baseline", baseline, 1)?;
    ensure_len("bootstrap", "current", current, 1)?;
    if cfg.resamples == 0 {
        return Err(StatsError::InvalidParameter { name: "resamples", expected: "at least 1", value: 0.0 });
    }
    if !(cfg.confidence > 0.0 && cfg.confidence < 1.0) {
        return Err(StatsError::InvalidParameter { name: "confidence", expected: "strictly between 0 and 1", value: cfg.confidence });
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(cfg.seed);
    let mut base = Resampler::new(baseline);
    let mut cur = Resampler::new(current);
    let mut changes = Vec::with_capacity(cfg.resamples);
    for _ in 0..cfg.resamples {
        let base_median = base.median(&mut rng);
        let cur_median = cur.median(&mut rng);
        if base_median <= 0.0 {
            return Err(StatsError::NonPositiveBaseline { median: base_median });
        }
        changes.push(cur_median / base_median - 1.0);
    }
    // Two selections instead of a sort: the same order statistics, in O(resamples).
    let tail = (1.0 - cfg.confidence) / 2.0;
    Ok((quantile_select(&mut changes, tail), quantile_select(&mut changes, 1.0 - tail)))
}

/// Draws resamples of one sample and returns their medians without sorting each one: the
/// sample is sorted once, a resample is just how often each sorted position was drawn, and a
/// walk over those counts finds the middle order statistics. O(n) per resample.
struct Resampler {
    sorted: Vec<f64>,
    counts: Vec<u32>,
}

impl Resampler {
    fn new(xs: &[f64]) -> Resampler {
        let mut sorted = xs.to_vec();
        sorted.sort_by(f64::total_cmp);
        Resampler { counts: vec![0; sorted.len()], sorted }
    }

    fn median(&mut self, rng: &mut Xoshiro256PlusPlus) -> f64 {
        let n = self.sorted.len();
        self.counts.fill(0);
        for _ in 0..n {
            self.counts[index_below(rng, n)] += 1;
        }
        // 0-based ranks of the middle order statistics; equal when n is odd.
        let (lower_rank, upper_rank) = ((n - 1) / 2, n / 2);
        let mut seen = 0;
        let mut lower = None;
        for (value, &count) in self.sorted.iter().zip(&self.counts) {
            seen += count as usize;
            if seen > lower_rank && lower.is_none() {
                lower = Some(*value);
            }
            if seen > upper_rank {
                return (lower.expect("the lower rank comes first") + value) / 2.0;
            }
        }
        unreachable!("the counts add up to n, so the walk reaches every rank")
    }
}
/// A uniform index below `n` by multiply-shift on 32 random bits. Unlike `random_range`, whose
/// algorithm rand may change between versions, this keeps a seed's interval stable; the bias,
/// at most n / 2³², is far below the bootstrap's own Monte Carlo error.
fn index_below(rng: &mut Xoshiro256PlusPlus, n: usize) -> usize {
    ((u64::from(rng.next_u32()) * n as u64) >> 32) as usize
}
