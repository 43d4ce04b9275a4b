//! The report as a value: what `results.json` holds (schema in `docs/reports.md`), and what
//! every other file in `report/` is rendered from.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::metrics::{Direction, Unit};

/// Bump when a field changes meaning or disappears; readers refuse schemas they do not know.
pub const RESULTS_SCHEMA: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    pub schema: u32,
    pub run: RunInfo,
    pub settings: SettingsEcho,
    pub environment: Environment,
    pub baseline: BaselineInfo,
    pub history: HistoryInfo,
    pub counts: Counts,
    /// The matrix's dimensions in declaration order, with the values the tier's cells use.
    pub dimensions: Vec<DimensionInfo>,
    pub cells: Vec<CellResult>,
    /// Cells whose verdict more repetitions could settle (`--adaptive` reruns these).
    pub rerun: Vec<String>,
}

/// Which report this is: one tier on one backend over one set of measurements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// Digest of tier, backend and every cell's metrics output: the same measurements give the
    /// same id, so appending a report to the history twice records it once.
    pub id: String,
    pub project: String,
    pub tier: String,
    pub backend: String,
    pub loadbuild_version: String,
}

/// The `[report]` settings the verdicts were made with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettingsEcho {
    pub metrics: Vec<String>,
    pub threshold: f64,
    pub alpha: f64,
    pub test: String,
    pub min_samples: usize,
    /// Resamples of the first pass over every comparison (when the exact bootstrap does not
    /// apply); each metric's `bootstrap` says what its CI actually used.
    pub bootstrap_resamples: usize,
    /// Resamples of the second pass, for CIs that end near the threshold.
    #[serde(default)]
    pub bootstrap_resamples_refined: usize,
    /// The metric that gates each cell; the others are shown but do not fail the report.
    #[serde(default)]
    pub gate: String,
    /// `application` (one sample per Spark application) or `execution`.
    #[serde(default)]
    pub unit: String,
    /// Measured executions left out of each application's median.
    #[serde(default)]
    pub warmups: usize,
    /// Comparisons in the Benjamini–Hochberg family (one per judged cell).
    #[serde(default)]
    pub tests: usize,
    /// Inconclusive cells fail the report (exit 1).
    #[serde(default)]
    pub fail_on_inconclusive: bool,
}

