//! The Loadfile's `[report]` section: which metrics get verdicts, the regression gate's
//! threshold, significance and test, where baselines and history live, and guard-rails.
//!
//! Every key is optional; `docs/loadfile.md` gives the defaults. Problems are recorded on the
//! reader with their spans, like every other section.

use std::path::PathBuf;

use toml_edit::{Item, TableLike};

use super::raw::{Reader, Spanned};
use crate::matrix::{Matrix, Selector};
use crate::stats::TestChoice;

/// The environment variable that, when set, points the history at PostgreSQL.
pub const DEFAULT_HISTORY_URL_ENV: &str = "LOADBUILD_HISTORY_URL";
/// The environment variable holding the Slack incoming-webhook URL.
pub const DEFAULT_SLACK_WEBHOOK_ENV: &str = "LOADBUILD_SLACK_WEBHOOK";

/// How reports judge and where they keep what they compare against.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportSettings {
    /// Metrics that get a verdict per cell, from each measured execution's samples.
    pub metrics: Vec<String>,
    /// Smallest relative change that counts (0.20 = 20%).
    pub threshold: f64,
    /// Significance level of the Benjamini–Hochberg-adjusted p-value.
    pub alpha: f64,
    pub test: TestChoice,
    /// Fewer samples on either side is inconclusive.
    pub min_samples: usize,
    /// Directory of baseline files, relative to the project root: `<backend>.yaml` inside.
    pub baselines: String,
    /// The embedded history file, relative to the project root.
    pub history: String,
    /// Name of the variable that holds a PostgreSQL URL for the history (used when set).
    pub history_url_env: String,
    /// Runs of history that trends and change points look at.
    pub history_runs: usize,
    /// With `report --adaptive`: repetition sets an inconclusive cell may have in all (the
    /// first plus extra ones), so its Spark applications per build are capped.
    pub max_repetition_sets: u32,
    /// Name of the variable that holds the Slack webhook URL (no digest when unset).
    pub slack_webhook_env: String,
    pub guards: Vec<Guard>,
    /// The one metric per cell that gates (`None`: the first of `metrics`). The others are
    /// compared and shown but stay outside the multiple-testing family and the exit status.
    pub gate: Option<String>,
    /// What one sample is: a whole Spark application (the median of its measured executions)
    /// or, the old way, each execution.
    pub unit: SampleUnit,
    /// Fresh Spark applications (repetition sets) `loadbuild report` builds per cell.
    pub applications: u32,
    /// Leading measured executions of each application left out of its median (on top of the
    /// workload driver's own warm-up), while JIT, caches and file listing settle.
    pub warmups: usize,
    /// Whether an inconclusive cell fails the report (exit 1), as `--fail-on-inconclusive` does.
    pub fail_on_inconclusive: bool,
}

/// What one sample of a cell's metric is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleUnit {
    /// One value per Spark application: the median of its measured executions after `warmups`.
    Application,
    /// One value per measured execution (executions of one application are not independent:
    /// this overstates the evidence; kept for reports on hand-made or legacy measurements).
    Execution,
}

impl SampleUnit {
    pub fn word(self) -> &'static str {
        match self {
            SampleUnit::Application => "application",
            SampleUnit::Execution => "execution",
        }
    }
}

impl Default for ReportSettings {
    fn default() -> Self {
        ReportSettings {
            metrics: vec!["wall_time_s".into(), "job_span_s".into(), "input_rows_per_s".into()],
            threshold: 0.20,
            alpha: 0.05,
            test: TestChoice::Welch,
            min_samples: 5,
            baselines: "baselines".into(),
            history: "cache/history.jsonl".into(),
            history_url_env: DEFAULT_HISTORY_URL_ENV.into(),
            history_runs: 100,
            max_repetition_sets: 10,
            slack_webhook_env: DEFAULT_SLACK_WEBHOOK_ENV.into(),
            guards: Vec::new(),
            gate: None,
            unit: SampleUnit::Application,
            applications: DEFAULT_APPLICATIONS,
            warmups: DEFAULT_WARMUPS,
            fail_on_inconclusive: false,
        }
    }
}

