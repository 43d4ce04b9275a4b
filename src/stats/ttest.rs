//! Two-sample t-tests on unpaired samples: Welch's (the verdict's parametric test) and
//! Student's pooled-variance test (the change-point check, as Otava uses).
//! Where SciPy answers NaN (standard error 0), equal means give `t = 0, p = 1` and different
//! means `t = ±inf, p = 0`: without noise, any difference separates the samples perfectly.
use statrs::function::beta::beta_reg;

use super::error::{StatsError, ensure_finite, ensure_len};
use super::summary::{mean, variance};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TTest {
    /// `mean(a) − mean(b)` over its standard error, the sign SciPy's `ttest_ind(a, b)` gives.
    pub t: f64,
    /// Degrees of freedom: Welch–Satterthwaite for Welch, n₁ + n₂ − 2 for Student.
    pub df: f64,
    /// Two-sided p-value.
    pub p_value: f64,
}

/// Welch's unequal-variance t-test (SciPy `ttest_ind(a, b, equal_var=False)`); each sample
/// needs at least 2 values.
pub fn welch_t_test(a: &[f64], b: &[f64]) -> Result<TTest, StatsError> {
    check(a, b, 2)?;
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (ma, mb) = (mean(a), mean(b));
    let (wa, wb) = (variance(a, ma) / na, variance(b, mb) / nb);
    let se2 = wa + wb;
    let df = if se2 > 0.0 { se2 * se2 / (wa * wa / (na - 1.0) + wb * wb / (nb - 1.0)) } else { na + nb - 2.0 };
    Ok(finish(ma - mb, se2.sqrt(), df))
}

/// Student's t-test with pooled variance (SciPy `ttest_ind(a, b)`); needs one value per side
/// and at least 3 in total, so that n₁ + n₂ − 2 > 0.
pub fn student_t_test(a: &[f64], b: &[f64]) -> Result<TTest, StatsError> {
    check(a, b, 1)?;
    if a.len() + b.len() < 3 {
        return Err(StatsError::TooFewSamples { what: "student t-test", sample: "a + b", need: 3, got: a.len() + b.len() });
    }
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (ma, mb) = (mean(a), mean(b));
    let sum_sq = |xs: &[f64], m: f64| xs.iter().map(|x| (x - m).powi(2)).sum::<f64>();
    let df = na + nb - 2.0;
    let pooled = (sum_sq(a, ma) + sum_sq(b, mb)) / df;
    Ok(finish(ma - mb, (pooled * (1.0 / na + 1.0 / nb)).sqrt(), df))
}

fn check(a: &[f64], b: &[f64], need: usize) -> Result<(), StatsError> {
    ensure_finite("a", a)?;
    ensure_finite("b", b)?;
    ensure_len("t-test", "a", a, need)?;
    ensure_len("t-test", "b", b, need)
}

fn finish(diff: f64, se: f64, df: f64) -> TTest {
    if se == 0.0 {
        let (t, p_value) = if diff == 0.0 { (0.0, 1.0) } else { (diff.signum() * f64::INFINITY, 0.0) };
        return TTest { t, df, p_value };
    }
    let t = diff / se;
    TTest { t, df, p_value: two_sided_p(t, df) }
}

/// P(|T| ≥ |t|) for Student's t with `df` degrees of freedom, via the regularized incomplete
/// beta function directly (no `1 − cdf` cancellation for tiny p).
pub(crate) fn two_sided_p(t: f64, df: f64) -> f64 {
    beta_reg(df / 2.0, 0.5, df / (df + t * t)).clamp(0.0, 1.0)
}
