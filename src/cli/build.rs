//! Subcommands that plan or build: `report`, `build`, `plan`, `why`, `invalidate`, `hash`, `graph`.

use std::collections::{BTreeMap, HashMap};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use clap::{Args, ValueEnum};

use super::session::Session;
use super::{CmdResult, EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, Failure, Selection};
use crate::backend;
use crate::diag::SourceFile;
use crate::exec::{self, ExecConfig, Executed, Outcome};
use crate::graph::{Graph, NodeIx};
use crate::hash::Digest;
use crate::matrix::Selector;
use crate::observe::{self, Sources};
use crate::plan::{Plan, Stale, State};
use crate::rules::parse_bytes;
use crate::schedule::Budget;
use crate::store::{Index, Journal, Lock, Record, StatCache, Status};

/// The cells, tier and backend a command works on.
#[derive(Args, Debug, Clone)]
pub struct Scope {
    #[command(flatten)]
    pub(super) sel: Selection,
    /// Backend that runs commands, whose skip rules apply [default: the Loadfile's `project.backend`]
    #[arg(long, value_name = "NAME")]
    pub(super) backend: Option<String>,
}

impl Scope {
    fn graph(&self, s: &Session) -> Result<Graph, Failure> {
        self.graph_with_sets(s, &Default::default())
    }

    /// The graph with `extra_sets[cell] = k` further repetition sets (`report --adaptive`).
    fn graph_with_sets(&self, s: &Session, extra_sets: &rustc_hash::FxHashMap<u32, u32>) -> Result<Graph, Failure> {
        s.graph_with_sets(&self.sel, &self.backend.clone().unwrap_or_else(|| s.lf.default_backend.clone()), extra_sets)
    }
}

/// How to run a build.
#[derive(Args, Debug, Clone)]
pub struct RunOpts {
    #[command(flatten)]
    pub(super) scope: Scope,
    /// Cores the build may use at once [default: all]
    #[arg(long, short = 'j', value_name = "N")]
    jobs: Option<u32>,
    /// Memory the build may use at once, e.g. `16GiB` [default: unlimited]
    #[arg(long, value_name = "SIZE")]
    memory: Option<String>,
    /// Keep building what does not depend on a failed node
    #[arg(long, short = 'k')]
    keep_going: bool,
    /// Refuse at once, instead of waiting, when another loadbuild holds the cache
    #[arg(long)]
    no_wait: bool,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    #[command(flatten)]
    run: RunOpts,
    /// Where to publish the report's files (replaced whole, only after a complete build)
    #[arg(long, value_name = "DIR", default_value = "report")]
    out: PathBuf,
    /// Do not record this report in the history (e.g. for a local experiment)
    #[arg(long)]
    no_history: bool,
    /// Give inconclusive cells more samples in this build: each gets another repetition set
    /// (one more Spark application) and the report is judged again, until no cell that more
    /// samples could settle is inconclusive or `[report] max_repetition_sets` is reached
    #[arg(long)]
    adaptive: bool,
    /// Fail (exit 1) when a cell is inconclusive, as `[report] fail_on_inconclusive = true`
    /// does: "could not tell" then fails CI like a regression
    #[arg(long)]
    fail_on_inconclusive: bool,
}

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// Node ids (`dataset[1gb]`) or rule names (`run`: all of its nodes in the selection)
    #[arg(required = true, value_name = "TARGET")]
    targets: Vec<String>,
    #[command(flatten)]
    run: RunOpts,
}

