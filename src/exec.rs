//! The executor: runs a plan's stale nodes under the scheduler, recording each success.
//!
//! Theory of operation. The main thread owns the index, the journal and the scheduler; worker
//! threads run one node each (a backend command or a built-in action) and ingest its output
//! into the store. When a node's dependencies are done, its key is computed from their actual
//! output digests: if that key is already in the index the node is fresh after all (early
//! cutoff) and does not run. A success is appended to the journal before anything depends on
//! it; a failure is never recorded as a success, and a transient failure is retried first.
//! Ctrl-C stops scheduling, stops running commands, and leaves no partial output behind.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use minijinja::Value;

use crate::actions::{self, DepOutcome, SkippedCell, SummaryInput};
use crate::backend::services::{self, Services};
use crate::backend::{Backend, CommandJob, Exit, tail, toolchain};
use crate::graph::{NodeIx, SkipReason};
use crate::hash::Digest;
use crate::plan::{self, Ctx, Plan, State};
use crate::rules::{Action, OnFailure, PerDim};
use crate::schedule::{Budget, Need, Pool, Waiting, pick};
use crate::store::objects;
use crate::store::{Index, Journal, OutputRecord, Record, Status, StoreError, Tree, remove_tree};

/// How to execute.
#[derive(Debug, Clone)]
pub struct ExecConfig {
    pub budget: Budget,
    pub keep_going: bool,
    pub progress: bool,
}

/// What happened to one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Fresh when planned.
    Fresh,
    /// Stale when planned, but its dependencies rebuilt to the same outputs.
    Cutoff,
    Built {
        ms: u64,
        status: Status,
        attempts: u32,
    },
    Failed {
        error: String,
        log: Option<PathBuf>,
    },
    Skipped(SkipReason),
    /// Not run because a dependency failed.
    Blocked {
        dep: String,
    },
    /// Not run (or stopped) because the build was interrupted or stopped at a failure.
    NotRun,
}

/// The result of executing a plan.
#[derive(Debug)]
pub struct Executed {
    pub outcomes: HashMap<NodeIx, Outcome>,
    pub outputs: HashMap<NodeIx, Digest>,
    pub interrupted: bool,
}

impl Executed {
    pub fn failed(&self) -> usize {
        self.outcomes
            .values()
            .filter(|o| matches!(o, Outcome::Failed { .. } | Outcome::Built { status: Status::Failed, .. } | Outcome::Blocked { .. }))
            .count()
    }
}

