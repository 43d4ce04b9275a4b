//! Measurements + baselines + history → [`Results`]: the verdicts, pure and deterministic.
//!
//! Every cell × metric with samples on both sides is compared (`stats::compare`, in parallel);
//! the raw p-values of the whole report are then adjusted together (Benjamini–Hochberg) before
//! any verdict is made, so 1,280 cells of noise do not raise dozens of false alarms. Cells
//! that failed get no verdicts: their numbers describe a broken run, and testing them would
//! only inflate the family.
use std::collections::BTreeMap;

use rayon::prelude::*;

use super::baseline::BaselineFile;
use super::history::HistoryRun;
use super::input::CellSamples;
use super::model::*;
use crate::loadfile::ReportSettings;
use crate::metrics::Direction;
use crate::stats::{self, BootstrapConfig, BootstrapMethod, InconclusiveReason, TestChoice, TestUsed, Verdict, VerdictConfig};

/// One cell of the tier, as the report action found it.
#[derive(Debug, Clone)]
pub struct CellInput {
    pub id: String,
    pub name: String,
    /// Dimension name → value, in matrix order.
    pub dims: Vec<(String, String)>,
    /// Value indices, for guard selectors.
    pub values: Vec<u16>,
    pub state: CellState,
    /// Shared inputs this cell binds to (`dataset[1gb]`) → output digest.
    pub inputs: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub enum CellState {
    Skipped {
        reason: String,
        rule: String,
    },
    /// No dependency of the report measured this cell.
    Missing,
    Measured {
        node: String,
        digest: String,
        /// The node recorded a failed outcome.
        node_failed: bool,
        samples: Result<CellSamples, String>,
    },
}

/// Everything a report is computed from.
pub struct AnalysisInput<'a> {
    pub run: RunInfo,
    pub environment: Environment,
    pub dimensions: Vec<DimensionInfo>,
    pub cells: Vec<CellInput>,
    pub settings: &'a ReportSettings,
    pub baseline: Option<&'a BaselineFile>,
    pub baseline_info: BaselineInfo,
    pub history: &'a [HistoryRun],
    pub history_source: String,
}

/// A metric's medians over history: (index into `results.history.runs`, or `None` for this
/// report; value), oldest first.
pub type Series = Vec<(Option<usize>, f64)>;

/// The results, plus the series the HTML draws trends from (not part of `results.json`).
pub struct Analysis {
    pub results: Results,
    /// `series[cell][metric]`: (index into `results.history.runs`, or `None` for this report; value).
    pub series: Vec<Vec<Series>>,
}

/// The run id: a digest of what was measured, so one set of measurements has one id.
pub fn run_id(tier: &str, backend: &str, cells: &[CellInput]) -> String {
    let measured: Vec<(&str, &str)> = cells
        .iter()
        .filter_map(|c| match &c.state {
            CellState::Measured { digest, .. } => Some((c.id.as_str(), digest.as_str())),
            _ => None,
        })
        .collect();
    crate::hash::Digest::of("loadbuild 2026-11 report run", &(tier, backend, measured)).to_hex()[..16].to_string()
}

/// Bootstrap resamples of a first pass over every comparison.
pub const FIRST_PASS_RESAMPLES: usize = 2_000;
/// A first-pass CI endpoint this close to ±threshold is recomputed with the full
/// `BootstrapConfig::default()` resamples (10,000), so borderline verdicts get the precision
/// and the thousands of clear ones do not pay for it. The Monte Carlo error of a 2,000-resample
/// percentile endpoint is a fraction of a percentage point for these CIs.
pub const REFINE_MARGIN: f64 = 0.02;

/// The verdict configuration of the first pass.
pub fn verdict_config(s: &ReportSettings) -> VerdictConfig {
    VerdictConfig {
        threshold: s.threshold,
        alpha: s.alpha,
        test: s.test,
        min_samples: s.min_samples,
        bootstrap: BootstrapConfig { resamples: FIRST_PASS_RESAMPLES, ..BootstrapConfig::default() },
    }
}

