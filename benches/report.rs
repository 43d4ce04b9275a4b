//! Analyze and render a synthetic report: 1,280 cells × 3 metrics × 5 repetitions, a baseline
//! for every cell, and a 100-report history (`cargo bench --bench report`). Prints the time of
//! each phase; the target for analyze + render is ≤ 1 s on 2 cores.
use std::collections::BTreeMap;
use std::time::Instant;

use loadbuild::loadfile::ReportSettings;
use loadbuild::metrics::{Direction, Unit};
use loadbuild::report::baseline::{BaselineCell, BaselineFile, BaselineMetric};
use loadbuild::report::history::{HistoryCell, HistoryPoint, HistoryRun};
use loadbuild::report::input::{CellSamples, MetricSamples};
use loadbuild::report::model::{BaselineInfo, DimensionInfo, Environment, RunInfo, SummaryOut};
use loadbuild::report::{AnalysisInput, CellInput, CellState, analyze, render};
use loadbuild::stats;

const CELLS: usize = 1280;
const REPS: usize = 5;
const RUNS: usize = 100;
const METRICS: [(&str, Unit, Direction, f64); 3] = [
    ("wall_time_s", Unit::Seconds, Direction::LowerIsBetter, 10.0),
    ("job_span_s", Unit::Seconds, Direction::LowerIsBetter, 8.0),
    ("input_rows_per_s", Unit::RowsPerSecond, Direction::HigherIsBetter, 1.0e6),
];

/// CPU seconds of this process: on a shared machine, wall time mostly measures the neighbours.
fn cpu() -> f64 {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime fills the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 + t.tv_nsec as f64 / 1e9
}

/// xorshift64*: fixed noise, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        ((self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64) / (1u64 << 53) as f64
    }
    fn around(&mut self, mean: f64) -> f64 {
        mean * (1.0 + 0.05 * (self.next() + self.next() + self.next() - 1.5))
    }
}

