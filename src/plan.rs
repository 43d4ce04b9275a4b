//! Freshness: which nodes must run, and why — a pure function of the graph, the index
//! snapshot and what was observed on disk.
//!
//! Theory of operation. A node's key hashes its *static* inputs (its rule's declaration, its
//! binding, source digests, the Loadfile variables it reads, the backend) and the *output*
//! digests of its dependencies. Planning walks nodes in topological order: a node whose
//! dependencies are all fresh gets its key computed and looked up in the index; a node below a
//! stale one cannot know its key yet and is stale "because `dep` will rebuild" — the executor
//! re-checks it once the dependency has run, which is where early cutoff happens.
//!
//! Nothing here reads the disk: the static inputs and whether a recorded output is still
//! intact are observations made by `observe.rs`, which drives planning.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use minijinja::Value;

use crate::graph::{Graph, NodeIx, SkipReason};
use crate::hash::{Digest, Input, KEY_SCHEMA, NodeKey};
use crate::store::{Index, Status, Tree};

pub use crate::kind::{Ctx, Statics};

/// Why a node must run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stale {
    NeverBuilt,
    /// Inputs that differ from the node's last build, by logical name.
    InputsChanged {
        names: Vec<Input>,
    },
    DepWillRebuild {
        dep: String,
    },
    OutputMissing {
        why: String,
    },
    Forced,
    PreviousFailed,
}

impl fmt::Display for Stale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stale::NeverBuilt => f.write_str("never built"),
            Stale::InputsChanged { names } => {
                let first = &names[0];
                match names.len() {
                    1 => write!(f, "{first} changed"),
                    n => write!(f, "{first} and {} more input(s) changed", n - 1),
                }
            }
            Stale::DepWillRebuild { dep } => write!(f, "dependency `{dep}` will rebuild"),
            Stale::OutputMissing { why } => write!(f, "{why}"),
            Stale::Forced => f.write_str("forced by `loadbuild invalidate`"),
            Stale::PreviousFailed => f.write_str("its last run failed"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Fresh { key: Digest, output: Digest },
    Stale(Stale),
    Skipped(SkipReason),
}

/// The plan for a set of targets: every node of their closure, in topological order.
#[derive(Debug)]
pub struct Plan {
    pub order: Vec<NodeIx>,
    pub states: HashMap<NodeIx, State>,
    pub statics: HashMap<NodeIx, Statics>,
}

impl Plan {
    pub fn stale_count(&self) -> usize {
        self.states.values().filter(|s| matches!(s, State::Stale(_))).count()
    }
}

/// The base of node `n`'s template context: binding values, `tier`, `node`, `backend`,
/// `vars`, `cells`, `cell` for per-cell nodes, and `set` for repeatable ones. Built only when a template needs it.
pub fn base_context(ctx: &Ctx, n: NodeIx) -> BTreeMap<String, Value> {
    let node = &ctx.graph.nodes[n];
    let mut base: BTreeMap<String, Value> = BTreeMap::new();
    for (k, v) in &node.binding {
        base.insert(k.clone(), Value::from(v.as_str()));
    }
    if ctx.rules.rules[node.rule].repeatable {
        // The first repetition set has no `set` in its binding (its key predates `--adaptive`).
        base.entry("set".into()).or_insert_with(|| Value::from("1"));
    }
    base.insert("tier".into(), Value::from(ctx.graph.tier.as_str()));
    base.insert("node".into(), Value::from(node.id.as_str()));
    base.insert("backend".into(), Value::from(ctx.graph.backend.as_str()));
    base.insert("vars".into(), ctx.vars.clone());
    let active: Vec<&u32> = node.cells.iter().filter(|&&c| ctx.graph.cell_skips[c as usize].is_none()).collect();
    base.insert("cells".into(), Value::from(active.iter().map(|&&c| ctx.lf.matrix.id(&ctx.graph.cells[c as usize]).0).collect::<Vec<_>>()));
    if let [only] = node.cells.as_slice()
        && node.binding.len() >= ctx.lf.matrix.dims.len()
    {
        let cell = &ctx.graph.cells[*only as usize];
        let mut c: BTreeMap<String, Value> = ctx.lf.matrix.pairs(cell).map(|(k, v)| (k.to_string(), Value::from(v))).collect();
        c.insert("id".into(), Value::from(ctx.lf.matrix.id(cell).0));
        c.insert("name".into(), Value::from(ctx.lf.matrix.name(cell)));
        base.insert("cell".into(), Value::from(c));
    }
    base
}