/// Compares one cell × metric: a first pass, refined when its CI ends near a threshold.
fn compare_refined(base: &[f64], now: &[f64], direction: stats::Direction, cfg: &VerdictConfig) -> Result<stats::Comparison, String> {
    let first = stats::compare(base, now, direction, cfg).map_err(|e| e.to_string())?;
    let near = |x: f64| (x - cfg.threshold).abs() < REFINE_MARGIN || (x + cfg.threshold).abs() < REFINE_MARGIN;
    match first.ci {
        Some((lo, hi)) if near(lo) || near(hi) => {
            let full = VerdictConfig { bootstrap: BootstrapConfig::default(), ..*cfg };
            stats::compare(base, now, direction, &full).map_err(|e| e.to_string())
        }
        _ => Ok(first),
    }
}

pub fn analyze(input: AnalysisInput) -> Analysis {
    let s = input.settings;
    let cfg = verdict_config(s);
    let mut cells: Vec<CellResult> = input.cells.iter().map(|c| skeleton(c, s, input.baseline, &input.environment)).collect();

    // Phase one: every comparison, in parallel (the bootstrap dominates the cost).
    let jobs: Vec<(usize, usize)> = cells
        .iter()
        .enumerate()
        .flat_map(|(ci, c)| {
            c.metrics.iter().enumerate().filter(|(_, m)| m.baseline.is_some() && !m.samples.is_empty()).map(move |(mi, _)| (ci, mi))
        })
        .filter(|&(ci, _)| cells[ci].status != CellStatus::Failed)
        .collect();
    let comparisons: Vec<Result<stats::Comparison, String>> = jobs
        .par_iter()
        .map(|&(ci, mi)| {
            let m = &cells[ci].metrics[mi];
            let base = &m.baseline.as_ref().expect("jobs have a baseline").samples;
            compare_refined(base, &m.samples, stat_direction(m.direction), &cfg)
        })
        .collect();
    // Phase two: adjust the gating metric's p-values of the whole report together, then
    // decide; the other metrics are decided on their raw p-values and never gate.
    let gate = s.gate_metric();
    let gates: Vec<bool> = jobs.iter().map(|&(ci, mi)| cells[ci].metrics[mi].gating).collect();
    let gating_ok: Vec<stats::Comparison> =
        jobs.iter().zip(&comparisons).zip(&gates).filter(|(_, g)| **g).filter_map(|((_, c), _)| c.as_ref().ok().cloned()).collect();
    let tests = gating_ok.iter().filter(|c| c.p_value.is_some()).count();
    let mut decisions = stats::decide_all(&gating_ok, &cfg).into_iter();
    for ((&(ci, mi), cmp), &gating) in jobs.iter().zip(&comparisons).zip(&gates) {
        let m = &mut cells[ci].metrics[mi];
        match cmp {
            Ok(c) if gating => {
                apply(m, decisions.next().expect("one decision per comparison"), c);
                let base = &m.baseline.as_ref().expect("jobs have a baseline").samples;
                power(m, base.clone(), &cfg, tests.max(1));
            }
            Ok(c) => apply(m, stats::decide(c, None, &cfg), c),
            Err(e) => {
                m.verdict = MetricVerdict::Inconclusive;
                m.reason = Some(format!("the comparison failed: {e}"));
            }
        }
    }

    let history_runs: Vec<HistoryRunInfo> = input
        .history
        .iter()
        .map(|r| HistoryRunInfo { run: r.run.clone(), tier: r.tier.clone(), recorded_at: r.recorded_at.clone(), commit: r.commit.clone() })
        .collect();
    let series = super::trends::trends(&mut cells, input.history, &history_runs, s);

    for (cell, inp) in cells.iter_mut().zip(&input.cells) {
        check_guards(cell, inp, s);
        settle(cell);
    }
    let mut counts = Counts { cells: cells.len(), ..Counts::default() };
    for c in &cells {
        *count_of(&mut counts, c.status) += 1;
    }
    let rerun = cells
        .iter()
        .filter(|c| {
            c.status == CellStatus::Inconclusive
                && c.metrics.iter().any(|m| m.gating && m.verdict == MetricVerdict::Inconclusive && settleable(m))
        })
        .map(|c| c.id.clone())
        .collect();
    let results = Results {
        schema: RESULTS_SCHEMA,
        run: input.run,
        settings: SettingsEcho {
            metrics: s.metrics.clone(),
            threshold: s.threshold,
            alpha: s.alpha,
            test: test_word(s.test).into(),
            min_samples: s.min_samples,
            bootstrap_resamples: cfg.bootstrap.resamples,
            bootstrap_resamples_refined: BootstrapConfig::default().resamples,
            gate: gate.to_string(),
            unit: s.unit.word().into(),
            warmups: s.warmups,
            tests,
            fail_on_inconclusive: s.fail_on_inconclusive,
        },
        environment: input.environment,
        baseline: input.baseline_info,
        history: HistoryInfo { source: input.history_source, runs: history_runs },
        counts,
        dimensions: input.dimensions,
        cells,
        rerun,
    };
    Analysis { results, series }
}

