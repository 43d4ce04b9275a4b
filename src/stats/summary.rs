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

/// The same value as [`quantile_sorted`] on the sorted slice, found by selection in O(n)
/// instead of a sort; reorders `xs`. The caller guarantees a non-empty, NaN-free slice.
pub(crate) fn quantile_select(xs: &mut [f64], q: f64) -> f64 {
    let h = (xs.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let (_, &mut at_lo, above) = xs.select_nth_unstable_by(lo, f64::total_cmp);
    // The next order statistic is the smallest value above position `lo`.
    let at_hi = above.iter().copied().min_by(f64::total_cmp).unwrap_or(at_lo);
    at_lo + (h - lo as f64) * (at_hi - at_lo)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_gives_the_sorted_quantile_exactly() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let xs: Vec<f64> = (0..1001)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % 1000) as f64 / 7.0
            })
            .collect();
        let mut sorted = xs.clone();
        sorted.sort_by(f64::total_cmp);
        for q in [0.0, 0.025, 0.25, 0.5, 0.975, 1.0] {
            let mut work = xs.clone();
            assert_eq!(quantile_select(&mut work, q).to_bits(), quantile_sorted(&sorted, q).to_bits(), "q = {q}");
        }
    }
}
