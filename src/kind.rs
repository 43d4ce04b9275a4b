//! The seam between the engine and the node kinds.
//!
//! The engine (`plan`, `exec`) knows nothing of datasets, scenarios or reports: for a node it
//! asks the node's [`Kind`] what the key covers besides the generic inputs, the version of its
//! implementation, whether a recorded output is still intact, and what [`Work`] to hand a
//! worker. The kinds live in `src/kinds/` (one file each) and are found through [`Kinds`],
//! which the caller puts into [`Ctx`]; nothing here imports them.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use minijinja::Value;

use crate::backend::CommandJob;
use crate::graph::{Graph, NodeIx};
use crate::hash::Digest;
use crate::loadfile::Loadfile;
use crate::rules::{Action, OnFailure, Params, Rules};
use crate::store::{Layout, NewFile, Status, Tree};
use crate::template::Templates;

/// Everything planning and execution read, borrowed together.
pub struct Ctx<'a> {
    pub lf: &'a Loadfile,
    pub rules: &'a Rules,
    pub graph: &'a Graph,
    pub templates: &'a Templates,
    pub layout: &'a Layout,
    /// `lf.vars` as templates see them, converted once.
    pub vars: Value,
    /// What each action does (`kinds::Registry` in the product).
    pub kinds: &'a dyn Kinds,
}

impl Ctx<'_> {
    /// The kind of node `n`.
    pub fn kind(&self, n: NodeIx) -> &dyn Kind {
        self.kinds.of(&self.rules.rules[self.graph.nodes[n].rule].action)
    }
}

/// A node's inputs that do not depend on other nodes, and its template context.
#[derive(Debug, Clone)]
pub struct Statics {
    pub inputs: BTreeMap<String, Digest>,
    /// `src` as commands see it: name → path (or list of paths, for a glob).
    pub src: BTreeMap<String, Value>,
    /// A built-in action's params, rendered.
    pub params: BTreeMap<String, String>,
}

/// The registry: the kind that carries out an action.
pub trait Kinds: Sync {
    fn of(&self, action: &Action) -> &dyn Kind;
}

/// What a node of one kind does. Every method but [`Kind::version`] and [`Kind::prepare`] has
/// the answer of a plain command-like node as its default.
pub trait Kind: Sync {
    /// The params a rule of this kind requires and those it may have (checked when the rules
    /// are read; see [`crate::rules::load`]).
    fn params(&self) -> Params {
        (&[], &[])
    }

    /// The version of the kind's implementation: part of its nodes' keys.
    fn version(&self) -> String;

    /// Adds what the node's key covers besides its rule, binding, sources, params, variables,
    /// backend and dependencies. `sources` are the node's sources as `(name, path)`; `digest`
    /// digests a file under the project root through the stat cache.
    fn key_inputs(
        &self,
        _ctx: &Ctx,
        _n: NodeIx,
        _sources: &[(String, String)],
        _digest: &mut dyn FnMut(&str) -> Result<Digest, String>,
        _inputs: &mut BTreeMap<String, Digest>,
    ) -> Result<(), String> {
        Ok(())
    }

    /// Checks, beyond the stat stamps of its files, that the recorded output `out` of a node of
    /// this kind still stands for what it built (external state: an environment, a cluster).
    fn intact(&self, _ctx: &Ctx, _out: &Tree) -> Result<(), String> {
        Ok(())
    }

    /// Whether a node of this kind stands for a server the executor starts for its
    /// dependents and stops after the last of them.
    fn is_service(&self) -> bool {
        false
    }

    /// Prepares what a worker does to build node `job.n`.
    fn prepare(&self, ctx: &Ctx, job: &Prepare) -> Result<Work, String>;
}

/// What [`Kind::prepare`] gets besides the context.
pub struct Prepare<'p> {
    pub n: NodeIx,
    pub statics: &'p Statics,
    /// The output digest and status of every node done so far (every dependency is).
    pub outputs: &'p HashMap<NodeIx, (Digest, Status)>,
    /// The node's `$OUT` for a command: an empty directory under the cache's `tmp/`.
    pub out: PathBuf,
    /// Where the executor writes the node's log.
    pub log: PathBuf,
}

impl Prepare<'_> {
    /// The output directory of dependency `d`.
    pub fn dep_dir(&self, ctx: &Ctx, d: NodeIx) -> PathBuf {
        ctx.layout.tree(&self.outputs[&d].0)
    }
}

/// A node's work, ready for a worker.
pub enum Work {
    /// A command, run by the backend (with retries) into `$OUT`.
    Command(Box<CommandWork>),
    /// Work the engine does itself, writing into the empty directory it is given; long work
    /// stops early once the flag is set.
    Builtin(Builtin),
    /// Files made in memory and handed to the store as they are; may wait for a verdict
    /// computed elsewhere (see [`Prepared::ready`]).
    InMemory(Box<dyn InMemory>),
}

/// Built-in work: writes into `out` (which exists and is empty).
pub type Builtin = Box<dyn FnOnce(&Path, &AtomicBool) -> Result<(), String> + Send>;

/// A command and what to do with its attempts.
pub struct CommandWork {
    pub job: CommandJob,
    pub retries: u32,
    pub transient: Vec<i32>,
    pub on_failure: OnFailure,
    /// Files the command must write.
    pub outputs: Vec<String>,
    /// Service dependencies: node id and output directory (its specification).
    pub services: Vec<(String, PathBuf)>,
}

/// In-memory work, first step: make the files (on the worker, holding its cores).
pub trait InMemory: Send {
    fn prepare(self: Box<Self>) -> Result<Box<dyn Prepared>, String>;
}

/// In-memory work, second step: the files, once every check on them has answered.
pub trait Prepared: Send {
    /// Whether [`Prepared::finish`] would return without waiting; a worker gives a node that
    /// is not ready to the finisher thread and its cores back to the scheduler.
    fn ready(&self) -> bool;
    fn finish(self: Box<Self>) -> Result<Vec<NewFile>, String>;
}
