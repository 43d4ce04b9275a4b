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
use std::time::Duration;

use crate::backend::Backend;
use crate::backend::services::Services;
use crate::graph::{NodeIx, SkipReason};
use crate::hash::Digest;
use crate::observe;
use crate::plan::{self, Ctx, Plan, State};
use crate::schedule::{Budget, Need, Pool, Waiting, pick};
use crate::store::{Index, Journal, OutputRecord, Record, Status, StoreError};

mod work;
mod workers;
use work::{make_work, render_inline};
use workers::Msg;

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
    let is_service = |d: &NodeIx| ctx.kind(*d).is_service();
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

    // The worker pool and the finisher: `workers.rs`.
    let (job_tx, job_rx) = mpsc::channel::<workers::Job>();
    let job_rx = std::sync::Mutex::new(job_rx);
    std::thread::scope(|scope| -> Result<(), StoreError> {
        let job_tx = job_tx; // owned here, so dropping it below lets the workers finish
        // In-memory work that waits for a verdict is finished (waited for, stored) here, in order.
        let park_tx = workers::spawn_finisher(scope, tx.clone(), ctx.layout);
        workers::spawn_workers(scope, cfg.budget.cores.max(1), &job_rx, &tx, &park_tx, ctx.layout, backend, &servers, cancel);
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
                let (key, inputs) = observe::key(ctx, n, statics, &dep_outputs);
                if let State::Fresh { output, .. } = observe::judge(ctx, index, n, key, &inputs) {
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

/// A file name for a node's log.
fn log_name(id: &str) -> String {
    crate::backend::file_name(id) + ".log"
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

#[cfg(test)]
mod tests;
