//! The `report` kind: judges the tier's cells from their dependencies' `metrics.json` against
//! the baselines and history, and writes the report files (`src/report/`, docs/reports.md).
//! Its key covers its cells, the `[report]` settings and the baseline file, not the history.

use std::collections::{BTreeMap, HashMap};

use crate::graph::NodeIx;
use crate::hash::Digest;
use crate::kind::{Ctx, Kind, Prepare, Work};
use crate::report::{CellJob, DepJob, HistoryStore, ReportJob, model::DimensionInfo};
use crate::store::Status;

/// The `report` action.
pub struct Report;

impl Kind for Report {
    fn version(&self) -> String {
        format!("report {}", crate::report::REPORT_VERSION)
    }

    fn key_inputs(
        &self,
        ctx: &Ctx,
        n: NodeIx,
        _sources: &[(String, String)],
        digest: &mut dyn FnMut(&str) -> Result<Digest, String>,
        inputs: &mut BTreeMap<String, Digest>,
    ) -> Result<(), String> {
        report_statics(ctx, n, digest, inputs)
    }

    fn prepare(&self, ctx: &Ctx, job: &Prepare) -> Result<Work, String> {
        let report = report_job(ctx, job.n, job.outputs);
        Ok(Work::Builtin(Box::new(move |out, _| crate::report::build(&report, out).map(|_| ()))))
    }
}

/// What a report reads besides its dependencies: its cells (ids, names, skips with their rules),
/// the `[report]` settings, the project name and the baseline file. The history is not an
/// input: the report itself appends to it, and CI cache keys must not depend on it
/// (`docs/reports.md`, "The report node").
fn report_statics(
    ctx: &Ctx,
    n: NodeIx,
    digest: &mut dyn FnMut(&str) -> Result<Digest, String>,
    inputs: &mut BTreeMap<String, Digest>,
) -> Result<(), String> {
    let node = &ctx.graph.nodes[n];
    let m = &ctx.lf.matrix;
    type CellKey<'s> = (String, String, Option<(&'s str, &'s str)>);
    let cells: Vec<CellKey> = node
        .cells
        .iter()
        .map(|&c| {
            let cell = &ctx.graph.cells[c as usize];
            let skip = ctx.graph.cell_skips[c as usize].as_ref().map(|s| (s.reason.as_str(), s.rule.as_str()));
            (m.id(cell).0, m.name(cell), skip)
        })
        .collect();
    inputs.insert("cells".into(), Digest::of("loadbuild 2026-11 report cells", &(&ctx.lf.name, &cells)));
    let settings = crate::report::settings_key(&ctx.lf.report);
    inputs.insert("settings".into(), Digest::of("loadbuild 2026-11 report settings", &settings));
    let baseline = ctx.lf.report.baseline_file(&ctx.graph.backend).to_string_lossy().into_owned();
    let digest =
        if ctx.lf.root.join(&baseline).is_file() { digest(&baseline)? } else { Digest::of("loadbuild 2026-11 absent", baseline.as_str()) };
    inputs.insert("baselines".into(), digest);
    Ok(())
}

/// What the `report` action of node `n` reads: each cell of the tier with its per-cell
/// dependency (the one holding `metrics.json`) or its skip rule, and the shared inputs.
fn report_job(ctx: &Ctx, n: NodeIx, outputs: &HashMap<NodeIx, (Digest, Status)>) -> ReportJob {
    let g = ctx.graph;
    let m = &ctx.lf.matrix;
    let node = &g.nodes[n];
    // Per cell and repetition set, the per-cell dependency holding `metrics.json`.
    let mut per_cell: HashMap<u32, std::collections::BTreeMap<u32, DepJob>> = HashMap::new();
    let mut shared: Vec<(&crate::graph::Node, String)> = Vec::new();
    for &d in &node.deps {
        let dn = &g.nodes[d];
        let (digest, status) = outputs[&d];
        if let [only] = dn.cells.as_slice()
            && dn.binding.len() >= m.dims.len()
        {
            let dir = ctx.layout.tree(&digest);
            let set = dn.binding.iter().find(|(k, _)| k == "set").and_then(|(_, v)| v.parse().ok()).unwrap_or(1);
            let job = DepJob { node: dn.id.clone(), digest: digest.to_hex(), failed: status == Status::Failed, dir };
            // A cell may have several per-cell dependencies; the one with `metrics.json` wins.
            let sets = per_cell.entry(*only).or_default();
            let better = sets.get(&set).is_none_or(|old| !old.dir.join("metrics.json").is_file() && job.dir.join("metrics.json").is_file());
            if better {
                sets.insert(set, job);
            }
        } else {
            shared.push((dn, digest.to_hex()));
        }
    }
    let dimensions = m
        .dims
        .iter()
        .enumerate()
        .map(|(di, d)| {
            let used: std::collections::BTreeSet<u16> = node.cells.iter().map(|&c| g.cells[c as usize].0[di]).collect();
            DimensionInfo { name: d.name.clone(), values: used.iter().map(|&v| d.values[v as usize].clone()).collect() }
        })
        .collect();
    let cells = node
        .cells
        .iter()
        .map(|&c| {
            let cell = &g.cells[c as usize];
            let dims: Vec<(String, String)> = m.pairs(cell).map(|(k, v)| (k.to_string(), v.to_string())).collect();
            let inputs = shared
                .iter()
                .filter(|(dn, _)| dn.binding.iter().all(|(k, v)| dims.iter().any(|(dk, dv)| dk == k && dv == v)))
                .map(|(dn, digest)| (dn.id.clone(), digest.clone()))
                .collect();
            CellJob {
                id: m.id(cell).0,
                name: m.name(cell),
                values: cell.0.to_vec(),
                skip: g.cell_skips[c as usize].as_ref().map(|s| (s.reason.clone(), s.rule.clone())),
                deps: per_cell.remove(&c).map(|sets| sets.into_values().collect()).unwrap_or_default(),
                dims,
                inputs,
            }
        })
        .collect();
    let settings = ctx.lf.report.clone();
    let history = HistoryStore::from_env(&settings.history_url_env, ctx.lf.root.join(&settings.history));
    ReportJob {
        root: ctx.lf.root.clone(),
        project: ctx.lf.name.clone(),
        tier: g.tier.clone(),
        backend: g.backend.clone(),
        dimensions,
        cells,
        settings,
        history,
    }
}
