//! What a node's work is and how a worker performs it: [`make_work`] prepares a command, a
//! render or a built-in action from the plan and the dependencies' outputs; [`perform`] runs it
//! (attempts, retries) and puts the output into the store. The scheduling loop is in `mod.rs`.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use minijinja::Value;

use crate::actions::{self, DepOutcome, SkippedCell, SummaryInput};
use crate::backend::services::{self, Services};
use crate::backend::{Backend, CommandJob, Exit, tail, toolchain};
use crate::graph::NodeIx;
use crate::hash::Digest;
use crate::plan::{self, Ctx, Plan};
use crate::rules::{Action, OnFailure, PerDim};
use crate::store::objects;
use crate::store::{Status, Tree, remove_tree};

use super::log_path;

pub(super) enum Work {
    Command {
        job: CommandJob,
        retries: u32,
        transient: Vec<i32>,
        on_failure: OnFailure,
        outputs: Vec<String>,
        /// Service dependencies: node id and output directory (its specification).
        services: Vec<(String, PathBuf)>,
    },
    Builtin(Builtin),
    /// Rendering: its files are made in memory and handed to the store as they are.
    Render(crate::scenario::Job),
}

/// A built-in action, ready to run.
pub(super) enum Builtin {
    Summary(SummaryInput),
    Report(Box<crate::report::ReportJob>),
    Dataset(crate::data::GenSpec),
    Upload { params: BTreeMap<String, String>, dataset: PathBuf },
    Metrics { run: PathBuf, run_failed: bool, cell: String, history_server: Option<String> },
    Toolchain { spec: toolchain::Spec, base: PathBuf },
    Service(services::Spec),
}

impl Builtin {
    /// Writes the action's output into `out` (which exists and is empty). Long actions stop
    /// early once `cancel` is set (dataset generation checks it between batches of rows, an
    /// upload every 100 ms).
    fn run(self, out: &std::path::Path, cancel: &AtomicBool) -> Result<(), String> {
        match self {
            Builtin::Summary(input) => actions::summary(&input, out).map_err(|e| format!("writing the summary: {e}")),
            Builtin::Report(job) => crate::report::build(&job, out).map(|_| ()),
            Builtin::Dataset(spec) => actions::dataset(&spec, out, cancel),
            Builtin::Upload { params, dataset } => actions::upload(&params, &dataset, out, cancel),
            Builtin::Metrics { run, run_failed, cell, history_server } => {
                actions::metrics(&run, &cell, run_failed, history_server.as_deref(), out)
            }
            Builtin::Toolchain { spec, base } => toolchain::provision(&spec, &base, out),
            Builtin::Service(spec) => spec.write(out),
        }
    }
}

/// Stores a render's files once its checks have all passed.
pub(super) fn finish_render(
    layout: &crate::store::Layout,
    rendered: Result<crate::scenario::Rendered, String>,
) -> Result<(Tree, Status, u32), (String, Option<PathBuf>)> {
    let files = rendered.and_then(crate::scenario::Rendered::finish).map_err(|e| (e, None))?;
    // Written straight into the cache: the node's `out` directory is never made.
    let tree = objects::store(layout, files).map_err(|e| (e.to_string(), None))?;
    Ok((tree, Status::Ok, 1))
}

