//! Change points in a history series: E-divisive means with a t-test significance check, the
//! deterministic variant Apache Otava (formerly Hunter) uses, reimplemented from its papers.
//! Split: in sliding windows, keep cutting where the energy divergence Q̂ peaks while a t-test
//! passes 10 × p ("weak" points). Merge: re-test each point between its neighbours over the
//! whole series and drop the weakest until every one passes p.
use super::error::{StatsError, ensure_finite};
use super::summary::mean;
use super::ttest::student_t_test;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChangePointConfig {
    /// Sliding-window length in runs.
    pub window: usize,
    /// A change point must have a two-sided p-value at most this.
    pub max_p: f64,
    /// Once every p passes, points whose relative change of the mean is at most this are dropped.
    pub min_magnitude: f64,
}

impl Default for ChangePointConfig {
    fn default() -> Self {
        ChangePointConfig { window: 50, max_p: 0.001, min_magnitude: 0.0 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChangePoint {
    /// The first run that belongs to the new regime.
    pub index: usize,
    /// Student t-test between the runs since the previous change point and those up to the next.
    pub p_value: f64,
    pub mean_before: f64,
    pub mean_after: f64,
}

impl ChangePoint {
    /// `mean_after / mean_before − 1` (0 when the mean before is 0).
    pub fn relative_change(&self) -> f64 {
        ratio_minus_one(self.mean_after, self.mean_before)
    }

    /// The larger of the forward and backward relative changes, as Otava's merge compares them.
    fn magnitude(&self) -> f64 {
        let forward = ratio_minus_one(self.mean_after, self.mean_before).abs();
        let backward = ratio_minus_one(self.mean_before, self.mean_after).abs();
        forward.max(backward)
    }
}

/// Change points of `series`, sorted by index. Deterministic: no permutation test, ties in Q̂
/// go to the earliest split.
///
/// The p-values are those of a pooled Student t-test with sample (n − 1) variances, and are not
/// adjusted for the search over splits: on flat Gaussian histories of 100 runs about 3% of
/// series show one noise-sized shift at p < 0.001, so set `min_magnitude` to ignore those.
/// Cost: O(window²) memory and O(window²) per cut and window.
pub fn change_points(series: &[f64], cfg: &ChangePointConfig) -> Result<Vec<ChangePoint>, StatsError> {
    ensure_finite("history", series)?;
    if cfg.window < 2 {
        return Err(StatsError::InvalidParameter { name: "window", expected: "at least 2", value: cfg.window as f64 });
    }
    if !(cfg.max_p > 0.0 && cfg.max_p <= 1.0) {
        return Err(StatsError::InvalidParameter { name: "max_p", expected: "within (0, 1]", value: cfg.max_p });
    }
    let weak = split(series, cfg.window, first_pass_p(cfg.max_p));
    Ok(merge(series, weak, cfg))
}

/// The relaxed threshold of the split step (Hunter's "weak" change points): 10 × p for the
/// usual small p, less relaxation for large ones.
fn first_pass_p(max_p: f64) -> f64 {
    if max_p < 0.05 {
        max_p * 10.0
    } else if max_p < 0.5 {
        max_p * 2.0
    } else {
        max_p
    }
}

fn split(series: &[f64], window: usize, threshold: f64) -> Vec<usize> {
    let step = window / 2;
    let mut found = Vec::new();
    let mut start = 0;
    while start < series.len() {
        let end = (start + window).min(series.len());
        let local = e_divisive(&series[start..end], threshold);
        let last = local.last().map_or(0, |i| i + start);
        found.extend(local.iter().map(|i| i + start));
        // Overlapping windows: a change near a window edge is seen whole by the next one.
        start = last.max(start + step);
    }
    found.sort_unstable();
    found.dedup();
    found
}

/// Hierarchical E-divisive inside one window: indices (window-local) of significant cuts.
fn e_divisive(values: &[f64], threshold: f64) -> Vec<usize> {
    let energy = Energy::new(values);
    let mut cuts: Vec<usize> = Vec::new();
    loop {
        let bounds: Vec<usize> = std::iter::once(0).chain(cuts.iter().copied()).chain(std::iter::once(values.len())).collect();
        let best = bounds
            .windows(2)
            .filter(|seg| seg[1] - seg[0] >= 2)
            .map(|seg| (seg[0], seg[1], energy.best_split(seg[0], seg[1])))
            .fold(None, |best: Option<(usize, usize, (usize, f64))>, cand| match best {
                Some(b) if b.2.1 >= cand.2.1 => Some(b),
                _ => Some(cand),
            });
        let Some((start, end, (tau, _))) = best else {
            return cuts;
        };
        if side_stats(values, start, tau, end).0 > threshold {
            return cuts;
        }
        let at = cuts.partition_point(|&c| c < tau);
        cuts.insert(at, tau);
    }
}

/// Merge step: drop the weakest point (largest p, or smallest change once all p pass) and
/// re-test the rest against their new neighbours until every point stands.
fn merge(series: &[f64], mut indices: Vec<usize>, cfg: &ChangePointConfig) -> Vec<ChangePoint> {
    loop {
        let points = evaluate(series, &indices);
        let Some(weakest) = (0..points.len()).max_by(|&a, &b| points[a].p_value.total_cmp(&points[b].p_value).then(b.cmp(&a))) else {
            return points;
        };
        let drop = if points[weakest].p_value > cfg.max_p {
            weakest
        } else {
            let smallest =
                (0..points.len()).min_by(|&a, &b| points[a].magnitude().total_cmp(&points[b].magnitude())).expect("points is not empty");
            if points[smallest].magnitude() > cfg.min_magnitude {
                return points;
            }
            smallest
        };
        indices.remove(drop);
    }
}

fn evaluate(series: &[f64], indices: &[usize]) -> Vec<ChangePoint> {
    (0..indices.len())
        .map(|k| {
            let start = if k == 0 { 0 } else { indices[k - 1] };
            let end = indices.get(k + 1).copied().unwrap_or(series.len());
            let (p_value, mean_before, mean_after) = side_stats(series, start, indices[k], end);
            ChangePoint { index: indices[k], p_value, mean_before, mean_after }
        })
        .collect()
}

/// (p, mean before, mean after) for the cut `at` of `values[start..end]`; p = 1 when the two
/// sides hold fewer than 3 values together (no degrees of freedom).
fn side_stats(values: &[f64], start: usize, at: usize, end: usize) -> (f64, f64, f64) {
    let (before, after) = (&values[start..at], &values[at..end]);
    let p = student_t_test(before, after).map_or(1.0, |t| t.p_value);
    (p, mean(before), mean(after))
}

fn ratio_minus_one(num: f64, den: f64) -> f64 {
    if den == 0.0 { 0.0 } else { num / den - 1.0 }
}

/// Pairwise distances |x_i − x_j| with a 2-D prefix sum, so any block sum is O(1) and the best
/// split of a segment of length L costs O(L²).
struct Energy {
    size: usize,
    /// `prefix[i * (size + 1) + j]` = Σ_{a<i, b<j} |x_a − x_b|.
    prefix: Vec<f64>,
}

impl Energy {
    fn new(values: &[f64]) -> Energy {
        let size = values.len();
        let stride = size + 1;
        let mut prefix = vec![0.0; stride * stride];
        for (i, &x) in values.iter().enumerate() {
            // Row i+1 is row i plus the running sum of |x_i − x_b|: one dependent addition per
            // entry rather than three, which is what this O(L²) loop is bound by.
            let (done, rest) = prefix.split_at_mut((i + 1) * stride);
            let (above, here) = (&done[i * stride..], &mut rest[..stride]);
            let mut running = 0.0;
            for (j, &y) in values.iter().enumerate() {
                running += (x - y).abs();
                here[j + 1] = above[j + 1] + running;
            }
        }
        Energy { size, prefix }
    }

    /// Σ |x_a − x_b| over a ∈ [a0, a1), b ∈ [b0, b1).
    fn block(&self, a0: usize, a1: usize, b0: usize, b1: usize) -> f64 {
        let s = self.size + 1;
        self.prefix[a1 * s + b1] - self.prefix[a0 * s + b1] - self.prefix[a1 * s + b0] + self.prefix[a0 * s + b0]
    }

    /// Mean distance within `[a, b)` over its unordered pairs; 0 for a single value.
    fn within(&self, a: usize, b: usize) -> f64 {
        let n = (b - a) as f64;
        if n < 2.0 { 0.0 } else { self.block(a, b, a, b) / (n * (n - 1.0)) }
    }

    /// Matteson & James' Q̂ for X = [s, τ), Y = [τ, κ):
    /// `n·m/(n+m) · (2·mean|X−Y| − mean|X−X'| − mean|Y−Y'|)`.
    #[cfg(test)]
    fn q_hat(&self, s: usize, tau: usize, kappa: usize) -> f64 {
        let (n, m) = ((tau - s) as f64, (kappa - tau) as f64);
        let between = 2.0 * self.block(s, tau, tau, kappa) / (n * m);
        n * m / (n + m) * (between - self.within(s, tau) - self.within(tau, kappa))
    }

    /// The cut τ of `[start, end)` (with the best κ ≤ end) maximising Q̂, and that Q̂.
    ///
    /// [`Energy::q_hat`] with what does not depend on κ hoisted out of the inner loop: the
    /// O(L²) scan is most of a report's trend analysis.
    fn best_split(&self, start: usize, end: usize) -> (usize, f64) {
        let stride = self.size + 1;
        let row = |i: usize| &self.prefix[i * stride..(i + 1) * stride];
        let diagonal = |i: usize| self.prefix[i * stride + i];
        let start_row = row(start);
        let mut best = (start + 1, f64::NEG_INFINITY);
        for tau in start + 1..end {
            let tau_row = row(tau);
            let n = (tau - start) as f64;
            let within_x = self.within(start, tau);
            // block(start, τ, τ, κ) = tau_row[κ] − start_row[κ] − corner.
            let corner = tau_row[tau] - start_row[tau];
            // block(τ, κ, τ, κ) = P[κ][κ] − 2·P[τ][κ] + P[τ][τ], the prefix sums being symmetric.
            let tau_diagonal = diagonal(tau);
            for kappa in tau + 1..=end {
                let m = (kappa - tau) as f64;
                let between = 2.0 * (tau_row[kappa] - start_row[kappa] - corner) / (n * m);
                let within_y = if m < 2.0 { 0.0 } else { (diagonal(kappa) - 2.0 * tau_row[kappa] + tau_diagonal) / (m * (m - 1.0)) };
                let q = n * m / (n + m) * (between - within_x - within_y);
                if q > best.1 {
                    best = (tau, q);
                }
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hoisted_scan_finds_the_split_q_hat_ranks_first() {
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let values: Vec<f64> = (0..40)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % 1000) as f64 / 100.0 + if i >= 23 { 4.0 } else { 0.0 }
            })
            .collect();
        let energy = Energy::new(&values);
        for (start, end) in [(0, 40), (5, 31), (10, 13)] {
            let mut best = (start + 1, f64::NEG_INFINITY);
            for tau in start + 1..end {
                for kappa in tau + 1..=end {
                    let q = energy.q_hat(start, tau, kappa);
                    if q > best.1 {
                        best = (tau, q);
                    }
                }
            }
            let (tau, q) = energy.best_split(start, end);
            assert_eq!(tau, best.0, "[{start}, {end})");
            assert!((q - best.1).abs() <= 1e-9 * best.1.abs().max(1.0), "[{start}, {end}): {q} vs {}", best.1);
        }
    }
}