enum Work {
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
enum Builtin {
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

struct Done {
    node: NodeIx,
    result: Result<(Tree, Status, u32), (String, Option<PathBuf>)>,
    ms: u64,
}

/// What workers tell the main loop.
enum Msg {
    Done(Done),
    /// The node waits for a verdict computed elsewhere (the shell tools on a new script shape)
    /// and no longer needs its cores: another node may have them meanwhile.
    Parked(NodeIx),
}

/// A rendered node waiting for its verdict, for the finisher thread.
type Parked = (NodeIx, crate::scenario::Rendered, Instant);

/// Stores a render's files once its checks have all passed.
fn finish_render(
    layout: &crate::store::Layout,
    rendered: Result<crate::scenario::Rendered, String>,
) -> Result<(Tree, Status, u32), (String, Option<PathBuf>)> {
    let files = rendered.and_then(crate::scenario::Rendered::finish).map_err(|e| (e, None))?;
    // Written straight into the cache: the node's `out` directory is never made.
    let tree = objects::store(layout, files).map_err(|e| (e.to_string(), None))?;
    Ok((tree, Status::Ok, 1))
}

/// A file name for a node's log.
fn log_name(id: &str) -> String {
    crate::backend::file_name(id) + ".log"
}

/// Runs one node's work in a worker thread: attempts, retries, ingestion.
fn perform(
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

/// Executes the stale nodes of `plan`.
pub fn execute(
    ctx: &Ctx,
    plan: &Plan,
    index: &mut Index,
    journal: &mut Journal,
    backend: &dyn Backend,
    cfg: &ExecConfig,
    cancel: &Arc<AtomicBool>,
) -> Result<Executed, StoreError> {
    let g = ctx.graph;
    // Before anything else: stop servers a crashed build left running.
    let servers = Services::new(&ctx.layout.root);
    let mut outcomes: HashMap<NodeIx, Outcome> = HashMap::with_capacity(plan.order.len());
    let mut outputs: HashMap<NodeIx, (Digest, Status)> = HashMap::with_capacity(plan.order.len());
    let mut waiting_deps: HashMap<NodeIx, usize> = HashMap::new();
    let mut ready: Vec<NodeIx> = Vec::new();
    for &n in &plan.order {
        match &plan.states[&n] {
            State::Skipped(s) => {
                outcomes.insert(n, Outcome::Skipped(s.clone()));
            }
            State::Fresh { output, .. } => {
                outcomes.insert(n, Outcome::Fresh);
                outputs.insert(n, (*output, Status::Ok));
            }
            State::Stale(_) => {
                let pending = g.nodes[n].deps.iter().filter(|d| !outputs.contains_key(d)).count();
                if pending == 0 {
                    ready.push(n);
                }
                waiting_deps.insert(n, pending);
            }
        }
    }
    // A server stops once every node of this build that needs it has finished.
    let is_service = |d: &NodeIx| ctx.rules.rules[g.nodes[*d].rule].action == Action::Service;
    let mut service_users: HashMap<NodeIx, usize> = HashMap::new();
    for n in waiting_deps.keys() {
        for d in g.nodes[*n].deps.iter().filter(|d| is_service(d)) {
            *service_users.entry(*d).or_default() += 1;
        }
    }
    let to_run = waiting_deps.len() as u64;
    if to_run == 0 {
        // Nothing stale: no workers, no progress bar, no sync.
        let outputs = outputs.into_iter().map(|(n, (d, _))| (n, d)).collect();
        return Ok(Executed { outcomes, outputs, interrupted: false });
    }
    let dependents = g.dependents();
    let in_plan: HashSet<NodeIx> = plan.order.iter().copied().collect();
    let bar = progress_bar(cfg.progress, to_run);
    let mut pool = Pool::new(cfg.budget);
    let mut queue: Vec<Waiting> = Vec::new();
    let mut keys: HashMap<NodeIx, (Digest, BTreeMap<String, Digest>)> = HashMap::new();
    let mut running: HashMap<NodeIx, Need> = HashMap::new();
    let mut stopping = false;
    let (tx, rx) = mpsc::channel::<Msg>();
    let tmp_root = ctx.layout.tmp();

    // A fixed pool: no node runs without at least one core of the budget, so this many
    // workers are never idle while a node waits; spawning a thread per node cost more than a
    // short command.
    let (job_tx, job_rx) = mpsc::channel::<(NodeIx, Work, PathBuf)>();
    let job_rx = std::sync::Mutex::new(job_rx);
    std::thread::scope(|scope| -> Result<(), StoreError> {
        let job_tx = job_tx; // owned here, so dropping it below lets the workers finish
        // Parked renders are finished (waited for, stored) here, in order.
        let (park_tx, park_rx) = mpsc::channel::<Parked>();
        {
            let (tx, layout) = (tx.clone(), ctx.layout);
            scope.spawn(move || {
                for (n, rendered, t0) in park_rx {
                    let result = finish_render(layout, Ok(rendered));
                    let _ = tx.send(Msg::Done(Done { node: n, result, ms: t0.elapsed().as_millis() as u64 }));
                }
            });
        }
        for _ in 0..cfg.budget.cores.max(1) {
            let (tx, park_tx, job_rx, cancel, layout, servers) =
                (tx.clone(), park_tx.clone(), &job_rx, Arc::clone(cancel), ctx.layout, &servers);
            scope.spawn(move || {
                loop {
                    let job = job_rx.lock().expect("no worker panics holding the queue").recv();
                    let Ok((n, work, out)) = job else { return };
                    let t0 = Instant::now();
                    let result = match work {
                        // A render whose shell verdict is still coming waits off the core.
                        Work::Render(job) => match crate::scenario::prepare(&job, crate::scenario::Validation::Full) {
                            Ok(r) if !r.ready() => {
                                let _ = tx.send(Msg::Parked(n));
                                let _ = park_tx.send((n, r, t0));
                                continue;
                            }
                            rendered => finish_render(layout, rendered),
                        },
                        work => {
                            let result = perform(layout, backend, servers, work, out.clone(), &cancel);
                            let _ = remove_tree(&out);
                            result
                        }
                    };
                    let _ = tx.send(Msg::Done(Done { node: n, result, ms: t0.elapsed().as_millis() as u64 }));
                }
            });
        }
        drop(park_tx);
        drop(tx);
        loop {
            // Decide each newly ready node: fresh after all (cutoff), or queued to run.
            while let Some(n) = ready.pop() {
                if stopping {
                    outcomes.insert(n, Outcome::NotRun);
                    continue;
                }
                let statics = &plan.statics[&n];
                let dep_outputs: Vec<(NodeIx, Digest)> = g.nodes[n].deps.iter().map(|d| (*d, key_digest(outputs[d]))).collect();
                let (key, inputs) = plan::key(ctx, n, statics, &dep_outputs);
                if let State::Fresh { output, .. } = plan::judge(ctx, index, n, key, &inputs) {
                    outcomes.insert(n, Outcome::Cutoff);
                    outputs.insert(n, (output, Status::Ok));
                    bar.inc(1);
                    release(n, &dependents, &mut waiting_deps, &mut ready);
                    continue;
                }
                let rule = &ctx.rules.rules[g.nodes[n].rule];
                let mutex = rule.resources.mutex.iter().map(|m| render_inline(m, || plan::base_context(ctx, n))).collect();
                let need = pool.clamp(Need { cores: rule.resources.cores, memory: rule.resources.memory, mutex });
                let expected_ms = index.last(&g.nodes[n].id).map_or(0, |l| l.duration_ms);
                keys.insert(n, (key, inputs));
                queue.push(Waiting { node: n, expected_ms, need });
            }
            if !stopping {
                for w in pick(&mut queue, &mut pool) {
                    let n = w.node;
                    let work = match make_work(ctx, plan, n, &outputs, &tmp_root) {
                        Ok(work) => work,
                        Err(e) => {
                            pool.give(&w.need);
                            fail_node(n, e, None, &bar, ctx, &mut outcomes);
                            stopping |= !cfg.keep_going;
                            block_dependents(n, &dependents, &in_plan, ctx, &mut outcomes, &mut waiting_deps);
                            continue;
                        }
                    };
                    running.insert(n, w.need);
                    job_tx.send((n, work, tmp_root.join(n.to_string()))).expect("workers live as long as the loop");
                }
            }
            if running.is_empty() {
                for w in queue.drain(..) {
                    outcomes.entry(w.node).or_insert(Outcome::NotRun);
                }
                break;
            }
            bar.set_message(format!("running {} · queued {}", running.len(), queue.len()));
            let done = match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(Msg::Done(d)) => d,
                Ok(Msg::Parked(n)) => {
                    pool.park(running.get_mut(&n).expect("a parked node is running"));
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if cancel.load(Ordering::Relaxed) && !stopping {
                        stopping = true;
                        say(&bar, "loadbuild: interrupted; stopping running commands…");
                    }
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            };
            let n = done.node;
            for d in g.nodes[n].deps.iter().filter(|d| is_service(d)) {
                let users = service_users.get_mut(d).expect("counted above");
                *users -= 1;
                if *users == 0 {
                    let (servers, id) = (&servers, g.nodes[*d].id.clone());
                    scope.spawn(move || servers.stop(&id));
                }
            }
            let need = running.remove(&n).expect("a finished node was running");
            pool.give(&need);
            bar.inc(1);
            match done.result {
                Ok((tree, status, attempts)) => {
                    let (key, inputs) = keys.remove(&n).expect("a run node has a key");
                    let finished_unix = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
                    let output = OutputRecord { tree: tree.clone(), status, duration_ms: done.ms, finished_unix };
                    let record = Record::Built { node: g.nodes[n].id.clone(), key, inputs: inputs.into_iter().collect(), output };
                    journal.append(&record)?;
                    index.record(record);
                    if status == Status::Failed {
                        say(
                            &bar,
                            format!("failed   {} (recorded as a failed outcome; see `{}`)", g.nodes[n].id, log_path(ctx, n).display()),
                        );
                    }
                    outcomes.insert(n, Outcome::Built { ms: done.ms, status, attempts });
                    outputs.insert(n, (tree.digest, status));
                    release(n, &dependents, &mut waiting_deps, &mut ready);
                }
                Err((error, log)) => {
                    if cancel.load(Ordering::Relaxed) {
                        outcomes.insert(n, Outcome::NotRun);
                    } else {
                        fail_node(n, error, log, &bar, ctx, &mut outcomes);
                        stopping |= !cfg.keep_going;
                        block_dependents(n, &dependents, &in_plan, ctx, &mut outcomes, &mut waiting_deps);
                    }
                }
            }
            if cancel.load(Ordering::Relaxed) {
                stopping = true;
            }
        }
        drop(job_tx);
        Ok(())
    })?;
    bar.finish_and_clear();
    servers.stop_all();
    journal.sync()?;
    for &n in &plan.order {
        outcomes.entry(n).or_insert(Outcome::NotRun);
    }
    let interrupted = cancel.load(Ordering::Relaxed);
    Ok(Executed { outcomes, outputs: outputs.into_iter().map(|(n, (d, _))| (n, d)).collect(), interrupted })
}

fn progress_bar(enabled: bool, len: u64) -> indicatif::ProgressBar {
    if !enabled || len == 0 {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(Some(len), indicatif::ProgressDrawTarget::stderr());
    let style = indicatif::ProgressStyle::with_template("{elapsed:>4} [{bar:30}] {pos}/{len} done · {msg} · ETA {eta}")
        .expect("the template is valid")
        .progress_chars("=> ");
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Prints a line above the progress bar, or plainly when there is no bar.
fn say(bar: &indicatif::ProgressBar, line: impl AsRef<str>) {
    if bar.is_hidden() {
        eprintln!("{}", line.as_ref());
    } else {
        bar.println(line);
    }
}

fn log_path(ctx: &Ctx, n: NodeIx) -> PathBuf {
    ctx.layout.logs().join(log_name(&ctx.graph.nodes[n].id))
}

fn fail_node(
    n: NodeIx,
    error: String,
    log: Option<PathBuf>,
    bar: &indicatif::ProgressBar,
    ctx: &Ctx,
    outcomes: &mut HashMap<NodeIx, Outcome>,
) {
    let id = &ctx.graph.nodes[n].id;
    let where_ = log.as_ref().filter(|l| l.exists()).map(|l| format!(" (log: `{}`)", l.display())).unwrap_or_default();
    say(bar, format!("failed   {id}{where_}: {}", error.trim_end()));
    outcomes.insert(n, Outcome::Failed { error, log });
}

/// Marks everything downstream of a failed node as blocked.
fn block_dependents(
    n: NodeIx,
    dependents: &[Vec<NodeIx>],
    in_plan: &HashSet<NodeIx>,
    ctx: &Ctx,
    outcomes: &mut HashMap<NodeIx, Outcome>,
    waiting: &mut HashMap<NodeIx, usize>,
) {
    let mut stack = vec![n];
    while let Some(f) = stack.pop() {
        for &d in &dependents[f] {
            if in_plan.contains(&d) && !outcomes.contains_key(&d) {
                outcomes.insert(d, Outcome::Blocked { dep: ctx.graph.nodes[n].id.clone() });
                waiting.remove(&d);
                stack.push(d);
            }
        }
    }
}

/// A node finished: its dependents with nothing left to wait for become ready. Only planned,
/// stale nodes are in `waiting`, so dependents outside the plan are left alone.
fn release(n: NodeIx, dependents: &[Vec<NodeIx>], waiting: &mut HashMap<NodeIx, usize>, ready: &mut Vec<NodeIx>) {
    for &d in &dependents[n] {
        if let Some(c) = waiting.get_mut(&d) {
            *c -= 1;
            if *c == 0 {
                waiting.remove(&d);
                ready.push(d);
            }
        }
    }
}

/// What a dependent's key records for a dependency's output. A failed outcome keys differently
/// from the same bytes recorded as a success, because a built-in (`metrics`) reads the status:
/// the key must cover everything that can change the output.
fn key_digest((digest, status): (Digest, Status)) -> Digest {
    match status {
        Status::Ok => digest,
        Status::Failed => Digest::of("loadbuild 2026-11 failed outcome", &digest),
    }
}

/// Renders a short inline template (a mutex name) against the node's context.
fn render_inline(text: &str, base: impl FnOnce() -> BTreeMap<String, Value>) -> String {
    if !text.contains("{{") {
        return text.to_string();
    }
    let env = minijinja::Environment::new();
    env.render_str(text, Value::from(base())).unwrap_or_else(|_| text.to_string())
}

/// What the `report` action of node `n` reads: each cell of the tier with its per-cell
/// dependency (the one holding `metrics.json`) or its skip rule, and the shared inputs.
fn report_job(ctx: &Ctx, n: NodeIx, outputs: &HashMap<NodeIx, (Digest, Status)>) -> crate::report::ReportJob {
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
fn rel_to_root(ctx: &Ctx, p: &std::path::Path) -> String {
    p.strip_prefix(&ctx.lf.root).unwrap_or(p).to_string_lossy().into_owned()
}

/// Prepares what a worker needs to run node `n`.
fn make_work(
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
