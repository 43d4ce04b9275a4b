//! `loadbuild data generate`: the NYC-taxi generator, directly, for people who just want data.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{CmdResult, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, Failure};
use crate::data::{self, DataError, GenSpec};

#[derive(Subcommand, Debug)]
pub enum DataCommand {
    /// Write a seeded NYC-taxi dataset (Snappy Parquet, `year=YYYY/month=MM/` partitions,
    /// the zone table and manifest.json) into a new directory
    Generate(GenerateArgs),
}

#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// Bytes of trip Parquet to aim for (±10%): `1gb`, `11gb`, `16MiB`… (units are binary)
    #[arg(long, value_name = "SIZE")]
    size: String,
    /// Seed: the same seed and size give byte-identical files
    #[arg(long, default_value_t = data::DEFAULT_SEED)]
    seed: u64,
    /// Directory to create (it must not exist, or be empty)
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

pub fn run(cmd: DataCommand) -> CmdResult {
    let DataCommand::Generate(a) = cmd;
    let bytes = data::parse_size(&a.size).map_err(|e| Failure::input(format!("`--size {}`: {e}", a.size)))?;
    if a.out.exists() && std::fs::read_dir(&a.out).map_or(true, |mut d| d.next().is_some()) {
        return Err(Failure::input(format!("`{}` exists and is not empty; give a new directory", a.out.display())));
    }
    // Generate beside the destination and rename at the end: a crash leaves no half dataset.
    let name = a.out.file_name().map_or_else(|| "dataset".into(), |n| n.to_string_lossy().into_owned());
    let staging = a.out.with_file_name(format!(".{name}.partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let bar = if std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new(0);
        b.set_style(
            indicatif::ProgressStyle::with_template("{elapsed:>4} [{bar:30}] {percent}% · {msg} · ETA {eta}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        b.set_message("sizing");
        b.enable_steady_tick(Duration::from_millis(200));
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    // Ctrl-C stops the generator between batches, so the staging directory is removed too.
    let cancel = Arc::new(AtomicBool::new(false));
    {
        let cancel = Arc::clone(&cancel);
        let _ = ctrlc::set_handler(move || cancel.store(true, Ordering::SeqCst));
    }
    let t0 = Instant::now();
    let spec = GenSpec::new(bytes, a.seed);
    let result = data::generate_unless(
        &spec,
        &staging,
        &|p| {
            bar.set_length(p.rows_total);
            bar.set_position(p.rows_done);
            bar.set_message(format!("file {}/{} · {}", p.files_done, p.files_total, data::format_size(p.bytes_written)));
        },
        &cancel,
    );
    bar.finish_and_clear();
    let manifest = match result {
        Ok(m) => m,
        Err(DataError::Interrupted) => {
            let _ = std::fs::remove_dir_all(&staging);
            eprintln!("loadbuild: interrupted; nothing was written to `{}`", a.out.display());
            return Ok(EXIT_INTERRUPTED);
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(Failure::with_code(EXIT_FAILED, format!("generating the dataset: {e}")));
        }
    };
    if a.out.exists() {
        std::fs::remove_dir(&a.out).map_err(|e| Failure::with_code(EXIT_FAILED, format!("replacing empty `{}`: {e}", a.out.display())))?;
    }
    std::fs::rename(&staging, &a.out)
        .map_err(|e| Failure::with_code(EXIT_FAILED, format!("moving the dataset to `{}`: {e}", a.out.display())))?;
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "{}: {} rows in {} trip files, {} ({:.1} MiB/s), digest {}",
        a.out.display(),
        manifest.rows,
        manifest.trips.len(),
        data::format_size(manifest.bytes),
        manifest.bytes as f64 / (1 << 20) as f64 / secs,
        manifest.digest
    );
    Ok(EXIT_OK)
}
