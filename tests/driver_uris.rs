//! The workload driver with Hadoop URIs for `--out` and `--event-log-dir`, as the rendered
//! cluster scripts call it (`s3a://<bucket>/…`): a classic session writes its event log and
//! result.json through Hadoop's file systems, making a missing log directory first. Exercised
//! here with `file://` URIs on real Spark (no s3a jars can be fetched on this machine); the
//! Connect client, which has no JVM, refuses object-store paths with a clear error.
//!
//! Python with pyspark: `$LOADBUILD_TEST_PYSPARK_PYTHON` (.ci/run sets it), else the venv
//! `.ci/run` makes (`target/ci-pyspark`) or `python3`. Outside CI a missing pyspark skips the Spark test.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{bin, pyspark_python, repo};
use serde_json::Value;

fn driver(python: &Path, args: &[&str]) -> Output {
    Command::new(python).arg(repo().join("rules/workloads/driver.py")).args(args).output().expect("python runs")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

#[test]
fn classic_session_writes_log_and_result_through_hadoop_uris() {
    let Some(python) = pyspark_python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let made = Command::new(bin()).args(["data", "generate", "--size", "2MiB", "--out", data.to_str().unwrap()]).output().unwrap();
    assert!(made.status.success(), "{}", text(&made));
    // The log directory does not exist yet: Spark alone would refuse to start.
    let events = tmp.path().join("eventlogs/new");
    let out = tmp.path().join("results/run-1/cell");
    let sql = repo().join("rules/workloads/aggregate.sql");
    let o = driver(
        &python,
        &[
            "--cell",
            "t-aggregate",
            "--op",
            "aggregate",
            "--sql",
            sql.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--reps",
            "1",
            "--master",
            "local[1]",
            "--out",
            &format!("file://{}", out.display()),
            "--event-log-dir",
            &format!("file://{}", events.display()),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let result: Value = serde_json::from_str(&std::fs::read_to_string(out.join("result.json")).unwrap()).unwrap();
    assert_eq!(result["status"], "succeeded", "{result}");
    assert_eq!(result["executions"].as_array().unwrap().len(), 1);
    let app = result["app_id"].as_str().unwrap().to_string();
    // The application's log, copied whole from the log directory, without Hadoop's `.crc` files.
    let in_events: Vec<String> = names(&events).into_iter().filter(|n| n.contains(&app)).collect();
    assert!(!in_events.is_empty(), "no log of {app} in {}", events.display());
    assert_eq!(names(&out.join("eventlog")), in_events);
    let copied = out.join("eventlog").join(&in_events[0]);
    let files = if copied.is_dir() { names(&copied) } else { vec![in_events[0].clone()] };
    assert!(files.iter().all(|f| !f.ends_with(".crc")), "{files:?}");
    assert!(files.iter().any(|f| f.contains("events") || f == &app || f.starts_with(&format!("{app}."))), "{files:?}");
    assert_eq!(names(&out), ["eventlog", "result.json"], "no temporary file left in OUT");
}

#[test]
fn object_store_paths_the_driver_cannot_serve_are_clear_errors() {
    let Some(python) = pyspark_python() else { return };
    let sql = repo().join("rules/workloads/read.sql");
    let base = ["--cell", "t-read", "--op", "read", "--sql", sql.to_str().unwrap(), "--data", "s3a://b/datasets/x", "--reps", "1"];
    // A Connect client follows the server's log with Python: an object store cannot serve that.
    let connect = [&base[..], &["--remote", "sc://127.0.0.1:15002", "--out", "/tmp/x", "--event-log-dir", "s3a://b/eventlogs"]].concat();
    let o = driver(&python, &connect);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--event-log-dir `s3a://b/eventlogs`: with --remote"), "{}", text(&o));
    // A usage error before any session: a remote OUT cannot be written, the result goes to stderr.
    let bad =
        [&base[..], &["--reps", "0", "--master", "local[1]", "--out", "s3a://b/results/r/c", "--event-log-dir", "s3a://b/e"]].concat();
    let o = driver(&python, &bad);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("result.json cannot be written to `s3a://b/results/r/c` without a Spark session"), "{err}");
    assert!(err.contains("\"status\": \"failed\""), "{err}");
}