#[derive(Args, Debug)]
pub struct PlanArgs {
    /// Targets to plan [default: the report]
    #[arg(value_name = "TARGET")]
    targets: Vec<String>,
    #[command(flatten)]
    scope: Scope,
    /// Give the reason for every stale or skipped node
    #[arg(long)]
    explain: bool,
    /// Print every node as JSON: id, kind (its rule), state and reason
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct WhyArgs {
    /// The node, e.g. `run[4.1.1/airflow/standalone/none/read/1gb]`
    node: String,
    #[command(flatten)]
    scope: Scope,
}

#[derive(Args, Debug)]
pub struct InvalidateArgs {
    /// A selector (`op=join,size=1gb`), a cell id or a cell name
    selector: String,
    /// Only this rule's nodes [default: the nodes of each selected cell]
    #[arg(long, value_name = "RULE")]
    rule: Option<String>,
    #[arg(long)]
    no_wait: bool,
}

#[derive(Args, Debug)]
pub struct HashArgs {
    /// Targets [default: the report]
    #[arg(value_name = "TARGET")]
    targets: Vec<String>,
    #[command(flatten)]
    scope: Scope,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum GraphFormat {
    Dot,
    Json,
}

#[derive(Args, Debug)]
pub struct GraphArgs {
    #[arg(long, value_enum, default_value = "dot")]
    format: GraphFormat,
    #[command(flatten)]
    scope: Scope,
}

pub(super) fn plan_for(s: &Session, graph: &Graph, targets: &[NodeIx], stat: &mut StatCache) -> Result<(Index, Plan), Failure> {
    let ctx = s.ctx(graph);
    let mut sources = Sources::new(&s.lf.root, stat);
    // The journal is read while the nodes' static inputs are worked out, which need no index.
    let (index, statics) = std::thread::scope(|scope| {
        let reading = scope.spawn(|| Index::load(&s.layout.journal()));
        let statics = observe::plan_statics(&ctx, targets, &mut sources);
        (reading.join().expect("reading the journal does not panic"), statics)
    });
    let index = index?;
    let plan = observe::plan_from(&ctx, statics?, &index);
    Ok((index, plan))
}

/// Plans and executes `targets`; returns the execution and the graph.
fn run_build(s: &Session, graph: &Graph, targets: &[NodeIx], opts: &RunOpts) -> Result<(Executed, Plan), Failure> {
    let backend = backend::by_name(&graph.backend).map_err(|e| Failure::with_code(EXIT_BAD_INPUT, e))?;
    run_build_on(s, graph, targets, opts, backend.as_ref())
}

/// [`run_build`] with the backend that runs commands given (`render` builds only built-in nodes).
pub(super) fn run_build_on(
    s: &Session,
    graph: &Graph,
    targets: &[NodeIx],
    opts: &RunOpts,
    backend: &dyn backend::Backend,
) -> Result<(Executed, Plan), Failure> {
    let memory = match &opts.memory {
        Some(m) => parse_bytes(m).ok_or_else(|| Failure::input(format!("`--memory {m}` is not a size; write e.g. `16GiB`")))?,
        None => 0,
    };
    let cores = opts.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get() as u32)).max(1);
    let _lock = Lock::acquire(&s.layout.lock_file(), !opts.no_wait).map_err(crate::store::StoreError::from)?;
    s.layout.prepare()?;
    let mut stat = StatCache::load(&s.layout.stat_cache());
    let (mut index, plan) = plan_for(s, graph, targets, &mut stat)?;
    let mut journal = Journal::open(&s.layout.journal(), &index)?;
    let cancel = if plan.stale_count() > 0 { interrupt_flag() } else { Arc::new(AtomicBool::new(false)) };
    let cfg = ExecConfig { budget: Budget { cores, memory }, keep_going: opts.keep_going, progress: std::io::stderr().is_terminal() };
    let ctx = s.ctx(graph);
    let executed = exec::execute(&ctx, &plan, &mut index, &mut journal, backend, &cfg, &cancel)?;
    stat.save(&s.layout.stat_cache())?;
    if index.wants_compaction() {
        index.compact(&s.layout.journal(), &|_| true)?;
    }
    Ok((executed, plan))
}

/// The flag Ctrl-C sets, shared by every build of this process (`report --adaptive` runs
/// several): a handler can be installed only once.
fn interrupt_flag() -> Arc<AtomicBool> {
    static FLAG: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();
    Arc::clone(FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let c = Arc::clone(&flag);
        // A library caller may already have a handler; then Ctrl-C is theirs to handle.
        let _ = ctrlc::set_handler(move || c.store(true, std::sync::atomic::Ordering::SeqCst));
        flag
    }))
}

