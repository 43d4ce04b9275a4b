//! `Summary` of one sample: n, mean, median, sample stddev and a Student-t 95% CI of the mean.
//!
//! n = 0 is an error; n = 1 has no spread, so `stddev` and `ci95` are `None` rather than NaN;
//! zero variance gives `stddev = 0` and the degenerate interval `(mean, mean)`.
use statrs::distribution::{ContinuousCDF, StudentsT};

use super::error::{StatsError, ensure_finite, ensure_len};

#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub n: usize,
    pub mean: f64,
    pub median: f64,
    /// Sample standard deviation (divisor n − 1); `None` when n = 1.
    pub stddev: Option<f64>,
    /// 95% confidence interval of the mean, `mean ± t(0.975, n − 1) · s / √n`; `None` when n = 1.
    pub ci95: Option<(f64, f64)>,
}

pub fn summarize(xs: &[f64]) -> Result<Summary, StatsError> {
    ensure_finite("sample", xs)?;
    ensure_len("summary", "sample", xs, 1)?;
    let n = xs.len();
    let mean = mean(xs);
    let median = median_of_finite(xs);
    if n == 1 {
        return Ok(Summary { n, mean, median, stddev: None, ci95: None });
    }
    let stddev = variance(xs, mean).sqrt();
    let half_width = t_quantile(0.975, (n - 1) as f64) * stddev / (n as f64).sqrt();
    Ok(Summary { n, mean, median, stddev: Some(stddev), ci95: Some((mean - half_width, mean + half_width)) })
}

/// Median of a sample (mean of the two middle values for even n).
pub fn median(xs: &[f64]) -> Result<f64, StatsError> {
    ensure_finite("sample", xs)?;
    ensure_len("median", "sample", xs, 1)?;
    Ok(median_of_finite(xs))
}

pub(crate) fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Sample variance (n − 1), two-pass around a known mean so large offsets do not cancel.
pub(crate) fn variance(xs: &[f64], mean: f64) -> f64 {
    xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (xs.len() - 1) as f64
}

pub(crate) fn median_of_finite(xs: &[f64]) -> f64 {
    let mut buf = xs.to_vec();
    median_in_place(&mut buf)
}

/// Median by selection, O(n); reorders `buf`. The caller guarantees a non-empty, NaN-free slice.
pub(crate) fn median_in_place(buf: &mut [f64]) -> f64 {
    let n = buf.len();
    let mid = n / 2;
    let (lower, upper, _) = buf.select_nth_unstable_by(mid, f64::total_cmp);
    let upper = *upper;
    if n % 2 == 1 {
        return upper;
    }
    let lower_max = lower.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (lower_max + upper) / 2.0
}

pub(crate) fn t_quantile(p: f64, df: f64) -> f64 {
    StudentsT::new(0.0, 1.0, df).expect("degrees of freedom are positive and finite").inverse_cdf(p)
}

/// Quantile with linear interpolation between order statistics (NumPy's default `linear`).
pub(crate) fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}
