//! Scenarios: the `render` built-in action, which renders a node's templates into files and
//! validates them before they count as its output.
//!
//! A render rule names its templates as `sources` (so their digests are in the node's key) and
//! the files to write as `outputs`: output `X` is rendered from the source named `X`; other
//! sources are partials that templates include. The key also covers the Loadfile variables the
//! templates read (by dotted path, found statically), and the tier or the list of cells when a
//! template reads them. A file that renders to nothing but whitespace is not written (a mode
//! without an application manifest). Validation is part of rendering: a file that fails a
//! check fails the node, naming the file, the place inside it and the rule broken.

mod check;
mod functions;
mod library;
mod names;
pub mod schema;
mod shell;
mod tools;
mod yaml;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use minijinja::Value;

pub use check::Problem;
pub use functions::is_argo_expression;
pub use library::Library;
pub use shell::ShellChecks;
pub use yaml::Shapes;

use crate::graph::NodeIx;
use crate::hash::{Digest, Input};
use crate::plan::{self, Ctx, Statics};
use crate::store::NewFile;

/// The render action's implementation version: part of every render node's key.
/// 2: shell scripts are stored executable (they are published as hard links).
pub const VERSION: &str = "render 2";

/// Params a render rule takes: `schemas` (a directory holding `argo/` and `spark-operator/`,
/// relative to the project root) and `kubernetes` (the version whose schemas built-in kinds
/// are checked against, e.g. `1.34`).
pub const PARAMS: &[&str] = &["schemas", "kubernetes"];

/// One node's rendering, ready for a worker.
pub struct Job {
    lib: Arc<Library>,
    /// `(output file, template name)`.
    files: Vec<(String, String)>,
    context: Value,
    /// What `once()` computed while rendering this node's files.
    memo: Arc<functions::Memo>,
    schemas: PathBuf,
    kubernetes: String,
}

/// Which checks to run; the benchmark measures rendering with and without them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validation {
    Full,
    /// Only what runs in this process: YAML, names, schemas. No `bash -n`, no shellcheck.
    InProcess,
    None,
}

/// Renders and validates `job`: the node's files, for the store. Shell scripts are executable.
pub fn render(job: &Job) -> Result<Vec<NewFile>, String> {
    render_with(job, Validation::Full)
}

/// [`render`], choosing the checks (for benchmarks; builds always validate fully).
pub fn render_with(job: &Job, validation: Validation) -> Result<Vec<NewFile>, String> {
    prepare(job, validation)?.finish()
}

/// A node rendered and checked in this process, perhaps still waiting for the shell tools'
/// verdict on a script shape (they run on a thread of their own).
pub struct Rendered {
    files: Vec<NewFile>,
    problems: Vec<Problem>,
    shell: Vec<(String, shell::Verdict)>,
}

impl Rendered {
    /// Are all verdicts in?
    pub fn ready(&self) -> bool {
        self.shell.iter().all(|(_, v)| v.ready())
    }

    /// The files, or every problem found, once the verdicts are in.
    pub fn finish(self) -> Result<Vec<NewFile>, String> {
        let mut problems = self.problems;
        for (file, verdict) in self.shell {
            problems.extend(verdict.wait().into_iter().map(|(place, rule)| Problem { file: file.clone(), place, rule }));
        }
        if problems.is_empty() {
            return Ok(self.files);
        }
        let shown: Vec<String> = problems.iter().take(20).map(|p| format!("  {p}")).collect();
        let more = if problems.len() > 20 { format!("\n  … and {} more", problems.len() - 20) } else { String::new() };
        Err(format!("{} problem(s) in the rendered files:\n{}{more}", problems.len(), shown.join("\n")))
    }
}

/// Renders `job` and runs the checks, without waiting for the shell tools.
pub fn prepare(job: &Job, validation: Validation) -> Result<Rendered, String> {
    let key = format!("{}\0{}", job.schemas.display(), job.kubernetes);
    let validators = job.lib.validators(&key, || schema::Validators::new(job.schemas.clone(), job.kubernetes.clone()));
    let no_shell = ShellChecks::disabled();
    let shell_checks = if validation == Validation::Full { job.lib.shell() } else { &no_shell };
    let checkers = check::Checkers { schemas: &validators, yaml: job.lib.yaml() };
    let mut rendered = Rendered { files: Vec::with_capacity(job.files.len()), problems: Vec::new(), shell: Vec::new() };
    job.memo.clear();
    for (file, name) in &job.files {
        let template = job.lib.env().get_template(name).map_err(|e| format!("template `{name}`: {}", library::describe(&e)))?;
        let text = template.render(&job.context).map_err(|e| format!("rendering `{file}` from `{name}`: {}", library::describe(&e)))?;
        if text.trim().is_empty() {
            continue;
        }
        let script = file.ends_with(".sh");
        if validation != Validation::None {
            rendered.problems.extend(check::check(file, &text, &checkers));
            if script {
                rendered.shell.push((file.clone(), shell_checks.start(&text)));
            }
        }
        rendered.files.push(NewFile { path: file.clone(), executable: script, bytes: text.into_bytes() });
    }
    Ok(rendered)
}