/// Applications per cell by default: chosen from `cargo bench --bench gate` (docs/reports.md).
pub const DEFAULT_APPLICATIONS: u32 = 6;
/// Measured executions dropped from each application's median by default (docs/reports.md).
pub const DEFAULT_WARMUPS: usize = 1;

impl ReportSettings {
    /// The metric that gates each cell.
    pub fn gate_metric(&self) -> &str {
        self.gate.as_deref().or(self.metrics.first().map(String::as_str)).unwrap_or("wall_time_s")
    }

    /// The baseline file for `backend`, relative to the project root.
    pub fn baseline_file(&self, backend: &str) -> PathBuf {
        PathBuf::from(&self.baselines).join(format!("{backend}.yaml"))
    }
}

/// An absolute limit on a metric's median for the cells a selector picks, checked apart from
/// the comparison with the baseline (e.g. "a join on 11gb never takes more than 15 minutes").
#[derive(Debug, Clone, PartialEq)]
pub struct Guard {
    pub when: Selector,
    pub when_text: String,
    pub metric: String,
    pub max: Option<f64>,
    pub min: Option<f64>,
    /// `Loadfile.toml:LINE`, so a report can say which guard a cell breached.
    pub origin: String,
}

const KEYS: &[&str] = &[
    "metrics",
    "threshold",
    "alpha",
    "test",
    "min_samples",
    "baselines",
    "history",
    "history_url_env",
    "history_runs",
    "max_repetition_sets",
    "slack_webhook_env",
    "guard",
    "gate",
    "unit",
    "applications",
    "warmups",
    "fail_on_inconclusive",
];

/// Reads `[report]`; absent, every setting takes its default.
pub fn read(r: &mut Reader, top: &dyn TableLike, m: &Matrix) -> ReportSettings {
    let mut s = ReportSettings::default();
    let Some(item) = top.get("report") else { return s };
    let Some(t) = r.table(item, "`[report]`") else { return s };
    r.check_keys(t, "`[report]`", KEYS);
    if let Some(list) = t.get("metrics").and_then(|i| r.strings(i, "`report.metrics`")) {
        if list.value.is_empty() {
            r.error(list.span.clone(), "`report.metrics` lists no metric").help =
                Some("name at least one metric, e.g. `metrics = [\"wall_time_s\"]`".into());
        }
        let mut names = Vec::new();
        for name in list.value {
            if check_metric(r, &name, "`report.metrics`") && !names.contains(&name.value) {
                names.push(name.value);
            }
        }
        s.metrics = names;
    }
    if let Some(v) = t.get("threshold").and_then(|i| fraction(r, i, "`report.threshold`")) {
        if !(0.0..10.0).contains(&v.value) {
            r.error(v.span, "`report.threshold` must be a relative change between 0 and 10 (1000%)").help =
                Some("write e.g. `threshold = 0.2` or `threshold = \"20%\"`".into());
        } else {
            s.threshold = v.value;
        }
    }
    if let Some(v) = t.get("alpha").and_then(|i| fraction(r, i, "`report.alpha`")) {
        if !(v.value > 0.0 && v.value < 1.0) {
            r.error(v.span, "`report.alpha` must lie strictly between 0 and 1").help = Some("write e.g. `alpha = 0.05`".into());
        } else {
            s.alpha = v.value;
        }
    }
    if let Some(v) = t.get("test").and_then(|i| r.string(i, "`report.test`")) {
        match v.value.as_str() {
            "auto" => s.test = TestChoice::Auto,
            "welch" => s.test = TestChoice::Welch,
            "mann-whitney" => s.test = TestChoice::MannWhitney,
            other => {
                r.error(v.span, format!("unknown test `{other}` in `report.test`")).help =
                    Some("known tests: `auto` (Welch when both samples look normal, else Mann–Whitney), `welch`, `mann-whitney`".into());
            }
        }
    }
    if let Some(v) = t.get("min_samples").and_then(|i| r.non_negative(i, "`report.min_samples`")) {
        if v.value < 2 {
            r.error(v.span, "`report.min_samples` must be at least 2").help = Some("no test can compare single values".into());
        } else {
            s.min_samples = v.value as usize;
        }
    }
    if let Some(v) = t.get("history_runs").and_then(|i| r.non_negative(i, "`report.history_runs`")) {
        s.history_runs = v.value as usize;
    }
    if let Some(v) = t.get("max_repetition_sets").and_then(|i| r.non_negative(i, "`report.max_repetition_sets`")) {
        if !(1..=100).contains(&v.value) {
            r.error(v.span, "`report.max_repetition_sets` must be between 1 and 100").help =
                Some("1 turns `--adaptive` off; each set is one more Spark application per inconclusive cell".into());
        } else {
            s.max_repetition_sets = v.value as u32;
        }
    }
    for (key, slot) in [("baselines", &mut s.baselines), ("history", &mut s.history)] {
        if let Some(v) = t.get(key).and_then(|i| r.string(i, &format!("`report.{key}`"))) {
            if v.value.trim().is_empty() {
                r.error(v.span, format!("`report.{key}` is empty")).help = Some("give a path relative to the Loadfile".into());
            } else {
                *slot = v.value;
            }
        }
    }
    for (key, slot) in [("history_url_env", &mut s.history_url_env), ("slack_webhook_env", &mut s.slack_webhook_env)] {
        if let Some(v) = t.get(key).and_then(|i| r.string(i, &format!("`report.{key}`"))) {
            if v.value.is_empty() || !v.value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                r.error(v.span, format!("`report.{key}` must name an environment variable, e.g. `{}`", slot)).help =
                    Some("the value is the variable's name, never the URL itself: URLs hold credentials".into());
            } else {
                *slot = v.value;
            }
        }
    }
    read_gate(r, t, &mut s);
    s.guards = read_guards(r, t, m);
    s
}