pub fn test_word(t: TestChoice) -> &'static str {
    match t {
        TestChoice::Auto => "auto",
        TestChoice::Welch => "welch",
        TestChoice::MannWhitney => "mann-whitney",
    }
}

fn stat_direction(d: Direction) -> stats::Direction {
    match d {
        Direction::LowerIsBetter => stats::Direction::LowerIsBetter,
        Direction::HigherIsBetter => stats::Direction::HigherIsBetter,
    }
}

pub fn summary_out(xs: &[f64]) -> Option<SummaryOut> {
    let s = stats::summarize(xs).ok()?;
    Some(SummaryOut { n: s.n, mean: s.mean, median: s.median, stddev: s.stddev, ci95: s.ci95.map(|(a, b)| [a, b]) })
}

/// A cell's result before any test: its samples, baseline side, and failure or skip.
fn skeleton(c: &CellInput, s: &ReportSettings, baseline: Option<&BaselineFile>, env: &Environment) -> CellResult {
    let mut r = CellResult {
        id: c.id.clone(),
        name: c.name.clone(),
        dims: c.dims.iter().cloned().collect(),
        status: CellStatus::Unchanged,
        reason: None,
        skip_rule: None,
        node: None,
        metrics_digest: None,
        spark_version: None,
        repetition_sets: 0,
        inputs: c.inputs.clone(),
        environment_notes: Vec::new(),
        metrics: Vec::new(),
        guards: Vec::new(),
    };
    let (node, digest, node_failed, samples) = match &c.state {
        CellState::Skipped { reason, rule } => {
            r.status = CellStatus::Skipped;
            r.reason = Some(reason.clone());
            r.skip_rule = Some(rule.clone());
            return r;
        }
        CellState::Missing => {
            r.status = CellStatus::Failed;
            r.reason = Some(
                "no dependency of the report wrote `metrics.json` for this cell (is the report rule's `deps` missing `metrics`?)".into(),
            );
            return r;
        }
        CellState::Measured { node, digest, node_failed, samples } => (node, digest, *node_failed, samples),
    };
    r.node = Some(node.clone());
    r.metrics_digest = Some(digest.clone());
    let samples = match samples {
        Ok(s) => s,
        Err(e) => {
            r.status = CellStatus::Failed;
            r.reason = Some(if node_failed { format!("node `{node}` failed: {e}") } else { e.clone() });
            return r;
        }
    };
    r.spark_version = samples.spark_version.clone();
    r.repetition_sets = samples.sets;
    if node_failed || samples.failed() {
        r.status = CellStatus::Failed;
        r.reason = Some(match (&samples.error, samples.run_succeeded) {
            (Some(e), _) => e.lines().next().unwrap_or(e).to_string(),
            (None, false) => format!("the run failed (node `{node}`)"),
            (None, true) if node_failed => format!("node `{node}` recorded a failed outcome"),
            (None, true) => "not every measured execution succeeded (`succeeded` = 0)".into(),
        });
    }
    let base_cell = baseline.and_then(|b| b.cells.get(&c.id));
    let mut names: Vec<&String> = s.metrics.iter().collect();
    for g in &s.guards {
        if g.when.matches(&c.values) && !names.contains(&&g.metric) {
            names.push(&g.metric);
        }
    }
    for name in names {
        let info = crate::metrics::metric_info(name).expect("the loadfile checked metric names");
        let sm = samples.metrics.get(name.as_str());
        let values = sm.map(|m| m.values.clone()).unwrap_or_default();
        let base = base_cell.and_then(|b| b.metrics.get(name.as_str())).filter(|b| !b.samples.is_empty());
        let judged = s.metrics.contains(name);
        let (verdict, reason) = if r.status == CellStatus::Failed {
            (MetricVerdict::NotJudged, None)
        } else if values.is_empty() {
            let why = sm.and_then(|m| m.absent.clone()).unwrap_or_else(|| "metrics.json has no such metric".into());
            (MetricVerdict::Absent, Some(why))
        } else if base.is_none() && judged {
            (
                MetricVerdict::New,
                Some(if base_cell.is_some() { "the baseline has no samples of this metric" } else { "the cell has no baseline" }.into()),
            )
        } else {
            // Decided by the comparison (or, for a guard-only metric, not judged at all).
            (if judged { MetricVerdict::Inconclusive } else { MetricVerdict::NotJudged }, None)
        };
        r.metrics.push(MetricResult {
            name: name.clone(),
            unit: sm.map_or(info.unit, |m| m.unit),
            direction: sm.map_or(info.direction, |m| m.direction),
            summary: summary_out(&values),
            samples: values,
            baseline: base.filter(|_| judged).and_then(|b| {
                Some(BaselineSide {
                    samples: b.samples.clone(),
                    summary: summary_out(&b.samples)?,
                    run: base_cell.map(|c| c.run.clone()).unwrap_or_default(),
                })
            }),
            verdict,
            reason,
            relative_change: None,
            ci: None,
            test: None,
            p_value: None,
            adjusted_p: None,
            trend: None,
            gating: judged && name.as_str() == s.gate_metric(),
            tested: None,
            bootstrap: None,
            mdc: None,
            detectable: None,
            settle: None,
            inconclusive: None,
        });
    }
    if let (Some(b), Some(file)) = (base_cell, baseline) {
        r.environment_notes = environment_notes(&r, b, file, env);
    }
    r
}

