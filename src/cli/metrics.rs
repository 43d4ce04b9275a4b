//! `loadbuild metrics CELL [--json]`: a cell's metrics as its `metrics` node last wrote them.
//!
//! Reads the cache only, never runs anything: a node that is fresh shows its output; a stale
//! one shows its last output with the reason it is stale (a failed run is always stale, since
//! it runs again next build); one never built is an error naming the command that builds it.
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use clap::Args;
use serde_json::Value;

use super::session::Session;
use super::{CmdResult, EXIT_FAILED, EXIT_OK, Failure};
use crate::diag::Diagnostic;
use crate::matrix::Cell;
use crate::metrics::run::{METRICS_FILE, SCHEMA};
use crate::observe::{self, Sources};
use crate::plan::State;
use crate::rules::Action;
use crate::store::{Index, StatCache};

#[derive(Args, Debug)]
pub struct MetricsArgs {
    /// A cell id (`411-airflow-standalone-none-read-1gb`) or name (`4.1.1/airflow/standalone/none/read/1gb`)
    cell: String,
    /// Print `metrics.json` as the metrics node wrote it
    #[arg(long)]
    json: bool,
    /// Backend whose build to show [default: the Loadfile's `project.backend`]
    #[arg(long, value_name = "NAME")]
    backend: Option<String>,
}

pub fn run(loadfile: Option<PathBuf>, a: MetricsArgs) -> CmdResult {
    let s = Session::open(loadfile)?;
    let cell = find_cell(&s, &a.cell)?;
    let Some((rule, _)) = s.rules.rules.iter().enumerate().find(|(_, r)| r.action == Action::Metrics) else {
        return Err(Failure::input(format!(
            "no rule in `{}` has `action = \"metrics\"`: add one per cell (docs/runs.md)",
            s.lf.rules_dir.display()
        )));
    };
    let backend = a.backend.unwrap_or_else(|| s.lf.default_backend.clone());
    let (id, name) = (s.lf.matrix.id(&cell).0, s.lf.matrix.name(&cell));
    let graph = crate::graph::build(&s.lf, &s.rules, vec![cell], &s.lf.default_tier, &backend);
    let node = graph
        .nodes
        .iter()
        .position(|n| n.rule == rule)
        .ok_or_else(|| Failure::input(format!("the metrics rule `{}` has no node for cell `{id}`", s.rules.rules[rule].name)))?;
    let node_id = graph.nodes[node].id.clone();
    let index = Index::load(&s.layout.journal())?;
    let mut stat = StatCache::load(&s.layout.stat_cache());
    let mut sources = Sources::new(&s.lf.root, &mut stat);
    let plan = observe::plan(&s.ctx(&graph), &[node], &index, &mut sources)?;
    let build = format!("`loadbuild build '{node_id}'` builds them (it runs the cell's Spark application if needed)");
    let (tree, stale) = match &plan.states[&node] {
        State::Fresh { output, .. } => (s.layout.tree(output), None),
        State::Skipped(skip) => {
            return Err(Failure::with_code(EXIT_FAILED, format!("cell `{id}` is skipped on `{backend}`: {} ({})", skip.reason, skip.rule)));
        }
        State::Stale(reason) => match index.last(&node_id).and_then(|l| index.lookup(&l.key)) {
            Some(out) if s.layout.tree(&out.tree.digest).join(METRICS_FILE).exists() => {
                (s.layout.tree(&out.tree.digest), Some(reason.to_string()))
            }
            _ => return Err(Failure::with_code(EXIT_FAILED, format!("the metrics of cell `{id}` are not built yet: {build}"))),
        },
    };
    let path = tree.join(METRICS_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| Failure::with_code(EXIT_FAILED, format!("reading `{}`: {e}", path.display())))?;
    if let Some(reason) = &stale {
        eprintln!("loadbuild: `{node_id}` is stale ({reason}); showing its last build. {build}");
    }
    if a.json {
        print!("{text}");
        return Ok(EXIT_OK);
    }
    let file: Value = serde_json::from_str(&text).map_err(|e| Failure::with_code(EXIT_FAILED, format!("`{}`: {e}", path.display())))?;
    if file["schema"].as_u64() != Some(u64::from(SCHEMA)) {
        return Err(Failure::with_code(
            EXIT_FAILED,
            format!("`{}` has schema {}; this loadbuild reads schema {SCHEMA}: rebuild with {build}", path.display(), file["schema"]),
        ));
    }
    let _ = std::io::stdout().lock().write_all(render(&name, &file).as_bytes());
    Ok(EXIT_OK)
}

/// The cell by id or name, or an error suggesting the closest ids.
fn find_cell(s: &Session, wanted: &str) -> Result<Cell, Failure> {
    let m = &s.lf.matrix;
    if let Some(cell) = m.find(wanted) {
        return Ok(cell);
    }
    let mut near: Vec<(usize, String)> = m
        .cells()
        .iter()
        .map(|c| {
            let (id, name) = (m.id(c).0, m.name(c));
            (strsim::levenshtein(wanted, &id).min(strsim::levenshtein(wanted, &name)), id)
        })
        .collect();
    near.sort();
    let close: Vec<String> = near.iter().take_while(|(d, _)| *d <= near[0].0 + 2).take(3).map(|(_, id)| format!("`{id}`")).collect();
    Err(Failure::Input(
        Diagnostic::error(format!("no cell `{wanted}`"))
            .help(format!("did you mean {}? (`loadbuild matrix list` prints every cell)", close.join(", ")))
            .into(),
    ))
}

