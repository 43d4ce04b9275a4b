//! Built-in actions: work the engine does itself, writing into the node's `$OUT` like a command.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use crate::data::{self, Check, GenSpec, S3Target};

use serde::Serialize;

/// One dependency's outcome, as the summary lists it.
#[derive(Debug, Clone, Serialize)]
pub struct DepOutcome {
    pub node: String,
    pub status: &'static str,
    pub output: String,
}

/// A cell skipped on this backend, and the rule that says so.
#[derive(Debug, Clone, Serialize)]
pub struct SkippedCell {
    pub cell: String,
    pub reason: String,
    pub rule: String,
}

/// The input of the `summary` action.
#[derive(Debug, Clone, Serialize)]
pub struct SummaryInput {
    pub tier: String,
    pub backend: String,
    pub cells: usize,
    pub deps: Vec<DepOutcome>,
    pub skipped: Vec<SkippedCell>,
}

/// Writes `summary.json` and `summary.md` into `out`.
pub fn summary(input: &SummaryInput, out: &Path) -> std::io::Result<()> {
    std::fs::write(out.join("summary.json"), serde_json::to_vec_pretty(input).map_err(std::io::Error::other)?)?;
    let ok = input.deps.iter().filter(|d| d.status == "ok").count();
    let failed: Vec<&DepOutcome> = input.deps.iter().filter(|d| d.status != "ok").collect();
    let mut md = String::new();
    let _ = writeln!(md, "# loadbuild: tier `{}` on `{}`\n", input.tier, input.backend);
    let _ = writeln!(md, "| cells | outcomes ok | outcomes failed | cells skipped |\n|---|---|---|---|");
    let _ = writeln!(md, "| {} | {} | {} | {} |\n", input.cells, ok, failed.len(), input.skipped.len());
    if !failed.is_empty() {
        let _ = writeln!(md, "## Failed\n");
        for d in &failed {
            let _ = writeln!(md, "- `{}`", d.node);
        }
        md.push('\n');
    }
    if !input.skipped.is_empty() {
        let _ = writeln!(md, "## Skipped\n\n| cell | because | rule |\n|---|---|---|");
        for s in &input.skipped {
            let _ = writeln!(md, "| `{}` | {} | {} |", s.cell, s.reason, s.rule);
        }
        md.push('\n');
    }
    let _ = writeln!(md, "## Outcomes\n\n| node | status | output |\n|---|---|---|");
    for d in &input.deps {
        let _ = writeln!(md, "| `{}` | {} | `{}` |", d.node, d.status, &d.output[..12.min(d.output.len())]);
    }
    std::fs::write(out.join("summary.md"), md)
}

/// What the `dataset` action generates: target size and seed, from the rule's params.
pub fn dataset_spec(params: &BTreeMap<String, String>) -> Result<GenSpec, String> {
    let size = params.get("size").ok_or("the `dataset` action needs param `size`")?;
    let bytes = data::parse_size(size).map_err(|e| format!("param `size`: {e}"))?;
    let seed = match params.get("seed") {
        Some(s) => s.trim().parse().map_err(|_| format!("param `seed` must be a whole number, not `{s}`"))?,
        None => data::DEFAULT_SEED,
    };
    Ok(GenSpec::new(bytes, seed))
}

/// Generates the dataset into `out` (which the executor created empty).
pub fn dataset(spec: &GenSpec, out: &Path, cancel: &AtomicBool) -> Result<(), String> {
    data::generate_unless(spec, out, &|_| {}, cancel).map(|_| ()).map_err(|e| e.to_string())
}

/// Uploads the dataset in `dataset_dir` and writes `receipt.json` into `out`.
pub fn upload(params: &BTreeMap<String, String>, dataset_dir: &Path, out: &Path, cancel: &AtomicBool) -> Result<(), String> {
    let bucket = params.get("bucket").ok_or("the `upload` action needs param `bucket`")?;
    let prefix = params.get("prefix").map_or("datasets", String::as_str);
    let target = match params.get("endpoint") {
        Some(e) => S3Target::new(e, bucket, prefix),
        None => S3Target::from_env(bucket, prefix),
    }
    .map_err(|e| e.to_string())?;
    let manifest = data::verify(dataset_dir, Check::Sizes).map_err(|e| e.to_string())?;
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| format!("starting the upload runtime: {e}"))?;
    let receipt = runtime.block_on(data::upload_unless(dataset_dir, &manifest, &target, cancel)).map_err(|e| e.to_string())?;
    // Only what identifies the upload: how many files it sent this time is not an output.
    let json = serde_json::json!({ "url": receipt.url, "prefix": receipt.prefix, "dataset": manifest.digest, "endpoint": target.endpoint });
    std::fs::write(out.join("receipt.json"), serde_json::to_vec_pretty(&json).expect("JSON values serialize")).map_err(|e| e.to_string())
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
