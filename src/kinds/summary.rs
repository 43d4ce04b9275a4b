//! The `summary` kind: writes a plain summary (`summary.json`, `summary.md`) of the outcomes of
//! its dependencies and of the cells skipped on this backend. Which cells are skipped, and why,
//! is part of its key.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::graph::NodeIx;
use crate::hash::Digest;
use crate::kind::{Ctx, Kind, Prepare, Work};
use crate::store::Status;

/// The `summary` action.
pub struct Summary;

impl Kind for Summary {
    fn version(&self) -> String {
        "summary 1".into()
    }

    fn key_inputs(
        &self,
        ctx: &Ctx,
        n: NodeIx,
        _sources: &[(String, String)],
        _digest: &mut dyn FnMut(&str) -> Result<Digest, String>,
        inputs: &mut BTreeMap<String, Digest>,
    ) -> Result<(), String> {
        // The summary lists skipped cells, so which cells are skipped, and why, is an input.
        let skips: Vec<(String, String)> = ctx.graph.nodes[n]
            .cells
            .iter()
            .filter_map(|&c| {
                ctx.graph.cell_skips[c as usize].as_ref().map(|s| (ctx.lf.matrix.id(&ctx.graph.cells[c as usize]).0, s.reason.clone()))
            })
            .collect();
        inputs.insert("skips".into(), Digest::of("loadbuild 2026-11 skips", &skips));
        Ok(())
    }

    fn prepare(&self, ctx: &Ctx, job: &Prepare) -> Result<Work, String> {
        let g = ctx.graph;
        let node = &g.nodes[job.n];
        let deps = node
            .deps
            .iter()
            .map(|d| {
                let (digest, status) = job.outputs[d];
                DepOutcome {
                    node: g.nodes[*d].id.clone(),
                    status: if status == Status::Ok { "ok" } else { "failed" },
                    output: digest.to_hex(),
                }
            })
            .collect();
        let skipped = node
            .cells
            .iter()
            .filter_map(|&c| {
                g.cell_skips[c as usize].as_ref().map(|s| SkippedCell {
                    cell: ctx.lf.matrix.id(&g.cells[c as usize]).0,
                    reason: s.reason.clone(),
                    rule: s.rule.clone(),
                })
            })
            .collect();
        let input = SummaryInput { tier: g.tier.clone(), backend: g.backend.clone(), cells: node.cells.len(), deps, skipped };
        Ok(Work::Builtin(Box::new(move |out, _| summary(&input, out).map_err(|e| format!("writing the summary: {e}")))))
    }
}

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
