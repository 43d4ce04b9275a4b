//! The report: a tier's cells' metrics, compared with their baselines and history, rendered as
//! `index.html`, `summary.md`, `junit.xml`, `results.json` and `metrics.prom`.
//!
//! [`build`] is the built-in `report` action: it reads every cell's `metrics.json`, the
//! baseline file and the history, calls the pure [`analyze`], and renders. Appending to the
//! history and posting to Slack happen after the build, in `loadbuild report`, so a report that
//! is fresh in the cache is neither recorded twice nor posted from inside the engine.
//! `docs/reports.md` describes every file.
pub mod analyze;
pub mod baseline;
pub mod environment;
pub mod history;
pub mod input;
pub mod model;
pub mod render;
pub mod slack;
mod trends;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

pub use analyze::{Analysis, AnalysisInput, CellInput, CellState, analyze};
pub use history::{HistoryRun, HistoryStore};
pub use model::{CellStatus, Results};

use crate::loadfile::ReportSettings;
use model::{BaselineInfo, DimensionInfo, Environment, RunInfo};

/// Bump when the report's analysis or files change for the same inputs: part of its node key.
pub const REPORT_VERSION: u32 = 2;

/// What the `report` action needs, gathered by the executor from the graph and the cache.
#[derive(Debug, Clone)]
pub struct ReportJob {
    /// The project root: baselines and the history file are relative to it.
    pub root: PathBuf,
    pub project: String,
    pub tier: String,
    pub backend: String,
    pub dimensions: Vec<DimensionInfo>,
    pub cells: Vec<CellJob>,
    pub settings: ReportSettings,
    pub history: HistoryStore,
}

/// One cell of the tier and where its measurements are.
#[derive(Debug, Clone)]
pub struct CellJob {
    pub id: String,
    pub name: String,
    pub dims: Vec<(String, String)>,
    pub values: Vec<u16>,
    /// `(reason, rule)` when a skip rule applies.
    pub skip: Option<(String, String)>,
    /// The per-cell dependencies holding `metrics.json`: one per repetition set, in set order
    /// (more than one after `report --adaptive`).
    pub deps: Vec<DepJob>,
    pub inputs: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct DepJob {
    pub node: String,
    pub digest: String,
    pub failed: bool,
    pub dir: PathBuf,
}

/// The files every report writes.
pub const FILES: &[&str] = &["index.html", "summary.md", "junit.xml", "results.json", "metrics.prom"];

/// Runs the `report` action: analysis and every file, written into `out`.
pub fn build(job: &ReportJob, out: &Path) -> Result<Analysis, String> {
    let cells: Vec<CellInput> = job.cells.par_iter().map(|c| cell_input(c, &job.settings)).collect();
    let baseline_rel = job.settings.baseline_file(&job.backend);
    let baseline = baseline::load(&job.root.join(&baseline_rel))?;
    let history = job.history.load(&job.project, &job.backend, job.settings.history_runs).map_err(|e| {
        format!(
            "{e}\n  = help: the report reads the history for trends; fix the store, or unset `{}` to use the file",
            job.settings.history_url_env
        )
    })?;
    let run = RunInfo {
        id: analyze::run_id(&job.tier, &job.backend, &cells),
        project: job.project.clone(),
        tier: job.tier.clone(),
        backend: job.backend.clone(),
        loadbuild_version: env!("CARGO_PKG_VERSION").into(),
    };
    // A report never compares with itself: drop this run from the history it reads.
    let history: Vec<HistoryRun> = history.into_iter().filter(|h| h.run != run.id).collect();
    let analysis = analyze(AnalysisInput {
        run,
        environment: Environment {
            loadbuild: env!("CARGO_PKG_VERSION").into(),
            backend: job.backend.clone(),
            machine: environment::machine(),
        },
        dimensions: job.dimensions.clone(),
        cells,
        settings: &job.settings,
        baseline_info: BaselineInfo {
            path: baseline_rel.display().to_string(),
            exists: baseline.is_some(),
            cells: baseline.as_ref().map_or(0, |b| b.cells.len()),
        },
        baseline: baseline.as_ref(),
        history: &history,
        history_source: job.history.describe(),
    });
    render::write_all(&analysis, out).map_err(|e| format!("writing the report into `{}`: {e}", out.display()))?;
    Ok(analysis)
}

fn cell_input(c: &CellJob, s: &ReportSettings) -> CellInput {
    // One sample per application (repetition set), or every execution with `unit = "execution"`.
    let read = |dir: &Path| {
        input::read(dir).map(|cs| match s.unit {
            crate::loadfile::SampleUnit::Application => cs.per_application(s.warmups),
            crate::loadfile::SampleUnit::Execution => cs,
        })
    };
    let state = match (&c.skip, c.deps.as_slice()) {
        (Some((reason, rule)), _) => CellState::Skipped { reason: reason.clone(), rule: rule.clone() },
        (None, []) => CellState::Missing,
        (None, [d]) => CellState::Measured { node: d.node.clone(), digest: d.digest.clone(), node_failed: d.failed, samples: read(&d.dir) },
        (None, sets) => {
            // Several repetition sets: one cell measured more often. Its digest covers every set,
            // so history and run ids tell it from the first set alone.
            let digests: Vec<&str> = sets.iter().map(|d| d.digest.as_str()).collect();
            CellState::Measured {
                node: sets[0].node.clone(),
                digest: crate::hash::Digest::of("loadbuild 2026-11 repetition sets", &digests).to_hex(),
                node_failed: sets.iter().any(|d| d.failed),
                samples: sets.iter().map(|d| read(&d.dir)).collect::<Result<Vec<_>, _>>().map(input::CellSamples::merge),
            }
        }
    };
    CellInput { id: c.id.clone(), name: c.name.clone(), dims: c.dims.clone(), values: c.values.clone(), state, inputs: c.inputs.clone() }
}

/// The settings that change a report's files, in a form hashed into the report node's key.
pub fn settings_key(s: &ReportSettings) -> serde_json::Value {
    let guards: Vec<serde_json::Value> = s
        .guards
        .iter()
        .map(|g| serde_json::json!({ "when": g.when_text, "metric": g.metric, "max": g.max, "min": g.min, "origin": g.origin }))
        .collect();
    serde_json::json!({
        "metrics": s.metrics,
        "threshold": s.threshold,
        "alpha": s.alpha,
        "test": analyze::test_word(s.test),
        "min_samples": s.min_samples,
        "baselines": s.baselines,
        "history": s.history,
        "history_url_env": s.history_url_env,
        "history_runs": s.history_runs,
        "guards": guards,
        "gate": s.gate_metric(),
        "unit": s.unit.word(),
        "warmups": s.warmups,
        "fail_on_inconclusive": s.fail_on_inconclusive,
    })
}

/// Reads `results.json` from a report directory, or the file itself.
pub fn read_results(path: &Path) -> Result<Results, String> {
    let file = if path.is_dir() { path.join("results.json") } else { path.to_path_buf() };
    let bytes = std::fs::read(&file).map_err(|e| format!("cannot read `{}`: {e}", file.display()))?;
    let results: Results =
        serde_json::from_slice(&bytes).map_err(|e| format!("`{}` is not a loadbuild results file: {e}", file.display()))?;
    if results.schema != model::RESULTS_SCHEMA {
        return Err(format!("`{}` has schema `{}`; this loadbuild reads `{}`", file.display(), results.schema, model::RESULTS_SCHEMA));
    }
    Ok(results)
}
