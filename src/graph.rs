//! The build graph: rules instantiated over the selected cells.
//!
//! A rule per dimensions `P` gets one node per distinct projection of the selected cells onto
//! `P`; a dependency on a rule per dimensions `Q` links a node to the `Q`-projections of its
//! cells — one node when `Q ⊆ P` (a run needs its dataset), many when `Q` is finer (the report
//! needs every run). Cells a skip rule covers get per-cell nodes marked skipped, which never
//! run and which no other node waits for. Rules come in dependency order, so node indices are
//! a topological order.

use rustc_hash::{FxHashMap as HashMap, FxHashSet};

use crate::loadfile::{Loadfile, Skip};
use crate::matrix::Cell;
use crate::rules::{PerDim, Rules};

pub type NodeIx = usize;

/// Why a node will not run on this backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkipReason {
    pub reason: String,
    /// The skip rule: its selector and where it is declared.
    pub rule: String,
}

impl SkipReason {
    fn of(s: &Skip) -> SkipReason {
        SkipReason { reason: s.reason.clone(), rule: format!("`{}` ({})", s.when_text, s.origin) }
    }
}

#[derive(Debug, Clone)]
pub struct Node {
    /// `rule[value/value/…]`, values in the rule's `per` order; just `rule` for global rules.
    pub id: String,
    pub rule: usize,
    /// `(dimension, value)` pairs of the rule's `per`, in order.
    pub binding: Vec<(String, String)>,
    pub deps: Vec<NodeIx>,
    /// Skipped nodes this node would depend on if they could run: shown by `plan`, never waited for.
    pub skipped_deps: Vec<NodeIx>,
    /// The selected cells this node serves (indices into [`Graph::cells`]).
    pub cells: Vec<u32>,
    pub skipped: Option<SkipReason>,
}

#[derive(Debug, Clone)]
pub struct Graph {
    pub tier: String,
    pub backend: String,
    pub cells: Vec<Cell>,
    /// For each cell, the skip rule that applies on this backend.
    pub cell_skips: Vec<Option<SkipReason>>,
    pub nodes: Vec<Node>,
    pub by_id: HashMap<String, NodeIx>,
}

impl Graph {
    pub fn node(&self, id: &str) -> Option<NodeIx> {
        self.by_id.get(id).copied()
    }

    /// The nodes of `targets` and everything they depend on, in topological order.
    pub fn closure(&self, targets: &[NodeIx]) -> Vec<NodeIx> {
        let mut want = vec![false; self.nodes.len()];
        let mut stack: Vec<NodeIx> = targets.to_vec();
        while let Some(n) = stack.pop() {
            if !std::mem::replace(&mut want[n], true) {
                stack.extend(&self.nodes[n].deps);
                stack.extend(&self.nodes[n].skipped_deps);
            }
        }
        (0..self.nodes.len()).filter(|&n| want[n]).collect()
    }

    /// For each node, the nodes that depend on it.
    pub fn dependents(&self) -> Vec<Vec<NodeIx>> {
        let mut out = vec![Vec::new(); self.nodes.len()];
        for (n, node) in self.nodes.iter().enumerate() {
            for &d in &node.deps {
                out[d].push(n);
            }
        }
        out
    }
}

/// Instantiates `rules` over `cells` for `tier` on `backend`.
pub fn build(lf: &Loadfile, rules: &Rules, cells: Vec<Cell>, tier: &str, backend: &str) -> Graph {
    build_with_sets(lf, rules, cells, tier, backend, &HashMap::default())
}

