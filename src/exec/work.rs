//! How a worker performs a node's work: [`make_work`] asks the node's kind (`src/kinds/`) to
//! prepare it from the plan and the dependencies' outputs; [`perform`] runs it (attempts,
//! retries) and puts the output into the store. The scheduling loop is in `mod.rs`.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use minijinja::Value;

use crate::backend::services::Services;
use crate::backend::{Backend, Exit, tail};
use crate::graph::NodeIx;
use crate::hash::Digest;
use crate::kind::{CommandWork, Ctx, Prepare, Prepared, Work};
use crate::plan::Plan;
use crate::rules::OnFailure;
use crate::store::objects;
use crate::store::{Status, Tree, remove_tree};

use super::log_path;

/// Stores in-memory work's files once its checks have all passed.
pub(super) fn finish_in_memory(
    layout: &crate::store::Layout,
    prepared: Result<Box<dyn Prepared>, String>,
) -> Result<(Tree, Status, u32), (String, Option<PathBuf>)> {
    let files = prepared.and_then(|p| p.finish()).map_err(|e| (e, None))?;
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
        Work::InMemory(job) => finish_in_memory(layout, job.prepare()),
        Work::Builtin(builtin) => {
            let _ = remove_tree(&out);
            std::fs::create_dir_all(&out).map_err(|e| fail(e.to_string()))?;
            builtin(&out, cancel).map_err(fail)?;
            let tree = objects::ingest(layout, &out).map_err(|e| fail(e.to_string()))?;
            Ok((tree, Status::Ok, 1))
        }
        Work::Command(work) => {
            let CommandWork { mut job, retries, transient, on_failure, outputs, services } = *work;
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

/// Prepares what a worker needs to run node `n`: its kind says what.
pub(super) fn make_work(
    ctx: &Ctx,
    plan: &Plan,
    n: NodeIx,
    outputs: &HashMap<NodeIx, (Digest, Status)>,
    tmp_root: &std::path::Path,
) -> Result<Work, String> {
    let job = Prepare { n, statics: &plan.statics[&n], outputs, out: tmp_root.join(n.to_string()), log: log_path(ctx, n) };
    ctx.kind(n).prepare(ctx, &job)
}