fn main() {
    let mut rng = Rng(0x5eed);
    let dims = [("spark", 4), ("client", 2), ("mode", 4), ("ext", 4), ("op", 5), ("size", 2)];
    let mut cells = Vec::with_capacity(CELLS);
    let mut baseline = BaselineFile::default();
    let env = Environment { loadbuild: "bench".into(), backend: "local".into(), machine: "bench".into() };
    baseline.environments.insert("e".into(), env.clone());
    for i in 0..CELLS {
        let mut rest = i;
        let mut pairs = Vec::new();
        let mut values = Vec::new();
        for (name, n) in dims {
            values.push((rest % n) as u16);
            pairs.push((name.to_string(), format!("v{}", rest % n)));
            rest /= n;
        }
        let id = format!("cell-{i:04}");
        let mut metrics = BTreeMap::new();
        let mut base = BTreeMap::new();
        for (name, unit, direction, mean) in METRICS {
            // Every 50th cell is 40% worse; the rest is noise.
            let now = if i % 50 == 0 { if direction == Direction::LowerIsBetter { mean * 1.4 } else { mean * 0.6 } } else { mean };
            let values: Vec<f64> = (0..REPS).map(|_| rng.around(now)).collect();
            let old: Vec<f64> = (0..REPS).map(|_| rng.around(mean)).collect();
            let summary = SummaryOut { n: REPS, mean, median: mean, stddev: None, ci95: None };
            base.insert(name.to_string(), BaselineMetric { unit, direction, samples: old, summary });
            metrics.insert(name.to_string(), MetricSamples { unit, direction, values, absent: None });
        }
        baseline.cells.insert(
            id.clone(),
            BaselineCell { environment: "e".into(), run: "base".into(), spark_version: None, inputs: BTreeMap::new(), metrics: base },
        );
        let samples =
            CellSamples { run_succeeded: true, error: None, spark_version: Some("4.1.1".into()), succeeded: Some(true), metrics, sets: 1 };
        cells.push(CellInput {
            id: id.clone(),
            name: id,
            dims: pairs,
            values,
            state: CellState::Measured {
                node: format!("metrics[{i}]"),
                digest: format!("now-{i}"),
                node_failed: false,
                samples: Ok(samples),
            },
            inputs: BTreeMap::new(),
        });
    }
    let history: Vec<HistoryRun> = (0..RUNS)
        .map(|r| HistoryRun {
            schema: 1,
            run: format!("run-{r:03}"),
            project: "bench".into(),
            tier: "p2".into(),
            backend: "local".into(),
            recorded_at: format!("2026-08-{:02}T00:00:00Z", 1 + r % 28),
            commit: Some(format!("{r:040x}")),
            loadbuild: "bench".into(),
            cells: (0..CELLS)
                .map(|i| HistoryCell {
                    cell: format!("cell-{i:04}"),
                    digest: format!("h-{r}-{i}"),
                    metrics: METRICS
                        .iter()
                        .map(|(n, _, _, mean)| (n.to_string(), HistoryPoint { n: REPS, median: rng.around(*mean), mean: *mean }))
                        .collect(),
                })
                .collect(),
        })
        .collect();
    let settings = ReportSettings { metrics: METRICS.iter().map(|m| m.0.to_string()).collect(), ..ReportSettings::default() };
    let dimensions =
        dims.iter().map(|(n, k)| DimensionInfo { name: n.to_string(), values: (0..*k).map(|v| format!("v{v}")).collect() }).collect();

    // The phases of `analyze`, timed apart on the same data (one thread, in order).
    let verdict_cfg = loadbuild::report::analyze::verdict_config(&settings);
    let t = cpu();
    for c in &cells {
        let CellState::Measured { samples: Ok(s), .. } = &c.state else { continue };
        for (name, m) in &s.metrics {
            let base = &baseline.cells[&c.id].metrics[name].samples;
            let dir =
                if m.direction == Direction::LowerIsBetter { stats::Direction::LowerIsBetter } else { stats::Direction::HigherIsBetter };
            let _ = stats::compare(base, &m.values, dir, &verdict_cfg);
        }
    }
    let compare_s = cpu() - t;
    let t = cpu();
    for c in &cells {
        let CellState::Measured { samples: Ok(s), .. } = &c.state else { continue };
        for (name, m) in &s.metrics {
            let _ = stats::relative_change_ci(&baseline.cells[&c.id].metrics[name].samples, &m.values, &verdict_cfg.bootstrap);
        }
    }
    let bootstrap_s = cpu() - t;
    let series: Vec<f64> = history.iter().map(|r| r.cells[0].metrics["wall_time_s"].median).collect();
    let t = cpu();
    for _ in 0..CELLS * METRICS.len() {
        let _ = stats::mann_kendall(&series);
        let _ = stats::theil_sen(&series);
    }
    let trend_s = cpu() - t;
    let cp = stats::ChangePointConfig { window: 50, max_p: 0.001, min_magnitude: 0.1 };
    let t = cpu();
    for _ in 0..CELLS * METRICS.len() {
        let _ = stats::change_points(&series, &cp);
    }
    let cp_s = cpu() - t;
    println!(
        "phases, CPU s on one thread: compare {compare_s:.3} (of which bootstrap {bootstrap_s:.3}), trend {trend_s:.3}, change points {cp_s:.3}"
    );

    let (start, start_cpu) = (Instant::now(), cpu());
    let analysis = analyze(AnalysisInput {
        run: RunInfo {
            id: "bench".into(),
            project: "bench".into(),
            tier: "p2".into(),
            backend: "local".into(),
            loadbuild_version: "bench".into(),
        },
        environment: env,
        dimensions,
        cells,
        settings: &settings,
        baseline: Some(&baseline),
        baseline_info: BaselineInfo { path: "baselines/local.yaml".into(), exists: true, cells: CELLS },
        history: &history,
        history_source: "bench".into(),
    });
    let (analyzed, analyzed_cpu) = (start.elapsed(), cpu() - start_cpu);
    let out = tempfile::tempdir().expect("temp dir");
    let (render_start, render_cpu) = (Instant::now(), cpu());
    render::write_all(&analysis, out.path()).expect("render");
    let (rendered, rendered_cpu) = (render_start.elapsed(), cpu() - render_cpu);
    let c = &analysis.results.counts;
    let html = std::fs::metadata(out.path().join("index.html")).map_or(0, |m| m.len());
    println!(
        "report_cells {CELLS}  metrics {}  repetitions {REPS}  history_runs {RUNS}  threads {}",
        METRICS.len(),
        rayon::current_num_threads()
    );
    println!(
        "report_verdicts regression {} improvement {} unchanged {} inconclusive {}",
        c.regression, c.improvement, c.unchanged, c.inconclusive
    );
    println!("report_analyze_s {:.3}  (CPU {analyzed_cpu:.3} s)", analyzed.as_secs_f64());
    println!("report_render_s {:.3}  (CPU {rendered_cpu:.3} s; index.html {:.1} MiB)", rendered.as_secs_f64(), html as f64 / 1048576.0);
    println!("report_total_s {:.3}  (CPU {:.3} s)", (analyzed + rendered).as_secs_f64(), analyzed_cpu + rendered_cpu);
    // Each format alone, one thread: where the render time goes.
    for (name, f) in [
        ("results.json", &(|| serde_json::to_vec_pretty(&analysis.results).expect("serialize")) as &dyn Fn() -> Vec<u8>),
        ("index.html", &|| render::html(&analysis).into_bytes()),
        ("summary.md", &|| render::markdown(&analysis.results).into_bytes()),
        ("junit.xml", &|| render::junit(&analysis.results).into_bytes()),
        ("metrics.prom", &|| render::prometheus(&analysis.results).into_bytes()),
    ] {
        let t = cpu();
        let bytes = f().len();
        println!("  render {name:<13} CPU {:.3} s  {:.2} MiB", cpu() - t, bytes as f64 / 1048576.0);
    }
    println!("load average during the run: {}", std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim());
}