/// One line per outcome worth mentioning, and a count of the rest, on stderr.
pub(super) fn print_outcomes(graph: &Graph, plan: &Plan, ex: &Executed) -> u8 {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for n in &plan.order {
        let what = match &ex.outcomes[n] {
            Outcome::Fresh => "fresh",
            Outcome::Cutoff => "fresh after rebuild of dependencies",
            Outcome::Built { status: Status::Ok, .. } => "built",
            Outcome::Built { status: Status::Failed, .. } => "failed (recorded)",
            Outcome::Failed { .. } => "failed",
            Outcome::Skipped(_) => "skipped",
            Outcome::Blocked { .. } => "blocked by a failure",
            Outcome::NotRun => "not run",
        };
        *counts.entry(what).or_default() += 1;
    }
    let line = counts.iter().map(|(k, v)| format!("{v} {k}")).collect::<Vec<_>>().join(", ");
    eprintln!("loadbuild: {} node(s) on `{}`: {line}", plan.order.len(), graph.backend);
    if ex.interrupted {
        eprintln!("loadbuild: interrupted; finished nodes are recorded, nothing partial was kept");
        EXIT_INTERRUPTED
    } else if ex.failed() > 0 {
        EXIT_FAILED
    } else {
        EXIT_OK
    }
}

pub fn build(loadfile: Option<PathBuf>, a: BuildArgs) -> CmdResult {
    let s = Session::open(loadfile)?;
    let graph = a.run.scope.graph(&s)?;
    let targets = s.targets(&graph, &a.targets)?;
    let (ex, plan) = run_build(&s, &graph, &targets, &a.run)?;
    let code = print_outcomes(&graph, &plan, &ex);
    let mut out = std::io::stdout().lock();
    for t in targets {
        if let Some(d) = ex.outputs.get(&t) {
            let _ = writeln!(out, "{}\t{}", graph.nodes[t].id, std::path::absolute(s.layout.tree(d)).unwrap_or_default().display());
        }
    }
    Ok(code)
}

pub fn report(loadfile: Option<PathBuf>, a: ReportArgs) -> CmdResult {
    let s = Session::open(loadfile)?;
    // Extra repetition sets per cell index: `[report] applications − 1` for every cell (each
    // set is one more fresh Spark application), grown by `--adaptive` round by round.
    let mut extra_sets: rustc_hash::FxHashMap<u32, u32> = Default::default();
    let mut checked_baseline = false;
    let (code, built) = loop {
        let mut graph = a.run.scope.graph_with_sets(&s, &extra_sets)?;
        if extra_sets.is_empty() && s.lf.report.applications > 1 {
            extra_sets = (0..graph.cells.len() as u32).map(|c| (c, s.lf.report.applications - 1)).collect();
            graph = a.run.scope.graph_with_sets(&s, &extra_sets)?;
        }
        if !checked_baseline {
            // A malformed baseline is bad input (exit 2, with the file and line), found before
            // any Spark application runs rather than as a failed report node.
            let rel = s.lf.report.baseline_file(&graph.backend);
            crate::report::baseline::load(&s.lf.root.join(&rel))
                .map_err(|e| Failure::input(format!("{e}\n  = help: fix `{}`, or restore it from version control", rel.display())))?;
            checked_baseline = true;
        }
        let targets = s.report_targets(&graph)?;
        let (ex, plan) = run_build(&s, &graph, &targets, &a.run)?;
        let code = print_outcomes(&graph, &plan, &ex);
        let built = targets.first().and_then(|t| ex.outputs.get(t)).copied();
        if !a.adaptive || ex.interrupted {
            break (code, built);
        }
        let Some(digest) = built else { break (code, built) };
        let results = crate::report::read_results(&s.layout.tree(&digest)).map_err(|e| Failure::with_code(EXIT_FAILED, e))?;
        let grown = more_sets(&s, &graph, &results.rerun, &mut extra_sets);
        if grown.is_empty() {
            if !results.rerun.is_empty() {
                eprintln!(
                    "loadbuild: adaptive: {} cell(s) stay inconclusive at {} repetition set(s) (`[report] max_repetition_sets`)",
                    results.rerun.len(),
                    s.lf.report.max_repetition_sets
                );
            }
            break (code, built);
        }
        eprintln!("loadbuild: adaptive: {} inconclusive cell(s) get another repetition set: {}", grown.len(), grown.join(", "));
    };
    let Some(digest) = built else {
        eprintln!("loadbuild: the report was not built, so `{}` is left as it was", a.out.display());
        return Ok(code.max(EXIT_FAILED));
    };
    let out = if a.out.is_absolute() { a.out.clone() } else { s.lf.root.join(&a.out) };
    publish(&s.layout.tree(&digest), &out)
        .map_err(|e| Failure::with_code(EXIT_FAILED, format!("publishing the report to `{}`: {e}", out.display())))?;
    if let Ok(md) = std::fs::read_to_string(out.join("summary.md")) {
        print!("{md}");
    }
    eprintln!("loadbuild: report in `{}`", out.display());
    Ok(code.max(super::verdicts::after_publish(&s, &out, !a.no_history, a.fail_on_inconclusive)?))
}

