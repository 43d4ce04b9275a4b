//! Loading what every command needs: the Loadfile, its rules and templates, the cache layout,
//! and the selection of cells a command works on.

use std::path::PathBuf;

use super::{Failure, Selection};
use crate::diag::{Diagnostic, SourceFile};
use crate::graph::{self, Graph, NodeIx};
use crate::kinds::Registry;
use crate::loadfile::{self, Loadfile};
use crate::matrix::Selector;
use crate::plan::Ctx;
use crate::rules::{self, Rules};
use crate::store::Layout;
use crate::template::Templates;

pub struct Session {
    pub lf: Loadfile,
    pub rules: Rules,
    pub templates: Templates,
    pub layout: Layout,
    /// The node kinds, with what they keep for the session (render's templates).
    pub kinds: Registry,
}

/// The Loadfile named on the command line, or the nearest one.
pub fn locate(loadfile: Option<PathBuf>) -> Result<PathBuf, Failure> {
    match loadfile {
        Some(p) => Ok(p),
        None => {
            let cwd = std::env::current_dir().map_err(|e| Failure::input(format!("cannot read the current directory: {e}")))?;
            loadfile::find(&cwd).ok_or_else(|| {
                Failure::Input(
                    Diagnostic::error(format!("no `{}` in `{}` or its parents", loadfile::FILE_NAME, cwd.display()))
                        .help("run loadbuild inside a project, or pass --loadfile PATH")
                        .into(),
                )
            })
        }
    }
}

/// The tier and selector a command's `--tier`/`--only` pick.
pub fn select(lf: &Loadfile, sel: &Selection) -> Result<(String, Selector), Failure> {
    let tier_name = sel.tier.clone().unwrap_or_else(|| lf.default_tier.clone());
    let Some(tier) = lf.tier(&tier_name) else {
        let known = lf.tiers.iter().map(|t| format!("`{}`", t.name)).collect::<Vec<_>>().join(", ");
        return Err(Failure::Input(Diagnostic::error(format!("unknown tier `{tier_name}`")).help(format!("known tiers: {known}")).into()));
    };
    let mut selector = tier.select.clone();
    if let Some(only) = &sel.only {
        let file = SourceFile::new("--only", only.clone());
        selector = selector.and(&Selector::parse(only, &lf.matrix, &file, 0)?);
    }
    Ok((tier_name, selector))
}

impl Session {
    /// Loads the Loadfile and rules; every problem in either is reported at once.
    pub fn open(loadfile: Option<PathBuf>) -> Result<Session, Failure> {
        let path = locate(loadfile)?;
        let lf = loadfile::load(&path)?;
        let kinds = Registry::default();
        let rules = rules::load(&lf, &|a| kinds.params(a))?;
        let templates = Templates::compile(&rules)?;
        let layout = Layout::new(&lf.cache_dir);
        Ok(Session { lf, rules, templates, layout, kinds })
    }

    pub fn select(&self, sel: &Selection) -> Result<(String, Selector), Failure> {
        select(&self.lf, sel)
    }

    /// The graph for a selection on `backend`.
    pub fn graph(&self, sel: &Selection, backend: &str) -> Result<Graph, Failure> {
        self.graph_with_sets(sel, backend, &Default::default())
    }

    /// The graph of the selected cells, with `extra_sets[cell] = k` further repetition sets
    /// of the repeatable rules (`report --adaptive`).
    pub fn graph_with_sets(&self, sel: &Selection, backend: &str, extra_sets: &rustc_hash::FxHashMap<u32, u32>) -> Result<Graph, Failure> {
        let (tier, selector) = self.select(sel)?;
        let cells = self.lf.matrix.select(&selector);
        Ok(graph::build_with_sets(&self.lf, &self.rules, cells, &tier, backend, extra_sets))
    }

    pub fn ctx<'a>(&'a self, graph: &'a Graph) -> Ctx<'a> {
        let vars = minijinja::Value::from(minijinja::value::Serde(&self.lf.vars));
        Ctx { lf: &self.lf, rules: &self.rules, graph, templates: &self.templates, layout: &self.layout, vars, kinds: &self.kinds }
    }

    /// Resolves targets: node ids, or rule names (all of that rule's nodes).
    pub fn targets(&self, graph: &Graph, names: &[String]) -> Result<Vec<NodeIx>, Failure> {
        let mut out = Vec::new();
        for name in names {
            if let Some(n) = graph.node(name) {
                out.push(n);
                continue;
            }
            if let Some((ri, _)) = self.rules.get(name) {
                out.extend(graph.nodes.iter().enumerate().filter(|(_, n)| n.rule == ri).map(|(i, _)| i));
                continue;
            }
            let rules = self.rules.rules.iter().map(|r| format!("`{}`", r.name)).collect::<Vec<_>>().join(", ");
            let similar: Vec<&str> = graph
                .nodes
                .iter()
                .map(|n| n.id.as_str())
                .filter(|id| id.starts_with(name.split('[').next().unwrap_or(name)))
                .take(3)
                .collect();
            let hint = if similar.is_empty() {
                format!("targets are node ids or rule names; rules: {rules}")
            } else {
                format!("did you mean {}?", similar.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", "))
            };
            return Err(Failure::Input(Diagnostic::error(format!("no node or rule `{name}` in this selection")).help(hint).into()));
        }
        Ok(out)
    }

    /// The report rule's nodes: the main job's targets.
    pub fn report_targets(&self, graph: &Graph) -> Result<Vec<NodeIx>, Failure> {
        if self.rules.get("report").is_none() {
            return Err(Failure::input(format!(
                "no rule named `report` in `{}`: `loadbuild report` builds it",
                self.lf.rules_dir.display()
            )));
        }
        self.targets(graph, &["report".to_string()])
    }
}
