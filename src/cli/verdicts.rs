//! Subcommands about verdicts: what `loadbuild report` does after publishing (history, Slack,
//! exit status), `baseline show|update`, and `compare A B`.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::session::{self, Session};
use super::{CmdResult, EXIT_FAILED, EXIT_OK, Failure};
use crate::diag::SourceFile;
use crate::loadfile::{self, ReportSettings};
use crate::matrix::Selector;
use crate::report::baseline::{self, BaselineFile};
use crate::report::input::{CellSamples, MetricSamples};
use crate::report::model::{BaselineInfo, CellStatus, Results};
use crate::report::{self, AnalysisInput, CellInput, CellState, HistoryRun, HistoryStore, environment, slack};

/// Records a published report in the history, posts the Slack digest (once per run id), and
/// returns the exit status its verdicts call for. A report without `results.json` (the
/// `summary` action) has none; a `results.json` that cannot be read fails the command.
pub fn after_publish(s: &Session, out: &Path, record: bool, fail_on_inconclusive: bool) -> Result<u8, Failure> {
    if !out.join("results.json").exists() {
        return Ok(EXIT_OK);
    }
    let results = report::read_results(out).map_err(|e| {
        Failure::with_code(EXIT_FAILED, format!("reading the published report: {e}\n  = help: run `loadbuild report` again"))
    })?;
    let settings = &s.lf.report;
    let mut code = results.exit_code_with(fail_on_inconclusive || results.settings.fail_on_inconclusive);
    if record {
        let store = HistoryStore::from_env(&settings.history_url_env, s.lf.root.join(&settings.history));
        let run = HistoryRun::from_results(&results, environment::now(), environment::commit(&s.lf.root));
        match store.append(&run) {
            Ok(true) => eprintln!("loadbuild: recorded run `{}` in the history ({})", results.run.id, store.describe()),
            Ok(false) => eprintln!("loadbuild: run `{}` is already in the history ({})", results.run.id, store.describe()),
            Err(e) => {
                eprintln!("error: recording the report in the history: {e}");
                code = code.max(EXIT_FAILED);
            }
        }
    }
    if let Ok(url) = std::env::var(&settings.slack_webhook_env)
        && !url.trim().is_empty()
    {
        post_once(s, out, url.trim(), &results);
    }
    Ok(code)
}