/// The key inputs a render node adds: its templates' Loadfile variables, and the tier or the
/// cell list when a template reads them. `sources` are `(name, path)` of the node's sources.
pub fn key_inputs(
    ctx: &Ctx,
    lib: &Library,
    n: NodeIx,
    sources: &[(String, String)],
    inputs: &mut BTreeMap<String, Digest>,
) -> Result<(), String> {
    let rule = ctx.graph.nodes[n].rule;
    let paths: Vec<&str> = sources.iter().map(|(_, rel)| rel.as_str()).collect();
    // Nodes of a rule share their few combinations of templates: each is analysed once.
    let keys = lib.template_keys(rule, &paths, || template_keys(ctx, lib, rule, &paths))?;
    for (name, digest) in &keys.vars {
        inputs.insert(name.clone(), *digest);
    }
    if keys.tier {
        let budget = ctx.lf.tier(&ctx.graph.tier).and_then(|t| t.budget).map(|b| b.as_secs());
        inputs.insert("tier".into(), Digest::of("loadbuild 2026-11 tier", &(&ctx.graph.tier, budget)));
    }
    if keys.cells {
        inputs.insert("cells".into(), Digest::of("loadbuild 2026-11 cells", &active_ids(ctx, n)));
    }
    Ok(())
}

/// What the templates at `paths` (a node of rule number `rule`) read, for its key.
fn template_keys(ctx: &Ctx, lib: &Library, rule: usize, paths: &[&str]) -> Result<library::TemplateKeys, String> {
    let rule = &ctx.rules.rules[rule];
    let mut infos = Vec::with_capacity(paths.len());
    for rel in paths {
        infos.push(lib.load(&ctx.lf.root, &ctx.lf.templates_dir, rel)?);
    }
    let declared: BTreeSet<&str> = infos.iter().map(|i| i.name.as_str()).collect();
    let mut vars = BTreeSet::new();
    let mut names = BTreeSet::new();
    for info in &infos {
        if let Some(r) = info.refs.iter().find(|r| !declared.contains(r.as_str())) {
            return Err(format!(
                "template `{}` uses `{r}`, which is not among the sources of rule `{}` ({}): add it to `sources` so the node's key covers it",
                info.name, rule.name, rule.origin
            ));
        }
        vars.extend(info.vars.iter().map(String::as_str));
        names.extend(info.names.iter().map(String::as_str));
    }
    Ok(library::TemplateKeys {
        vars: vars.iter().map(|v| (Input::Var(v.to_string()).name(), lib.var_digest(&ctx.lf.vars, v))).collect(),
        tier: names.contains("tier") || names.contains("tier_budget"),
        cells: names.contains("matrix") || names.contains("cells"),
    })
}

fn active_ids(ctx: &Ctx, n: NodeIx) -> Vec<String> {
    let g = ctx.graph;
    g.nodes[n].cells.iter().filter(|&&c| g.cell_skips[c as usize].is_none()).map(|&c| ctx.lf.matrix.id(&g.cells[c as usize]).0).collect()
}

/// A cell as templates see it: `id`, `name` and every dimension.
fn cell_value(ctx: &Ctx, cell: &crate::matrix::Cell) -> Value {
    let m = &ctx.lf.matrix;
    let mut c: BTreeMap<String, Value> = m.pairs(cell).map(|(k, v)| (k.to_string(), Value::from(v))).collect();
    c.insert("id".into(), Value::from(m.id(cell).0));
    c.insert("name".into(), Value::from(m.name(cell)));
    Value::from(c)
}

/// Prepares node `n`'s rendering: its context (the command context plus `matrix`, the list of
/// its cells, and `tier_budget` in seconds when the tier has a budget) and its files.
pub fn job(ctx: &Ctx, lib: &Arc<Library>, statics: &Statics, n: NodeIx) -> Result<Job, String> {
    let g = ctx.graph;
    let node = &g.nodes[n];
    let rule = &ctx.rules.rules[node.rule];
    let mut context = plan::base_context(ctx, n);
    context.insert("src".into(), Value::from(statics.src.clone()));
    let matrix: Vec<Value> =
        node.cells.iter().filter(|&&c| g.cell_skips[c as usize].is_none()).map(|&c| cell_value(ctx, &g.cells[c as usize])).collect();
    context.insert("matrix".into(), Value::from(matrix));
    if let Some(b) = ctx.lf.tier(&g.tier).and_then(|t| t.budget) {
        context.insert("tier_budget".into(), Value::from(b.as_secs()));
    }
    let memo = Arc::new(functions::Memo::default());
    context.insert(functions::MEMO.into(), functions::Memo::value(&memo));
    let lib = Arc::clone(lib);
    let mut files = Vec::with_capacity(rule.outputs.len());
    for out in &rule.outputs {
        let rel = statics
            .src
            .get(out)
            .and_then(|v| v.as_str().map(str::to_string))
            .ok_or_else(|| format!("rule `{}`: output `{out}` has no source of the same name to render it from", rule.name))?;
        files.push((out.clone(), lib.load(&ctx.lf.root, &ctx.lf.templates_dir, &rel)?.name.clone()));
    }
    let param =
        |p: &str| statics.params.get(p).cloned().ok_or_else(|| format!("rule `{}`: the render action needs param `{p}`", rule.name));
    Ok(Job {
        lib,
        files,
        context: Value::from(context),
        memo,
        schemas: ctx.lf.root.join(param("schemas")?),
        kubernetes: param("kubernetes")?,
    })
}
