//! Freshness: which nodes must run, and why.
//!
//! Theory of operation. A node's key hashes its *static* inputs (its rule's declaration, its
//! binding, source digests via the stat cache, the Loadfile variables it reads, the backend)
//! and the *output* digests of its dependencies. Planning walks nodes in topological order: a
//! node whose dependencies are all fresh gets its key computed and looked up in the index; a
//! node below a stale one cannot know its key yet and is stale "because `dep` will rebuild" —
//! the executor re-checks it once the dependency has run, which is where early cutoff happens.
//! Planning reads the cache and the sources; it never runs or writes anything.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

use minijinja::Value;

use crate::diag::{Diagnostic, Diagnostics};
use crate::graph::{NodeIx, SkipReason};
use crate::hash::{Digest, KEY_SCHEMA, NodeKey};
use crate::store::{Index, StatCache, Status};

pub use crate::kind::{Ctx, Statics};

/// Why a node must run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stale {
    NeverBuilt,
    /// Inputs that differ from the node's last build, by logical name.
    InputsChanged {
        names: Vec<String>,
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
                let first = describe_input(&names[0]);
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

fn describe_input(name: &str) -> String {
    match name.split_once(':') {
        Some(("src", s)) => format!("source `{s}`"),
        Some(("dep", d)) => format!("output of `{d}`"),
        Some(("var", v)) => format!("Loadfile variable `vars.{v}`"),
        Some(("param", p)) => format!("param `{p}`"),
        _ if name == "rule" => "the rule's declaration".to_string(),
        _ => format!("input `{name}`"),
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

/// Digests sources through the stat cache, once per path per invocation.
pub struct Sources<'a> {
    pub root: &'a Path,
    pub stat: &'a mut StatCache,
    memo: HashMap<String, Result<(Digest, Value), String>>,
    /// Digests of strings most nodes share (the backend, an action's version, a constant
    /// param), by derive-key context: computed once, not once per node.
    strings: HashMap<&'static str, HashMap<String, Digest>>,
}

impl<'a> Sources<'a> {
    pub fn new(root: &'a Path, stat: &'a mut StatCache) -> Self {
        Sources { root, stat, memo: HashMap::new(), strings: HashMap::new() }
    }

    /// `Digest::of(context, value)`, remembered.
    fn string_digest(&mut self, context: &'static str, value: &str) -> Digest {
        let memo = self.strings.entry(context).or_default();
        if let Some(d) = memo.get(value) {
            return *d;
        }
        let d = Digest::of(context, value);
        memo.insert(value.to_string(), d);
        d
    }

    /// The digest of a file or glob (relative to the root) and the value templates see.
    fn digest(&mut self, rel: &str) -> Result<(Digest, Value), String> {
        if let Some(r) = self.memo.get(rel) {
            return r.clone();
        }
        let r = self.compute(rel);
        self.memo.insert(rel.to_string(), r.clone());
        r
    }

    fn compute(&mut self, rel: &str) -> Result<(Digest, Value), String> {
        if !rel.contains(['*', '?', '[']) {
            let d = self.stat.digest(self.root, rel).map_err(|e| format!("source `{rel}`: {e}"))?;
            return Ok((d, Value::from(rel)));
        }
        let pattern = self.root.join(rel);
        let paths = glob::glob(&pattern.to_string_lossy()).map_err(|e| format!("source glob `{rel}`: {e}"))?;
        let mut files = Vec::new();
        for p in paths {
            let p = p.map_err(|e| format!("source glob `{rel}`: {e}"))?;
            if p.is_file() {
                let r = p.strip_prefix(self.root).unwrap_or(&p).to_string_lossy().into_owned();
                let d = self.stat.digest(self.root, &r).map_err(|e| format!("source `{r}`: {e}"))?;
                files.push((r, d));
            }
        }
        if files.is_empty() {
            return Err(format!("source glob `{rel}` matches no file"));
        }
        files.sort();
        let names: Vec<Value> = files.iter().map(|(r, _)| Value::from(r.as_str())).collect();
        Ok((Digest::of("loadbuild 2026-11 source glob", &files), Value::from(names)))
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

/// Computes the static inputs of node `n`.
pub fn statics(ctx: &Ctx, n: NodeIx, sources: &mut Sources) -> Result<Statics, String> {
    let node = &ctx.graph.nodes[n];
    let rule = &ctx.rules.rules[node.rule];
    let mut inputs = BTreeMap::new();
    inputs.insert("rule".to_string(), rule.def_digest);
    inputs.insert("backend".to_string(), sources.string_digest("loadbuild 2026-11 backend", ctx.graph.backend.as_str()));
    // Most source paths only substitute binding values; the full context is built only for
    // templates that need more (a no-op build renders thousands of these).
    let mut base_value: Option<Value> = None;
    let mut full = || base_value.get_or_insert_with(|| Value::from(base_context(ctx, n))).clone();
    let mut src = BTreeMap::new();
    let mut rendered = Vec::new();
    for name in rule.sources.keys() {
        let rel = match ctx.templates.source_simple(node.rule, name, &node.binding, &ctx.graph.tier) {
            Some(rel) => rel,
            None => ctx.templates.source(&rule.name, name, &full())?,
        };
        let (d, v) = sources.digest(&rel)?;
        inputs.insert(format!("src:{name}"), d);
        src.insert(name.clone(), v);
        rendered.push((name.clone(), rel));
    }
    let kind = ctx.kinds.of(&rule.action);
    kind.key_inputs(ctx, n, &rendered, &mut |rel| sources.digest(rel).map(|(d, _)| d), &mut inputs)?;
    let mut params = BTreeMap::new();
    for name in rule.params.keys() {
        let v = match ctx.templates.param_constant(node.rule, name) {
            Some(v) => v.to_string(),
            None => ctx.templates.param(&rule.name, name, &full()).map_err(|e| format!("param `{name}`: {e}"))?,
        };
        inputs.insert(format!("param:{name}"), sources.string_digest("loadbuild 2026-11 param", v.as_str()));
        params.insert(name.clone(), v);
    }
    inputs.insert("action".into(), sources.string_digest("loadbuild 2026-11 action", kind.version().as_str()));
    for var in ctx.templates.vars_used(node.rule) {
        if var == "*" {
            inputs.insert("var:*".into(), Digest::of("loadbuild 2026-11 var", &serde_json::to_string(&ctx.lf.vars).unwrap_or_default()));
        } else {
            let v = ctx.lf.vars.get(var).map(|v| v.to_string()).unwrap_or_default();
            inputs.insert(format!("var:{var}"), Digest::of("loadbuild 2026-11 var", &v));
        }
    }
    Ok(Statics { inputs, src, params })
}

/// The key of node `n` given the output digests of its dependencies.
pub fn key(ctx: &Ctx, n: NodeIx, statics: &Statics, dep_outputs: &[(NodeIx, Digest)]) -> (Digest, BTreeMap<String, Digest>) {
    let node = &ctx.graph.nodes[n];
    let mut inputs = statics.inputs.clone();
    for (d, digest) in dep_outputs {
        inputs.insert(format!("dep:{}", ctx.graph.nodes[*d].id), *digest);
    }
    let k = NodeKey { schema: KEY_SCHEMA, rule: &ctx.rules.rules[node.rule].name, binding: &node.binding, inputs: &inputs }.digest();
    (k, inputs)
}

/// Decides a node's state once its key is known.
pub fn judge(ctx: &Ctx, index: &Index, n: NodeIx, key: Digest, inputs: &BTreeMap<String, Digest>) -> State {
    judge_with(ctx, index, n, key, inputs, &|out| intact(ctx, n, out))
}

/// Is a recorded output still as recorded? One `stat` per file, and the kind's own check
/// (a toolchain's environment is probed too).
pub fn intact(ctx: &Ctx, n: NodeIx, out: &crate::store::Tree) -> Result<(), String> {
    out.verify(ctx.layout).and_then(|()| ctx.kind(n).intact(ctx, out))
}

/// [`judge`], with the check that a recorded output is intact given.
fn judge_with(
    ctx: &Ctx,
    index: &Index,
    n: NodeIx,
    key: Digest,
    inputs: &BTreeMap<String, Digest>,
    intact: &dyn Fn(&crate::store::Tree) -> Result<(), String>,
) -> State {
    let id = &ctx.graph.nodes[n].id;
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
            let mut names: Vec<String> = inputs.iter().filter(|(k, v)| before.get(k.as_str()) != Some(v)).map(|(k, _)| k.clone()).collect();
            names.extend(before.keys().filter(|k| !inputs.contains_key(**k)).map(|k| k.to_string()));
            // Own inputs before dependencies: they say more.
            names.sort_by_key(|n| (n.starts_with("dep:"), n.clone()));
            if names.is_empty() {
                names.push("binding".into());
            }
            State::Stale(Stale::InputsChanged { names })
        }
    }
}

/// Plans the closure of `targets`.
pub fn plan(ctx: &Ctx, targets: &[NodeIx], index: &Index, sources: &mut Sources) -> Result<Plan, Diagnostics> {
    let statics = plan_statics(ctx, targets, sources)?;
    Ok(plan_from(ctx, statics, index))
}

/// The first half of planning, which needs no index: the closure of `targets` in
/// topological order and each node's static inputs. A caller may read the index meanwhile.
pub fn plan_statics(ctx: &Ctx, targets: &[NodeIx], sources: &mut Sources) -> Result<(Vec<NodeIx>, HashMap<NodeIx, Statics>), Diagnostics> {
    let order = ctx.graph.closure(targets);
    let mut all_statics = HashMap::with_capacity(order.len());
    let mut diags = Diagnostics::default();
    for &n in &order {
        let node = &ctx.graph.nodes[n];
        if node.skipped.is_some() {
            continue;
        }
        match statics(ctx, n, sources) {
            Ok(s) => {
                all_statics.insert(n, s);
            }
            Err(e) => {
                let rule = &ctx.rules.rules[node.rule];
                diags.push(
                    Diagnostic::error(format!("node `{}`: {e}", node.id))
                        .help(format!("check the rule `{}` at {}", rule.name, rule.origin)),
                );
            }
        }
    }
    diags.into_result((order, all_statics))
}

/// The second half of planning: every node's state. Outputs are checked for being intact
/// on two threads (a `stat` per file of every fresh node is most of a no-op's planning): the
/// states are first worked out as if every recorded output were intact, the outputs that
/// made a node fresh are then checked, and only if one is not are the states worked out again.
pub fn plan_from(ctx: &Ctx, (order, statics): (Vec<NodeIx>, HashMap<NodeIx, Statics>), index: &Index) -> Plan {
    let checked: std::sync::Mutex<Vec<NodeIx>> = Default::default();
    let assume_intact = |n: NodeIx, _: &crate::store::Tree| {
        checked.lock().expect("no panic holding the list").push(n);
        Ok(())
    };
    let states = states(ctx, &order, &statics, index, &assume_intact);
    let to_check: Vec<(NodeIx, Digest)> = checked
        .into_inner()
        .expect("no panic holding the list")
        .into_iter()
        .filter_map(|n| match &states[&n] {
            State::Fresh { key, .. } => Some((n, *key)),
            _ => None,
        })
        .collect();
    let check = |part: &[(NodeIx, Digest)]| -> Vec<(NodeIx, Result<(), String>)> {
        part.iter().map(|&(n, key)| (n, intact(ctx, n, &index.lookup(&key).expect("a fresh node's key is indexed").tree))).collect()
    };
    let results: HashMap<NodeIx, Result<(), String>> = if to_check.len() < 256 {
        check(&to_check).into_iter().collect()
    } else {
        let (first, second) = to_check.split_at(to_check.len() / 2);
        std::thread::scope(|scope| {
            let other = scope.spawn(|| check(second));
            let mut all = check(first);
            all.extend(other.join().expect("checking outputs does not panic"));
            all.into_iter().collect()
        })
    };
    let states = if results.values().all(Result::is_ok) {
        states
    } else {
        let known = |n: NodeIx, out: &crate::store::Tree| results.get(&n).cloned().unwrap_or_else(|| intact(ctx, n, out));
        self::states(ctx, &order, &statics, index, &known)
    };
    Plan { order, states, statics }
}

/// Every node's state, in topological order, deciding whether a recorded output is intact
/// with `intact`.
fn states(
    ctx: &Ctx,
    order: &[NodeIx],
    statics: &HashMap<NodeIx, Statics>,
    index: &Index,
    intact: &dyn Fn(NodeIx, &crate::store::Tree) -> Result<(), String>,
) -> HashMap<NodeIx, State> {
    let mut states: HashMap<NodeIx, State> = HashMap::with_capacity(order.len());
    for &n in order {
        let node = &ctx.graph.nodes[n];
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
            Some(d) => State::Stale(Stale::DepWillRebuild { dep: ctx.graph.nodes[d].id.clone() }),
            None => {
                let (k, inputs) = key(ctx, n, st, &dep_outputs);
                judge_with(ctx, index, n, k, &inputs, &|out| intact(n, out))
            }
        };
        states.insert(n, state);
    }
    states
}