/// Posts the digest unless this run id was posted before (a no-op `report` re-publishes the
/// same run). The run ids posted are kept in `cache/v2/slack.posted`, one per line.
fn post_once(s: &Session, out: &Path, url: &str, results: &Results) {
    let ledger = s.layout.root.join("slack.posted");
    let posted = std::fs::read_to_string(&ledger).unwrap_or_default();
    if posted.lines().any(|l| l == results.run.id) {
        eprintln!("loadbuild: the Slack digest of run `{}` was already posted", results.run.id);
        return;
    }
    let link = std::env::var("LOADBUILD_REPORT_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| std::path::absolute(out.join("index.html")).unwrap_or_else(|_| out.join("index.html")).display().to_string());
    match slack::post(url, &slack::digest(results, &link)) {
        Ok(()) => {
            eprintln!("loadbuild: posted the digest to Slack");
            let line = format!("{}\n", results.run.id);
            let written = std::fs::create_dir_all(&s.layout.root).and_then(|_| {
                std::fs::OpenOptions::new().create(true).append(true).open(&ledger).and_then(|mut f| f.write_all(line.as_bytes()))
            });
            if let Err(e) = written {
                eprintln!("warning: could not note the posted run in `{}`: {e}", ledger.display());
            }
        }
        Err(e) => eprintln!("warning: the Slack digest was not posted (the build is not failed for it): {e}"),
    }
}

#[derive(Subcommand, Debug)]
pub enum BaselineCommand {
    /// Print the baselines of the selected cells: samples' n, median, CI, and where they came from
    Show(ShowArgs),
    /// Promote the cells of a published report to baselines (cells that failed are refused)
    Update(UpdateArgs),
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// Only these cells, e.g. `spark=4.1.1,op=read|join` [default: every cell in the file]
    #[arg(long, value_name = "SELECTOR")]
    only: Option<String>,
    /// Whose baseline file to read [default: the Loadfile's `project.backend`]
    #[arg(long, value_name = "NAME")]
    backend: Option<String>,
    /// Print the selected part of the file as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct UpdateArgs {
    /// Only these cells of the report, e.g. `op=join` [default: every cell that did not fail]
    #[arg(long, value_name = "SELECTOR")]
    only: Option<String>,
    /// The report to promote: its directory or its `results.json`
    #[arg(long, value_name = "PATH", default_value = "report")]
    from: PathBuf,
}

pub fn baseline(loadfile: Option<PathBuf>, c: BaselineCommand) -> CmdResult {
    let path = session::locate(loadfile)?;
    let lf = loadfile::load(&path)?;
    match c {
        BaselineCommand::Show(a) => show(&lf, a),
        BaselineCommand::Update(a) => update(&lf, a),
    }
}

fn selector(lf: &loadfile::Loadfile, only: &Option<String>) -> Result<Selector, Failure> {
    match only {
        Some(text) => Ok(Selector::parse(text, &lf.matrix, &SourceFile::new("--only", text.clone()), 0)?),
        None => Ok(Selector::all()),
    }
}

/// Whether a cell id is picked by `sel` (cells the matrix no longer has are picked only by `all`).
fn picks(lf: &loadfile::Loadfile, sel: &Selector, id: &str, all: bool) -> bool {
    match lf.matrix.find(id) {
        Some(cell) => sel.matches(&cell.0),
        None => all,
    }
}

fn show(lf: &loadfile::Loadfile, a: ShowArgs) -> CmdResult {
    let backend = a.backend.unwrap_or_else(|| lf.default_backend.clone());
    let rel = lf.report.baseline_file(&backend);
    let file = baseline::load(&lf.root.join(&rel)).map_err(Failure::input)?.unwrap_or_default();
    let sel = selector(lf, &a.only)?;
    let mut chosen = BaselineFile { schema: file.schema, environments: BTreeMap::new(), cells: BTreeMap::new() };
    for (id, cell) in &file.cells {
        if picks(lf, &sel, id, a.only.is_none()) {
            chosen.cells.insert(id.clone(), cell.clone());
            if let Some(env) = file.environments.get(&cell.environment) {
                chosen.environments.insert(cell.environment.clone(), env.clone());
            }
        }
    }
    let mut out = std::io::stdout().lock();
    if a.json {
        let _ = writeln!(out, "{}", serde_json::to_string_pretty(&chosen).expect("baselines serialize"));
        return Ok(EXIT_OK);
    }
    for (id, cell) in &chosen.cells {
        let env = chosen.environments.get(&cell.environment);
        let _ = writeln!(
            out,
            "{id}  (run {}, Spark {}, {})",
            cell.run,
            cell.spark_version.as_deref().unwrap_or("?"),
            env.map_or("unknown environment".into(), |e| format!("loadbuild {} on `{}`", e.loadbuild, e.backend))
        );
        for (name, m) in &cell.metrics {
            let s = &m.summary;
            let ci =
                s.ci95.map_or("–".into(), |[lo, hi]| format!("[{}, {}]", report::analyze::fmt_num(lo), report::analyze::fmt_num(hi)));
            let _ = writeln!(
                out,
                "  {name:<22} n={:<3} median={:<12} mean={:<12} 95% CI {ci}",
                s.n,
                report::analyze::fmt_num(s.median),
                report::analyze::fmt_num(s.mean)
            );
        }
    }
    eprintln!("loadbuild: {} of {} cell(s) in `{}`", chosen.cells.len(), file.cells.len(), rel.display());
    Ok(EXIT_OK)
}

fn update(lf: &loadfile::Loadfile, a: UpdateArgs) -> CmdResult {
    let from = if a.from.is_absolute() { a.from.clone() } else { lf.root.join(&a.from) };
    let results = report::read_results(&from).map_err(|e| {
        Failure::input(format!(
            "{e}\n  = help: `baseline update` promotes a published report: run `loadbuild report` first, or pass --from DIR"
        ))
    })?;
    let sel = selector(lf, &a.only)?;
    let rel = lf.report.baseline_file(&results.run.backend);
    let path = lf.root.join(&rel);
    let mut file = baseline::load(&path).map_err(Failure::input)?.unwrap_or_default();
    let (promoted, refused) = baseline::promote(&mut file, &results, |c| picks(lf, &sel, &c.id, a.only.is_none()));
    for (id, why) in &refused {
        eprintln!("loadbuild: refused `{id}`: {why}");
    }
    if promoted.is_empty() {
        return Err(Failure::with_code(
            if refused.is_empty() { super::EXIT_BAD_INPUT } else { EXIT_FAILED },
            format!("no cell of run `{}` was promoted to `{}`", results.run.id, rel.display()),
        ));
    }
    baseline::save(&path, &file).map_err(|e| Failure::with_code(EXIT_FAILED, format!("writing `{}`: {e}", path.display())))?;
    let mut out = std::io::stdout().lock();
    for id in &promoted {
        let _ = writeln!(out, "{id}");
    }
    eprintln!(
        "loadbuild: promoted {} cell(s) of run `{}` to `{}`{}",
        promoted.len(),
        results.run.id,
        rel.display(),
        if refused.is_empty() { String::new() } else { format!("; refused {} that failed", refused.len()) }
    );
    Ok(if refused.is_empty() { EXIT_OK } else { EXIT_FAILED })
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// The reference: a report directory, a `results.json`, or a baseline `.yaml`
    a: PathBuf,
    /// The candidate, judged against A (same kinds of path)
    b: PathBuf,
    /// Also write the report files (HTML, Markdown, JUnit, JSON, Prometheus) into DIR
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Print the results as JSON instead of Markdown
    #[arg(long)]
    json: bool,
}

/// One side of a comparison.
enum Side {
    Results(Box<Results>),
    Baseline(BaselineFile),
}

fn load_side(path: &Path) -> Result<Side, Failure> {
    let is_yaml = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
    if is_yaml {
        let file =
            baseline::load(path).map_err(Failure::input)?.ok_or_else(|| Failure::input(format!("`{}` does not exist", path.display())))?;
        Ok(Side::Baseline(file))
    } else {
        report::read_results(path).map(|r| Side::Results(Box::new(r))).map_err(Failure::input)
    }
}

pub fn compare(loadfile: Option<PathBuf>, a: CompareArgs) -> CmdResult {
    // The Loadfile's `[report]` settings when there is one; the defaults otherwise.
    let settings = match session::locate(loadfile) {
        Ok(p) => loadfile::load(&p)?.report,
        Err(_) => ReportSettings::default(),
    };
    let reference = match load_side(&a.a)? {
        Side::Baseline(f) => f,
        Side::Results(r) => {
            let mut f = BaselineFile::default();
            baseline::promote(&mut f, &r, |_| true);
            f
        }
    };
    let (cells, project, tier, backend, dimensions) = match load_side(&a.b)? {
        Side::Results(r) => {
            let cells = r.cells.iter().map(cell_from_result).collect();
            (cells, r.run.project.clone(), r.run.tier.clone(), r.run.backend.clone(), r.dimensions.clone())
        }
        Side::Baseline(f) => {
            let backend = f.environments.values().next().map_or("unknown".into(), |e| e.backend.clone());
            (f.cells.iter().map(|(id, c)| cell_from_baseline(id, c)).collect(), String::new(), "compare".into(), backend, Vec::new())
        }
    };
    // Guard-rails select cells of the Loadfile's matrix, which B's cells need not belong to.
    let settings = ReportSettings { guards: Vec::new(), ..settings };
    let mut cells: Vec<CellInput> = cells;
    for c in &mut cells {
        c.values.clear();
    }
    let run = report::model::RunInfo {
        id: report::analyze::run_id(&tier, &backend, &cells),
        project,
        tier,
        backend: backend.clone(),
        loadbuild_version: env!("CARGO_PKG_VERSION").into(),
    };
    let analysis = report::analyze(AnalysisInput {
        run,
        environment: report::model::Environment { loadbuild: env!("CARGO_PKG_VERSION").into(), backend, machine: environment::machine() },
        dimensions,
        cells,
        settings: &settings,
        baseline_info: BaselineInfo { path: a.a.display().to_string(), exists: true, cells: reference.cells.len() },
        baseline: Some(&reference),
        history: &[],
        history_source: "none (compare)".into(),
    });
    if let Some(dir) = &a.out {
        std::fs::create_dir_all(dir)
            .and_then(|_| report::render::write_all(&analysis, dir))
            .map_err(|e| Failure::with_code(EXIT_FAILED, format!("writing the comparison into `{}`: {e}", dir.display())))?;
    }
    let r = &analysis.results;
    if a.json {
        println!("{}", serde_json::to_string_pretty(r).expect("results serialize"));
    } else {
        print!("{}", report::render::markdown(r));
    }
    Ok(r.exit_code())
}

fn cell_from_result(c: &report::model::CellResult) -> CellInput {
    let state = match c.status {
        CellStatus::Skipped => {
            CellState::Skipped { reason: c.reason.clone().unwrap_or_default(), rule: c.skip_rule.clone().unwrap_or_default() }
        }
        _ => CellState::Measured {
            node: c.node.clone().unwrap_or_else(|| c.id.clone()),
            digest: c.metrics_digest.clone().unwrap_or_default(),
            node_failed: false,
            samples: Ok(CellSamples {
                run_succeeded: c.status != CellStatus::Failed,
                error: (c.status == CellStatus::Failed).then(|| c.reason.clone().unwrap_or_else(|| "failed".into())),
                spark_version: c.spark_version.clone(),
                succeeded: None,
                sets: c.repetition_sets.max(1),
                metrics: c
                    .metrics
                    .iter()
                    .map(|m| {
                        (
                            m.name.clone(),
                            MetricSamples { unit: m.unit, direction: m.direction, values: m.samples.clone(), absent: m.reason.clone() },
                        )
                    })
                    .collect(),
            }),
        },
    };
    CellInput {
        id: c.id.clone(),
        name: c.name.clone(),
        dims: c.dims.clone().into_iter().collect(),
        values: Vec::new(),
        state,
        inputs: c.inputs.clone(),
    }
}

fn cell_from_baseline(id: &str, c: &baseline::BaselineCell) -> CellInput {
    let metrics = c
        .metrics
        .iter()
        .map(|(name, m)| (name.clone(), MetricSamples { unit: m.unit, direction: m.direction, values: m.samples.clone(), absent: None }))
        .collect();
    let samples =
        CellSamples { run_succeeded: true, error: None, spark_version: c.spark_version.clone(), succeeded: None, metrics, sets: 1 };
    CellInput {
        id: id.to_string(),
        name: id.to_string(),
        dims: Vec::new(),
        values: Vec::new(),
        state: CellState::Measured { node: id.to_string(), digest: c.run.clone(), node_failed: false, samples: Ok(samples) },
        inputs: c.inputs.clone(),
    }
}
