//! Built-in actions: work the engine does itself, writing into the node's `$OUT` like a command.

use std::fmt::Write as _;
use std::path::Path;

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
