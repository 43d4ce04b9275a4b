//! Rules: the declarations in `rules/*.toml` that turn matrix cells into build-graph nodes.
//!
//! A rule says per which dimensions it is instantiated (`per`), what it reads (`sources`,
//! `deps`, Loadfile `vars`), what it does (`action`: a built-in or a `command`), and what it
//! needs to run (`resources`, `timeout`, `retries`). Rules form a DAG; a cycle is an error
//! naming its path.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use toml_edit::TableLike;

use crate::diag::{Diagnostic, Diagnostics, SourceFile, display_path};
use crate::hash::Digest;
use crate::loadfile::Loadfile;
use crate::loadfile::raw::{self, Reader, Spanned};
use crate::matrix::Selector;

/// The pseudo-dimension a rule may be instantiated per: the tier being built.
pub const TIER: &str = "tier";

/// What a node does when it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A shell script, rendered with minijinja, run by the backend with `$OUT` to fill.
    Command { script: String },
    /// Writes a plain summary of the outcomes of its dependencies (and the skipped cells).
    Summary,
    /// Judges the tier's cells from their dependencies' `metrics.json` against the baselines and
    /// history, and writes the report files (`docs/reports.md`).
    Report,
    /// Generates the NYC-taxi dataset: params `size` (e.g. `1GiB`), `seed` (optional).
    Dataset,
    /// Uploads its `dataset` dependency to S3: params `bucket`, `prefix` (optional), `endpoint`
    /// (optional; else `LOADBUILD_S3_ENDPOINT`). Credentials only from the environment.
    Upload,
    /// Reads its cell's `run` output (`result.json`, `eventlog/`) and writes `metrics.json`
    /// (docs/runs.md); one node per cell, exactly one dependency. Param `history_server`
    /// (optional): a History Server URL to fetch the application from when the run copied no log.
    Metrics,
    /// Provisions a Python environment with pinned packages (params `pins`, `python`) under the
    /// cache; its output is a receipt, fresh only while the environment is intact.
    Toolchain,
    /// Declares a server the backend starts when a dependent runs and stops after the build
    /// (params `kind` and the kind's settings); its output is the server's specification.
    Service,
    /// Renders templates (its sources) into its outputs and validates them (`kinds::render`).
    Render,
}

impl Action {
    pub const BUILTINS: &'static [&'static str] =
        &["command", "summary", "report", "dataset", "upload", "toolchain", "service", "metrics", "render"];

    fn from_builtin(name: &str) -> Option<Action> {
        match name {
            "summary" => Some(Action::Summary),
            "report" => Some(Action::Report),
            "dataset" => Some(Action::Dataset),
            "upload" => Some(Action::Upload),
            "metrics" => Some(Action::Metrics),
            "toolchain" => Some(Action::Toolchain),
            "service" => Some(Action::Service),
            "render" => Some(Action::Render),
            _ => None,
        }
    }
}

/// `(required, optional)` params of an action: each node kind says its own (`Kind::params`),
/// and [`load`] is told them.
pub type Params = (&'static [&'static str], &'static [&'static str]);

/// What to do with a command that exits non-zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// The node fails; its dependents do not run.
    Stop,
    /// The output is kept as a *failed outcome*: dependents see it in this build, but it is
    /// never fresh, so the next build runs the node again.
    Record,
}

/// A rule's resource needs, scheduled against the build's budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resources {
    pub cores: u32,
    pub memory: u64,
    /// Mutex names (templated on the binding): nodes sharing a name never run together.
    pub mutex: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub description: String,
    /// Dimension indices (or [`TIER`]) the rule is instantiated per, in matrix order.
    pub per: Vec<PerDim>,
    /// Only cells this selector matches have the rule's nodes (all cells when `None`); a
    /// dependent cell outside it simply has no such dependency.
    pub when: Option<Selector>,
    pub deps: Vec<usize>,
    /// Logical name → path or glob relative to the project root, templated on the binding.
    pub sources: BTreeMap<String, String>,
    pub action: Action,
    pub resources: Resources,
    pub timeout: Option<Duration>,
    pub retries: u32,
    pub transient_exit_codes: Vec<i32>,
    pub on_failure: OnFailure,
    /// A per-cell rule whose nodes `report --adaptive` adds again, as further repetition sets
    /// of an inconclusive cell (binding `set = 2, 3, …`; see docs/reports.md).
    pub repeatable: bool,
    /// Files the action must produce in `$OUT`.
    pub outputs: Vec<String>,
    /// Parameters of a built-in action: name → template, rendered per node.
    pub params: BTreeMap<String, String>,
    /// Digest of the rule's declaration as written: editing it invalidates its nodes.
    pub def_digest: Digest,
    /// `rules/x.toml:LINE`.
    pub origin: String,
}