fn environment_notes(r: &CellResult, b: &super::baseline::BaselineCell, file: &BaselineFile, now: &Environment) -> Vec<String> {
    let mut notes = Vec::new();
    for (input, digest) in &r.inputs {
        if let Some(old) = b.inputs.get(input)
            && old != digest
        {
            notes.push(format!(
                "`{input}` differs from the baseline's ({} → {})",
                old.chars().take(12).collect::<String>(),
                digest.chars().take(12).collect::<String>()
            ));
        }
    }
    if let (Some(now), Some(then)) = (&r.spark_version, &b.spark_version)
        && now != then
    {
        notes.push(format!("Spark `{now}` was `{then}` in the baseline"));
    }
    if let Some(env) = file.environments.get(&b.environment)
        && env != now
    {
        notes.push(format!("baseline measured with loadbuild {} on `{}`, {}", env.loadbuild, env.backend, env.machine));
    }
    notes
}

/// The minimum detectable change of a gating metric, and for an inconclusive one, what would
/// settle it.
fn power(m: &mut MetricResult, base: Vec<f64>, cfg: &VerdictConfig, tests: usize) {
    let mdc = stats::minimum_detectable_change(&base, &m.samples, cfg, tests);
    m.mdc = mdc;
    // Known noise and still no MDC: Mann–Whitney's smallest p cannot pass the bar at these sizes.
    let noise_known = base.len() >= 2 && m.samples.len() >= 2 && m.relative_change.is_some();
    m.detectable = if mdc.is_some() { Some(true) } else { noise_known.then_some(false) };
    if m.verdict != MetricVerdict::Inconclusive || !settleable(m) {
        return;
    }
    let now = format!("{} vs {}", base.len(), m.samples.len());
    let change = m.relative_change.unwrap_or(cfg.threshold);
    m.settle = Some(match stats::applications_to_settle(&base, &m.samples, change, cfg, tests) {
        Some(n) => format!(
            "about {n} applications per side (now {now}) would settle a change of {} at this noise: `loadbuild report --adaptive`, \
             or raise `[report] applications`",
            pct(change)
        ),
        None if base.len() < 2 || m.samples.len() < 2 => format!("more applications per side (now {now}): the noise is unknown"),
        None => format!(
            "more than {} applications per side would be needed at this noise (now {now}): reduce the noise, or judge a larger \
             threshold",
            stats::MAX_APPLICATIONS
        ),
    });
}

