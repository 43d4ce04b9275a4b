//! `report::analyze` through the library: the verdict model on hand-made inputs, including the
//! whole-matrix case where Benjamini–Hochberg must run across the report, not per cell.

use std::collections::BTreeMap;

use loadbuild::loadfile::ReportSettings;
use loadbuild::metrics::{Direction, Unit};
use loadbuild::report::baseline::{BaselineCell, BaselineFile, BaselineMetric};
use loadbuild::report::input::{CellSamples, MetricSamples};
use loadbuild::report::model::{BaselineInfo, CellStatus, Environment, MetricVerdict, RunInfo, SummaryOut};
use loadbuild::report::{Analysis, AnalysisInput, CellInput, CellState, analyze};

mod common;
use common::report::Noise;

fn env() -> Environment {
    Environment { loadbuild: "t".into(), backend: "local".into(), machine: "t".into() }
}

fn samples(metrics: &[(&str, Vec<f64>)]) -> CellSamples {
    let metrics = metrics
        .iter()
        .map(|(name, v)| {
            let info = loadbuild::metrics::metric_info(name).unwrap();
            let absent = v.is_empty().then(|| "execution 1: no input rows".to_string());
            (name.to_string(), MetricSamples { unit: info.unit, direction: info.direction, values: v.clone(), absent })
        })
        .collect();
    CellSamples { run_succeeded: true, error: None, spark_version: None, succeeded: Some(true), metrics, sets: 1 }
}

fn measured(id: &str, s: CellSamples) -> CellInput {
    CellInput {
        id: id.into(),
        name: id.into(),
        dims: vec![],
        values: vec![],
        state: CellState::Measured { node: format!("metrics[{id}]"), digest: format!("d-{id}"), node_failed: false, samples: Ok(s) },
        inputs: BTreeMap::new(),
    }
}

fn baseline_of(cells: &[(&str, &str, Vec<f64>)]) -> BaselineFile {
    let mut f = BaselineFile::default();
    f.environments.insert("e".into(), env());
    for (id, metric, v) in cells {
        let info = loadbuild::metrics::metric_info(metric).unwrap();
        let summary = SummaryOut { n: v.len(), mean: 0.0, median: 0.0, stddev: None, ci95: None };
        let m = BaselineMetric { unit: info.unit, direction: info.direction, samples: v.clone(), summary };
        f.cells
            .entry(id.to_string())
            .or_insert_with(|| BaselineCell {
                environment: "e".into(),
                run: "b".into(),
                spark_version: None,
                inputs: BTreeMap::new(),
                metrics: BTreeMap::new(),
            })
            .metrics
            .insert(metric.to_string(), m);
    }
    f
}

fn run(cells: Vec<CellInput>, baseline: &BaselineFile, settings: &ReportSettings) -> Analysis {
    analyze(AnalysisInput {
        run: RunInfo { id: "r".into(), project: "p".into(), tier: "t".into(), backend: "local".into(), loadbuild_version: "t".into() },
        environment: env(),
        dimensions: vec![],
        cells,
        settings,
        baseline: Some(baseline),
        baseline_info: BaselineInfo { path: "b.yaml".into(), exists: true, cells: baseline.cells.len() },
        history: &[],
        history_source: "none".into(),
    })
}

#[test]
fn issue_7_a_cell_whose_judged_metrics_are_all_absent_is_not_unchanged() {
    let settings = ReportSettings { metrics: vec!["input_rows_per_s".into()], ..ReportSettings::default() };
    let base = baseline_of(&[("w", "input_rows_per_s", vec![1.0, 2.0, 3.0, 4.0, 5.0])]);
    let a = run(vec![measured("w", samples(&[("input_rows_per_s", vec![])]))], &base, &settings);
    let c = &a.results.cells[0];
    assert_eq!(c.status, CellStatus::Inconclusive);
    assert_eq!(c.metrics[0].verdict, MetricVerdict::Absent);
    assert!(c.reason.as_deref().unwrap().contains("no input rows"), "{:?}", c.reason);
    assert!(a.results.rerun.is_empty(), "more repetitions would not give rows: {:?}", a.results.rerun);
}

#[test]
fn issue_7_units_and_directions_come_from_the_measurements() {
    let settings = ReportSettings { metrics: vec!["input_rows_per_s".into(), "wall_time_s".into()], ..ReportSettings::default() };
    let mut noise = Noise::new(1);
    let base =
        baseline_of(&[("c", "input_rows_per_s", noise.samples(10, 1000.0, 0.02)), ("c", "wall_time_s", noise.samples(10, 10.0, 0.02))]);
    // Throughput up 40% and wall time down 40%: both are improvements.
    let now = samples(&[("input_rows_per_s", noise.samples(10, 1400.0, 0.02)), ("wall_time_s", noise.samples(10, 6.0, 0.02))]);
    let a = run(vec![measured("c", now)], &base, &settings);
    let c = &a.results.cells[0];
    assert_eq!(c.status, CellStatus::Improvement, "{c:#?}");
    assert!(c.metrics.iter().all(|m| m.verdict == MetricVerdict::Improvement));
    assert_eq!((c.metrics[0].unit, c.metrics[0].direction), (Unit::RowsPerSecond, Direction::HigherIsBetter));
}