/// `gate`, `unit`, `applications`, `warmups`, `fail_on_inconclusive`.
fn read_gate(r: &mut Reader, t: &dyn TableLike, s: &mut ReportSettings) {
    if let Some(v) = t.get("gate").and_then(|i| r.string(i, "`report.gate`"))
        && check_metric(r, &v, "`report.gate`")
    {
        if s.metrics.contains(&v.value) {
            s.gate = Some(v.value);
        } else {
            r.error(v.span, format!("`report.gate` names `{}`, which `report.metrics` does not list", v.value)).help =
                Some("the gating metric is one of the judged metrics: add it to `report.metrics`".into());
        }
    }
    if let Some(v) = t.get("unit").and_then(|i| r.string(i, "`report.unit`")) {
        match v.value.as_str() {
            "application" => s.unit = SampleUnit::Application,
            "execution" => s.unit = SampleUnit::Execution,
            other => {
                r.error(v.span, format!("unknown sample unit `{other}` in `report.unit`")).help = Some(
                    "`application` (one value per Spark application: the default) or `execution` (every execution, not independent)".into(),
                );
            }
        }
    }
    if let Some(v) = t.get("applications").and_then(|i| r.non_negative(i, "`report.applications`")) {
        if !(1..=100).contains(&v.value) {
            r.error(v.span, "`report.applications` must be between 1 and 100").help =
                Some("each application is one more Spark application per cell and report".into());
        } else {
            s.applications = v.value as u32;
        }
    }
    if let Some(v) = t.get("warmups").and_then(|i| r.non_negative(i, "`report.warmups`")) {
        if v.value > 100 {
            r.error(v.span, "`report.warmups` must be at most 100").help =
                Some("it counts measured executions left out of each application's median".into());
        } else {
            s.warmups = v.value as usize;
        }
    }
    if let Some(item) = t.get("fail_on_inconclusive") {
        match item.as_bool() {
            Some(b) => s.fail_on_inconclusive = b,
            None => {
                r.error(item.span(), "`report.fail_on_inconclusive` must be `true` or `false`");
            }
        }
    }
}

