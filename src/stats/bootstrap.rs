//! Percentile bootstrap of the relative change `median(current) / median(baseline) − 1`.
//!
//! For the sample sizes of load tests the bootstrap distribution is computed *exactly*: a
//! resample's median can only be one of a few values (an order statistic of the sample, or for
//! even sizes the mean of two), each with a binomial probability, and the two samples are
//! resampled independently, so the distribution of the relative change is a small product of
//! two discrete distributions. Its percentiles are what infinitely many resamples would give —
//! no Monte Carlo error, and a few microseconds instead of thousands of resamples.
//!
//! When that product is larger than the configured number of resamples (large samples), the
//! interval is estimated by resampling instead. That path is deterministic: xoshiro256++ seeded
//! from `seed` (a named algorithm, so its stream does not change between rand versions or
//! machines), both samples resampled with replacement in a fixed order, so one seed gives one
//! interval everywhere.
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

/// How a bootstrap interval was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootstrapMethod {
    /// The exact bootstrap distribution (no resampling, no Monte Carlo error).
    Exact,
    /// This many resamples were drawn.
    Resampled(usize),
}

/// Percentile-bootstrap confidence interval of `median(current) / median(baseline) − 1`.
///
/// The relative change is defined only for a positive baseline median, so the interval is
/// that of the bootstrap distribution *conditioned on a positive resampled baseline median*: a
/// zero among positive baseline values (an execution that read nothing) only removes the rare
/// resamples whose median is 0. Errors when the baseline median itself is not positive, or when
/// most resamples would have a non-positive baseline median.
pub fn relative_change_ci(baseline: &[f64], current: &[f64], cfg: &BootstrapConfig) -> Result<(f64, f64), StatsError> {
    relative_change_ci_with_method(baseline, current, cfg).map(|(lo, hi, _)| (lo, hi))
}