fn apply(m: &mut MetricResult, d: stats::Decision, c: &stats::Comparison) {
    m.tested = d.test.map(|t| match t {
        TestUsed::Welch => "means".into(),
        TestUsed::MannWhitney(_) => "ranks".into(),
    });
    m.bootstrap = c.bootstrap.map(|b| match b {
        BootstrapMethod::Exact => "exact".into(),
        BootstrapMethod::Resampled(n) => format!("{n} resamples"),
    });
    m.relative_change = d.relative_change;
    m.ci = d.ci.map(|(a, b)| [a, b]);
    m.test = d.test.map(|t| match t {
        TestUsed::Welch => "welch".into(),
        TestUsed::MannWhitney(stats::MwuMethod::Exact) => "mann-whitney exact".into(),
        TestUsed::MannWhitney(_) => "mann-whitney asymptotic".into(),
    });
    m.p_value = d.p_value;
    m.adjusted_p = if m.gating { d.adjusted_p } else { None };
    let (verdict, reason) = match d.verdict {
        Verdict::Regression => (MetricVerdict::Regression, None),
        Verdict::Improvement => (MetricVerdict::Improvement, None),
        Verdict::Unchanged => (MetricVerdict::Unchanged, None),
        Verdict::Inconclusive { reason } => (MetricVerdict::Inconclusive, Some(reason.to_string())),
    };
    m.verdict = verdict;
    m.reason = reason;
    m.inconclusive = match d.verdict {
        Verdict::Inconclusive { reason } => Some(reason),
        _ => None,
    };
}

/// Whether more repetitions could turn an inconclusive verdict into a conclusive one.
fn settleable(m: &MetricResult) -> bool {
    !matches!(m.inconclusive, Some(InconclusiveReason::NonPositiveBaseline))
}

fn check_guards(cell: &mut CellResult, inp: &CellInput, s: &ReportSettings) {
    if matches!(cell.status, CellStatus::Skipped | CellStatus::Failed) {
        return;
    }
    for g in s.guards.iter().filter(|g| g.when.matches(&inp.values)) {
        let median = cell.metrics.iter().find(|m| m.name == g.metric).and_then(|m| m.summary.as_ref()).map(|s| s.median);
        let breached = median.is_some_and(|v| g.max.is_some_and(|max| v > max) || g.min.is_some_and(|min| v < min));
        cell.guards.push(GuardResult {
            metric: g.metric.clone(),
            when: g.when_text.clone(),
            max: g.max,
            min: g.min,
            median,
            breached,
            origin: g.origin.clone(),
        });
    }
}

