//! Real Spark on the local backend (issue 5): the project's own rules and workloads, run on a
//! tiny dataset — every op, both clients, standalone and Connect, a write landing in a real
//! PostgreSQL, a broken query recorded as a failed outcome and retried, skipped cells with
//! their reasons, and no server left behind.
//!
//! Toolchains are shared between test runs in `target/test-toolchains` (a pyspark environment
//! is several hundred MB): the first run installs pyspark from PyPI.

mod common;

use std::path::{Path, PathBuf};

use common::{Project, copy_dir, repo};
use serde_json::Value;

const LOADFILE: &str = r#"
[project]
name = "local-spark"
default_tier = "all"

[naming]
id = "{spark}-{client}-{mode}-{ext}-{op}-{size}"

[dimensions]
spark = ["4.1.1"]
client = ["airflow", "jupyter"]
mode = ["connect", "standalone", "k8s"]
ext = ["none"]
op = ["read", "aggregate", "join", "window", "write"]
size = ["tiny"]

[tiers.all]
select = {}

[[skip]]
when = "mode=k8s"
backends = ["local"]
reason = "needs a Kubernetes cluster: run with `--backend kubernetes`"

[vars.datasets]
seed = 7
size = { tiny = "4MiB" }
"#;

fn vars(name: &str) -> String {
    // The project's own toolchain pins and local settings, so the test runs what users run.
    let text = std::fs::read_to_string(repo().join("Loadfile.toml")).unwrap();
    let start = text.find(&format!("[vars.{name}]")).unwrap_or_else(|| panic!("Loadfile.toml has no [vars.{name}]"));
    let rest = &text[start..];
    let end = rest[1..].find("\n[").map_or(rest.len(), |e| e + 1);
    rest[..end].to_string()
}

fn project() -> Project {
    let loadfile = format!("{LOADFILE}\n{}\n{}", vars("toolchains"), vars("local").replace("repetitions = 5", "repetitions = 2"));
    let p = Project::new(&loadfile, &[]);
    for f in ["toolchain.toml", "services.toml", "run.toml", "dataset.toml"] {
        std::fs::copy(repo().join("rules").join(f), p.path().join("rules").join(f)).unwrap();
    }
    copy_dir(&repo().join("rules/workloads"), &p.path().join("rules/workloads"));
    p
}

fn loadbuild(p: &Project, args: &[&str]) -> common::Run {
    let toolchains = repo().join("target/test-toolchains");
    common::Run::from(p.cmd(args).env("LOADBUILD_TOOLCHAINS", toolchains).output().expect("run loadbuild"))
}

/// Output directories of the fresh nodes of `rule`, by node id.
fn outputs(p: &Project, target: &str) -> Vec<(String, PathBuf)> {
    let plan: Value = serde_json::from_str(&loadbuild(p, &["plan", "--json", target]).ok().stdout).unwrap();
    plan.as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "run" && n["output"].is_string())
        .map(|n| (n["id"].as_str().unwrap().to_string(), p.path().join(n["output"].as_str().unwrap())))
        .collect()
}

fn result(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("result.json")).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))).unwrap()
}

