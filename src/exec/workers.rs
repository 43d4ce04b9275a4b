//! The executor's threads: a fixed pool of workers, each running one node's work at a time,
//! and the finisher, which stores in-memory work that waited for a verdict (a render whose
//! script shape was still with the shell tools) after its worker gave its cores back.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, mpsc};
use std::thread::Scope;
use std::time::Instant;

use crate::backend::Backend;
use crate::backend::services::Services;
use crate::graph::NodeIx;
use crate::kind::{Prepared, Work};
use crate::store::{Layout, Status, Tree, remove_tree};

use super::work::{finish_in_memory, perform};

/// One node's work, handed to a worker with its `$OUT` directory.
pub(super) type Job = (NodeIx, Work, PathBuf);

/// A finished node, for the scheduling loop.
pub(super) struct Done {
    pub(super) node: NodeIx,
    pub(super) result: Result<(Tree, Status, u32), (String, Option<PathBuf>)>,
    pub(super) ms: u64,
}

/// What workers tell the main loop.
pub(super) enum Msg {
    Done(Done),
    /// The node waits for a verdict computed elsewhere (the shell tools on a new script shape)
    /// and no longer needs its cores: another node may have them meanwhile.
    Parked(NodeIx),
}

/// In-memory work waiting for its verdict, for the finisher thread.
pub(super) type Parked = (NodeIx, Box<dyn Prepared>, Instant);

/// Starts the finisher thread; workers send it what they parked.
pub(super) fn spawn_finisher<'s>(scope: &'s Scope<'s, '_>, tx: mpsc::Sender<Msg>, layout: &'s Layout) -> mpsc::Sender<Parked> {
    let (park_tx, park_rx) = mpsc::channel::<Parked>();
    scope.spawn(move || {
        for (n, prepared, t0) in park_rx {
            let result = finish_in_memory(layout, Ok(prepared));
            let _ = tx.send(Msg::Done(Done { node: n, result, ms: t0.elapsed().as_millis() as u64 }));
        }
    });
    park_tx
}

/// Starts `count` workers taking jobs from `jobs` until it closes. A fixed pool: no node runs
/// without at least one core of the budget, so this many workers are never idle while a node
/// waits; spawning a thread per node cost more than a short command.
#[allow(clippy::too_many_arguments)]
pub(super) fn spawn_workers<'s>(
    scope: &'s Scope<'s, '_>,
    count: u32,
    jobs: &'s Mutex<mpsc::Receiver<Job>>,
    tx: &mpsc::Sender<Msg>,
    park_tx: &mpsc::Sender<Parked>,
    layout: &'s Layout,
    backend: &'s dyn Backend,
    servers: &'s Services,
    cancel: &Arc<AtomicBool>,
) {
    for _ in 0..count {
        let (tx, park_tx, cancel) = (tx.clone(), park_tx.clone(), Arc::clone(cancel));
        scope.spawn(move || {
            loop {
                let job = jobs.lock().expect("no worker panics holding the queue").recv();
                let Ok((n, work, out)) = job else { return };
                let t0 = Instant::now();
                let result = match work {
                    // In-memory work whose verdict is still coming waits off the core.
                    Work::InMemory(job) => match job.prepare() {
                        Ok(p) if !p.ready() => {
                            let _ = tx.send(Msg::Parked(n));
                            let _ = park_tx.send((n, p, t0));
                            continue;
                        }
                        prepared => finish_in_memory(layout, prepared),
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
}