/// Gives each cell of `rerun` one more repetition set, up to `[report] max_repetition_sets`;
/// returns the ids of the cells that got one.
fn more_sets(s: &Session, graph: &Graph, rerun: &[String], extra_sets: &mut rustc_hash::FxHashMap<u32, u32>) -> Vec<String> {
    let mut grown = Vec::new();
    for (c, cell) in graph.cells.iter().enumerate() {
        let id = s.lf.matrix.id(cell).0;
        if !rerun.contains(&id) {
            continue;
        }
        let extra = extra_sets.entry(c as u32).or_default();
        if *extra + 1 < s.lf.report.max_repetition_sets.max(s.lf.report.applications) {
            *extra += 1;
            grown.push(id);
        }
    }
    grown
}

/// Copies a report tree to `dest` as a whole: a new directory renamed into place.
fn publish(tree: &std::path::Path, dest: &std::path::Path) -> std::io::Result<()> {
    let staging =
        dest.with_file_name(format!(".{}.tmp-{}", dest.file_name().map_or("report".into(), |n| n.to_string_lossy()), std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    copy_dir(tree, &staging)?;
    let old =
        dest.with_file_name(format!(".{}.old-{}", dest.file_name().map_or("report".into(), |n| n.to_string_lossy()), std::process::id()));
    if dest.exists() {
        std::fs::rename(dest, &old)?;
    }
    std::fs::rename(&staging, dest)?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let dest = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &dest)?;
        } else {
            std::fs::copy(e.path(), &dest)?;
            std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o644))?;
        }
    }
    Ok(())
}

fn state_word(s: &State) -> &'static str {
    match s {
        State::Fresh { .. } => "fresh",
        State::Stale(_) => "stale",
        State::Skipped(_) => "skipped",
    }
}

fn reason(s: &State) -> String {
    match s {
        State::Fresh { .. } => String::new(),
        State::Stale(st) => st.to_string(),
        State::Skipped(sk) => format!("{} (skip rule {})", sk.reason, sk.rule),
    }
}

