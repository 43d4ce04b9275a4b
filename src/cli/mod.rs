//! The command line: clap types, shared loading, and dispatch to one function per subcommand.
//!
//! Results go to stdout (`--json` for machines); progress and diagnostics go to stderr.
//! Exit codes: 0 ok, 1 regression found, 2 bad input or usage, 3 some nodes or cells failed,
//! 130 interrupted.

mod build;
mod cache;
mod data;
#[cfg(feature = "kubernetes")]
mod infra;
mod matrix;
mod matrix_doc;
mod meta;
mod metrics;
mod render;
mod session;
mod verdicts;

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::diag::{self, Diagnostics};

pub use crate::exit::{EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_REGRESSION};

const AFTER_HELP: &str = "\
Exit status: 0 ok · 1 regression found · 2 bad input or usage · 3 nodes or cells failed · 130 interrupted.

Selectors pick cells: `spark=4.1.1,op=read|join` (`,` = and across dimensions, `|` = or within one).
Node ids look like `rule[value/value/…]`, e.g. `run[4.1.1/jupyter/connect/none/read/1gb]`.
Documentation: README.md, docs/setup.md, docs/guide.md, docs/troubleshooting.md, docs/matrix.md, docs/ARCHITECTURE.md, docs/loadfile.md, docs/scenarios.md, docs/datasets.md, docs/metrics.md,
docs/runs.md, docs/reports.md, docs/infrastructure.md.";

/// Load-test Apache Spark through a content-addressed build graph.
///
/// `Loadfile.toml` declares the test matrix; `rules/*.toml` declare how each cell is built
/// (datasets, scenarios, runs, metrics, the report). Every piece is a hashed node, and a build
/// runs only the nodes whose inputs changed.
#[derive(Parser, Debug)]
#[command(name = "loadbuild", version = env!("LOADBUILD_VERSION"), after_help = AFTER_HELP, max_term_width = 100)]
pub struct Cli {
    /// The Loadfile to use [default: Loadfile.toml in this directory or the nearest parent]
    #[arg(long, global = true, env = "LOADBUILD_FILE", value_name = "PATH")]
    loadfile: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Build the tier's report: run every stale node it needs (the main job)
    Report(build::ReportArgs),
    /// Build targets (node ids like `dataset[1gb]`, or rule names) and what they need
    Build(build::BuildArgs),
    /// Show which nodes are fresh, stale or skipped, and why
    #[command(alias = "status")]
    Plan(build::PlanArgs),
    /// Explain why one node is stale, following the chain of causes
    Why(build::WhyArgs),
    /// Force the nodes of the selected cells to run again on the next build
    Invalidate(build::InvalidateArgs),
    /// Print a key for CI caches: a digest of every input a target's build reads
    Hash(build::HashArgs),
    /// Print the build graph as Graphviz dot or JSON
    Graph(build::GraphArgs),
    /// Show a cell's metrics from the cache: three tiers, per execution (never runs Spark)
    Metrics(metrics::MetricsArgs),
    /// Render the selected cells' scenarios and the tier's workflows (validated) into a directory
    Render(render::RenderArgs),
    /// Inspect the test matrix
    #[command(subcommand)]
    Matrix(matrix::MatrixCommand),
    /// Inspect or clean the cache
    #[command(subcommand)]
    Cache(cache::CacheCommand),
    /// Generate datasets outside the build graph
    #[command(subcommand)]
    Data(data::DataCommand),
    /// Install, probe and remove the benchmark cluster's components (verified against a fake API server only)
    #[cfg(feature = "kubernetes")]
    #[command(subcommand)]
    Infra(infra::InfraCommand),
    /// Show or update the baselines reports compare against
    #[command(subcommand)]
    Baseline(verdicts::BaselineCommand),
    /// Judge one result set against another (report dirs, results.json or baseline YAML)
    Compare(verdicts::CompareArgs),
    /// Print shell completions for bash, zsh, fish, elvish or PowerShell
    Completions(meta::CompletionsArgs),
    /// Print the man page (or write every page with `--out DIR`)
    Man(meta::ManArgs),
}

/// Which cells and which tier a command works on.
#[derive(Args, Debug, Clone, Default)]
pub struct Selection {
    /// Tier to work on [default: the Loadfile's `project.default_tier`]
    #[arg(long, short = 't', value_name = "TIER")]
    tier: Option<String>,
    /// Narrow the tier's cells with a selector, e.g. `spark=4.1.1,op=read|join`
    #[arg(long, value_name = "SELECTOR")]
    only: Option<String>,
}

/// A failure the user should see: diagnostics (exit 2) or a plain message with an exit code.
#[derive(Debug)]
pub enum Failure {
    Input(Diagnostics),
    Message { code: u8, message: String },
}

impl Failure {
    pub fn input(message: impl Into<String>) -> Failure {
        Failure::Input(diag::Diagnostic::error(message).into())
    }
    pub fn with_code(code: u8, message: impl Into<String>) -> Failure {
        Failure::Message { code, message: message.into() }
    }
}

impl From<Diagnostics> for Failure {
    fn from(d: Diagnostics) -> Self {
        Failure::Input(d)
    }
}

impl From<crate::store::StoreError> for Failure {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::Lock(l) => Failure::with_code(EXIT_FAILED, l.to_string()),
            other => Failure::with_code(EXIT_FAILED, other.to_string()),
        }
    }
}

pub type CmdResult = Result<u8, Failure>;

/// Colour on stderr: only on a terminal, and never when `NO_COLOR` is set.
pub fn color_stderr() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

/// Runs the command line; returns the process exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_BAD_INPUT } else { EXIT_OK });
        }
    };
    let result = match cli.command {
        Command::Report(a) => build::report(cli.loadfile, a),
        Command::Build(a) => build::build(cli.loadfile, a),
        Command::Plan(a) => build::plan(cli.loadfile, a),
        Command::Why(a) => build::why(cli.loadfile, a),
        Command::Invalidate(a) => build::invalidate(cli.loadfile, a),
        Command::Hash(a) => build::hash(cli.loadfile, a),
        Command::Graph(a) => build::graph(cli.loadfile, a),
        Command::Metrics(a) => metrics::run(cli.loadfile, a),
        Command::Render(a) => render::render(cli.loadfile, a),
        Command::Matrix(c) => matrix::run(cli.loadfile, c),
        Command::Cache(c) => cache::run(cli.loadfile, c),
        Command::Data(c) => data::run(c),
        #[cfg(feature = "kubernetes")]
        Command::Infra(c) => infra::run(cli.loadfile, c),
        Command::Baseline(c) => verdicts::baseline(cli.loadfile, c),
        Command::Compare(a) => verdicts::compare(cli.loadfile, a),
        Command::Completions(a) => meta::completions(a),
        Command::Man(a) => meta::man(a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Failure::Input(d)) => {
            eprint!("{}", diag::render(&d.0, color_stderr()));
            if d.len() > 1 {
                eprintln!("error: {} problems found", d.len());
            }
            ExitCode::from(EXIT_BAD_INPUT)
        }
        Err(Failure::Message { code, message }) => {
            eprintln!("error: {message}");
            ExitCode::from(code)
        }
    }
}
