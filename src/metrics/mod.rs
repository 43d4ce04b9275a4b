//! Spark event log → three tiers of metrics (stability, efficiency, performance).
//!
//! The parser streams: a log is folded line by line into an [`AppLog`] of per-execution
//! aggregates, so memory depends on the number of jobs and the tasks of a running stage,
//! never on the size of the log. `docs/metrics.md` lists every metric and the tagging convention.
mod applog;
mod attribution;
mod catalogue;
mod driver;
mod efficiency;
mod events;
mod fold;
pub mod history;
mod metric;
mod oom;
mod performance;
mod plans;
mod reader;
pub mod run;
mod skew;
mod stability;
mod tiers;

use std::path::PathBuf;

pub use applog::{AppLog, ExecutionAgg, ExecutorSpan, JobSummary, SqlPlan, TaskTotals, read_event_log, read_event_log_scoped};
pub use attribution::{Execution, JobScope, WARMUP_TAG, execution_tag};
pub use catalogue::{MetricInfo, metric_info, metric_names};
pub use driver::{DriverExecution, DriverTimings};
pub use metric::{Direction, Measured, Metric, Tier, Unit};
pub use plans::check_plans;
pub use skew::StageSkew;
pub use tiers::{CellMetrics, ExecutionMetrics, Tiers, cell_metrics};

/// Bump whenever a metric's definition or the parser's reading of a field changes: it is part of
/// the `metrics` node key, so every cell's metrics are recomputed.
pub const PARSER_VERSION: u32 = 2;

/// Everything that can go wrong while reading an event log.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("cannot read event log `{path}`: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("`{path}`:{line}: malformed event: {source}")]
    Malformed { path: PathBuf, line: u64, source: serde_json::Error },
    #[error("`{path}`:{line}: truncated event log: {detail}")]
    Truncated { path: PathBuf, line: u64, detail: &'static str },
    #[error("`{path}`: unsupported event log codec `{codec}` (supported: none, `zstd`)")]
    UnsupportedCodec { path: PathBuf, codec: String },
    #[error("`{path}`: no `events_<N>_<app>` files in rolling event log directory")]
    EmptyRollingDir { path: PathBuf },
    #[error("`{path}`: compacted event log file; metrics need the full, uncompacted log")]
    Compacted { path: PathBuf },
    #[error("`{path}`: no events (empty event log)")]
    Empty { path: PathBuf },
}
