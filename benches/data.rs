//! Benchmark of the dataset generator: writes a dataset (1 GiB unless `DATA_BENCH_SIZE` says
//! otherwise) into a temp dir and prints throughput figures, one `key=value` per line.
//!
//! Run with `cargo bench --bench data`; figures are printed, never asserted (STYLE.md §9).
use std::time::Instant;

use loadbuild::data::{DEFAULT_SEED, GenSpec, generate, parse_size};
use loadbuild::store::{Layout, objects};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let size = std::env::var("DATA_BENCH_SIZE").unwrap_or_else(|_| "1GiB".to_string());
    let spec = GenSpec::new(parse_size(&size)?, DEFAULT_SEED);
    let dir = tempfile::tempdir()?;
    let started = Instant::now();
    let manifest = generate(&spec, dir.path(), &|_| {})?;
    let seconds = started.elapsed().as_secs_f64();
    let mib = manifest.bytes as f64 / f64::from(1 << 20);
    println!("data_threads={}", rayon::current_num_threads());
    println!("data_files={}", manifest.trips.len());
    println!("data_rows={}", manifest.rows);
    println!("data_bytes_per_row={:.2}", manifest.bytes as f64 / manifest.rows as f64);
    println!("data_mib_per_s={:.1}", mib / seconds);
    println!("data_rows_per_s={:.0}", manifest.rows as f64 / seconds);
    println!("data_bytes={}", manifest.bytes);
    println!("data_seconds={seconds:.2}");

    // The no-op re-check: what `plan` does for a fresh dataset node — the engine's own
    // `Tree::verify` (one stat per file) on the dataset ingested into a cache.
    let cache = tempfile::tempdir()?;
    let layout = Layout::new(cache.path());
    std::fs::create_dir_all(layout.objects())?;
    std::fs::create_dir_all(layout.trees())?;
    let tree = objects::ingest(&layout, dir.path())?;
    let mut times: Vec<f64> = (0..101)
        .map(|_| {
            let t = Instant::now();
            tree.verify(&layout).expect("the fresh dataset verifies");
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    println!("data_recheck_files={}", tree.entries.len());
    println!("data_noop_recheck_ms={:.3}", times[50] * 1e3);
    Ok(())
}
