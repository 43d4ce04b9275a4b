//! Every metric the parser can produce, by name: what a report needs to know about a metric
//! (tier, unit, direction) without a measurement at hand, e.g. to check a Loadfile's `[report]`.
use super::metric::{Direction, Spec, Tier, Unit};
use super::{efficiency as e, performance as p, stability as s};

const ALL: &[Spec] = &[
    s::SUCCEEDED,
    s::FAILED_JOBS,
    s::FAILED_STAGES,
    s::FAILED_TASKS,
    s::STAGE_RETRIES,
    s::EXECUTORS_REMOVED,
    s::EXECUTOR_LOST_TASKS,
    s::OOM_EVENTS,
    s::RUN_RETRIES,
    e::CPU,
    e::GC,
    e::SKEW,
    e::SPILL,
    e::SHUFFLE,
    e::FETCH_WAIT,
    e::SLOTS,
    p::WALL,
    p::SPAN,
    p::INPUT_ROWS,
    p::INPUT_BYTES,
    p::DRIVER_ROWS,
    p::LATENCY,
];

/// What is fixed about a metric, whatever its measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricInfo {
    pub name: &'static str,
    pub tier: Tier,
    pub unit: Unit,
    pub direction: Direction,
}

/// The metric called `name`, if the parser produces one.
pub fn metric_info(name: &str) -> Option<MetricInfo> {
    ALL.iter().find(|s| s.name == name).map(|s| MetricInfo { name: s.name, tier: s.tier, unit: s.unit, direction: s.direction })
}

/// Every metric name, in tier order (stability, efficiency, performance).
pub fn metric_names() -> impl Iterator<Item = &'static str> {
    ALL.iter().map(|s| s.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_directions_match_the_docs() {
        let mut names: Vec<&str> = metric_names().collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before);
        assert_eq!(metric_info("wall_time_s").map(|m| m.direction), Some(Direction::LowerIsBetter));
        assert_eq!(metric_info("input_rows_per_s").map(|m| m.direction), Some(Direction::HigherIsBetter));
        assert_eq!(metric_info("nope"), None);
    }
}