/// The cell's status from its metrics' verdicts and guards, and the reason that goes with it.
fn settle(cell: &mut CellResult) {
    if matches!(cell.status, CellStatus::Skipped | CellStatus::Failed) {
        return;
    }
    // Only the gating metric decides; the others are shown.
    let has = |v: MetricVerdict| cell.metrics.iter().any(|m| m.gating && m.verdict == v);
    let judged = |m: &&MetricResult| m.gating && !matches!(m.verdict, MetricVerdict::Absent | MetricVerdict::NotJudged);
    if !cell.metrics.iter().any(|m| judged(&m)) && !cell.guards.iter().any(|g| g.breached) {
        // Measured, but no judged metric has a value: nothing to say it is unchanged.
        cell.status = CellStatus::Inconclusive;
        let absent: Vec<String> =
            cell.metrics.iter().filter(|m| m.gating).filter_map(|m| m.reason.as_ref().map(|r| format!("`{}`: {r}", m.name))).collect();
        cell.reason = Some(format!("no judged metric has a value ({})", absent.join("; ")));
        return;
    }
    cell.status = if has(MetricVerdict::Regression) {
        CellStatus::Regression
    } else if cell.guards.iter().any(|g| g.breached) {
        CellStatus::Guard
    } else if has(MetricVerdict::Inconclusive) {
        CellStatus::Inconclusive
    } else if has(MetricVerdict::New) {
        CellStatus::New
    } else if has(MetricVerdict::Improvement) {
        CellStatus::Improvement
    } else {
        CellStatus::Unchanged
    };
    cell.reason = match cell.status {
        CellStatus::Guard => cell.guards.iter().find(|g| g.breached).map(|g| {
            let limit = match (g.max, g.min) {
                (Some(max), _) if g.median.is_some_and(|v| v > max) => format!("above the maximum `{max}`"),
                (_, Some(min)) => format!("below the minimum `{min}`"),
                _ => "outside its limits".into(),
            };
            format!("median `{}` of `{}` is {limit} (guard at {})", fmt_num(g.median.unwrap_or(f64::NAN)), g.metric, g.origin)
        }),
        CellStatus::New => Some("no baseline yet: `loadbuild baseline update` promotes this run".into()),
        _ => cell.decisive().map(explain),
    };
}

/// One line saying why a metric got its verdict.
pub fn explain(m: &MetricResult) -> String {
    match m.verdict {
        MetricVerdict::Regression | MetricVerdict::Improvement | MetricVerdict::Unchanged => {
            let ci = m.ci.map(|[a, b]| format!(" (95% CI {} … {})", pct(a), pct(b))).unwrap_or_default();
            let p = m.adjusted_p.map(|p| format!(", adjusted p {}", fmt_p(p))).unwrap_or_default();
            format!("`{}` {}{ci}{p}", m.name, m.relative_change.map_or("?".into(), pct))
        }
        _ => format!("`{}`: {}", m.name, m.reason.as_deref().unwrap_or(m.verdict.word())),
    }
}

pub fn pct(x: f64) -> String {
    format!("{:+.1}%", x * 100.0)
}

pub fn fmt_p(p: f64) -> String {
    if p < 1e-4 { format!("{p:.1e}") } else { format!("{p:.4}") }
}

pub fn fmt_num(v: f64) -> String {
    if v == 0.0 || (1e-3..1e6).contains(&v.abs()) { format!("{}", (v * 1e4).round() / 1e4) } else { format!("{v:.3e}") }
}

fn count_of(c: &mut Counts, s: CellStatus) -> &mut usize {
    match s {
        CellStatus::Failed => &mut c.failed,
        CellStatus::Regression => &mut c.regression,
        CellStatus::Guard => &mut c.guard,
        CellStatus::Inconclusive => &mut c.inconclusive,
        CellStatus::New => &mut c.new,
        CellStatus::Improvement => &mut c.improvement,
        CellStatus::Unchanged => &mut c.unchanged,
        CellStatus::Skipped => &mut c.skipped,
    }
}
