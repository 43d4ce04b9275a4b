//! `loadbuild matrix …`: count, list, show and validate the cells the Loadfile declares.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::session::{Session, locate, select};
use super::{CmdResult, EXIT_OK, Failure, Selection};
use crate::diag::Diagnostic;
use crate::loadfile;
use crate::matrix::{Cell, Matrix};

#[derive(Subcommand, Debug)]
pub enum MatrixCommand {
    /// Print how many cells a tier (and `--only`) selects: one integer
    Count(Sel),
    /// List the selected cells: `id  name`, or JSON objects with `--json`
    List(ListArgs),
    /// Show one cell (by id or name): its values, tiers, and skip rules
    Show(ShowArgs),
    /// Check the Loadfile and rules; exit 0 when valid, 2 with every problem found
    Validate,
    /// Write the matrix reference (Markdown: dimensions, naming, tiers, skip rules) generated from the Loadfile
    Doc(DocArgs),
}

#[derive(Args, Debug)]
pub struct DocArgs {
    /// Write it to this file instead of stdout (the committed copy is `docs/matrix.md`)
    #[arg(long, value_name = "PATH")]
    out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct Sel {
    #[command(flatten)]
    sel: Selection,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    sel: Selection,
    /// An array of objects with `id`, `name` and one key per dimension
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// A cell id (`411-jupyter-connect-none-read-1gb`) or name (`4.1.1/jupyter/connect/none/read/1gb`)
    cell: String,
    #[arg(long)]
    json: bool,
}

fn cell_json(m: &Matrix, c: &Cell) -> serde_json::Value {
    let mut o = serde_json::Map::new();
    o.insert("id".into(), m.id(c).0.into());
    o.insert("name".into(), m.name(c).into());
    for (k, v) in m.pairs(c) {
        o.insert(k.into(), v.into());
    }
    serde_json::Value::Object(o)
}

/// Every template a render rule uses, for any cell, and every workload the Loadfile names
/// (`[vars.scenario.workloads]`) must exist; templates must compile and include only declared
/// sources. All problems are reported at once.
fn check_named_files(s: &Session) -> Result<(), Failure> {
    let mut diags = crate::diag::Diagnostics::default();
    if let Some(w) = s.lf.vars.get("scenario").and_then(|v| v.get("workloads")) {
        let mut paths = Vec::new();
        collect_paths(w, "vars.scenario.workloads", &mut paths);
        for (at, path) in paths {
            if !s.lf.root.join(&path).is_file() {
                diags.push(
                    Diagnostic::error(format!("`{at}` names `{path}`, which does not exist"))
                        .help("workload paths are relative to the directory holding Loadfile.toml"),
                );
            }
        }
    }
    if s.rules.rules.iter().any(|r| r.action == crate::rules::Action::Render) {
        let graph = crate::graph::build(&s.lf, &s.rules, s.lf.matrix.cells(), &s.lf.default_tier, "kubernetes");
        let ctx = s.ctx(&graph);
        let mut stat = crate::store::StatCache::load(&s.layout.stat_cache());
        let mut sources = crate::observe::Sources::new(&s.lf.root, &mut stat);
        let mut seen = std::collections::BTreeSet::new();
        for (n, node) in graph.nodes.iter().enumerate() {
            if s.rules.rules[node.rule].action != crate::rules::Action::Render {
                continue;
            }
            if let Err(e) = crate::observe::statics(&ctx, n, &mut sources)
                && seen.insert(e.clone())
            {
                let rule = &s.rules.rules[node.rule];
                diags.push(
                    Diagnostic::error(format!("node `{}`: {e}", node.id))
                        .help(format!("check the rule `{}` at {}", rule.name, rule.origin)),
                );
            }
        }
    }
    diags.into_result(()).map_err(Failure::from)
}

/// The strings below a Loadfile table, with their dotted paths.
fn collect_paths(v: &serde_json::Value, at: &str, out: &mut Vec<(String, String)>) {
    match v {
        serde_json::Value::String(s) => out.push((at.to_string(), s.clone())),
        serde_json::Value::Object(m) => m.iter().for_each(|(k, c)| collect_paths(c, &format!("{at}.{k}"), out)),
        serde_json::Value::Array(a) => a.iter().enumerate().for_each(|(i, c)| collect_paths(c, &format!("{at}[{i}]"), out)),
        _ => {}
    }
}

pub fn run(loadfile: Option<PathBuf>, cmd: MatrixCommand) -> CmdResult {
    if let MatrixCommand::Validate = cmd {
        let s = Session::open(loadfile)?;
        check_named_files(&s)?;
        let counts = s.lf.tiers.iter().map(|t| format!("{} = {}", t.name, s.lf.matrix.count(&t.select))).collect::<Vec<_>>().join(", ");
        println!("ok: {} cells; tiers {counts}; {} rules", s.lf.matrix.count(&crate::matrix::Selector::all()), s.rules.rules.len());
        return Ok(EXIT_OK);
    }
    // The matrix commands need only the Loadfile, not the rules.
    let lf = loadfile::load(&locate(loadfile)?)?;
    let m = &lf.matrix;
    let mut out = std::io::stdout().lock();
    match cmd {
        MatrixCommand::Count(a) => {
            let (_, sel) = select(&lf, &a.sel)?;
            let _ = writeln!(out, "{}", m.count(&sel));
        }
        MatrixCommand::List(a) => {
            let (_, sel) = select(&lf, &a.sel)?;
            let cells = m.select(&sel);
            if a.json {
                let v: Vec<_> = cells.iter().map(|c| cell_json(m, c)).collect();
                let _ = writeln!(out, "{}", serde_json::to_string_pretty(&v).expect("JSON values serialize"));
            } else {
                for c in &cells {
                    let _ = writeln!(out, "{}  {}", m.id(c), m.name(c));
                }
            }
        }
        MatrixCommand::Show(a) => {
            let Some(cell) = m.find(&a.cell) else {
                return Err(Failure::Input(
                    Diagnostic::error(format!("no cell `{}`", a.cell)).help("give a cell id or name as `matrix list` prints them").into(),
                ));
            };
            let tiers: Vec<&str> = lf.tiers.iter().filter(|t| t.select.matches(&cell.0)).map(|t| t.name.as_str()).collect();
            let skips: Vec<serde_json::Value> = lf
                .skips
                .iter()
                .filter(|s| s.when.matches(&cell.0))
                .map(|s| serde_json::json!({"backends": s.backends, "reason": s.reason, "rule": s.origin}))
                .collect();
            if a.json {
                let mut v = cell_json(m, &cell);
                v["tiers"] = serde_json::json!(tiers);
                v["skipped"] = serde_json::json!(skips);
                let _ = writeln!(out, "{}", serde_json::to_string_pretty(&v).expect("JSON values serialize"));
            } else {
                let _ = writeln!(out, "id     {}\nname   {}", m.id(&cell), m.name(&cell));
                for (k, v) in m.pairs(&cell) {
                    let _ = writeln!(out, "{k:<6} {v}");
                }
                let _ = writeln!(out, "tiers  {}", tiers.join(", "));
                for s in lf.skips.iter().filter(|s| s.when.matches(&cell.0)) {
                    let _ = writeln!(out, "skip   on {}: {} ({})", s.backends.join(", "), s.reason, s.origin);
                }
            }
        }
        MatrixCommand::Doc(a) => {
            let text = super::matrix_doc::markdown(&lf);
            match a.out {
                Some(path) => std::fs::write(&path, text)
                    .map_err(|e| Failure::with_code(super::EXIT_BAD_INPUT, format!("cannot write `{}`: {e}", path.display())))?,
                None => {
                    let _ = out.write_all(text.as_bytes());
                }
            }
        }
        MatrixCommand::Validate => unreachable!("handled above"),
    }
    Ok(EXIT_OK)
}
