//! The regression verdict for one cell × metric: direction-aware, effect-gated, FDR-controlled.
//! Two phases, so p-values can be adjusted across a whole report: [`compare`] each cell ×
//! metric, Benjamini–Hochberg over all raw p-values, then [`decide`] ([`decide_all`] does both).
//! A regression needs adjusted p < α **and** the whole bootstrap CI of the relative change
//! beyond the threshold in the metric's bad direction (criterion.rs practice).
use std::fmt;

use super::bootstrap::{BootstrapConfig, BootstrapMethod, relative_change_ci_with_method};
use super::error::{StatsError, ensure_finite};
use super::fdr::benjamini_hochberg;
use super::mannwhitney::{MwuMethod, mann_whitney_min_p, mann_whitney_u};
use super::normality::looks_normal;
use super::summary::median_of_finite;
use super::ttest::welch_t_test;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Durations, failures, GC share: an increase is a regression.
    LowerIsBetter,
    /// Throughput (rows/s, bytes/s), utilisation: a decrease is a regression.
    HigherIsBetter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestChoice {
    /// Welch when both samples pass [`looks_normal`](super::looks_normal), else Mann–Whitney.
    Auto,
    Welch,
    MannWhitney,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestUsed {
    Welch,
    /// With the method SciPy's `auto` rule picked: `Exact` or `Asymptotic`.
    MannWhitney(MwuMethod),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VerdictConfig {
    /// Smallest relative change that counts, in the bad (or good) direction: 0.20 = 20%.
    pub threshold: f64,
    /// Significance level for the (adjusted) p-value.
    pub alpha: f64,
    pub test: TestChoice,
    /// Fewer samples than this on either side is inconclusive; values below 2 act as 2.
    pub min_samples: usize,
    pub bootstrap: BootstrapConfig,
}

impl Default for VerdictConfig {
    fn default() -> Self {
        VerdictConfig {
            threshold: 0.20,
            alpha: 0.05,
            test: TestChoice::Auto,
            // 5 vs 5 is the smallest balanced design where Mann–Whitney can reach p < 0.01.
            min_samples: 5,
            bootstrap: BootstrapConfig::default(),
        }
    }
}

/// Phase one: everything about one cell × metric that does not depend on the other tests.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub direction: Direction,
    pub baseline_n: usize,
    pub current_n: usize,
    /// `median(current) / median(baseline) − 1`; `None` when a side is empty or the baseline
    /// median is not positive.
    pub relative_change: Option<f64>,
    /// Bootstrap CI of `relative_change`.
    pub ci: Option<(f64, f64)>,
    pub test: Option<TestUsed>,
    /// Raw two-sided p-value: the input to Benjamini–Hochberg.
    pub p_value: Option<f64>,
    /// Set when no p-value adjustment could make this conclusive.
    pub blocked: Option<InconclusiveReason>,
    /// The smallest p-value the test could give at these sizes (Mann–Whitney without ties);
    /// `None` for Welch, whose p has no floor.
    pub min_p: Option<f64>,
    /// How the CI was computed.
    pub bootstrap: Option<BootstrapMethod>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    Regression,
    Improvement,
    Unchanged,
    Inconclusive { reason: InconclusiveReason },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum InconclusiveReason {
    TooFewSamples {
        baseline: usize,
        current: usize,
        min: usize,
    },
    /// The relative change of a metric that is 0 (or negative) in the baseline is undefined.
    NonPositiveBaseline,
    /// Even perfectly separated samples could not give p < α with this test and these sizes,
    /// after Benjamini–Hochberg over `tests` comparisons: their p `min_p` would be adjusted to
    /// `min_adjusted` (equal to `min_p` when the raw p alone is already too large).
    CannotReachSignificance {
        min_p: f64,
        min_adjusted: f64,
        tests: usize,
        alpha: f64,
    },
    /// The CI of the relative change holds values both within and beyond ±threshold.
    CiStraddlesThreshold {
        lo: f64,
        hi: f64,
        threshold: f64,
    },
    /// The CI lies beyond the threshold, but the test does not reject at α.
    NotSignificant {
        p: f64,
        alpha: f64,
    },
}

/// Phase two: the verdict with the numbers behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub verdict: Verdict,
    pub relative_change: Option<f64>,
    pub ci: Option<(f64, f64)>,
    pub test: Option<TestUsed>,
    pub p_value: Option<f64>,
    /// The p-value the rule compared with α (BH-adjusted when the caller supplied one).
    pub adjusted_p: Option<f64>,
}

/// Phase one for one cell × metric. Errors only on non-finite samples or a bad `cfg`; too few
/// samples and the like are data, reported through `Comparison::blocked`.
pub fn compare(baseline: &[f64], current: &[f64], direction: Direction, cfg: &VerdictConfig) -> Result<Comparison, StatsError> {
    ensure_finite("baseline", baseline)?;
    ensure_finite("current", current)?;
    validate(cfg)?;
    let mut cmp = Comparison {
        direction,
        baseline_n: baseline.len(),
        current_n: current.len(),
        relative_change: None,
        ci: None,
        test: None,
        p_value: None,
        blocked: None,
        min_p: None,
        bootstrap: None,
    };
    if !baseline.is_empty() && !current.is_empty() {
        let base_median = median_of_finite(baseline);
        if base_median <= 0.0 {
            cmp.blocked = Some(InconclusiveReason::NonPositiveBaseline);
            return Ok(cmp);
        }
        cmp.relative_change = Some(median_of_finite(current) / base_median - 1.0);
    }
    let min = cfg.min_samples.max(2);
    if baseline.len() < min || current.len() < min {
        cmp.blocked = Some(InconclusiveReason::TooFewSamples { baseline: baseline.len(), current: current.len(), min });
        return Ok(cmp);
    }
    let use_welch = match cfg.test {
        TestChoice::Welch => true,
        TestChoice::MannWhitney => false,
        TestChoice::Auto => looks_normal(baseline)? && looks_normal(current)?,
    };
    if use_welch {
        cmp.test = Some(TestUsed::Welch);
        cmp.p_value = Some(welch_t_test(baseline, current)?.p_value);
    } else {
        let mw = mann_whitney_u(baseline, current, MwuMethod::Auto)?;
        cmp.test = Some(TestUsed::MannWhitney(mw.method));
        cmp.p_value = Some(mw.p_value);
        let min_p = mann_whitney_min_p(baseline.len(), current.len());
        cmp.min_p = Some(min_p);
        if min_p >= cfg.alpha {
            cmp.blocked = Some(InconclusiveReason::CannotReachSignificance { min_p, min_adjusted: min_p, tests: 1, alpha: cfg.alpha });
            return Ok(cmp);
        }
    }
    match relative_change_ci_with_method(baseline, current, &cfg.bootstrap) {
        Ok((lo, hi, method)) => {
            cmp.ci = Some((lo, hi));
            cmp.bootstrap = Some(method);
        }
        Err(StatsError::NonPositiveBaseline { .. }) => {
            cmp.blocked = Some(InconclusiveReason::NonPositiveBaseline);
        }
        Err(e) => return Err(e),
    }
    Ok(cmp)
}

/// Phase two for one comparison. `adjusted_p` is its Benjamini–Hochberg value across the
/// report; `None` falls back to the raw p-value (no multiple-testing control).
///
/// With the CI turned so that positive means worse, and `thr` the threshold:
/// regression if p < α and lo > thr; improvement if p < α and hi < −thr; unchanged if the CI
/// lies within (−thr, thr); otherwise inconclusive: not significant when the CI lies beyond
/// ±thr, straddling the threshold when it does not.
pub fn decide(cmp: &Comparison, adjusted_p: Option<f64>, cfg: &VerdictConfig) -> Decision {
    let p = adjusted_p.or(cmp.p_value);
    let verdict = match (cmp.blocked, p, cmp.ci) {
        (Some(reason), _, _) => Verdict::Inconclusive { reason },
        (None, Some(p), Some(ci)) => rule(p, ci, cmp.direction, cfg),
        (None, _, _) => unreachable!("an unblocked comparison has a p-value and a ci"),
    };
    Decision { verdict, relative_change: cmp.relative_change, ci: cmp.ci, test: cmp.test, p_value: cmp.p_value, adjusted_p: p }
}

/// Adjusts the p-values of all `comparisons` together (Benjamini–Hochberg over every one that
/// has a p-value, blocked ones included, so the family size m counts every test run) and
/// decides each.
///
/// An inconclusive comparison whose test has a floor on p (Mann–Whitney) is then checked
/// against the bar Benjamini–Hochberg actually applies in this family: its p replaced by the
/// smallest possible one, the others as they are. If even that adjusts to α or more, no data
/// of these sizes could have settled it, and the reason says so. O(m log m), plus O(m log m)
/// per such comparison.
pub fn decide_all(comparisons: &[Comparison], cfg: &VerdictConfig) -> Vec<Decision> {
    let raw: Vec<f64> = comparisons.iter().filter_map(|c| c.p_value).collect();
    let mut adjusted = benjamini_hochberg(&raw).expect("test p-values lie within [0, 1]").into_iter();
    let mut at = 0usize;
    comparisons
        .iter()
        .map(|c| {
            let q = c.p_value.and_then(|_| adjusted.next());
            let mut d = decide(c, q, cfg);
            if let (Some(_), Some(min_p), Verdict::Inconclusive { .. }) = (c.p_value, c.min_p, d.verdict)
                && c.blocked.is_none()
            {
                let mut best = raw.clone();
                best[at] = min_p;
                let min_adjusted = benjamini_hochberg(&best).expect("test p-values lie within [0, 1]")[at];
                if min_adjusted >= cfg.alpha {
                    let reason = InconclusiveReason::CannotReachSignificance { min_p, min_adjusted, tests: raw.len(), alpha: cfg.alpha };
                    d.verdict = Verdict::Inconclusive { reason };
                }
            }
            if c.p_value.is_some() {
                at += 1;
            }
            d
        })
        .collect()
}

/// The CI re-expressed so that positive means worse: a throughput drop of 40% becomes +0.4.
fn bad_direction((lo, hi): (f64, f64), direction: Direction) -> (f64, f64) {
    match direction {
        Direction::LowerIsBetter => (lo, hi),
        Direction::HigherIsBetter => (-hi, -lo),
    }
}

fn rule(p: f64, ci: (f64, f64), direction: Direction, cfg: &VerdictConfig) -> Verdict {
    let (lo, hi) = bad_direction(ci, direction);
    let (thr, significant) = (cfg.threshold, p < cfg.alpha);
    if lo > thr && significant {
        Verdict::Regression
    } else if hi < -thr && significant {
        Verdict::Improvement
    } else if lo > -thr && hi < thr {
        // Whatever changed, the CI rules out a change as large as the gate.
        Verdict::Unchanged
    } else if lo > thr || hi < -thr {
        Verdict::Inconclusive { reason: InconclusiveReason::NotSignificant { p, alpha: cfg.alpha } }
    } else {
        Verdict::Inconclusive { reason: InconclusiveReason::CiStraddlesThreshold { lo: ci.0, hi: ci.1, threshold: thr } }
    }
}

fn validate(cfg: &VerdictConfig) -> Result<(), StatsError> {
    if !(cfg.threshold.is_finite() && cfg.threshold >= 0.0) {
        return Err(StatsError::InvalidParameter { name: "threshold", expected: "finite and not negative", value: cfg.threshold });
    }
    if !(cfg.alpha > 0.0 && cfg.alpha < 1.0) {
        return Err(StatsError::InvalidParameter { name: "alpha", expected: "strictly between 0 and 1", value: cfg.alpha });
    }
    Ok(())
}

impl fmt::Display for InconclusiveReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            InconclusiveReason::TooFewSamples { baseline, current, min } => {
                write!(f, "too few samples: `{baseline}` baseline and `{current}` current, need `{min}` each")
            }
            InconclusiveReason::NonPositiveBaseline => {
                write!(f, "the baseline median is not positive, so a relative change is undefined")
            }
            InconclusiveReason::CannotReachSignificance { min_p, tests: 1, alpha, .. } => {
                write!(f, "these sample sizes cannot reach significance: the smallest possible p is `{min_p:.4}`, alpha is `{alpha}`")
            }
            InconclusiveReason::CannotReachSignificance { min_p, min_adjusted, tests, alpha } => write!(
                f,
                "these sample sizes cannot reach significance: the smallest possible p `{min_p:.4}` becomes `{min_adjusted:.4}` after \
                 Benjamini–Hochberg over `{tests}` tests, alpha is `{alpha}`"
            ),
            InconclusiveReason::CiStraddlesThreshold { lo, hi, threshold } => write!(
                f,
                "the ci of the change `[{:+.1}%, {:+.1}%]` straddles the threshold `±{:.0}%`",
                lo * 100.0,
                hi * 100.0,
                threshold * 100.0
            ),
            InconclusiveReason::NotSignificant { p, alpha } => {
                write!(f, "the change exceeds the threshold but is not significant: p `{p:.3}`, alpha `{alpha}`")
            }
        }
    }
}
