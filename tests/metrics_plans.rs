//! Issue 19: physical plans captured per measured execution and checked against the operators
//! the workload declares; unattributed work kept and flagged where it overlaps a measurement.
//! On the real event-log fixtures (`tests/data/eventlog/`), plus one planted plan mismatch.

mod common;

use std::fs;
use std::path::PathBuf;

use loadbuild::metrics::run::{RunStatus, metrics_of_run};
use loadbuild::metrics::{CellMetrics, ExecutionMetrics, cell_metrics, read_event_log};

fn fixture(name: &str) -> PathBuf {
    common::repo().join("tests/data/eventlog").join(name)
}

/// The fixture's event log: the entry that is not a JSON side file.
fn fixture_log(name: &str) -> PathBuf {
    fs::read_dir(fixture(name))
        .expect("fixture folder")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_none_or(|x| x != "json"))
        .expect("an event log")
}

fn metrics(name: &str) -> CellMetrics {
    let log = read_event_log(&fixture_log(name)).expect("fixture parses");
    cell_metrics(&log, &Default::default())
}

fn operators(e: &ExecutionMetrics) -> Vec<&str> {
    let mut ops: Vec<&str> = e.plans.iter().flat_map(|p| p.operators.keys().map(String::as_str)).collect();
    ops.sort_unstable();
    ops.dedup();
    ops
}

#[test]
fn issue_19_every_measured_execution_of_the_aggregation_fixtures_has_its_plan() {
    for name in ["spark35_plain", "spark41_default", "spark41_rolling", "spark41_connect"] {
        let m = metrics(name);
        assert!(!m.executions.is_empty(), "{name}: measured executions");
        for e in &m.executions {
            let ops = operators(e);
            for want in ["HashAggregate", "Exchange"] {
                assert!(ops.contains(&want), "{name} execution {}: {want} in {ops:?}", e.execution);
            }
            let tree = &e.plans[0].tree;
            assert!(!tree.starts_with(' ') && tree.contains("\n  "), "{name}: the root, then its children indented:\n{tree}");
            assert!(!ops.iter().any(|o| o.ends_with(')')), "{name}: codegen stage ids are dropped from names: {ops:?}");
        }
    }
}

/// A run directory in the docs/runs.md layout: `result.json` + `eventlog/<the fixture's log>`.
fn run_dir(fixture_name: &str, plan_must_contain: &[&str]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    fs::create_dir_all(dir.join("eventlog")).expect("run dir");
    let log = fixture_log(fixture_name);
    fs::copy(&log, dir.join("eventlog").join(log.file_name().expect("name"))).expect("copy log");
    let result = serde_json::json!({"schema": 1, "cell": "c", "status": "succeeded", "plan_must_contain": plan_must_contain});
    fs::write(dir.join("result.json"), result.to_string()).expect("result.json");
    tmp
}

#[test]
fn issue_19_a_plan_with_the_declared_operators_passes() {
    let dir = run_dir("spark35_plain", &["HashAggregate", "Exchange"]);
    let file = metrics_of_run(dir.path(), "c", false, None).expect("metrics");
    assert_eq!(file.run_status, RunStatus::Succeeded, "{:?}", file.error);
    assert_eq!(file.plan_check, None);
}

#[test]
fn issue_19_a_plan_lacking_a_declared_operator_fails_the_run_with_the_plan_shown() {
    // Planted: the aggregation's log checked as if it were the join workload.
    let dir = run_dir("spark35_plain", &["SortMergeJoin", "Exchange"]);
    let file = metrics_of_run(dir.path(), "c", false, None).expect("metrics");
    assert_eq!(file.run_status, RunStatus::Failed);
    let error = file.error.expect("an error");
    assert!(error.contains("lacks SortMergeJoin"), "{error}");
    assert!(!error.contains("lacks SortMergeJoin, Exchange"), "Exchange is there: {error}");
    assert!(error.contains("  HashAggregate\n"), "the plan is shown: {error}");
    assert_eq!(file.plan_check.as_deref(), Some(&error["plan check: ".len()..]));
    let json = serde_json::to_value(&file.metrics).expect("serializes");
    assert_eq!(json["cell"]["stability"][0]["name"], "succeeded");
    assert_eq!(json["cell"]["stability"][0]["measured"]["value"], 0.0, "the cell did not succeed");
}

#[test]
fn issue_19_unattributed_tasks_are_kept_and_overlapping_untagged_jobs_flagged() {
    // spark35_plain: the untagged jobs (writing the data, a count) all ran before the warm-up.
    let plain = metrics("spark35_plain");
    assert!(plain.unattributed_tasks > 0, "untagged tasks are counted");
    assert!(plain.executions.iter().all(|e| e.overlapping_unattributed_jobs == 0), "nothing ran beside the measurements");
    // Two sessions on one Connect server, measured at the same time: each sees the other's jobs.
    let sessions: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(fixture("spark41_connect_shared").join("sessions.json")).expect("sessions.json"))
            .expect("json");
    let mut flagged = 0;
    for s in sessions["sessions"].as_array().expect("sessions") {
        let id = s["connect_session_id"].as_str().expect("connect_session_id");
        let scope = loadbuild::metrics::JobScope::ConnectSession(id.to_string());
        let log = loadbuild::metrics::read_event_log_scoped(&fixture_log("spark41_connect_shared"), &scope).expect("parses");
        let m = cell_metrics(&log, &Default::default());
        flagged += m.executions.iter().map(|e| e.overlapping_unattributed_jobs).sum::<u32>();
    }
    assert!(flagged > 0, "the other session's concurrent jobs are flagged");
}