/// The readable view: a header, then one table per tier with a column for the cell and one per
/// execution; absent values are `—` with a numbered note giving the reason.
fn render(name: &str, file: &Value) -> String {
    let m = &file["metrics"];
    let mut out = String::new();
    let _ = writeln!(out, "cell    {}  ({name})", file["cell"].as_str().unwrap_or("?"));
    let _ = write!(out, "run     {}", file["run_status"].as_str().unwrap_or("?"));
    if let Some(e) = file["error"].as_str() {
        let _ = write!(out, ": {}", e.lines().next().unwrap_or(e));
    }
    let _ = writeln!(out);
    let text = |v: &Value| v.as_str().map_or_else(|| "?".to_string(), str::to_string);
    let _ = writeln!(
        out,
        "spark   {} · app {} · parser {} · warm-up jobs {} · jobs not this run's {}",
        text(&m["spark_version"]),
        text(&m["app_id"]),
        m["parser_version"],
        m["warmup_jobs"],
        m["unattributed_jobs"]
    );
    if let Some(e) = file["event_log_error"].as_str() {
        let _ = writeln!(out, "log     unreadable: {e}");
    }
    let executions: Vec<&Value> = m["executions"].as_array().map(|e| e.iter().collect()).unwrap_or_default();
    let mut notes: Vec<String> = Vec::new();
    for tier in ["stability", "efficiency", "performance"] {
        let mut header = vec![tier.to_string(), "cell".to_string()];
        header.extend(executions.iter().map(|e| {
            let jobs = e["jobs"].as_u64().unwrap_or(0);
            format!("exec {} ({jobs} job{})", e["execution"], if jobs == 1 { "" } else { "s" })
        }));
        header.extend(["better".to_string(), "source".to_string()]);
        let mut rows = vec![header];
        for metric in m["cell"][tier].as_array().into_iter().flatten() {
            let name = metric["name"].as_str().unwrap_or("?");
            let mut row = vec![format!("  {name}"), shown(metric, &mut notes)];
            for e in &executions {
                let per = e["tiers"][tier].as_array().and_then(|ms| ms.iter().find(|x| x["name"] == name));
                row.push(per.map_or_else(|| "·".to_string(), |x| shown(x, &mut notes)));
            }
            let better = if metric["direction"] == "higher_is_better" { "higher" } else { "lower" };
            row.extend([better.to_string(), text(&metric["source"])]);
            rows.push(row);
            // Performance details only say "median of N executions", which the footer says once.
            if let Some(d) = metric["detail"].as_str().filter(|_| tier != "performance") {
                rows.push(vec![format!("    ↳ {d}")]);
            }
        }
        out.push('\n');
        out.push_str(&table(&rows));
    }
    if !notes.is_empty() {
        out.push_str("\nabsent\n");
        for (i, n) in notes.iter().enumerate() {
            let _ = writeln!(out, "  [{}] {n}", i + 1);
        }
    }
    if executions.is_empty() {
        out.push_str("\nno measured execution: the cell column is all there is\n");
    }
    out.push_str(
        "\n(cell: stability and efficiency pooled over the executions, performance their median; `·` = not measured per execution)\n",
    );
    out
}

/// A metric's value with its unit, or `—[n]` pointing at the note with the reason it is absent.
fn shown(metric: &Value, notes: &mut Vec<String>) -> String {
    if let Some(v) = metric["measured"]["value"].as_f64() {
        return with_unit(v, metric["unit"].as_str().unwrap_or(""));
    }
    let reason = metric["measured"]["absent"]["reason"].as_str().unwrap_or("absent").to_string();
    let n = match notes.iter().position(|r| *r == reason) {
        Some(i) => i + 1,
        None => {
            notes.push(reason);
            notes.len()
        }
    };
    format!("—[{n}]")
}

fn with_unit(v: f64, unit: &str) -> String {
    match unit {
        "bool" => (if v == 1.0 { "yes" } else { "no" }).into(),
        "count" => format!("{v:.0}"),
        "ratio" => significant(v),
        "s" => format!("{} s", significant(v)),
        "B/s" => scaled(v, &["B/s", "KiB/s", "MiB/s", "GiB/s"], 1024.0),
        "rows/s" => scaled(v, &["rows/s", "k rows/s", "M rows/s", "G rows/s"], 1000.0),
        other => format!("{} {other}", significant(v)),
    }
}

/// Three significant digits, without an exponent for everyday magnitudes.
fn significant(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let digits = (2 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
    format!("{v:.digits$}")
}

fn scaled(mut v: f64, units: &[&str], step: f64) -> String {
    let mut i = 0;
    while v.abs() >= step && i + 1 < units.len() {
        v /= step;
        i += 1;
    }
    format!("{} {}", significant(v), units[i])
}

/// Left-aligned columns; a one-cell row (a detail line) spans the table.
fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut width = vec![0; cols];
    for row in rows.iter().filter(|r| r.len() > 1) {
        for (i, c) in row.iter().enumerate() {
            width[i] = width[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, c) in row.iter().enumerate() {
            if row.len() > 1 && i + 1 < row.len() {
                let _ = write!(line, "{c:<w$}  ", w = width[i]);
            } else {
                line.push_str(c);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_with_their_units() {
        assert_eq!(with_unit(1.0, "bool"), "yes");
        assert_eq!(with_unit(3.0, "count"), "3");
        assert_eq!(with_unit(0.0123456, "ratio"), "0.0123");
        assert_eq!(with_unit(3.391, "s"), "3.39 s");
        assert_eq!(with_unit(107015.4, "rows/s"), "107 k rows/s");
        assert_eq!(with_unit(5.0 * 1048576.0, "B/s"), "5.00 MiB/s");
    }
}