/// What the measurements depend on besides the cell itself.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Environment {
    pub loadbuild: String,
    pub backend: String,
    /// The machine that built the report: OS, CPU model, cores, memory.
    pub machine: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineInfo {
    /// Path of the baseline file, relative to the project root.
    pub path: String,
    pub exists: bool,
    /// Cells the baseline file holds (of any tier).
    pub cells: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryInfo {
    /// `file <path>` or `postgresql <host>/<db>` (never a password).
    pub source: String,
    /// Earlier reports read for trends, oldest first (this report is not among them).
    pub runs: Vec<HistoryRunInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryRunInfo {
    pub run: String,
    pub tier: String,
    pub recorded_at: String,
    pub commit: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub cells: usize,
    pub failed: usize,
    pub regression: usize,
    pub guard: usize,
    pub inconclusive: usize,
    pub new: usize,
    pub improvement: usize,
    pub unchanged: usize,
    pub skipped: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DimensionInfo {
    pub name: String,
    pub values: Vec<String>,
}

/// A cell's overall status: the worst of its metrics' verdicts, or why it has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CellStatus {
    /// The run failed, or no dependency of the report measured the cell.
    Failed,
    Regression,
    /// A guard-rail from the Loadfile was breached.
    Guard,
    Inconclusive,
    /// No baseline for the cell (or for any of its metrics).
    New,
    Improvement,
    Unchanged,
    Skipped,
}

impl CellStatus {
    pub const ALL: [CellStatus; 8] = [
        CellStatus::Failed,
        CellStatus::Regression,
        CellStatus::Guard,
        CellStatus::Inconclusive,
        CellStatus::New,
        CellStatus::Improvement,
        CellStatus::Unchanged,
        CellStatus::Skipped,
    ];

    pub fn word(self) -> &'static str {
        match self {
            CellStatus::Failed => "failed",
            CellStatus::Regression => "regression",
            CellStatus::Guard => "guard",
            CellStatus::Inconclusive => "inconclusive",
            CellStatus::New => "new",
            CellStatus::Improvement => "improvement",
            CellStatus::Unchanged => "unchanged",
            CellStatus::Skipped => "skipped",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellResult {
    pub id: String,
    pub name: String,
    /// Dimension name → value.
    pub dims: BTreeMap<String, String>,
    pub status: CellStatus,
    /// Why: the skip rule's reason, the run's error, or the decisive metric's explanation.
    pub reason: Option<String>,
    /// `Loadfile.toml:LINE` of the skip rule, for skipped cells.
    pub skip_rule: Option<String>,
    /// The node the cell's metrics came from, and that output's digest.
    pub node: Option<String>,
    pub metrics_digest: Option<String>,
    pub spark_version: Option<String>,
    /// Spark applications (repetition sets) the samples come from: 1, more after
    /// `report --adaptive` added sets; 0 for skipped cells and unreadable measurements.
    #[serde(default)]
    pub repetition_sets: usize,
    /// Shared inputs this cell's node id binds to (e.g. `dataset[1gb]`) → output digest.
    pub inputs: BTreeMap<String, String>,
    /// How this cell's environment differs from its baseline's.
    pub environment_notes: Vec<String>,
    pub metrics: Vec<MetricResult>,
    pub guards: Vec<GuardResult>,
}

/// A verdict for one cell × metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricVerdict {
    Regression,
    Improvement,
    Unchanged,
    Inconclusive,
    /// The baseline has no samples of this metric for this cell.
    New,
    /// This run has no value of the metric (the reason says why).
    Absent,
    /// The cell failed: no verdict is made on a failed run's numbers.
    NotJudged,
}

impl MetricVerdict {
    pub fn word(self) -> &'static str {
        match self {
            MetricVerdict::Regression => "regression",
            MetricVerdict::Improvement => "improvement",
            MetricVerdict::Unchanged => "unchanged",
            MetricVerdict::Inconclusive => "inconclusive",
            MetricVerdict::New => "new",
            MetricVerdict::Absent => "absent",
            MetricVerdict::NotJudged => "not_judged",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryOut {
    pub n: usize,
    pub mean: f64,
    pub median: f64,
    pub stddev: Option<f64>,
    /// Student-t 95% CI of the mean.
    pub ci95: Option<[f64; 2]>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricResult {
    pub name: String,
    pub unit: Unit,
    pub direction: Direction,
    /// One value per measured execution, in execution order.
    pub samples: Vec<f64>,
    pub summary: Option<SummaryOut>,
    pub baseline: Option<BaselineSide>,
    pub verdict: MetricVerdict,
    /// For inconclusive and absent verdicts: why, in words.
    pub reason: Option<String>,
    /// `median(current) / median(baseline) − 1`.
    pub relative_change: Option<f64>,
    /// Bootstrap 95% CI of the relative change.
    pub ci: Option<[f64; 2]>,
    /// `welch`, `mann-whitney exact` or `mann-whitney asymptotic`.
    pub test: Option<String>,
    pub p_value: Option<f64>,
    /// Benjamini–Hochberg-adjusted across every test of this report.
    pub adjusted_p: Option<f64>,
    pub trend: Option<TrendOut>,
    /// Whether this metric gates the cell (one per cell); the others are compared with raw,
    /// unadjusted p-values, shown, and never change the cell's status.
    #[serde(default)]
    pub gating: bool,
    /// What the p-value tests: `means` (Welch) or `ranks` (Mann–Whitney). The change and its
    /// CI are always of medians.
    #[serde(default)]
    pub tested: Option<String>,
    /// How the CI was computed: `exact` or `N resamples`.
    #[serde(default)]
    pub bootstrap: Option<String>,
    /// Minimum detectable change of a gating metric: the smallest change in the bad direction
    /// flagged with 80% power at this cell's noise, sizes and the report's family; `None` when
    /// unknown, and `f64::INFINITY` is never written (see `detectable`).
    #[serde(default)]
    pub mdc: Option<f64>,
    /// `false` when no change at all could be flagged at these sizes.
    #[serde(default)]
    pub detectable: Option<bool>,
    /// For an inconclusive gating metric: what would settle it.
    #[serde(default)]
    pub settle: Option<String>,
    /// Why the verdict is inconclusive, as the statistics gave it (not in `results.json`).
    #[serde(skip)]
    pub inconclusive: Option<crate::stats::InconclusiveReason>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineSide {
    pub samples: Vec<f64>,
    pub summary: SummaryOut,
    /// The report the samples were promoted from.
    pub run: String,
}

/// The metric's median over earlier distinct measurements of the cell, and this one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrendOut {
    pub points: usize,
    /// Theil–Sen slope per measurement, relative to the series' median (0.01 = +1% per run).
    pub slope_relative: Option<f64>,
    /// Mann–Kendall two-sided p-value.
    pub mann_kendall_p: Option<f64>,
    /// `worsening`, `improving` or `flat` (Mann–Kendall p ≥ alpha), in the metric's direction.
    pub direction: String,
    pub change_points: Vec<ChangePointOut>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangePointOut {
    /// The first report of the new level (`this` for the current report).
    pub run: String,
    pub commit: Option<String>,
    pub recorded_at: Option<String>,
    pub relative_change: f64,
    pub p_value: f64,
    /// `worse` or `better`, in the metric's direction.
    pub effect: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuardResult {
    pub metric: String,
    pub when: String,
    pub max: Option<f64>,
    pub min: Option<f64>,
    /// The median the guard looked at; `None` when the metric is absent.
    pub median: Option<f64>,
    pub breached: bool,
    pub origin: String,
}

impl Results {
    /// Each judged cell with its gating metric, where the report knows what it could detect
    /// (its minimum detectable change, or why it cannot tell): the rows of the files' MDC tables.
    pub fn detectable(&self) -> Vec<(&CellResult, &MetricResult)> {
        self.cells
            .iter()
            .filter_map(|c| c.metrics.iter().find(|m| m.gating && (m.mdc.is_some() || m.detectable.is_some())).map(|m| (c, m)))
            .collect()
    }

    /// `1` when a regression or guard breach was found (or an inconclusive cell, with
    /// `fail_on_inconclusive`), `3` when cells failed, else `0`; cells that failed outrank
    /// regressions because the results are incomplete.
    pub fn exit_code(&self) -> u8 {
        self.exit_code_with(self.settings.fail_on_inconclusive)
    }

    /// [`Results::exit_code`], with inconclusive cells failing when `fail_on_inconclusive`.
    pub fn exit_code_with(&self, fail_on_inconclusive: bool) -> u8 {
        if self.counts.failed > 0 {
            crate::exit::EXIT_FAILED
        } else if self.counts.regression + self.counts.guard > 0 || (fail_on_inconclusive && self.counts.inconclusive > 0) {
            crate::exit::EXIT_REGRESSION
        } else {
            crate::exit::EXIT_OK
        }
    }

    pub fn cells_with(&self, status: CellStatus) -> impl Iterator<Item = &CellResult> {
        self.cells.iter().filter(move |c| c.status == status)
    }
}

impl CellResult {
    /// The metric that decided the cell's status, if one did.
    pub fn decisive(&self) -> Option<&MetricResult> {
        let want = match self.status {
            CellStatus::Regression => MetricVerdict::Regression,
            CellStatus::Inconclusive => MetricVerdict::Inconclusive,
            CellStatus::Improvement => MetricVerdict::Improvement,
            _ => return None,
        };
        self.metrics.iter().filter(|m| m.gating && m.verdict == want).max_by(|a, b| badness(a).total_cmp(&badness(b)))
    }
}

/// The relative change turned so that larger is worse (a throughput drop is positive).
pub fn badness(m: &MetricResult) -> f64 {
    let change = m.relative_change.unwrap_or(0.0);
    match m.direction {
        Direction::LowerIsBetter => change,
        Direction::HigherIsBetter => -change,
    }
}