/// One coordinate a rule is instantiated per.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PerDim {
    Tier,
    Dim(usize),
}

/// All rules, in an order where every rule comes after its dependencies.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    pub rules: Vec<Rule>,
}

impl Rules {
    pub fn get(&self, name: &str) -> Option<(usize, &Rule)> {
        self.rules.iter().enumerate().find(|(_, r)| r.name == name)
    }
}

/// Parses `"512MiB"`, `"2GiB"`, `"1g"` or a plain number of bytes.
pub fn parse_bytes(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1u64,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return None,
    };
    Some((n * mult as f64) as u64)
}

/// Reads every `*.toml` in the Loadfile's rules directory; `params` says which params each
/// action requires and allows (the node kinds know; see `kinds::Registry::params`).
pub fn load(lf: &Loadfile, params: &dyn Fn(&Action) -> Params) -> Result<Rules, Diagnostics> {
    let mut files: Vec<_> = match std::fs::read_dir(&lf.rules_dir) {
        Ok(rd) => rd.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "toml")).collect(),
        Err(e) => {
            return Err(
                Diagnostic::error(format!("cannot read the rules directory `{}`: {e}", display_path(&lf.root, &lf.rules_dir))).into()
            );
        }
    };
    files.sort();
    let mut diags = Diagnostics::default();
    let mut declared: Vec<(Rule, Vec<Spanned<String>>, SourceFile)> = Vec::new();
    for path in &files {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                diags.push(Diagnostic::error(format!("cannot read `{}`: {e}", path.display())));
                continue;
            }
        };
        let file = SourceFile::new(display_path(&lf.root, path), text);
        match read_file(file.clone(), lf, params) {
            Ok(rules) => {
                for (rule, deps) in rules {
                    if let Some((other, _, _)) = declared.iter().find(|(r, _, _)| r.name == rule.name) {
                        diags.push(
                            Diagnostic::error(format!("rule `{}` is declared twice: here and at {}", rule.name, other.origin))
                                .at(&file, None),
                        );
                        continue;
                    }
                    declared.push((rule, deps, file.clone()));
                }
            }
            Err(d) => diags.extend(d),
        }
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    order(declared)
}

