//! Observing: everything planning needs from the disk, read in one place. Source digests
//! (through the stat cache) and each node's static inputs; whether recorded outputs are still
//! intact (one `stat` per file, and the kind's own probe, e.g. a toolchain's environment).
//! [`plan`] drives the pure planner ([`crate::plan::states`]) with these observations.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use minijinja::Value;

use crate::diag::{Diagnostic, Diagnostics};
use crate::graph::NodeIx;
use crate::hash::{Digest, Input};
use crate::plan::{Ctx, Plan, State, Statics, base_context};
use crate::store::{Index, StatCache, Tree};

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

/// Computes the static inputs of node `n`.
pub fn statics(ctx: &Ctx, n: NodeIx, sources: &mut Sources) -> Result<Statics, String> {
    let node = &ctx.graph.nodes[n];
    let rule = &ctx.rules.rules[node.rule];
    let mut inputs = BTreeMap::new();
    inputs.insert(Input::Rule.name(), rule.def_digest);
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
        inputs.insert(Input::Src(name.clone()).name(), d);
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
        inputs.insert(Input::Param(name.clone()).name(), sources.string_digest("loadbuild 2026-11 param", v.as_str()));
        params.insert(name.clone(), v);
    }
    inputs.insert("action".into(), sources.string_digest("loadbuild 2026-11 action", kind.version().as_str()));
    for var in ctx.templates.vars_used(node.rule) {
        if var == "*" {
            inputs.insert(
                Input::Var("*".into()).name(),
                Digest::of("loadbuild 2026-11 var", &serde_json::to_string(&ctx.lf.vars).unwrap_or_default()),
            );
        } else {
            let v = ctx.lf.vars.get(var).map(|v| v.to_string()).unwrap_or_default();
            inputs.insert(Input::Var(var.clone()).name(), Digest::of("loadbuild 2026-11 var", &v));
        }
    }
    Ok(Statics { inputs, src, params })
}

/// Decides a node's state once its key is known, checking a recorded output on disk.
pub fn judge(ctx: &Ctx, index: &Index, n: NodeIx, key: Digest, inputs: &BTreeMap<String, Digest>) -> State {
    crate::plan::judge(&ctx.graph.nodes[n].id, index, key, inputs, &|out| intact(ctx, n, out))
}

/// The key of node `n` given the output digests of its dependencies ([`crate::plan::key`]).
pub fn key(ctx: &Ctx, n: NodeIx, statics: &Statics, dep_outputs: &[(NodeIx, Digest)]) -> (Digest, BTreeMap<String, Digest>) {
    crate::plan::key(ctx.graph, &ctx.rules.rules[ctx.graph.nodes[n].rule].name, n, statics, dep_outputs)
}

/// Is a recorded output still as recorded? One `stat` per file, and the kind's own check
/// (a toolchain's environment is probed too).
pub fn intact(ctx: &Ctx, n: NodeIx, out: &Tree) -> Result<(), String> {
    out.verify(ctx.layout).and_then(|()| ctx.kind(n).intact(ctx, out))
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

/// The second half of planning: every node's state, decided by the pure planner. Outputs are checked for being intact
/// on two threads (a `stat` per file of every fresh node is most of a no-op's planning): the
/// states are first worked out as if every recorded output were intact, the outputs that
/// made a node fresh are then checked, and only if one is not are the states worked out again.
pub fn plan_from(ctx: &Ctx, (order, statics): (Vec<NodeIx>, HashMap<NodeIx, Statics>), index: &Index) -> Plan {
    let checked: std::sync::Mutex<Vec<NodeIx>> = Default::default();
    let assume_intact = |n: NodeIx, _: &Tree| {
        checked.lock().expect("no panic holding the list").push(n);
        Ok(())
    };
    let rules: Vec<&str> = ctx.rules.rules.iter().map(|r| r.name.as_str()).collect();
    let states = crate::plan::states(ctx.graph, &rules, &order, &statics, index, &assume_intact);
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
        let known = |n: NodeIx, out: &Tree| results.get(&n).cloned().unwrap_or_else(|| intact(ctx, n, out));
        crate::plan::states(ctx.graph, &rules, &order, &statics, index, &known)
    };
    Plan { order, states, statics }
}