/// Rows each op must return, computed by pyarrow (not Spark) from the same dataset.
fn expected_rows(dataset: &Path, op: &str) -> Value {
    let out = std::process::Command::new("python3")
        .arg(repo().join("tests/workloads/expected.py"))
        .arg(dataset)
        .arg(op)
        .output()
        .expect("python3");
    assert!(out.status.success(), "expected.py {op}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn java_and_pg_present() -> bool {
    let ok = |c: &str, a: &str| std::process::Command::new(c).arg(a).output().is_ok_and(|o| o.status.success());
    let present = ok("java", "-version") && ok("pg_isready", "--version") && Path::new("/usr/share/java/postgresql.jar").exists();
    if !present {
        assert!(std::env::var_os("CI").is_none(), "CI must install Java 17, PostgreSQL and libpostgresql-jdbc-java");
        eprintln!("skipping: Java, PostgreSQL or the JDBC jar is missing");
    }
    present
}

#[test]
fn every_op_runs_on_real_spark_with_both_clients_and_both_modes() {
    if !java_and_pg_present() {
        return;
    }
    let p = project();

    // Skipped cells carry their reason before anything runs.
    let plan = loadbuild(&p, &["plan", "--explain", "run"]).ok().stdout;
    assert!(plan.contains("needs a Kubernetes cluster"), "{plan}");

    // Every op as a batch application on a standalone cluster.
    let r = loadbuild(&p, &["build", "run", "--only", "client=airflow,mode=standalone,op=read|aggregate|join|window|write"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    // Both clients on Spark Connect, and the notebook client on standalone.
    let r = loadbuild(&p, &["build", "run", "--only", "mode=connect,op=aggregate|write"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let r = loadbuild(&p, &["build", "run", "--only", "client=jupyter,mode=standalone,op=window"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(!r.stderr.contains("left running"), "{}", r.stderr);

    let dataset = outputs(&p, "dataset").into_iter().next();
    let plan: Value = serde_json::from_str(&loadbuild(&p, &["plan", "--json", "dataset"]).ok().stdout).unwrap();
    let dataset = dataset.map(|(_, d)| d).unwrap_or_else(|| p.path().join(plan[0]["output"].as_str().expect("dataset built")));
    let runs = outputs(&p, "run");
    assert_eq!(runs.len(), 5 + 4 + 1, "{runs:?}");
    for (id, dir) in &runs {
        let r = result(dir);
        assert_eq!(r["schema"], 1);
        assert_eq!(r["status"], "succeeded", "{id}: {r}");
        let op = r["op"].as_str().unwrap();
        let executions = r["executions"].as_array().unwrap();
        assert_eq!(executions.len(), 2, "{id}: two measured executions");
        let expected = expected_rows(&dataset, op);
        for e in executions {
            assert!(e["wall_s"].as_f64().unwrap() > 0.0, "{id}: {e}");
            assert_eq!(e["rows"], expected["rows"], "{id}: rows of execution {e} against pyarrow's {expected}");
        }
        assert_eq!(r["conf"]["spark.eventLog.enabled"], "true", "{id}");
        assert!(dir.join("eventlog").read_dir().unwrap().next().is_some(), "{id}: an event log");
        if op == "write" {
            assert_eq!(r["write"]["rows_verified"], expected["rows_landed"], "{id}: {r}");
            assert_eq!(r["write"]["rows_written"], r["write"]["rows_verified"], "{id}");
        }
        if r["mode"] == "connect" {
            assert!(r["connect_session_id"].is_string(), "{id}: {r}");
        }
    }

    // No server outlives the build.
    let services = p.path().join("cache/v2/services");
    let left: Vec<_> =
        std::fs::read_dir(&services).unwrap().flatten().filter(|e| e.path().extension().is_some_and(|x| x == "pids")).collect();
    assert!(left.is_empty(), "servers still recorded as running: {left:?}");

    // Nothing stale: a second build runs nothing and starts no server.
    let r = loadbuild(&p, &["build", "run", "--only", "client=airflow,mode=standalone,op=read|aggregate|join|window|write"]).ok();
    assert!(!r.stderr.contains("started"), "{}", r.stderr);
}

#[test]
fn a_broken_query_is_a_failed_outcome_with_sparks_error_and_runs_again() {
    if !java_and_pg_present() {
        return;
    }
    let p = project();
    // A query Spark rejects: the run must fail with Spark's own error.
    p.write("rules/workloads/read.sql", "SELECT no_such_column FROM trips\n");
    let r = loadbuild(&p, &["build", "run", "--only", "client=airflow,mode=standalone,op=read"]);
    assert_eq!(r.code, 3, "a failed cell exits 3\n{}\n{}", r.stdout, r.stderr);
    let plan: Value = serde_json::from_str(&loadbuild(&p, &["plan", "--json", "run"]).stdout).unwrap();
    let node = plan.as_array().unwrap().iter().find(|n| n["id"] == "run[4.1.1/airflow/standalone/none/read/tiny]").unwrap().clone();
    assert_eq!(node["state"], "stale", "a failed run is never fresh: {node}");
    assert!(node["reason"].as_str().unwrap().contains("failed"), "{node}");
    // The failed outcome keeps Spark's error for the metrics and the report.
    let log = std::fs::read_dir(p.path().join("cache/v2/trees"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("result.json"))
        .find(|f| f.exists())
        .expect("the failed run's result.json is kept");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(log).unwrap()).unwrap();
    assert_eq!(r["status"], "failed");
    assert!(r["error"].as_str().unwrap().contains("no_such_column"), "{r}");
    assert!(r["executions"].as_array().is_none_or(|e| e.is_empty()), "no made-up numbers: {r}");
    // The next build tries again.
    let r = loadbuild(&p, &["build", "run", "--only", "client=airflow,mode=standalone,op=read"]);
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains("failed   run[4.1.1/airflow/standalone/none/read/tiny]"), "it ran again and failed again:\n{}", r.stderr);
}