/// Resolves dependency names and sorts rules so dependencies come first.
fn order(declared: Vec<(Rule, Vec<Spanned<String>>, SourceFile)>) -> Result<Rules, Diagnostics> {
    let mut diags = Diagnostics::default();
    let names: Vec<String> = declared.iter().map(|(r, _, _)| r.name.clone()).collect();
    let mut g = petgraph::graph::DiGraph::<usize, ()>::new();
    let ix: Vec<_> = (0..declared.len()).map(|i| g.add_node(i)).collect();
    for (i, (rule, deps, file)) in declared.iter().enumerate() {
        for dep in deps {
            match names.iter().position(|n| *n == dep.value) {
                Some(j) => {
                    g.add_edge(ix[j], ix[i], ());
                }
                None => {
                    let known = names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
                    diags.push(
                        Diagnostic::error(format!("rule `{}` depends on unknown rule `{}`", rule.name, dep.value))
                            .at(file, dep.span.clone())
                            .help(format!("known rules: {known}")),
                    );
                }
            }
        }
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    let sorted = match petgraph::algo::toposort(&g, None) {
        Ok(s) => s,
        Err(cycle) => {
            let start = g[cycle.node_id()];
            let path = cycle_path(&g, cycle.node_id()).into_iter().map(|n| names[g[n]].clone()).collect::<Vec<_>>().join(" -> ");
            let (_, _, file) = &declared[start];
            return Err(Diagnostic::error(format!("rules form a cycle: {path}"))
                .at(file, None)
                .help("a rule cannot depend on itself, directly or through others")
                .into());
        }
    };
    let position: Vec<usize> = sorted.iter().map(|n| g[*n]).collect();
    let mut rules: Vec<Rule> = Vec::with_capacity(declared.len());
    let mut new_index = vec![0; declared.len()];
    for (new, &old) in position.iter().enumerate() {
        new_index[old] = new;
    }
    let mut slots: Vec<Option<(Rule, Vec<Spanned<String>>)>> = declared.into_iter().map(|(r, d, _)| Some((r, d))).collect();
    for &old in &position {
        let (mut rule, deps) = slots[old].take().expect("each rule is placed once");
        rule.deps = deps.iter().map(|d| new_index[names.iter().position(|n| *n == d.value).expect("resolved above")]).collect();
        rules.push(rule);
    }
    Ok(Rules { rules })
}

/// A shortest path from `start` back to itself, for naming a cycle.
fn cycle_path(g: &petgraph::graph::DiGraph<usize, ()>, start: petgraph::graph::NodeIndex) -> Vec<petgraph::graph::NodeIndex> {
    use std::collections::{HashMap, VecDeque};
    let mut prev = HashMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(n) = queue.pop_front() {
        for next in g.neighbors(n) {
            if next == start {
                let mut path = vec![start];
                let mut cur = n;
                while cur != start {
                    path.push(cur);
                    cur = prev[&cur];
                }
                path.push(start);
                let last = path.len() - 1;
                path[1..last].reverse();
                return path;
            }
            if let std::collections::hash_map::Entry::Vacant(e) = prev.entry(next) {
                e.insert(n);
                queue.push_back(next);
            }
        }
    }
    vec![start, start]
}

const RULE_KEYS: &[&str] = &[
    "description",
    "per",
    "when",
    "deps",
    "sources",
    "action",
    "command",
    "resources",
    "timeout",
    "retries",
    "transient_exit_codes",
    "on_failure",
    "repeatable",
    "outputs",
    "params",
];

/// A rule as declared, with its dependencies still named (resolved by [`order`]).
type Declared = (Rule, Vec<Spanned<String>>);

fn read_file(file: SourceFile, lf: &Loadfile, params: &dyn Fn(&Action) -> Params) -> Result<Vec<Declared>, Diagnostics> {
    let (mut r, doc) = Reader::parse(file)?;
    let top = doc.as_table();
    r.check_keys(top, "a rules file", &["rule"]);
    let mut out = Vec::new();
    if let Some(rules) = top.get("rule").and_then(|i| r.table(i, "`[rule]`")) {
        for (name, item) in rules.iter() {
            let Some(t) = r.table(item, &format!("rule `{name}`")) else { continue };
            let line = item.span().map_or(0, |s| r.file.line_col(s.start).0);
            if let Some(rule) = read_rule(&mut r, name, t, lf, line, params) {
                out.push(rule);
            }
        }
    }
    if out.is_empty() && r.diags.is_empty() {
        r.error(None, "this rules file declares no rule").help = Some("declare rules as `[rule.NAME]` tables".into());
    }
    r.diags.into_result(out)
}

fn read_rule(
    r: &mut Reader,
    name: &str,
    t: &dyn TableLike,
    lf: &Loadfile,
    line: usize,
    params_of: &dyn Fn(&Action) -> Params,
) -> Option<Declared> {
    r.check_keys(t, &format!("rule `{name}`"), RULE_KEYS);
    let errors_before = r.diags.len();
    let description = t.get("description").and_then(|i| r.string(i, "`description`")).map(|s| s.value).unwrap_or_default();
    let mut per = Vec::new();
    if let Some(p) = t.get("per").and_then(|i| r.strings(i, "`per`")) {
        for d in p.value {
            if d.value == TIER {
                per.push(PerDim::Tier);
            } else if let Some(ix) = lf.matrix.dim_index(&d.value) {
                per.push(PerDim::Dim(ix));
            } else {
                let known = lf.matrix.dims.iter().map(|d| format!("`{}`", d.name)).collect::<Vec<_>>().join(", ");
                r.error(d.span, format!("rule `{name}` is per unknown dimension `{}`", d.value)).help =
                    Some(format!("known: {known}, or `{TIER}`"));
            }
        }
    }
    per.sort();
    per.dedup();
    let when = t.get("when").and_then(|i| r.string(i, "`when`")).and_then(|w| {
        let offset = w.span.as_ref().map_or(0, |s| s.start + 1);
        match Selector::parse(&w.value, &lf.matrix, &r.file, offset) {
            Ok(sel) => Some(sel),
            Err(d) => {
                r.diags.extend(d);
                None
            }
        }
    });
    let deps = t.get("deps").and_then(|i| r.strings(i, "`deps`")).map(|d| d.value).unwrap_or_default();
    let mut sources = BTreeMap::new();
    if let Some(st) = t.get("sources").and_then(|i| r.table(i, "`sources`")) {
        for (k, v) in st.iter() {
            if let Some(s) = r.string(v, &format!("source `{k}`")) {
                check_source(r, lf, &s);
                sources.insert(k.to_string(), s.value);
            }
        }
    }
    let action_name = t.get("action").and_then(|i| r.string(i, "`action`"));
    let command = t.get("command").and_then(|i| r.string(i, "`command`"));
    let action = match (action_name.as_ref().map(|a| a.value.as_str()), command) {
        (Some("command") | None, Some(c)) => Some(Action::Command { script: c.value }),
        (Some("command") | None, None) => {
            r.error(action_name.clone().and_then(|a| a.span), format!("rule `{name}` has no `command`")).help =
                Some("give `command = \"…\"` (a shell script writing into `$OUT`) or a built-in `action`".into());
            None
        }
        (Some(b), None) if Action::from_builtin(b).is_some() => Action::from_builtin(b),
        (Some(other), c) => {
            let a = action_name.clone().expect("matched Some");
            if Action::BUILTINS.contains(&other) {
                r.error(c.and_then(|c| c.span), format!("built-in action `{other}` takes no `command`"));
            } else {
                r.error(a.span, format!("unknown action `{other}`")).help = Some(format!("known actions: {}", Action::BUILTINS.join(", ")));
            }
            None
        }
    };
    let mut resources = Resources { cores: 1, memory: 0, mutex: Vec::new() };
    if let Some(res) = t.get("resources").and_then(|i| r.table(i, "`resources`")) {
        r.check_keys(res, "`resources`", &["cores", "memory", "mutex"]);
        if let Some(c) = res.get("cores").and_then(|i| r.non_negative(i, "`resources.cores`")) {
            resources.cores = c.value as u32;
        }
        if let Some(m) = res.get("memory").and_then(|i| r.string(i, "`resources.memory`")) {
            match parse_bytes(&m.value) {
                Some(b) => resources.memory = b,
                None => r.error(m.span, format!("`{}` is not a size", m.value)).help = Some("write e.g. `512MiB` or `4GiB`".into()),
            }
        }
        if let Some(m) = res.get("mutex").and_then(|i| r.strings(i, "`resources.mutex`")) {
            resources.mutex = m.value.into_iter().map(|s| s.value).collect();
        }
    }
    let timeout = t.get("timeout").and_then(|i| r.string(i, "`timeout`")).and_then(|s| match humantime::parse_duration(&s.value) {
        Ok(d) => Some(d),
        Err(e) => {
            r.error(s.span, format!("timeout `{}` is not a duration: {e}", s.value)).help = Some("write e.g. `90s`, `10m` or `2h`".into());
            None
        }
    });
    let retries = t.get("retries").and_then(|i| r.non_negative(i, "`retries`")).map_or(0, |v| v.value as u32);
    let transient_exit_codes = match t.get("transient_exit_codes").and_then(|i| i.as_array()) {
        Some(a) => a.iter().filter_map(|v| v.as_integer()).map(|v| v as i32).collect(),
        None => vec![75], // EX_TEMPFAIL
    };
    let on_failure = match t.get("on_failure").and_then(|i| r.string(i, "`on_failure`")) {
        None => OnFailure::Stop,
        Some(s) if s.value == "stop" => OnFailure::Stop,
        Some(s) if s.value == "record" => OnFailure::Record,
        Some(s) => {
            r.error(s.span, format!("unknown `on_failure` value `{}`", s.value)).help = Some("use `stop` or `record`".into());
            OnFailure::Stop
        }
    };
    let repeatable = match t.get("repeatable") {
        None => false,
        Some(i) => match i.as_bool() {
            Some(b) => b,
            None => {
                r.error(i.span(), "`repeatable` must be `true` or `false`");
                false
            }
        },
    };
    if repeatable && per.iter().filter(|p| matches!(p, PerDim::Dim(_))).count() < lf.matrix.dims.len() {
        r.error(t.get("repeatable").and_then(|i| i.span()), format!("rule `{name}` is repeatable but not per cell")).help =
            Some("only per-cell rules (per every dimension) can be repeated as extra repetition sets".into());
    }
    let mut params = BTreeMap::new();
    if let Some(pt) = t.get("params").and_then(|i| r.table(i, "`params`")) {
        for (k, v) in pt.iter() {
            if let Some(s) = r.string(v, &format!("param `{k}`")) {
                params.insert(k.to_string(), s.value);
            }
        }
    }
    if let Some(a) = &action {
        let (required, optional) = params_of(a);
        let span = t.get("params").and_then(|i| i.span()).or_else(|| action_name.as_ref().and_then(|a| a.span.clone()));
        for p in required.iter().filter(|p| !params.contains_key(**p)) {
            r.error(span.clone(), format!("rule `{name}`: action needs param `{p}`")).help =
                Some(format!("add `params = {{ {p} = \"…\" }}`"));
        }
        for p in params.keys().filter(|p| !required.contains(&p.as_str()) && !optional.contains(&p.as_str())) {
            let known: Vec<&str> = required.iter().chain(optional).copied().collect();
            r.error(span.clone(), format!("rule `{name}`: unknown param `{p}`")).help =
                Some(if known.is_empty() { "this action takes no params".into() } else { format!("known params: {}", known.join(", ")) });
        }
    }
    let outputs: Vec<String> = t
        .get("outputs")
        .and_then(|i| r.strings(i, "`outputs`"))
        .map(|o| o.value.into_iter().map(|s| s.value).collect())
        .unwrap_or_default();
    if action == Some(Action::Render) {
        let span = t.get("outputs").and_then(|i| i.span());
        if outputs.is_empty() {
            r.error(span.clone(), format!("rule `{name}`: the render action needs `outputs`")).help =
                Some("list the files to render, each with a source of the same name: `outputs = [\"run.sh\"]`".into());
        }
        for o in outputs.iter().filter(|o| !sources.contains_key(*o)) {
            r.error(span.clone(), format!("rule `{name}`: output `{o}` has no source of the same name")).help =
                Some(format!("add `\"{o}\" = \"templates/….j2\"` to `sources`: each output is rendered from its source"));
        }
        for (k, v) in sources.iter().filter(|(_, v)| v.contains(['*', '?', '['])) {
            r.error(span.clone(), format!("rule `{name}`: source `{k}` = `{v}` is a glob; a render rule names each template")).help =
                Some("name every template a render node uses, so its key covers exactly those".into());
        }
    }
    let def_digest = Digest::of("loadbuild 2026-11 rule declaration", &canonical(t));
    if r.diags.len() > errors_before {
        return None;
    }
    let rule = Rule {
        name: name.to_string(),
        description,
        per,
        when,
        deps: Vec::new(),
        sources,
        action: action?,
        resources,
        timeout,
        retries,
        transient_exit_codes,
        on_failure,
        repeatable,
        outputs,
        params,
        def_digest,
        origin: format!("{}:{line}", r.file.display),
    };
    Some((rule, deps))
}

/// A source must exist unless its path is templated (then it is checked per node).
fn check_source(r: &mut Reader, lf: &Loadfile, s: &Spanned<String>) {
    if s.value.contains("{{") {
        return;
    }
    let is_glob = s.value.contains(['*', '?', '[']);
    let exists = if is_glob {
        glob::glob(&lf.root.join(&s.value).to_string_lossy()).is_ok_and(|mut g| g.next().is_some())
    } else {
        Path::new(&lf.root.join(&s.value)).exists()
    };
    if !exists {
        r.error(s.span.clone(), format!("source `{}` does not exist", s.value)).help =
            Some("paths are relative to the directory holding Loadfile.toml".into());
    }
}

/// The declaration as canonical JSON (keys sorted), so formatting and comments do not count.
fn canonical(t: &dyn TableLike) -> String {
    // `repeatable` shapes the graph (which sets exist), not what a node computes: declaring it
    // must not rebuild every node of the rule.
    let json: BTreeMap<String, serde_json::Value> =
        t.iter().filter(|(k, _)| *k != "repeatable").map(|(k, v)| (k.to_string(), raw::to_json(v))).collect();
    serde_json::to_string(&json).expect("JSON values serialize")
}
