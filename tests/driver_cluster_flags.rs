//! Issue 20: the workload driver's flags for cluster scenarios, on real Spark (local master):
//! `--executors N` holds the warm-up until N executors have registered and fails the run,
//! saying how many came, when they do not; `--tables CATALOG.NAMESPACE` makes the workload read
//! that namespace's tables instead of the dataset's Parquet; bad combinations are usage errors.
//!
//! Python with pyspark: `$LOADBUILD_TEST_PYSPARK_PYTHON` (.ci/run sets it), else the
//! development machine's venv or `python3`. Outside CI a missing pyspark skips the Spark tests.

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

fn result(out: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("result.json")).unwrap()).unwrap()
}

#[test]
fn issue_20_executors_and_tables_on_real_spark() {
    let Some(python) = pyspark_python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let made = Command::new(bin()).args(["data", "generate", "--size", "2MiB", "--out", data.to_str().unwrap()]).output().unwrap();
    assert!(made.status.success(), "{}", text(&made));
    let sql = repo().join("rules/workloads/read.sql");
    let run = |name: &str, extra: &[&str]| {
        let out = tmp.path().join(name);
        let events = tmp.path().join(format!("{name}-events"));
        let args = [
            &["--cell", "t-read", "--op", "read", "--sql", sql.to_str().unwrap(), "--data", data.to_str().unwrap(), "--reps", "1"][..],
            &["--master", "local[1]", "--out", out.to_str().unwrap(), "--event-log-dir", events.to_str().unwrap()],
            extra,
        ]
        .concat();
        (driver(&python, &args), out)
    };
    // A local master has no executors besides the driver: waiting for one times out, and the
    // run fails before any execution, saying so.
    let (o, out) = run("wait", &["--executors", "1", "--executor-wait", "2"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let r = result(&out);
    assert_eq!(r["status"], "failed");
    assert!(r["error"].as_str().unwrap().contains("only 0 of 1 executors registered within 2 s"), "{r}");
    assert!(r["warmup"].is_null() && r["executions"].as_array().unwrap().is_empty(), "{r}");
    // With --tables the views are the namespace's tables, not the Parquet: a namespace without
    // them fails the run naming the table it looked for.
    let (o, out) = run("tables", &["--tables", "spark_catalog.lb_missing"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let r = result(&out);
    assert!(r["error"].as_str().unwrap().contains("lb_missing"), "{r}");
}

#[test]
fn issue_20_cluster_flags_usage_errors() {
    let Some(python) = pyspark_python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let sql = repo().join("rules/workloads/read.sql");
    let base = ["--cell", "t-read", "--op", "read", "--sql", sql.to_str().unwrap(), "--data", "/nonexistent", "--reps", "1"];
    let out_args = ["--out", out.to_str().unwrap(), "--event-log-dir", "/tmp/loadbuild-none"];
    let o = driver(&python, &[&base[..], &out_args, &["--remote", "sc://127.0.0.1:15002", "--executors", "2"]].concat());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--executors: a Connect server owns its executors"), "{}", text(&o));
    let o = driver(&python, &[&base[..], &out_args, &["--master", "local[1]", "--tables", "lb"]].concat());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--tables `lb`: give CATALOG.NAMESPACE"), "{}", text(&o));
}
