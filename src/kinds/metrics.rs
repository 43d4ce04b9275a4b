//! The `metrics` kind: reads its cell's `run` output (`result.json`, `eventlog/`) and writes
//! `metrics.json` (docs/runs.md, `src/metrics/`); one node per cell, exactly one dependency.
//! Param `history_server` (optional): a History Server URL to fetch the application from when
//! the run copied no event log.

use std::path::Path;

use crate::kind::{Ctx, Kind, Prepare, Work};
use crate::rules::Params;
use crate::store::Status;

/// The `metrics` action.
pub struct Metrics;

impl Kind for Metrics {
    fn params(&self) -> Params {
        (&[], &["history_server"])
    }

    fn version(&self) -> String {
        // The parser's reading of event logs and the file it writes.
        format!("metrics parser {} file {}", crate::metrics::PARSER_VERSION, crate::metrics::run::SCHEMA)
    }

    fn prepare(&self, ctx: &Ctx, job: &Prepare) -> Result<Work, String> {
        let g = ctx.graph;
        let node = &g.nodes[job.n];
        let rule = &ctx.rules.rules[node.rule];
        let (&[run], &[cell]) = (node.deps.as_slice(), node.cells.as_slice()) else {
            return Err(format!(
                "rule `{}`: the `metrics` action needs one node per cell (`per` = every dimension) and exactly one \
                 dependency, its cell's run; node `{}` serves {} cell(s) and has {} dependencies",
                rule.name,
                node.id,
                node.cells.len(),
                node.deps.len()
            ));
        };
        let (digest, status) = job.outputs[&run];
        let cell = ctx.lf.matrix.id(&g.cells[cell as usize]).0;
        // An empty URL (e.g. a template whose variable is unset for this backend) means none.
        let history_server = job.statics.params.get("history_server").filter(|u| !u.trim().is_empty()).cloned();
        let (run, run_failed) = (ctx.layout.tree(&digest), status == Status::Failed);
        Ok(Work::Builtin(Box::new(move |out, _| metrics(&run, &cell, run_failed, history_server.as_deref(), out))))
    }
}

/// Writes `metrics.json` for `cell` from its run's output directory `run` (docs/runs.md);
/// `run_failed` is whether the run's outcome was recorded as failed. `history_server` is where
/// to fetch the application when the run copied no event log (remote backends).
pub fn metrics(run: &Path, cell: &str, run_failed: bool, history_server: Option<&str>, out: &Path) -> Result<(), String> {
    use crate::metrics::history::HistoryServer;
    use crate::metrics::run::{METRICS_FILE, metrics_of_run};
    let history = history_server.map(|url| HistoryServer::new(url, std::time::Duration::from_secs(600)));
    let file = metrics_of_run(run, cell, run_failed, history.as_ref()).map_err(|e| format!("metrics of cell `{cell}`: {e}"))?;
    let json = serde_json::to_vec_pretty(&file).map_err(|e| e.to_string())?;
    std::fs::write(out.join(METRICS_FILE), json).map_err(|e| format!("writing `{METRICS_FILE}`: {e}"))
}
