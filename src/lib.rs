//! loadbuild: a declarative, content-addressed build graph for load-testing Apache Spark.
//!
//! The pipeline of values: `Loadfile.toml` → [`loadfile::Loadfile`] → cells ([`matrix`]) →
//! [`graph::Graph`] (with [`rules`]) → [`plan::Plan`] → [`exec`] (through a [`backend`]) →
//! outcomes. See `docs/ARCHITECTURE.md` for the code map and invariants.

pub mod backend; // trait Backend and the local backend
pub mod cli; // clap types and one small function per subcommand
#[cfg(feature = "kubernetes")]
pub mod cluster; // the Kubernetes client (kube-rs): apply, list/delete by label, waits, retries
pub mod data; // NYC-taxi dataset: seeded Parquet generator, manifest, verify, S3 upload
pub mod diag; // diagnostics with file, line, column and a hint
pub mod exec; // the executor: schedule ⇄ backend, early cutoff, cancellation, progress
pub mod exit; // the process exit codes (a leaf: the report and the command line both use them)
pub mod graph; // rules instantiated over the selected cells
pub mod hash; // Digest (blake3) and node keys
pub mod http; // the one TLS stack (rustls + ring), installed before any HTTP client
#[cfg(feature = "kubernetes")]
pub mod infra; // `loadbuild infra`: pinned cluster components, applied, probed, removed
pub mod kind; // the seam between the engine and the node kinds: Ctx, trait Kind, Work
pub mod kinds; // the node kinds, one file each (command, dataset, render, report, …) and their registry
#[cfg(test)]
mod layering; // a test: no import cycle, and the core imports nothing above it
pub mod loadfile; // Loadfile.toml: parse and validate
pub mod matrix; // dimensions, cells, ids, selectors
pub mod metrics; // Spark event log → stability, efficiency and performance metrics
pub mod observe; // what planning needs from the disk: source digests, static inputs, outputs still intact
pub mod plan; // freshness and the reason for every rebuild: a pure function of graph, index and observations
pub mod report; // verdicts against baselines, history, and the report files (HTML, Markdown, JUnit, JSON, Prometheus)
pub mod rules; // rules/*.toml → node kinds
pub mod scenario; // the render action: scenario templates → validated Kubernetes, shell and Argo files
pub mod schedule; // ready queue and resource pool (pure)
pub mod stats; // pure statistics on samples: summaries, tests, FDR, trends, change points, verdicts
pub mod store; // content-addressed objects, trees, the action index, the stat cache, the lock
pub mod template; // minijinja templates in rules