/// Runs one node's work in a worker thread: attempts, retries, ingestion.
pub(super) fn perform(
    layout: &crate::store::Layout,
    backend: &dyn Backend,
    servers: &Services,
    work: Work,
    out: PathBuf,
    cancel: &AtomicBool,
) -> Result<(Tree, Status, u32), (String, Option<PathBuf>)> {
    let fail = |e: String| (e, None);
    match work {
        Work::Render(job) => finish_render(layout, crate::scenario::prepare(&job, crate::scenario::Validation::Full)),
        Work::Builtin(builtin) => {
            let _ = remove_tree(&out);
            std::fs::create_dir_all(&out).map_err(|e| fail(e.to_string()))?;
            builtin.run(&out, cancel).map_err(fail)?;
            let tree = objects::ingest(layout, &out).map_err(|e| fail(e.to_string()))?;
            Ok((tree, Status::Ok, 1))
        }
        Work::Command { mut job, retries, transient, on_failure, outputs, services } => {
            for (id, spec) in &services {
                job.env.extend(servers.ensure(id, spec).map_err(fail)?);
            }
            let mut attempt = 0;
            loop {
                attempt += 1;
                // The command may record which try this is (a run's `result.json` does).
                job.env.retain(|(k, _)| k != "LOADBUILD_ATTEMPT");
                job.env.push(("LOADBUILD_ATTEMPT".into(), attempt.to_string()));
                let _ = remove_tree(&out);
                std::fs::create_dir_all(&out).map_err(|e| fail(format!("creating `{}`: {e}", out.display())))?;
                let exit = backend.run(&job, cancel);
                let is_transient = match &exit {
                    Exit::Code(c) => transient.contains(c),
                    Exit::SpawnFailed { transient, .. } => *transient,
                    _ => false,
                };
                if is_transient && attempt <= retries && !cancel.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(200 << (attempt - 1).min(6)));
                    continue;
                }
                let log = Some(job.log.clone());
                let status = match exit {
                    Exit::Success => Status::Ok,
                    Exit::Cancelled => return Err(("interrupted".into(), log)),
                    Exit::Code(_) | Exit::Signal(_) if on_failure == OnFailure::Record && !is_transient => Status::Failed,
                    Exit::Code(c) => {
                        let kind = if is_transient { format!("transient failure, {attempt} attempt(s)") } else { "exit status".into() };
                        return Err((format!("command failed ({kind} {c})\n{}", tail(&job.log, 15)), log));
                    }
                    Exit::Signal(s) => return Err((format!("command killed by signal {s}\n{}", tail(&job.log, 15)), log)),
                    Exit::TimedOut(t) => return Err((format!("timed out after {}", humantime::format_duration(t)), log)),
                    Exit::SpawnFailed { error, .. } => return Err((error, log)),
                };
                if status == Status::Ok
                    && let Some(missing) = outputs.iter().find(|o| !out.join(o).exists())
                {
                    return Err((format!("the command did not write its declared output `{missing}`"), log));
                }
                let tree = objects::ingest(layout, &out).map_err(|e| (e.to_string(), log.clone()))?;
                return Ok((tree, status, attempt));
            }
        }
    }
}

/// Renders a short inline template (a mutex name) against the node's context.
pub(super) fn render_inline(text: &str, base: impl FnOnce() -> BTreeMap<String, Value>) -> String {
    if !text.contains("{{") {
        return text.to_string();
    }
    let env = minijinja::Environment::new();
    env.render_str(text, Value::from(base())).unwrap_or_else(|_| text.to_string())
}