pub fn plan(loadfile: Option<PathBuf>, a: PlanArgs) -> CmdResult {
    let s = Session::open(loadfile)?;
    let graph = a.scope.graph(&s)?;
    let targets = if a.targets.is_empty() { s.report_targets(&graph)? } else { s.targets(&graph, &a.targets)? };
    let mut stat = StatCache::load(&s.layout.stat_cache());
    let (_, plan) = plan_for(&s, &graph, &targets, &mut stat)?;
    let mut out = std::io::stdout().lock();
    if a.json {
        let nodes: Vec<serde_json::Value> = plan
            .order
            .iter()
            .map(|n| {
                let st = &plan.states[n];
                serde_json::json!({
                    "id": graph.nodes[*n].id,
                    "kind": s.rules.rules[graph.nodes[*n].rule].name,
                    "state": state_word(st),
                    "reason": match st { State::Fresh { .. } => serde_json::Value::Null, _ => reason(st).into() },
                    // Where a fresh node's output is, for people and scripts that want to read it.
                    "output": match st {
                        State::Fresh { output, .. } => s.layout.tree(output).to_string_lossy().into_owned().into(),
                        _ => serde_json::Value::Null,
                    },
                })
            })
            .collect();
        let _ = writeln!(out, "{}", serde_json::to_string_pretty(&nodes).expect("JSON values serialize"));
        return Ok(EXIT_OK);
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for n in &plan.order {
        let st = &plan.states[n];
        *counts.entry(state_word(st)).or_default() += 1;
        if matches!(st, State::Fresh { .. }) && !a.explain {
            continue;
        }
        if a.explain {
            let _ = writeln!(out, "{:<7} {}  {}", state_word(st), graph.nodes[*n].id, reason(st));
        } else {
            let _ = writeln!(out, "{:<7} {}", state_word(st), graph.nodes[*n].id);
        }
    }
    let summary = counts.iter().map(|(k, v)| format!("{v} {k}")).collect::<Vec<_>>().join(", ");
    eprintln!("loadbuild: tier `{}` on `{}`: {} node(s): {summary}", graph.tier, graph.backend, plan.order.len());
    Ok(EXIT_OK)
}

pub fn why(loadfile: Option<PathBuf>, a: WhyArgs) -> CmdResult {
    let s = Session::open(loadfile)?;
    let graph = a.scope.graph(&s)?;
    let targets = s.targets(&graph, std::slice::from_ref(&a.node))?;
    let mut stat = StatCache::load(&s.layout.stat_cache());
    let (_, plan) = plan_for(&s, &graph, &targets, &mut stat)?;
    let mut out = std::io::stdout().lock();
    let mut n = targets[0];
    let mut depth = 0;
    loop {
        let st = &plan.states[&n];
        let pad = "  ".repeat(depth);
        let because = if depth == 0 { "" } else { "because " };
        match st {
            State::Fresh { key, output } => {
                let _ = writeln!(out, "{pad}{because}{} is fresh (key {}, output {})", graph.nodes[n].id, key.short(), output.short());
            }
            _ => {
                let _ = writeln!(out, "{pad}{because}{} is {}: {}", graph.nodes[n].id, state_word(st), reason(st));
            }
        }
        match st {
            State::Stale(Stale::DepWillRebuild { dep }) => {
                n = graph.node(dep).expect("a dependency in the plan is in the graph");
                depth += 1;
            }
            _ => break,
        }
    }
    Ok(EXIT_OK)
}

pub fn invalidate(loadfile: Option<PathBuf>, a: InvalidateArgs) -> CmdResult {
    let s = Session::open(loadfile)?;
    let m = &s.lf.matrix;
    let selector = match m.find(&a.selector) {
        Some(cell) => {
            let mut sel = Selector::all();
            for (d, v) in cell.0.iter().enumerate() {
                sel.constrain(d, vec![*v]);
            }
            sel
        }
        None => Selector::parse(&a.selector, m, &SourceFile::new("selector", a.selector.clone()), 0)?,
    };
    // Over the whole matrix, so any cell can be invalidated whatever the default tier.
    let graph = crate::graph::build(&s.lf, &s.rules, m.cells(), &s.lf.default_tier, &s.lf.default_backend);
    let rule = match &a.rule {
        Some(r) => Some(s.rules.get(r).ok_or_else(|| Failure::input(format!("unknown rule `{r}`")))?.0),
        None => None,
    };
    let chosen: Vec<NodeIx> = (0..graph.nodes.len())
        .filter(|&n| {
            let node = &graph.nodes[n];
            let per_cell = node.cells.len() == 1 && node.binding.len() >= m.dims.len();
            rule.map_or(per_cell, |r| node.rule == r)
                && !node.cells.is_empty()
                && node.cells.iter().all(|&c| selector.matches(&graph.cells[c as usize].0))
        })
        .collect();
    if chosen.is_empty() {
        return Err(Failure::input(format!("`{}` selects no node to invalidate", a.selector)));
    }
    let _lock = Lock::acquire(&s.layout.lock_file(), !a.no_wait).map_err(crate::store::StoreError::from)?;
    s.layout.prepare()?;
    let index = Index::load(&s.layout.journal())?;
    let mut journal = Journal::open(&s.layout.journal(), &index)?;
    let mut out = std::io::stdout().lock();
    for &n in &chosen {
        journal.append(&Record::Invalidated { node: graph.nodes[n].id.clone() })?;
        let _ = writeln!(out, "{}", graph.nodes[n].id);
    }
    journal.sync()?;
    eprintln!("loadbuild: {} node(s) will run again on the next build", chosen.len());
    Ok(EXIT_OK)
}

pub fn hash(loadfile: Option<PathBuf>, a: HashArgs) -> CmdResult {
    let s = Session::open(loadfile)?;
    let graph = a.scope.graph(&s)?;
    let targets = if a.targets.is_empty() { s.report_targets(&graph)? } else { s.targets(&graph, &a.targets)? };
    let ctx = s.ctx(&graph);
    let mut stat = StatCache::load(&s.layout.stat_cache());
    let mut sources = Sources::new(&s.lf.root, &mut stat);
    // Every static input of every node in the closure, in topological order: what a CI cache
    // key must cover. Dependency outputs follow from these, so they are not needed.
    type Part = (String, Vec<(String, String)>, BTreeMap<String, Digest>);
    let mut parts: Vec<Part> = Vec::new();
    let mut problems = crate::diag::Diagnostics::default();
    for n in graph.closure(&targets) {
        let node = &graph.nodes[n];
        if node.skipped.is_some() {
            parts.push((node.id.clone(), node.binding.clone(), BTreeMap::new()));
            continue;
        }
        match observe::statics(&ctx, n, &mut sources) {
            Ok(st) => parts.push((node.id.clone(), node.binding.clone(), st.inputs)),
            Err(e) => problems.push(crate::diag::Diagnostic::error(format!("node `{}`: {e}", node.id))),
        }
    }
    let parts = problems.into_result(parts)?;
    println!("{}", Digest::of("loadbuild 2026-11 ci cache key", &(crate::hash::KEY_SCHEMA, &parts)));
    Ok(EXIT_OK)
}

pub fn graph(loadfile: Option<PathBuf>, a: GraphArgs) -> CmdResult {
    let s = Session::open(loadfile)?;
    let graph = a.scope.graph(&s)?;
    let mut out = std::io::stdout().lock();
    match a.format {
        GraphFormat::Json => {
            let nodes: Vec<serde_json::Value> = graph
                .nodes
                .iter()
                .map(|n| {
                    serde_json::json!({
                        "id": n.id,
                        "kind": s.rules.rules[n.rule].name,
                        "binding": n.binding.iter().cloned().collect::<HashMap<_, _>>(),
                        "deps": n.deps.iter().map(|d| graph.nodes[*d].id.clone()).collect::<Vec<_>>(),
                        "skipped": n.skipped.as_ref().map(|sk| sk.reason.clone()),
                    })
                })
                .collect();
            let _ = writeln!(out, "{}", serde_json::to_string_pretty(&nodes).expect("JSON values serialize"));
        }
        GraphFormat::Dot => {
            let _ = writeln!(out, "digraph loadbuild {{\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];");
            for n in &graph.nodes {
                let style = if n.skipped.is_some() { " style=dashed" } else { "" };
                let _ = writeln!(out, "  {:?} [label={:?}{style}];", n.id, n.id);
            }
            for n in &graph.nodes {
                for d in &n.deps {
                    let _ = writeln!(out, "  {:?} -> {:?};", graph.nodes[*d].id, n.id);
                }
            }
            let _ = writeln!(out, "}}");
        }
    }
    Ok(EXIT_OK)
}