/// [`build`], plus further repetition sets: `extra_sets[c] = k` gives cell `c` (an index into
/// `cells`) the nodes of every repeatable rule again for sets 2, …, k + 1. A set node's binding
/// is the cell's plus `("set", "k")`, so its key differs from the first set's; it depends on the
/// same set's nodes of repeatable rules and on the shared nodes, and every non-repeatable rule
/// that depends on the repeatable one depends on all its sets (the report sees every sample).
pub fn build_with_sets(lf: &Loadfile, rules: &Rules, cells: Vec<Cell>, tier: &str, backend: &str, extra_sets: &HashMap<u32, u32>) -> Graph {
    let mut extra: Vec<(u32, u32)> = extra_sets.iter().map(|(&c, &k)| (c, k)).collect();
    extra.sort_unstable();
    let cell_skips: Vec<Option<SkipReason>> = cells.iter().map(|c| lf.skip_for(&c.0, backend).map(SkipReason::of)).collect();
    let mut nodes: Vec<Node> = Vec::new();
    let mut by_id = HashMap::default();
    // Per rule: projection of a cell → node index.
    let mut by_proj: Vec<HashMap<Vec<u16>, NodeIx>> = Vec::with_capacity(rules.rules.len());
    // Per rule: (cell, set) → node index, for the extra sets of repeatable rules.
    let mut by_set: Vec<HashMap<(u32, u32), NodeIx>> = Vec::with_capacity(rules.rules.len());
    let project = |per: &[PerDim], cell: &Cell| -> Vec<u16> {
        per.iter()
            .map(|p| match p {
                PerDim::Tier => 0,
                PerDim::Dim(d) => cell.0[*d],
            })
            .collect()
    };
    for (ri, rule) in rules.rules.iter().enumerate() {
        let global = !rule.per.iter().any(|p| matches!(p, PerDim::Dim(_)));
        // Group the cells by projection, keeping first-seen (declaration) order.
        let mut groups: Vec<(Vec<u16>, Vec<u32>)> = Vec::new();
        let mut group_of: HashMap<Vec<u16>, usize> = HashMap::default();
        for (ci, cell) in cells.iter().enumerate() {
            if rule.when.as_ref().is_some_and(|w| !w.matches(&cell.0)) {
                continue;
            }
            let proj = project(&rule.per, cell);
            let g = *group_of.entry(proj.clone()).or_insert_with(|| {
                groups.push((proj, Vec::new()));
                groups.len() - 1
            });
            groups[g].1.push(ci as u32);
        }
        if groups.is_empty() && global && rule.when.is_none() {
            groups.push((project(&rule.per, &Cell(vec![0; lf.matrix.dims.len()].into())), Vec::new()));
        }
        let mut index = HashMap::with_capacity_and_hasher(groups.len(), Default::default());
        for (proj, group_cells) in groups {
            let active: Vec<u32> = group_cells.iter().copied().filter(|&c| cell_skips[c as usize].is_none()).collect();
            let skipped = if active.is_empty() && !global { cell_skips[group_cells[0] as usize].clone() } else { None };
            let binding: Vec<(String, String)> = rule
                .per
                .iter()
                .map(|p| match p {
                    PerDim::Tier => ("tier".to_string(), tier.to_string()),
                    PerDim::Dim(d) => {
                        let cell = &cells[group_cells.first().copied().unwrap_or(0) as usize];
                        (lf.matrix.dims[*d].name.clone(), lf.matrix.value(cell, *d).to_string())
                    }
                })
                .collect();
            let id = if binding.is_empty() {
                rule.name.clone()
            } else {
                format!("{}[{}]", rule.name, binding.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>().join("/"))
            };
            let mut deps = Vec::new();
            let mut skipped_deps = Vec::new();
            for &dr in &rule.deps {
                let dep_rule = &rules.rules[dr];
                let has_dep = |c: u32| dep_rule.when.as_ref().is_none_or(|w| w.matches(&cells[c as usize].0));
                let mut seen = FxHashSet::default();
                for &c in active.iter().filter(|&&c| has_dep(c)) {
                    let p = project(&dep_rule.per, &cells[c as usize]);
                    if seen.insert(p.clone())
                        && let Some(&n) = by_proj[dr].get(&p)
                    {
                        deps.push(n);
                    }
                }
                for &c in &group_cells {
                    if cell_skips[c as usize].is_some()
                        && has_dep(c)
                        && let Some(&n) = by_proj[dr].get(&project(&dep_rule.per, &cells[c as usize]))
                        && nodes[n].skipped.is_some()
                    {
                        skipped_deps.push(n);
                    }
                }
                if active.is_empty() && global && !dep_rule.per.iter().any(|p| matches!(p, PerDim::Dim(_))) {
                    deps.extend(by_proj[dr].values().copied());
                }
                if dep_rule.repeatable && !rule.repeatable {
                    for &c in active.iter().filter(|&&c| has_dep(c)) {
                        let sets = extra_sets.get(&c).copied().unwrap_or(0);
                        deps.extend((2..=sets + 1).filter_map(|set| by_set[dr].get(&(c, set)).copied()));
                    }
                }
            }
            deps.sort_unstable();
            deps.dedup();
            skipped_deps.sort_unstable();
            skipped_deps.dedup();
            let n = nodes.len();
            by_id.insert(id.clone(), n);
            index.insert(proj, n);
            nodes.push(Node { id, rule: ri, binding, deps, skipped_deps, cells: group_cells, skipped });
        }
        by_proj.push(index);
        let mut sets_index = HashMap::default();
        if rule.repeatable {
            for &(c, count) in &extra {
                let cell = &cells[c as usize];
                if cell_skips[c as usize].is_some() || rule.when.as_ref().is_some_and(|w| !w.matches(&cell.0)) {
                    continue;
                }
                let Some(&first) = by_proj[ri].get(&project(&rule.per, cell)) else { continue };
                for set in 2..=count + 1 {
                    let base = &nodes[first];
                    let mut binding = base.binding.clone();
                    binding.push(("set".to_string(), set.to_string()));
                    let id = format!("{}/set{set}]", base.id.strip_suffix(']').unwrap_or(&base.id));
                    let mut deps: Vec<NodeIx> = rules.rules[ri]
                        .deps
                        .iter()
                        .filter_map(|&dr| {
                            let dep_rule = &rules.rules[dr];
                            if dep_rule.when.as_ref().is_some_and(|w| !w.matches(&cell.0)) {
                                None
                            } else if dep_rule.repeatable {
                                by_set[dr].get(&(c, set)).copied()
                            } else {
                                by_proj[dr].get(&project(&dep_rule.per, cell)).copied()
                            }
                        })
                        .collect();
                    deps.sort_unstable();
                    deps.dedup();
                    let n = nodes.len();
                    by_id.insert(id.clone(), n);
                    sets_index.insert((c, set), n);
                    nodes.push(Node { id, rule: ri, binding, deps, skipped_deps: Vec::new(), cells: vec![c], skipped: None });
                }
            }
        }
        by_set.push(sets_index);
    }
    Graph { tier: tier.to_string(), backend: backend.to_string(), cells, cell_skips, nodes, by_id }
}