/// What the `report` action of node `n` reads: each cell of the tier with its per-cell
/// dependency (the one holding `metrics.json`) or its skip rule, and the shared inputs.
pub(super) fn report_job(ctx: &Ctx, n: NodeIx, outputs: &HashMap<NodeIx, (Digest, Status)>) -> crate::report::ReportJob {
    use crate::report::{CellJob, DepJob, ReportJob, model::DimensionInfo};
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
    let history = crate::report::HistoryStore::from_env(&settings.history_url_env, ctx.lf.root.join(&settings.history));
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

/// A path as commands see it: relative to the project root (their working directory) when
/// inside it, which keeps the command line of a node with 1,280 dependencies short.
pub(super) fn rel_to_root(ctx: &Ctx, p: &std::path::Path) -> String {
    p.strip_prefix(&ctx.lf.root).unwrap_or(p).to_string_lossy().into_owned()
}

/// Prepares what a worker needs to run node `n`.
pub(super) fn make_work(
    ctx: &Ctx,
    plan: &Plan,
    n: NodeIx,
    outputs: &HashMap<NodeIx, (Digest, Status)>,
    tmp_root: &std::path::Path,
) -> Result<Work, String> {
    let g = ctx.graph;
    let node = &g.nodes[n];
    let rule = &ctx.rules.rules[node.rule];
    match &rule.action {
        Action::Summary => {
            let deps = node
                .deps
                .iter()
                .map(|d| {
                    let (digest, status) = outputs[d];
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
            Ok(Work::Builtin(Builtin::Summary(SummaryInput {
                tier: g.tier.clone(),
                backend: g.backend.clone(),
                cells: node.cells.len(),
                deps,
                skipped,
            })))
        }
        Action::Report => Ok(Work::Builtin(Builtin::Report(Box::new(report_job(ctx, n, outputs))))),
        Action::Dataset => Ok(Work::Builtin(Builtin::Dataset(actions::dataset_spec(&plan.statics[&n].params)?))),
        Action::Render => Ok(Work::Render(crate::scenario::job(ctx, &plan.statics[&n], n)?)),
        Action::Upload => {
            let dataset = node
                .deps
                .iter()
                .find(|d| ctx.rules.rules[g.nodes[**d].rule].action == Action::Dataset)
                .ok_or_else(|| format!("rule `{}`: the `upload` action needs a dependency whose action is `dataset`", rule.name))?;
            Ok(Work::Builtin(Builtin::Upload { params: plan.statics[&n].params.clone(), dataset: ctx.layout.tree(&outputs[dataset].0) }))
        }
        Action::Metrics => {
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
            let (digest, status) = outputs[&run];
            let cell = ctx.lf.matrix.id(&g.cells[cell as usize]).0;
            // An empty URL (e.g. a template whose variable is unset for this backend) means none.
            let history_server = plan.statics[&n].params.get("history_server").filter(|u| !u.trim().is_empty()).cloned();
            Ok(Work::Builtin(Builtin::Metrics {
                run: ctx.layout.tree(&digest),
                run_failed: status == Status::Failed,
                cell,
                history_server,
            }))
        }
        Action::Toolchain => Ok(Work::Builtin(Builtin::Toolchain {
            spec: toolchain::Spec::from_params(&plan.statics[&n].params)?,
            base: toolchain::base(&ctx.layout.root),
        })),
        Action::Service => {
            let receipt = match node.deps.iter().find(|d| ctx.rules.rules[g.nodes[**d].rule].action == Action::Toolchain) {
                Some(d) => Some(toolchain::receipt(&ctx.layout.tree(&outputs[d].0))?),
                None => None,
            };
            Ok(Work::Builtin(Builtin::Service(services::Spec::from_params(&plan.statics[&n].params, receipt)?)))
        }
        Action::Command { .. } => {
            let statics = &plan.statics[&n];
            let out = std::path::absolute(tmp_root.join(n.to_string())).map_err(|e| e.to_string())?;
            let mut context = plan::base_context(ctx, n);
            context.insert("src".into(), Value::from(statics.src.clone()));
            let mut deps: BTreeMap<String, Value> = BTreeMap::new();
            for &dr in &rule.deps {
                let dep_rule = &ctx.rules.rules[dr];
                let single = dep_rule.per.iter().all(|p| rule.per.contains(p) || *p == PerDim::Tier);
                let paths: Vec<Value> = node
                    .deps
                    .iter()
                    .filter(|d| g.nodes[**d].rule == dr)
                    .map(|d| Value::from(rel_to_root(ctx, &ctx.layout.tree(&outputs[d].0))))
                    .collect();
                let v = if single && paths.len() == 1 { paths[0].clone() } else { Value::from(paths) };
                deps.insert(dep_rule.name.clone(), v);
            }
            context.insert("deps".into(), Value::from(deps));
            context.insert("out".into(), Value::from(out.to_string_lossy().into_owned()));
            let script = ctx
                .templates
                .command(&rule.name, &Value::from(context))
                .map_err(|e| format!("rendering the command of rule `{}`: {e}", rule.name))?;
            let job = CommandJob {
                node: node.id.clone(),
                script,
                out,
                cwd: ctx.lf.root.clone(),
                env: vec![
                    ("LOADBUILD_ROOT".into(), std::path::absolute(&ctx.lf.root).unwrap_or_default().to_string_lossy().into_owned()),
                    ("LOADBUILD_TOOLCHAINS".into(), toolchain::base(&ctx.layout.root).to_string_lossy().into_owned()),
                ],
                log: log_path(ctx, n),
                timeout: rule.timeout,
            };
            Ok(Work::Command {
                job,
                retries: rule.retries,
                transient: rule.transient_exit_codes.clone(),
                on_failure: rule.on_failure,
                outputs: rule.outputs.clone(),
                services: node
                    .deps
                    .iter()
                    .filter(|d| ctx.rules.rules[g.nodes[**d].rule].action == Action::Service)
                    .map(|d| (g.nodes[*d].id.clone(), ctx.layout.tree(&outputs[d].0)))
                    .collect(),
            })
        }
    }
}
