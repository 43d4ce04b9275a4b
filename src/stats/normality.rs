//! A cheap "looks normal" rule that picks Welch's t-test over Mann–Whitney U in `TestChoice::Auto`.
//! Not Shapiro–Wilk: at 5–20 repetitions normality tests have little power, so the rule errs
//! toward the rank test, which loses ≈ 5% efficiency on normal data (ARE 3/π) and withstands
//! the skew and outliers (GC pauses, stragglers) that run times actually show.
use super::error::{StatsError, ensure_finite};
use super::summary::{mean, quantile_sorted};

/// Below this many values a sample's shape cannot be judged: the standard error of the
/// skewness is still ≈ 0.75 at n = 8.
pub const MIN_NORMAL_N: usize = 8;
/// |skewness| above 1 is "highly skewed" (Bulmer's rule of thumb).
const MAX_ABS_SKEW: f64 = 1.0;
/// Tukey's "far out" fence: values beyond `Q1 − 3·IQR` or `Q3 + 3·IQR`.
const FAR_OUT_IQR: f64 = 3.0;

/// True when the sample has at least 8 values, non-zero variance, |skewness| ≤ 1 and no value
/// beyond Tukey's far-out fences.
pub fn looks_normal(xs: &[f64]) -> Result<bool, StatsError> {
    ensure_finite("sample", xs)?;
    if xs.len() < MIN_NORMAL_N {
        return Ok(false);
    }
    let Some(skew) = skewness(xs)? else {
        return Ok(false);
    };
    if skew.abs() > MAX_ABS_SKEW {
        return Ok(false);
    }
    let mut sorted = xs.to_vec();
    sorted.sort_by(f64::total_cmp);
    let (q1, q3) = (quantile_sorted(&sorted, 0.25), quantile_sorted(&sorted, 0.75));
    let reach = FAR_OUT_IQR * (q3 - q1);
    Ok(sorted[0] >= q1 - reach && sorted[sorted.len() - 1] <= q3 + reach)
}

/// Sample skewness g₁ = m₃ / m₂^{3/2} (SciPy `skew(bias=True)`); `None` when there are fewer
/// than 3 values or no variance, where it is undefined.
pub fn skewness(xs: &[f64]) -> Result<Option<f64>, StatsError> {
    ensure_finite("sample", xs)?;
    if xs.len() < 3 {
        return Ok(None);
    }
    let m = mean(xs);
    let n = xs.len() as f64;
    let m2 = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n;
    let m3 = xs.iter().map(|x| (x - m).powi(3)).sum::<f64>() / n;
    // Relative to the scale of the data, a variance this small is rounding noise, not spread.
    if m2 <= f64::EPSILON * m * m || m2 == 0.0 {
        return Ok(None);
    }
    Ok(Some(m3 / m2.powf(1.5)))
}