/// The key of node `n` (of the rule named `rule`) given the output digests of its
/// dependencies, and the inputs it hashes by name.
pub fn key(
    graph: &Graph,
    rule: &str,
    n: NodeIx,
    statics: &Statics,
    dep_outputs: &[(NodeIx, Digest)],
) -> (Digest, BTreeMap<String, Digest>) {
    let node = &graph.nodes[n];
    let mut inputs = statics.inputs.clone();
    for (d, digest) in dep_outputs {
        inputs.insert(Input::Dep(graph.nodes[*d].id.clone()).name(), *digest);
    }
    let k = NodeKey { schema: KEY_SCHEMA, rule, binding: &node.binding, inputs: &inputs }.digest();
    (k, inputs)
}

/// Decides the state of node `id` once its key is known; `intact` says whether a recorded
/// output is still as recorded (an observation).
pub fn judge(
    id: &str,
    index: &Index,
    key: Digest,
    inputs: &BTreeMap<String, Digest>,
    intact: &dyn Fn(&Tree) -> Result<(), String>,
) -> State {
    if index.is_forced(id) {
        return State::Stale(Stale::Forced);
    }
    if let Some(out) = index.lookup(&key) {
        if out.status == Status::Failed {
            return State::Stale(Stale::PreviousFailed);
        }
        return match intact(&out.tree) {
            Ok(()) => State::Fresh { key, output: out.tree.digest },
            Err(why) => State::Stale(Stale::OutputMissing { why }),
        };
    }
    match index.last(id) {
        None => State::Stale(Stale::NeverBuilt),
        Some(last) => {
            let before: BTreeMap<&str, &Digest> = last.inputs.iter().map(|(k, v)| (k.as_str(), v)).collect();
            // The journal has the names as written: read back here, at the one boundary.
            let mut names: Vec<Input> =
                inputs.iter().filter(|(k, v)| before.get(k.as_str()) != Some(v)).map(|(k, _)| Input::parse(k)).collect();
            names.extend(before.keys().filter(|k| !inputs.contains_key(**k)).map(|k| Input::parse(k)));
            // Own inputs before dependencies: they say more.
            names.sort_by_cached_key(|n| (matches!(n, Input::Dep(_)), n.name()));
            if names.is_empty() {
                names.push(Input::Other("binding".into()));
            }
            State::Stale(Stale::InputsChanged { names })
        }
    }
}

/// Every node's state, in topological order: the pure planner. `rules[r]` is the name of rule
/// number `r` (part of the key); `statics` holds the observed static inputs of every node not
/// skipped; `intact` answers whether a recorded output is still as recorded.
pub fn states(
    graph: &Graph,
    rules: &[&str],
    order: &[NodeIx],
    statics: &HashMap<NodeIx, Statics>,
    index: &Index,
    intact: &dyn Fn(NodeIx, &Tree) -> Result<(), String>,
) -> HashMap<NodeIx, State> {
    let mut states: HashMap<NodeIx, State> = HashMap::with_capacity(order.len());
    for &n in order {
        let node = &graph.nodes[n];
        if let Some(skip) = &node.skipped {
            states.insert(n, State::Skipped(skip.clone()));
            continue;
        }
        let Some(st) = statics.get(&n) else { continue };
        let mut dep_outputs = Vec::with_capacity(node.deps.len());
        let mut pending = None;
        for &d in &node.deps {
            match states.get(&d) {
                Some(State::Fresh { output, .. }) => dep_outputs.push((d, *output)),
                _ => {
                    pending = Some(d);
                    break;
                }
            }
        }
        let state = match pending {
            Some(d) => State::Stale(Stale::DepWillRebuild { dep: graph.nodes[d].id.clone() }),
            None => {
                let (k, inputs) = key(graph, rules[node.rule], n, st, &dep_outputs);
                judge(&node.id, index, k, &inputs, &|out| intact(n, out))
            }
        };
        states.insert(n, state);
    }
    states
}

#[cfg(test)]
mod tests;
