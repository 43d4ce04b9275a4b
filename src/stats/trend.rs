//! Trend over a history series (one value per run, in run order): the Mann–Kendall test and
//! the Theil–Sen slope. Both are rank/median based, so one outlier run does not fake a trend.
//!
//! O(n²) in the history length, which is fine for the hundreds of runs a history holds.
use statrs::distribution::{ContinuousCDF, Normal};

use super::error::{StatsError, ensure_finite, ensure_len};
use super::summary::median_in_place;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannKendall {
    /// S = Σ_{i<j} sign(x_j − x_i): positive for an upward trend.
    pub s: i64,
    /// Var(S) under no trend, corrected for tied values.
    pub var_s: f64,
    /// Continuity-corrected `(S ∓ 1) / √Var(S)`, 0 when S = 0.
    pub z: f64,
    /// Two-sided p-value from the normal approximation.
    pub p_value: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TheilSen {
    /// Median of the pairwise slopes `(y_j − y_i) / (j − i)`, per run.
    pub slope: f64,
    /// `median(y) − slope · median(x)`, as SciPy's `theilslopes` (method `separate`) gives it.
    pub intercept: f64,
}

/// Mann–Kendall trend test; needs at least 3 values. A series of identical values has S = 0,
/// Var(S) = 0 and is reported as `z = 0, p = 1`.
pub fn mann_kendall(xs: &[f64]) -> Result<MannKendall, StatsError> {
    ensure_finite("history", xs)?;
    ensure_len("mann–kendall", "history", xs, 3)?;
    // Plain loops: a flat_map over the pairs does not vectorize, and this is O(n²).
    let mut s: i64 = 0;
    for (i, &xi) in xs.iter().enumerate() {
        s += xs[i + 1..].iter().map(|&xj| (xj > xi) as i64 - (xj < xi) as i64).sum::<i64>();
    }
    let n = xs.len() as f64;
    let ties: f64 = tie_groups(xs).map(|t| t * (t - 1.0) * (2.0 * t + 5.0)).sum();
    let var_s = (n * (n - 1.0) * (2.0 * n + 5.0) - ties) / 18.0;
    let z = match s {
        0 => 0.0,
        _ if var_s == 0.0 => 0.0,
        s if s > 0 => (s - 1) as f64 / var_s.sqrt(),
        s => (s + 1) as f64 / var_s.sqrt(),
    };
    Ok(MannKendall { s, var_s, z, p_value: (2.0 * Normal::standard().sf(z.abs())).min(1.0) })
}

/// Theil–Sen estimator with the run index `0, 1, …, n − 1` as x; needs at least 2 values.
pub fn theil_sen(ys: &[f64]) -> Result<TheilSen, StatsError> {
    ensure_finite("history", ys)?;
    ensure_len("theil–sen", "history", ys, 2)?;
    let n = ys.len();
    let mut slopes: Vec<f64> = Vec::with_capacity(n * (n - 1) / 2);
    for (i, &yi) in ys.iter().enumerate() {
        slopes.extend(ys[i + 1..].iter().enumerate().map(|(d, &yj)| (yj - yi) / (d + 1) as f64));
    }
    let slope = median_in_place(&mut slopes);
    let median_y = median_in_place(&mut ys.to_vec());
    let median_x = (n - 1) as f64 / 2.0;
    Ok(TheilSen { slope, intercept: median_y - slope * median_x })
}

/// Sizes of the groups of equal values (only groups of 2 or more matter, singletons add 0).
fn tie_groups(xs: &[f64]) -> impl Iterator<Item = f64> {
    let mut sorted = xs.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut sizes = Vec::new();
    let mut start = 0;
    while start < sorted.len() {
        let len = sorted[start..].iter().take_while(|&&x| x == sorted[start]).count();
        sizes.push(len as f64);
        start += len;
    }
    sizes.into_iter()
}