fn read_guards(r: &mut Reader, t: &dyn TableLike, m: &Matrix) -> Vec<Guard> {
    let Some(item) = t.get("guard") else { return Vec::new() };
    let Some(array) = item.as_array_of_tables() else {
        r.error(item.span(), "`report.guard` must be an array of tables: write `[[report.guard]]`");
        return Vec::new();
    };
    let mut guards = Vec::new();
    for g in array.iter() {
        r.check_keys(g, "`[[report.guard]]`", &["when", "metric", "max", "min"]);
        let line = g.span().map_or(0, |s| r.file.line_col(s.start).0);
        let origin = format!("{}:{line}", r.file.display);
        let metric = g.get("metric").and_then(|i| r.string(i, "`metric`"));
        if g.get("metric").is_none() {
            r.error(g.span(), "a `[[report.guard]]` needs a `metric`").help = Some("e.g. `metric = \"wall_time_s\"`".into());
        }
        let metric_ok = metric.as_ref().is_some_and(|name| check_metric(r, name, "`[[report.guard]]`"));
        let max = g.get("max").and_then(|i| number(r, i, "`max`"));
        let min = g.get("min").and_then(|i| number(r, i, "`min`"));
        if g.get("max").is_none() && g.get("min").is_none() {
            r.error(g.span(), "a `[[report.guard]]` needs `max`, `min` or both").help =
                Some("e.g. `max = 900.0` for at most 900 s of `wall_time_s`".into());
        }
        if let (Some(lo), Some(hi)) = (&min, &max)
            && lo.value > hi.value
        {
            r.error(lo.span.clone(), format!("`min` `{}` is above `max` `{}`", lo.value, hi.value));
        }
        let (when, when_text) = match g.get("when").and_then(|i| r.string(i, "`when`")) {
            Some(w) => {
                let offset = w.span.as_ref().map_or(0, |s| s.start + 1);
                match Selector::parse(&w.value, m, &r.file, offset) {
                    Ok(sel) => {
                        if m.count(&sel) == 0 {
                            r.error(w.span.clone(), "this guard selects no cell");
                        }
                        (Some(sel), w.value)
                    }
                    Err(d) => {
                        r.diags.extend(d);
                        (None, w.value)
                    }
                }
            }
            // No `when`: the guard applies to every cell.
            None if g.get("when").is_none() => (Some(Selector::all()), String::new()),
            None => (None, String::new()),
        };
        if let (Some(when), Some(metric), true) = (when, metric, metric_ok) {
            guards.push(Guard { when, when_text, metric: metric.value, max: max.map(|v| v.value), min: min.map(|v| v.value), origin });
        }
    }
    guards
}

fn check_metric(r: &mut Reader, name: &Spanned<String>, what: &str) -> bool {
    if crate::metrics::metric_info(&name.value).is_some() {
        return true;
    }
    let known = crate::metrics::metric_names().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
    r.error(name.span.clone(), format!("{what} names unknown metric `{}`", name.value)).help =
        Some(format!("known metrics (docs/metrics.md): {known}"));
    false
}

/// A float or an integer.
fn number(r: &mut Reader, item: &Item, what: &str) -> Option<Spanned<f64>> {
    let value = item.as_float().or_else(|| item.as_integer().map(|i| i as f64));
    match value {
        Some(v) if v.is_finite() => Some(Spanned::new(v, item.span())),
        _ => {
            r.error(item.span(), format!("{what} must be a number, found {}", item.type_name()));
            None
        }
    }
}

/// A number, or a string like `"20%"`.
fn fraction(r: &mut Reader, item: &Item, what: &str) -> Option<Spanned<f64>> {
    if let Some(s) = item.as_str() {
        let parsed = s.trim().strip_suffix('%').and_then(|p| p.trim().parse::<f64>().ok()).filter(|v| v.is_finite());
        return match parsed {
            Some(p) => Some(Spanned::new(p / 100.0, item.span())),
            None => {
                r.error(item.span(), format!("{what} `{s}` is not a percentage")).help =
                    Some("write a fraction (`0.2`) or a percentage (`\"20%\"`)".into());
                None
            }
        };
    }
    number(r, item, what)
}
