//! Task skew: the slowest successful task of a stage attempt over its median (Sparklens' measure).
//!
//! Durations are kept only while a stage attempt is open and are dropped when it completes, so
//! memory is bounded by the tasks of the stages running at once, not by the length of the log.
use std::collections::HashMap;

use serde::Serialize;

/// The skew of one stage attempt.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageSkew {
    pub stage_id: u64,
    pub attempt: u32,
    /// Successful tasks the ratio is computed over.
    pub tasks: usize,
    pub max_ms: u64,
    pub median_ms: f64,
    /// `max_ms / median_ms`.
    pub ratio: f64,
}

impl StageSkew {
    /// Whether `self` should replace `other` as the worst stage: a higher ratio, ties going to
    /// the lower (stage, attempt) so the choice does not depend on event order.
    pub(crate) fn worse_than(&self, other: &StageSkew) -> bool {
        self.ratio > other.ratio || (self.ratio == other.ratio && (self.stage_id, self.attempt) < (other.stage_id, other.attempt))
    }
}

/// Successful-task durations of the stage attempts that have not completed yet.
#[derive(Default)]
pub(crate) struct OpenStages {
    durations: HashMap<(u64, u32), Vec<u64>>,
}

impl OpenStages {
    pub(crate) fn record(&mut self, stage: (u64, u32), duration_ms: u64) {
        self.durations.entry(stage).or_default().push(duration_ms);
    }

    /// Closes a stage attempt; `None` when it has no skew (fewer than two successful tasks, or a
    /// median of 0 ms, where the ratio is undefined).
    pub(crate) fn close(&mut self, stage: (u64, u32)) -> Option<StageSkew> {
        let mut durations = self.durations.remove(&stage)?;
        skew(stage, &mut durations)
    }

    /// Closes every stage still open at the end of the log (the application was cut short).
    pub(crate) fn close_all(&mut self) -> Vec<((u64, u32), Option<StageSkew>)> {
        let mut keys: Vec<_> = self.durations.keys().copied().collect();
        keys.sort_unstable();
        keys.into_iter().map(|k| (k, self.close(k))).collect()
    }
}

fn skew((stage_id, attempt): (u64, u32), durations: &mut [u64]) -> Option<StageSkew> {
    if durations.len() < 2 {
        return None;
    }
    durations.sort_unstable();
    let n = durations.len();
    let median_ms = if n % 2 == 1 { durations[n / 2] as f64 } else { (durations[n / 2 - 1] as f64 + durations[n / 2] as f64) / 2.0 };
    if median_ms == 0.0 {
        return None;
    }
    let max_ms = durations[n - 1];
    Some(StageSkew { stage_id, attempt, tasks: n, max_ms, median_ms, ratio: max_ms as f64 / median_ms })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_is_max_over_median_with_even_counts_averaged() {
        let mut open = OpenStages::default();
        for d in [10, 30, 20, 100] {
            open.record((3, 0), d);
        }
        let s = open.close((3, 0)).expect("four tasks with a non-zero median");
        assert_eq!((s.max_ms, s.median_ms, s.tasks), (100, 25.0, 4));
        assert_eq!(s.ratio, 4.0);
        assert!(open.close((3, 0)).is_none(), "closing frees the durations");
    }

    #[test]
    fn single_task_or_zero_median_has_no_skew() {
        let mut open = OpenStages::default();
        open.record((1, 0), 50);
        open.record((2, 0), 0);
        open.record((2, 0), 0);
        open.record((2, 0), 9);
        assert_eq!(open.close_all(), vec![((1, 0), None), ((2, 0), None)]);
    }
}
