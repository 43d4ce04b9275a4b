//! Seeded percentile bootstrap of the relative change `median(current) / median(baseline) − 1`.
//!
//! Deterministic: ChaCha8 seeded from `seed` (a portable, documented stream), both samples
//! resampled with replacement in a fixed order, so one seed gives one interval on every machine.
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

use super::error::{StatsError, ensure_finite, ensure_len};
use super::normality::quantile_sorted;
use super::summary::median_in_place;

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
pub fn relative_change_ci(
    baseline: &[f64],
    current: &[f64],
    cfg: &BootstrapConfig,
) -> Result<(f64, f64), StatsError> {
    ensure_finite("baseline", baseline)?;
    ensure_finite("current", current)?;
    ensure_len("bootstrap", "baseline", baseline, 1)?;
    ensure_len("bootstrap", "current", current, 1)?;
    if cfg.resamples == 0 {
        return Err(StatsError::InvalidParameter {
            name: "resamples",
            expected: "at least 1",
            value: 0.0,
        });
    }
    if !(cfg.confidence > 0.0 && cfg.confidence < 1.0) {
        return Err(StatsError::InvalidParameter {
            name: "confidence",
            expected: "strictly between 0 and 1",
            value: cfg.confidence,
        });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut base_buf = vec![0.0; baseline.len()];
    let mut cur_buf = vec![0.0; current.len()];
    let mut changes = Vec::with_capacity(cfg.resamples);
    for _ in 0..cfg.resamples {
        let base_median = resampled_median(&mut rng, baseline, &mut base_buf);
        let cur_median = resampled_median(&mut rng, current, &mut cur_buf);
        if base_median <= 0.0 {
            return Err(StatsError::NonPositiveBaseline {
                median: base_median,
            });
        }
        changes.push(cur_median / base_median - 1.0);
    }
    changes.sort_by(f64::total_cmp);
    let tail = (1.0 - cfg.confidence) / 2.0;
    Ok((
        quantile_sorted(&changes, tail),
        quantile_sorted(&changes, 1.0 - tail),
    ))
}

fn resampled_median(rng: &mut ChaCha8Rng, xs: &[f64], buf: &mut [f64]) -> f64 {
    for slot in buf.iter_mut() {
        *slot = xs[rng.random_range(0..xs.len())];
    }
    median_in_place(buf)
}