/// [`relative_change_ci`], saying whether the interval is exact or how many resamples it took.
pub fn relative_change_ci_with_method(
    baseline: &[f64],
    current: &[f64],
    cfg: &BootstrapConfig,
) -> Result<(f64, f64, BootstrapMethod), StatsError> {
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
    let tail = (1.0 - cfg.confidence) / 2.0;
    let observed = super::summary::median_of_finite(baseline);
    if observed <= 0.0 {
        return Err(StatsError::NonPositiveBaseline { median: observed });
    }
    if let Some((lo, hi)) = exact_ci(baseline, current, tail, cfg.resamples)? {
        return Ok((lo, hi, BootstrapMethod::Exact));
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(cfg.seed);
    let mut base = Resampler::new(baseline);
    let mut cur = Resampler::new(current);
    let mut changes = Vec::with_capacity(cfg.resamples);
    let mut non_positive = 0usize;
    for _ in 0..cfg.resamples {
        let base_median = base.median(&mut rng);
        let cur_median = cur.median(&mut rng);
        if base_median <= 0.0 {
            // Conditioned on a positive baseline median: this resample has no relative change.
            non_positive += 1;
            continue;
        }
        changes.push(cur_median / base_median - 1.0);
    }
    if non_positive * 2 > cfg.resamples {
        return Err(StatsError::NonPositiveBaseline { median: 0.0 });
    }
    // Two selections instead of a sort: the same order statistics, in O(resamples).
    Ok((quantile_select(&mut changes, tail), quantile_select(&mut changes, 1.0 - tail), BootstrapMethod::Resampled(cfg.resamples)))
}

/// Sample sizes up to which the exact distributions are computed (binomial coefficients and
/// powers stay far from overflow and underflow trouble).
const EXACT_MAX_N: usize = 100;

/// The exact percentile interval, or `None` when the joint distribution has more support
/// points than `budget` (then resampling is cheaper).
fn exact_ci(baseline: &[f64], current: &[f64], tail: f64, budget: usize) -> Result<Option<(f64, f64)>, StatsError> {
    if baseline.len() > EXACT_MAX_N || current.len() > EXACT_MAX_N {
        return Ok(None);
    }
    let (base, cur) = (median_distribution(baseline), median_distribution(current));
    if base.len().saturating_mul(cur.len()) > budget {
        return Ok(None);
    }
    // Conditioned on a positive baseline median (see `relative_change_ci`).
    let excluded: f64 = base.iter().filter(|(m, _)| *m <= 0.0).map(|(_, p)| p).sum();
    if excluded > 0.5 {
        return Err(StatsError::NonPositiveBaseline { median: 0.0 });
    }
    let base: Vec<(f64, f64)> = base.into_iter().filter(|(m, _)| *m > 0.0).collect();
    let mut changes: Vec<(f64, f64)> = base.iter().flat_map(|&(b, pb)| cur.iter().map(move |&(c, pc)| (c / b - 1.0, pb * pc))).collect();
    changes.sort_by(|x, y| x.0.total_cmp(&y.0));
    Ok(Some((discrete_quantile(&changes, tail), discrete_quantile(&changes, 1.0 - tail))))
}

/// The `q` quantile of a sorted discrete distribution: the smallest value whose cumulative
/// probability reaches `q`, or — when it reaches `q` exactly — the midpoint with the next
/// value, which is where the interpolated quantile of ever more resamples converges.
fn discrete_quantile(sorted: &[(f64, f64)], q: f64) -> f64 {
    const SAME: f64 = 1e-12;
    let total: f64 = sorted.iter().map(|(_, p)| p).sum();
    let mut cumulative = 0.0;
    for (i, &(value, p)) in sorted.iter().enumerate() {
        cumulative += p / total;
        if (cumulative - q).abs() < SAME {
            return sorted.get(i + 1).map_or(value, |next| (value + next.0) / 2.0);
        }
        if cumulative > q {
            return value;
        }
    }
    sorted.last().expect("a distribution has support").0
}

/// The exact bootstrap distribution of the median of `xs`: (value, probability) pairs.
///
/// With `F(v)` the share of the sample at most `v`, a resample of size n has at least k draws at
/// most `v` with probability `P(Binomial(n, F(v)) ≥ k)`. Odd n: the median is the order
/// statistic of rank (n+1)/2, so `P(median ≤ v)` is that tail with k = (n+1)/2. Even n (h =
/// n/2): the median is the mean of ranks h and h+1; they are distinct values a < b exactly when
/// h draws are at most a with a among them and the other h are at least b with b among them,
/// probability `C(n, h)·(F(a)ʰ − F(a⁻)ʰ)·(S(b)ʰ − S(b⁺)ʰ)` with `S` the share at least `v`;
/// the rest of `P(rank h = a)` is both ranks at a.
fn median_distribution(xs: &[f64]) -> Vec<(f64, f64)> {
    let mut sorted = xs.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let mut values: Vec<f64> = Vec::new();
    let mut at_most: Vec<f64> = Vec::new();
    for (i, &x) in sorted.iter().enumerate() {
        if values.last() == Some(&x) {
            *at_most.last_mut().expect("pushed together") = (i + 1) as f64 / n as f64;
        } else {
            values.push(x);
            at_most.push((i + 1) as f64 / n as f64);
        }
    }
    let below = |i: usize| if i == 0 { 0.0 } else { at_most[i - 1] };
    if n % 2 == 1 {
        let k = n.div_ceil(2);
        return values.iter().enumerate().map(|(i, &v)| (v, binomial_tail(n, k, at_most[i]) - binomial_tail(n, k, below(i)))).collect();
    }
    let h = n / 2;
    let halves = choose(n, h);
    let power = |p: f64| p.powi(h as i32);
    let mut out = Vec::new();
    for (a, &low_value) in values.iter().enumerate() {
        let rank_h_is_a = binomial_tail(n, h, at_most[a]) - binomial_tail(n, h, below(a));
        let low_half = power(at_most[a]) - power(below(a));
        let mut split = 0.0;
        for (b, &high_value) in values.iter().enumerate().skip(a + 1) {
            let p = halves * low_half * (power(1.0 - below(b)) - power(1.0 - at_most[b]));
            if p > 0.0 {
                out.push(((low_value + high_value) / 2.0, p));
                split += p;
            }
        }
        out.push((low_value, (rank_h_is_a - split).max(0.0)));
    }
    out
}

/// `P(Binomial(n, p) ≥ k)`, summed directly (n ≤ [`EXACT_MAX_N`]).
fn binomial_tail(n: usize, k: usize, p: f64) -> f64 {
    if p >= 1.0 {
        return 1.0;
    }
    (k..=n).map(|j| choose(n, j) * p.powi(j as i32) * (1.0 - p).powi((n - j) as i32)).sum()
}

fn choose(n: usize, k: usize) -> f64 {
    (0..k.min(n - k)).fold(1.0, |c, i| c * (n - i) as f64 / (i + 1) as f64)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::summary::quantile_sorted;

    /// The distribution by brute force: every one of the nⁿ equally likely resamples.
    fn enumerate_medians(xs: &[f64]) -> Vec<(f64, f64)> {
        let n = xs.len();
        let total = n.pow(n as u32);
        let mut counts: Vec<(f64, usize)> = Vec::new();
        for code in 0..total {
            let mut rest = code;
            let mut resample: Vec<f64> = (0..n)
                .map(|_| {
                    let x = xs[rest % n];
                    rest /= n;
                    x
                })
                .collect();
            resample.sort_by(f64::total_cmp);
            let median = quantile_sorted(&resample, 0.5);
            match counts.iter_mut().find(|(m, _)| *m == median) {
                Some(entry) => entry.1 += 1,
                None => counts.push((median, 1)),
            }
        }
        counts.into_iter().map(|(m, c)| (m, c as f64 / total as f64)).collect()
    }

    #[test]
    fn the_median_distribution_matches_every_resample_enumerated() {
        let samples: [&[f64]; 7] = [
            &[3.0],
            &[1.0, 2.0],
            &[4.0, 1.0, 2.0],
            &[1.0, 2.0, 2.0, 5.0],
            &[9.5, 10.0, 10.2, 11.0, 30.0],
            &[2.0, 2.0, 2.0, 3.0, 3.0, 7.0],
            &[1.0, 1.5, 4.0, 4.0, 6.0, 8.0],
        ];
        for xs in samples {
            let mut exact = median_distribution(xs);
            exact.retain(|(_, p)| *p > 1e-15);
            let brute = enumerate_medians(xs);
            let total: f64 = exact.iter().map(|(_, p)| p).sum();
            assert!((total - 1.0).abs() < 1e-12, "{xs:?}: probabilities add up to {total}");
            for (m, p) in &brute {
                let q: f64 = exact.iter().filter(|(v, _)| v == m).map(|(_, p)| p).sum();
                assert!((q - p).abs() < 1e-12, "{xs:?}: P(median = {m}) is {p}, computed {q}");
            }
            assert!(exact.iter().all(|(v, _)| brute.iter().any(|(m, _)| m == v)), "{xs:?}: no median that cannot occur");
        }
    }

    #[test]
    fn the_exact_interval_agrees_with_many_resamples() {
        let base = [10.0, 10.4, 9.8, 10.1, 11.5, 10.2];
        let cur = [12.0, 12.6, 11.9, 13.4, 12.2];
        let (lo, hi) = exact_ci(&base, &cur, 0.025, usize::MAX).unwrap().expect("small samples are exact");
        // Force resampling with a budget the exact support exceeds.
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let (mut b, mut c) = (Resampler::new(&base), Resampler::new(&cur));
        let mut changes: Vec<f64> = (0..400_000).map(|_| c.median(&mut rng) / b.median(&mut rng) - 1.0).collect();
        changes.sort_by(f64::total_cmp);
        let (mc_lo, mc_hi) = (quantile_sorted(&changes, 0.025), quantile_sorted(&changes, 0.975));
        assert!((lo - mc_lo).abs() < 0.002 && (hi - mc_hi).abs() < 0.002, "exact [{lo}, {hi}] vs resampled [{mc_lo}, {mc_hi}]");
    }
}
