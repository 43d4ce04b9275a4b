//! Issue 6: the event-log parser against real Spark 3.5 / 4.1 logs in `tests/data/eventlog/`.
//!
//! Expected values come from `tests/data/eventlog/expected.py`, an independent Python reading of
//! the same logs; damaged copies of the fixtures check the error messages.
use std::fs;
use std::path::{Path, PathBuf};

use loadbuild::metrics::{CellMetrics, DriverTimings, JobScope, MetricsError, Tiers, cell_metrics, read_event_log, read_event_log_scoped};
use serde_json::Value;

const FIXTURES: &[&str] =
    &["spark35_plain", "spark35_failures", "spark35_executor_lost", "spark41_default", "spark41_rolling", "spark41_connect"];

fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/eventlog").join(name)
}

/// The event log in a fixture folder: the one entry that is not ours.
fn fixture_log(name: &str) -> PathBuf {
    let mut logs: Vec<PathBuf> = fs::read_dir(fixture_dir(name))
        .expect("fixture folder exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| !["driver.json", "sessions.json", "result.json", "expected.json"].iter().any(|ours| p.ends_with(ours)))
        .collect();
    assert_eq!(logs.len(), 1, "one event log in `{name}`");
    logs.pop().expect("one log")
}

fn driver(name: &str) -> DriverTimings {
    let text = fs::read_to_string(fixture_dir(name).join("driver.json")).expect("driver.json");
    serde_json::from_str(&text).expect("driver.json parses")
}

fn metrics(name: &str) -> CellMetrics {
    let log = read_event_log(&fixture_log(name)).expect("fixture parses");
    cell_metrics(&log, &driver(name))
}

fn expected(name: &str) -> Value {
    let text = fs::read_to_string(fixture_dir(name).join("expected.json")).expect("expected.json");
    serde_json::from_str(&text).expect("expected.json parses")
}

/// Every metric equals the Python value (relative 1e-9), and absent exactly where Python has null.
fn assert_tiers_match(fixture: &str, scope: &str, tiers: &Tiers, want: &Value) {
    let want = want.as_object().expect("metrics object");
    let names: Vec<&str> = tiers.all().map(|m| m.name).collect();
    let mut want_names: Vec<&str> = want.keys().map(String::as_str).collect();
    let mut got_names = names.clone();
    got_names.sort_unstable();
    want_names.sort_unstable();
    assert_eq!(got_names, want_names, "{fixture} {scope}: metric names");
    for m in tiers.all() {
        match (m.value(), want[m.name].as_f64()) {
            (Some(got), Some(exp)) => {
                assert!((got - exp).abs() <= 1e-9 * exp.abs().max(1.0), "{fixture} {scope} `{}`: got {got}, expected {exp}", m.name)
            }
            (None, None) => {}
            (got, exp) => panic!("{fixture} {scope} `{}`: got {got:?}, expected {exp:?}", m.name),
        }
    }
}

/// The Rust metrics of one run equal the Python ones in `want`.
fn assert_matches(name: &str, got: &CellMetrics, want: &Value) {
    assert_eq!(got.warmup_jobs as u64, want["warmup_jobs"].as_u64().unwrap(), "{name}");
    assert_eq!(u64::from(got.unattributed_jobs), want["unattributed_jobs"].as_u64().unwrap(), "{name}");
    let want_execs = want["executions"].as_object().expect("executions");
    assert_eq!(got.executions.len(), want_execs.len(), "{name}: executions");
    for e in &got.executions {
        let scope = format!("execution {}", e.execution);
        assert_tiers_match(name, &scope, &e.tiers, &want_execs[&e.execution.to_string()]);
    }
    assert_tiers_match(name, "cell", &got.cell, &want["cell"]);
}

#[test]
fn issue_6_every_fixture_matches_the_independent_computation() {
    for &name in FIXTURES {
        let got = metrics(name);
        assert_matches(name, &got, &expected(name));
        let json = serde_json::to_value(&got).expect("cell metrics serialize");
        let first = &json["cell"]["efficiency"][0];
        assert_eq!(first["unit"], "ratio", "{name}: {first}");
        assert!(first["direction"].is_string() && first["source"].is_string());
    }
}

/// Two sessions ran at once on one Connect server, both tagging `loadbuild-exec-1` and `-2`; the
/// log is the server's `.inprogress` file copied while it still ran, cut at a complete line.
#[test]
fn issue_6_shared_connect_server_counts_each_sessions_jobs_only() {
    const SHARED: &str = "spark41_connect_shared";
    let text = fs::read_to_string(fixture_dir(SHARED).join("sessions.json")).expect("sessions.json");
    let sessions: Value = serde_json::from_str(&text).expect("sessions.json parses");
    let sessions = sessions["sessions"].as_array().expect("sessions");
    assert_eq!(sessions.len(), 2);
    let path = fixture_log(SHARED);
    assert!(path.to_string_lossy().ends_with(".inprogress"), "{}", path.display());
    let want = expected(SHARED);
    let mut jobs_per_session = Vec::new();
    for s in sessions {
        let id = s["connect_session_id"].as_str().expect("session id");
        let log = read_event_log_scoped(&path, &JobScope::ConnectSession(id.to_string())).expect("in-progress copy parses");
        assert_eq!(log.app_end_ms, None, "copied while the server ran");
        let driver: DriverTimings = serde_json::from_value(s.clone()).expect("session timings");
        let got = cell_metrics(&log, &driver);
        assert_matches(&format!("{SHARED} session {id}"), &got, &want["sessions"][id]);
        assert_eq!(got.cell.get("succeeded").and_then(|m| m.value()), Some(1.0));
        jobs_per_session.push(got.executions.iter().map(|e| e.jobs).collect::<Vec<_>>());
    }
    // Unscoped, each `loadbuild-exec-k` holds both sessions' jobs: the filter is what separates them.
    let all = cell_metrics(&read_event_log(&path).expect("parses"), &DriverTimings::default());
    let unscoped: Vec<usize> = all.executions.iter().map(|e| e.jobs).collect();
    let summed: Vec<usize> = (0..2).map(|i| jobs_per_session[0][i] + jobs_per_session[1][i]).collect();
    assert_eq!(unscoped, summed);
    assert!(jobs_per_session.iter().all(|j| j.iter().all(|&n| n > 0)), "{jobs_per_session:?}");
    let unknown = read_event_log_scoped(&path, &JobScope::ConnectSession("no-such-session".into())).expect("parses");
    assert_eq!(unknown.measured().count(), 0, "a session with no jobs in the log has no executions");
}

#[test]
fn issue_6_attribution_separates_warmup_and_each_execution() {
    for &name in FIXTURES {
        let log = read_event_log(&fixture_log(name)).expect("fixture parses");
        let got = cell_metrics(&log, &driver(name));
        assert!(got.warmup_jobs > 0, "{name}: the warm-up ran jobs");
        let ks: Vec<u32> = got.executions.iter().map(|e| e.execution).collect();
        assert_eq!(ks, [1, 2], "{name}: two measured executions");
        for e in &got.executions {
            assert!(e.jobs > 0, "{name}: execution {} has jobs", e.execution);
            let succeeded = e.tiers.get("succeeded").and_then(|m| m.value());
            assert_eq!(succeeded, Some(1.0), "{name}: execution {}", e.execution);
        }
        // The warm-up's tasks are kept apart: no measured execution holds them.
        let warm = &log.executions[&loadbuild::metrics::Execution::Warmup];
        assert!(warm.tasks.count > 0, "{name}: warm-up tasks were attributed to it");
    }
    let plain = metrics("spark35_plain");
    assert!(plain.unattributed_jobs > 0, "the untagged count is left out");
}

#[test]
fn issue_6_failure_and_spill_job_shows_failures_and_spill() {
    let got = metrics("spark35_failures");
    for e in &got.executions {
        let v = |n: &str| e.tiers.get(n).and_then(|m| m.value()).expect(n);
        assert!(v("failed_tasks") > 0.0, "execution {} failed tasks", e.execution);
        assert!(v("spill_ratio") > 0.0, "execution {} spilled", e.execution);
        assert_eq!(v("succeeded"), 1.0, "retries let the job succeed");
    }
    let cell_failed = got.cell.get("failed_tasks").and_then(|m| m.value());
    let per_exec: f64 = got.executions.iter().filter_map(|e| e.tiers.get("failed_tasks").and_then(|m| m.value())).sum();
    assert_eq!(cell_failed, Some(per_exec), "cell failures are this cell's only");
}

#[test]
fn issue_6_lost_executor_counts_in_its_execution_only_and_is_not_called_oom() {
    let got = metrics("spark35_executor_lost");
    let v = |t: &Tiers, n: &str| t.get(n).and_then(|m| m.value()).expect(n);
    let (one, two) = (&got.executions[0].tiers, &got.executions[1].tiers);
    assert_eq!(v(one, "executors_removed"), 1.0, "execution 1 killed its executor");
    assert_eq!(v(one, "executor_lost_tasks"), 1.0);
    assert_eq!(v(two, "executors_removed"), 0.0, "execution 2 ran after the loss");
    // Standalone reports the SIGKILL as `Command exited with code 137`: no OOM text in it.
    assert_eq!(v(&got.cell, "oom_events"), 0.0);
    assert_eq!(v(&got.cell, "succeeded"), 1.0, "the task was retried elsewhere");
}

#[test]
fn issue_6_rolling_directory_reads_every_file_in_order() {
    let dir = fixture_log("spark41_rolling");
    let files = fs::read_dir(&dir)
        .expect("rolling dir")
        .filter(|e| {
            let name = e.as_ref().expect("entry").file_name();
            name.to_string_lossy().starts_with("events_")
        })
        .count();
    assert!(files >= 2, "the rolling fixture has several files, got {files}");
    let log = read_event_log(&dir).expect("rolling log parses");
    assert!(log.app_end_ms.is_some(), "the last file's ApplicationEnd was read");
    assert_eq!(log.spark_version.as_deref(), Some("4.1.1"));
}

#[test]
fn issue_6_a_failed_run_matches_and_shows_its_failed_job() {
    let got = metrics("spark35_failed_run");
    assert_matches("spark35_failed_run", &got, &expected("spark35_failed_run"));
    let v = |t: &Tiers, n: &str| t.get(n).and_then(|m| m.value()).expect(n);
    let (one, two) = (&got.executions[0].tiers, &got.executions[1].tiers);
    assert_eq!((v(one, "succeeded"), v(two, "succeeded")), (1.0, 0.0));
    assert_eq!(v(two, "failed_jobs"), 1.0);
    assert_eq!(two.get("wall_time_s").and_then(|m| m.value()), None, "the driver has no timing for the failed execution");
    let detail = got.cell.get("succeeded").and_then(|m| m.detail.clone()).expect("failure detail");
    assert!(detail.contains("loadbuild injected failure"), "{detail}");
}

/// A log still being written may end inside an event: Spark's own replay drops that partial
/// line for `.inprogress` files, and so does the reader; a finished log that ends so is an error.
#[test]
fn issue_6_in_progress_log_may_end_mid_event() {
    let src = fixture_log("spark41_connect_shared");
    let tmp = tempfile::tempdir().expect("temp dir");
    let live = copy_to_temp(&src, tmp.path());
    let mut bytes = fs::read(&live).expect("read copy");
    bytes.extend_from_slice(br#"{"Event":"SparkListenerTaskEnd","Stage ID":3,"Stage Att"#);
    fs::write(&live, &bytes).expect("append a partial event");
    let whole = read_event_log(&src).expect("complete copy");
    let cut = read_event_log(&live).expect("in-progress copy with a partial last event");
    assert_eq!((cut.events, cut.unattributed_jobs), (whole.events, whole.unattributed_jobs));
    let finished = tmp.path().join("local-1");
    fs::write(&finished, &bytes).expect("same bytes, finished name");
    assert!(matches!(read_event_log(&finished), Err(MetricsError::Truncated { .. })));
}

#[test]
fn issue_6_a_codec_the_parser_does_not_read_is_named() {
    let err = read_event_log(&fixture_log("spark41_lz4")).expect_err("lz4 is not read");
    assert!(matches!(&err, MetricsError::UnsupportedCodec { codec, .. } if codec == "lz4"), "{err}");
    assert!(err.to_string().contains("events_1_"), "names the file: {err}");
}

fn copy_to_temp(src: &Path, tmp: &Path) -> PathBuf {
    let dest = tmp.join(src.file_name().expect("file name"));
    fs::copy(src, &dest).expect("copy fixture");
    dest
}

#[test]
fn issue_6_truncated_plain_log_is_an_error_naming_file_and_line() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let path = copy_to_temp(&fixture_log("spark35_plain"), tmp.path());
    let text = fs::read(&path).expect("read copy");
    let lines = text.iter().filter(|&&b| b == b'\n').count();
    fs::write(&path, &text[..text.len() - 20]).expect("truncate");
    let err = read_event_log(&path).expect_err("truncated log");
    assert!(matches!(err, MetricsError::Truncated { line, .. } if line as usize == lines));
    let msg = err.to_string();
    assert!(msg.contains("truncated") && msg.contains(&format!(":{lines}:")), "{msg}");
    assert!(msg.contains(&path.display().to_string()), "{msg}");
}

#[test]
fn issue_6_truncated_zstd_log_is_an_error() {
    let dir = fixture_log("spark41_default");
    let file = fs::read_dir(&dir)
        .expect("rolling dir")
        .map(|e| e.expect("entry").path())
        .find(|p| p.to_string_lossy().ends_with(".zstd"))
        .expect("a .zstd events file");
    let tmp = tempfile::tempdir().expect("temp dir");
    let path = copy_to_temp(&file, tmp.path());
    let bytes = fs::read(&path).expect("read copy");
    fs::write(&path, &bytes[..bytes.len() / 2]).expect("truncate");
    let err = read_event_log(&path).expect_err("truncated zstd");
    let msg = err.to_string();
    assert!(matches!(err, MetricsError::Truncated { .. }), "{msg}");
    assert!(msg.contains("truncated") && msg.contains(&path.display().to_string()), "{msg}");
}

/// Rewrites line `n` (1-based) of a copy of the plain 3.5 fixture.
fn edited_plain_log(tmp: &Path, edit: impl Fn(usize, &str) -> String) -> PathBuf {
    let src = fixture_log("spark35_plain");
    let text = fs::read_to_string(&src).expect("plain fixture is UTF-8");
    let out: String = text.lines().enumerate().map(|(i, l)| edit(i + 1, l) + "\n").collect();
    let path = tmp.join(src.file_name().expect("file name"));
    fs::write(&path, out).expect("write edited copy");
    path
}

#[test]
fn issue_6_corrupted_line_names_file_and_line() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let path = edited_plain_log(tmp.path(), |n, l| if n == 7 { l[..l.len() / 2].to_string() } else { l.to_string() });
    let err = read_event_log(&path).expect_err("corrupt line");
    let msg = err.to_string();
    assert!(matches!(err, MetricsError::Malformed { line: 7, .. }), "{msg}");
    assert!(msg.contains(&format!("`{}`:7: malformed event", path.display())), "{msg}");
}

