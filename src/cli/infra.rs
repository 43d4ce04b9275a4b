//! `loadbuild infra up | verify | down | status`: the benchmark cluster's components (see
//! `src/infra/` and docs/infrastructure.md).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Subcommand};

use super::{CmdResult, EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, Failure};
use crate::infra::{self, apply, config, render};

const VERIFIED: &str = "Verified against a fake API server only: no Kubernetes cluster was available where this was built.";

#[derive(Subcommand, Debug)]
#[command(after_help = VERIFIED)]
pub enum InfraCommand {
    /// Apply every component whose key the cluster does not carry (CRDs first, then workloads, waited for)
    Up {
        /// Print every object in apply order as one YAML stream (Secret values redacted); touch nothing
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        at: At,
    },
    /// Run each component's live probe now (S3, PostgreSQL, Metastore, History Server, Argo, Spark Operator)
    Verify {
        #[command(flatten)]
        at: At,
    },
    /// Delete everything loadbuild applied, by label, components in reverse order
    Down {
        /// Keep the PersistentVolumeClaims (database, bucket) and the generated secrets
        #[arg(long)]
        keep_data: bool,
        #[command(flatten)]
        at: At,
    },
    /// Show each component's key, whether the cluster carries it, and its last probe
    Status {
        #[command(flatten)]
        at: At,
    },
}

#[derive(Args, Debug)]
pub struct At {
    /// Kubeconfig file [default: $KUBECONFIG, ~/.kube/config, then in-cluster]
    #[arg(long, value_name = "PATH")]
    kubeconfig: Option<PathBuf>,
    /// Kubeconfig context [default: infra.context, else the current context]
    #[arg(long, value_name = "NAME")]
    context: Option<String>,
}

fn fail(msg: impl Into<String>) -> Failure {
    Failure::with_code(EXIT_FAILED, msg)
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| fail(format!("tokio runtime: {e}")))
}

pub fn run(loadfile: Option<PathBuf>, cmd: InfraCommand) -> CmdResult {
    let path = super::session::locate(loadfile)?;
    let cfg = config::read(&path).map_err(|e| Failure::with_code(EXIT_BAD_INPUT, e))?;
    let started = Instant::now();
    let rendered = render::render_all(&cfg).map_err(fail)?;
    if matches!(cmd, InfraCommand::Up { .. }) {
        render::validate(&rendered, &cfg.root.join("vendor/schemas")).map_err(fail)?;
    }
    let rt = runtime()?;
    match cmd {
        InfraCommand::Up { dry_run: true, .. } => {
            print!("{}", render::dry_run_yaml(&rendered));
            let counts: Vec<String> = rendered.iter().map(|r| format!("{} {}", r.name, r.objects.len())).collect();
            eprintln!(
                "infra: {} objects ({}) rendered in {:.2?}; nothing applied (--dry-run)",
                rendered.iter().map(|r| r.objects.len()).sum::<usize>(),
                counts.join(", "),
                started.elapsed()
            );
            Ok(EXIT_OK)
        }
        InfraCommand::Up { at, .. } => {
            let cluster = rt.block_on(infra::connect(&cfg, at.kubeconfig, at.context)).map_err(fail)?;
            let secrets = rt.block_on(apply::secrets(&cluster, &render::tokens(&rendered))).map_err(fail)?;
            for r in &rendered {
                let mut step = |s: &str| eprintln!("infra: {}: {s}", r.name);
                let outcome = rt.block_on(apply::up_component(&cluster, r, &secrets, cfg.timeout, &mut step)).map_err(fail)?;
                match outcome {
                    apply::UpOutcome::Unchanged => println!("{}: up to date (key {})", r.name, r.key.short()),
                    apply::UpOutcome::Applied { objects, missing } => {
                        println!("{}: applied {objects} objects ({missing} missing or changed; key {})", r.name, r.key.short())
                    }
                }
            }
            eprintln!("infra: up in {:.2?}", started.elapsed());
            Ok(EXIT_OK)
        }
        InfraCommand::Verify { at } => {
            let cluster = rt.block_on(infra::connect(&cfg, at.kubeconfig, at.context)).map_err(fail)?;
            let secrets = rt.block_on(apply::secrets(&cluster, &render::tokens(&rendered))).map_err(fail)?;
            let mut results = BTreeMap::new();
            let mut failed = 0;
            for c in &cfg.components {
                let Some(result) = infra::run_probe(&rt, &cluster, &cfg, c, &secrets) else { continue };
                match &result {
                    Ok(()) => println!("{}: probe ok", c.name),
                    Err(e) => {
                        failed += 1;
                        println!("{}: probe FAILED: {e}", c.name);
                    }
                }
                results.insert(c.name.clone(), result.map_err(|e| e.to_string()).err().unwrap_or_else(|| "ok".into()));
            }
            let _ = std::fs::create_dir_all(cfg.cache.join("infra"));
            let _ = std::fs::write(cfg.cache.join("infra/probes.json"), serde_json::to_string_pretty(&results).unwrap_or_default());
            if failed > 0 {
                return Err(fail(format!("{failed} probe(s) failed")));
            }
            Ok(EXIT_OK)
        }
        InfraCommand::Down { keep_data, at } => {
            let cluster = rt.block_on(infra::connect(&cfg, at.kubeconfig, at.context)).map_err(fail)?;
            let deleted = rt.block_on(apply::down(&cluster, &rendered, keep_data)).map_err(fail)?;
            for d in &deleted {
                println!("deleted {d}");
            }
            eprintln!("infra: deleted {} objects{}", deleted.len(), if keep_data { " (kept PVCs and generated secrets)" } else { "" });
            Ok(EXIT_OK)
        }
        InfraCommand::Status { at } => {
            let cluster = rt.block_on(infra::connect(&cfg, at.kubeconfig, at.context)).map_err(fail)?;
            let probes: BTreeMap<String, String> = std::fs::read_to_string(cfg.cache.join("infra/probes.json"))
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or_default();
            for r in &rendered {
                let missing = rt.block_on(apply::missing(&cluster, r)).map_err(|e| fail(e.to_string()))?;
                let carried = if missing == 0 {
                    "carried".to_string()
                } else {
                    format!("NOT carried ({missing} of {} objects missing or stale)", r.objects.len())
                };
                let probe = probes.get(&r.name).map(String::as_str).unwrap_or("never run");
                println!("{}\tkey {}\t{carried}\tlast probe: {probe}", r.name, r.key.short());
            }
            Ok(EXIT_OK)
        }
    }
}
