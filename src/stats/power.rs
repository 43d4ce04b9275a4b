//! What a comparison could have seen: the minimum detectable change (MDC) of one cell at the
//! report's settings, and how many applications per side would settle an inconclusive one.
//!
//! A normal approximation on the relative scale, from the cell's own noise and sizes:
//! `se = √(s_b²/n_b + s_c²/n_c)` with `s` each side's standard deviation over its median. The
//! verdict needs two things, so the MDC is the larger of the two requirements plus the margin
//! for 80% power (`z₀.₈ = 0.84`):
//! - the bootstrap CI of the *median* ratio must clear the threshold: `thr + z_ci · 1.2533 · se`
//!   (1.2533 = √(π/2), the standard error of a median over that of a mean for normal data);
//! - a lone change must survive Benjamini–Hochberg over `tests` comparisons: `z(1 − α/2m) · se`,
//!   and when Mann–Whitney is the test its smallest possible p must be below `α/m` at all.
//!
//! So "MDC 31%" reads: a slowdown of 31% or more is flagged at least 80% of the time with this
//! much noise and this many applications. It is an approximation for the report's reader, not
//! a test; `cargo bench --bench gate` measures the real detection rates by simulation.
use statrs::distribution::{ContinuousCDF, Normal};

use super::mannwhitney::mann_whitney_min_p;
use super::summary::{mean, median_of_finite, variance};
use super::verdict::{TestChoice, VerdictConfig};

/// Standard error of a median over that of a mean, for normal data: √(π/2).
const MEDIAN_SE_FACTOR: f64 = 1.253_314_137_315_500_3;
/// The power the MDC is quoted at.
pub const MDC_POWER: f64 = 0.8;
/// The largest number of applications per side [`applications_to_settle`] considers.
pub const MAX_APPLICATIONS: usize = 200;

fn z(p: f64) -> f64 {
    Normal::standard().inverse_cdf(p)
}

/// Relative standard deviation of one side (sd / median); `None` below 2 values or with a
/// non-positive median.
fn relative_sd(xs: &[f64]) -> Option<f64> {
    if xs.len() < 2 || xs.iter().any(|x| !x.is_finite()) {
        return None;
    }
    let med = median_of_finite(xs);
    (med > 0.0).then(|| variance(xs, mean(xs)).sqrt() / med)
}

/// The relative noise of both sides, `(s_b, s_c)`.
fn noise(baseline: &[f64], current: &[f64]) -> Option<(f64, f64)> {
    Some((relative_sd(baseline)?, relative_sd(current)?))
}

/// Whether Mann–Whitney may be the test (then its smallest p bounds what can be seen).
fn may_use_mann_whitney(cfg: &VerdictConfig) -> bool {
    cfg.test != TestChoice::Welch
}

fn mdc_at(sb: f64, sc: f64, nb: usize, nc: usize, cfg: &VerdictConfig, tests: usize) -> Option<f64> {
    let m = tests.max(1) as f64;
    if may_use_mann_whitney(cfg) && mann_whitney_min_p(nb, nc) * m >= cfg.alpha {
        return None;
    }
    let se = (sb * sb / nb as f64 + sc * sc / nc as f64).sqrt();
    let z_ci = z(1.0 - (1.0 - cfg.bootstrap.confidence) / 2.0);
    let by_ci = cfg.threshold + z_ci * MEDIAN_SE_FACTOR * se;
    let by_test = z(1.0 - cfg.alpha / (2.0 * m)) * se;
    Some(by_ci.max(by_test) + z(MDC_POWER) * MEDIAN_SE_FACTOR * se)
}

/// The smallest relative change (in the bad direction) this comparison would flag as a
/// regression with 80% power, as one regression among `tests` comparisons. `None` when no
/// change is detectable at these sizes (Mann–Whitney cannot get below the bar) or the noise is
/// unknown (fewer than 2 values on a side, a non-positive median).
pub fn minimum_detectable_change(baseline: &[f64], current: &[f64], cfg: &VerdictConfig, tests: usize) -> Option<f64> {
    let (sb, sc) = noise(baseline, current)?;
    mdc_at(sb, sc, baseline.len(), current.len(), cfg, tests)
}

/// Applications per side (the same on both) with which a change of `change` (relative, in
/// either direction) would be settled: flagged at 80% power when `|change|` exceeds the
/// threshold, or shown to lie within it when it does not. Assumes the noise stays as observed.
/// Always more than either side has now. `None` when even [`MAX_APPLICATIONS`] would not do, or
/// the noise is unknown.
pub fn applications_to_settle(baseline: &[f64], current: &[f64], change: f64, cfg: &VerdictConfig, tests: usize) -> Option<usize> {
    let (sb, sc) = noise(baseline, current)?;
    let size = change.abs();
    let z_ci = z(1.0 - (1.0 - cfg.bootstrap.confidence) / 2.0) + z(MDC_POWER);
    // More than either side has now: at the present sizes the comparison already failed to settle
    // it (the normal approximation is optimistic for Welch at a handful of degrees of freedom).
    let from = baseline.len().max(current.len()) + 1;
    (from..=MAX_APPLICATIONS).find(|&n| {
        let se = MEDIAN_SE_FACTOR * (sb * sb / n as f64 + sc * sc / n as f64).sqrt();
        if size > cfg.threshold {
            mdc_at(sb, sc, n, n, cfg, tests).is_some_and(|mdc| mdc <= size)
        } else {
            // "Unchanged" needs the whole CI inside ±threshold.
            size + z_ci * se < cfg.threshold
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn more_applications_and_fewer_tests_detect_smaller_changes() {
        let cfg = VerdictConfig::default();
        let base = [10.0, 12.0, 9.0, 11.0, 8.0];
        let cur = [11.0, 9.0, 10.0, 12.0, 8.5];
        // 5 vs 5 under Mann–Whitney: min p 0.0079, so 7 tests is the most BH lets through.
        assert!(minimum_detectable_change(&base, &cur, &cfg, 6).is_some());
        assert!(minimum_detectable_change(&base, &cur, &cfg, 7).is_none());
        let welch = VerdictConfig { test: TestChoice::Welch, ..cfg };
        let few = minimum_detectable_change(&base, &cur, &welch, 1).unwrap();
        let many = minimum_detectable_change(&base, &cur, &welch, 100_000).unwrap();
        assert!(few > 0.2 && few < many, "{few} {many}");
        let ten: Vec<f64> = base.iter().chain(&base).copied().collect();
        let more = minimum_detectable_change(&ten, &ten, &welch, 1).unwrap();
        assert!(more < few, "{more} {few}");
        let n = applications_to_settle(&base, &cur, 0.3, &cfg, 24).unwrap();
        assert!((10..100).contains(&n), "{n}");
    }
}
