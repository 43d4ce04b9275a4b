//! Benjamini–Hochberg adjusted p-values (step-up), as SciPy's `false_discovery_control` and
//! statsmodels' `fdr_bh` compute them.
//!
//! `q_(i) = min_{k ≥ i} p_(k) · m / k`, capped at 1, returned in input order; O(m log m).
use super::error::StatsError;

/// Adjusted p-values in the order of `p_values`. Rejecting every test whose adjusted value is
/// below α controls the false discovery rate at α for independent (or positively dependent) tests.
pub fn benjamini_hochberg(p_values: &[f64]) -> Result<Vec<f64>, StatsError> {
    if let Some(index) = p_values.iter().position(|p| !(0.0..=1.0).contains(p)) {
        return Err(StatsError::InvalidParameter { name: "p-value", expected: "within [0, 1]", value: p_values[index] });
    }
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
    let mut adjusted = vec![0.0; m];
    let mut running_min = 1.0f64;
    // Walk from the largest p down so each value is the minimum over all larger ranks.
    for (rank0, &i) in order.iter().enumerate().rev() {
        let scaled = p_values[i] * m as f64 / (rank0 + 1) as f64;
        running_min = running_min.min(scaled);
        adjusted[i] = running_min;
    }
    Ok(adjusted)
}
