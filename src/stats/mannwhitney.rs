//! Two-sided Mann–Whitney U test: the exact null distribution (counted by dynamic programming)
//! or the normal approximation with tie and continuity correction.
//!
//! `MwuMethod::Auto` follows SciPy's `mannwhitneyu(method="auto")`: exact when there are no
//! ties and at least one sample has ≤ 8 values, asymptotic otherwise.
use statrs::distribution::{ContinuousCDF, Normal};

use super::error::{StatsError, ensure_finite, ensure_len};

/// Largest sample size for which `Auto` may pick the exact distribution (SciPy's rule).
const AUTO_EXACT_MAX: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MwuMethod {
    Auto,
    Exact,
    Asymptotic,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannWhitney {
    /// U of the first sample: pairs `(a_i, b_j)` with `a_i > b_j`, ties counting ½ (SciPy's U1).
    pub u: f64,
    pub p_value: f64,
    /// The method actually used: `Exact` or `Asymptotic`, never `Auto`.
    pub method: MwuMethod,
}

pub fn mann_whitney_u(a: &[f64], b: &[f64], method: MwuMethod) -> Result<MannWhitney, StatsError> {
    ensure_finite("a", a)?;
    ensure_finite("b", b)?;
    ensure_len("mann–whitney u", "a", a, 1)?;
    ensure_len("mann–whitney u", "b", b, 1)?;
    let ranks = rank(a, b);
    let (n1, n2) = (a.len(), b.len());
    let u1 = ranks.rank_sum_a - (n1 * (n1 + 1)) as f64 / 2.0;
    let u_max = u1.max((n1 * n2) as f64 - u1);
    let method = match method {
        MwuMethod::Auto if ranks.tied_values > 0 => MwuMethod::Asymptotic,
        MwuMethod::Auto if n1.min(n2) <= AUTO_EXACT_MAX => MwuMethod::Exact,
        MwuMethod::Auto => MwuMethod::Asymptotic,
        MwuMethod::Exact if ranks.tied_values > 0 => {
            return Err(StatsError::ExactWithTies { tied: ranks.tied_values });
        }
        chosen => chosen,
    };
    let p_value = match method {
        MwuMethod::Exact => exact_p(n1, n2, u_max as usize),
        _ => asymptotic_p(n1, n2, u_max, ranks.tie_term),
    };
    Ok(MannWhitney { u: u1, p_value, method })
}

/// The smallest two-sided p-value any data without ties can give: `2 / C(n1 + n2, n1)`.
/// 3 vs 3 gives 0.1, so it can never be significant at 0.05; 4 vs 4 gives 0.029.
pub fn mann_whitney_min_p(n1: usize, n2: usize) -> f64 {
    let (m, n) = (n1.min(n2), n1.max(n2));
    let arrangements: f64 = (1..=m).map(|k| (n + k) as f64 / k as f64).product();
    (2.0 / arrangements).min(1.0)
}

struct Ranks {
    rank_sum_a: f64,
    /// Σ (t³ − t) over tie groups, for the variance correction.
    tie_term: f64,
    /// How many values share their value with another one.
    tied_values: usize,
}

/// Mid-ranks of the pooled sample, O(N log N).
fn rank(a: &[f64], b: &[f64]) -> Ranks {
    let mut pooled: Vec<(f64, bool)> = a.iter().map(|&x| (x, true)).chain(b.iter().map(|&x| (x, false))).collect();
    pooled.sort_by(|x, y| x.0.total_cmp(&y.0));
    let mut ranks = Ranks { rank_sum_a: 0.0, tie_term: 0.0, tied_values: 0 };
    let mut start = 0;
    while start < pooled.len() {
        let end = start + pooled[start..].iter().take_while(|p| p.0 == pooled[start].0).count();
        let t = (end - start) as f64;
        // Ranks are 1-based: the group occupies ranks start+1 ..= end.
        let mid_rank = (start + 1 + end) as f64 / 2.0;
        let in_a = pooled[start..end].iter().filter(|p| p.1).count();
        ranks.rank_sum_a += mid_rank * in_a as f64;
        if end - start > 1 {
            ranks.tie_term += t * t * t - t;
            ranks.tied_values += end - start;
        }
        start = end;
    }
    ranks
}

/// `min(1, 2 · P(U ≥ u_max))` under the exact null distribution of U without ties.
fn exact_p(n1: usize, n2: usize, u_max: usize) -> f64 {
    let counts = u_counts(n1.min(n2), n1.max(n2));
    let total: f64 = counts.iter().sum();
    let upper: f64 = counts[u_max..].iter().sum();
    (2.0 * upper / total).min(1.0)
}

/// `counts[u]` = how many of the C(m + n, m) orderings give U = u. The recurrence looks at the
/// largest of the pooled values: if it belongs to the sample of m it beats all `j` values of
/// the other sample, so `ways(i, j, u) = ways(i, j − 1, u) + ways(i − 1, j, u − j)`. Only
/// additions, so f64 counts stay accurate; O(m² n²) with m the smaller sample.
fn u_counts(m: usize, n: usize) -> Vec<f64> {
    let width = m * n + 1;
    // Row i holds ways(i, j, ·) for the current j; j = 0 allows only u = 0.
    let mut ways = vec![0.0f64; (m + 1) * width];
    for i in 0..=m {
        ways[i * width] = 1.0;
    }
    for j in 1..=n {
        // Ascending i: row i − 1 already holds column j, row i still holds column j − 1.
        for i in 1..=m {
            let (done, rest) = ways.split_at_mut(i * width);
            let prev = &done[(i - 1) * width..];
            let row = &mut rest[..width];
            for u in j..=i * j {
                row[u] += prev[u - j];
            }
        }
    }
    ways.split_off(m * width)
}

/// Normal approximation as SciPy does it: `z = (U_max − n1·n2/2 − ½) / σ` with the tie-corrected
/// `σ² = n1·n2/12 · ((N + 1) − Σ(t³ − t) / (N(N − 1)))`, p = `min(1, 2 · sf(z))`.
fn asymptotic_p(n1: usize, n2: usize, u_max: f64, tie_term: f64) -> f64 {
    let (n1, n2) = (n1 as f64, n2 as f64);
    let n = n1 + n2;
    let tie_share = if n > 1.0 { tie_term / (n * (n - 1.0)) } else { 0.0 };
    let sigma = (n1 * n2 / 12.0 * ((n + 1.0) - tie_share)).sqrt();
    if sigma == 0.0 {
        // Every value is the same: nothing tells the samples apart.
        return 1.0;
    }
    let z = (u_max - n1 * n2 / 2.0 - 0.5) / sigma;
    (2.0 * Normal::standard().sf(z)).min(1.0)
}