#[test]
fn issue_6_unknown_events_and_fields_are_ignored() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let path = edited_plain_log(tmp.path(), |_, l| {
        let l = l.replacen(r#""Task End Reason":"#, r#""Future Field":{"nested":[1,{"x":null}]},"Task End Reason":"#, 1);
        if l.contains(r#""Event":"SparkListenerJobEnd""#) {
            format!("{{\"Event\":\"SparkListenerSomethingNew\",\"Value\":[1,2]}}\n{l}")
        } else {
            l
        }
    });
    let edited = cell_metrics(&read_event_log(&path).expect("tolerant"), &driver("spark35_plain"));
    assert_eq!(edited, metrics("spark35_plain"));
}

#[test]
fn issue_6_missing_driver_timings_are_absent_not_zero() {
    let log = read_event_log(&fixture_log("spark35_plain")).expect("fixture parses");
    let got = cell_metrics(&log, &DriverTimings::default());
    for name in ["wall_time_s", "driver_rows_per_s", "client_latency_s"] {
        let m = got.cell.get(name).expect(name);
        assert_eq!(m.value(), None, "`{name}` without driver timings");
    }
    let span = got.cell.get("job_span_s").and_then(|m| m.value());
    assert!(span.is_some_and(|s| s > 0.0), "the event log still gives a job span");
}
