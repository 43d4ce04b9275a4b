//! Issue 6: the `metrics` built-in action through the binary, over run outputs in the
//! docs/runs.md layout (`result.json`, `eventlog/`) made from the real event-log fixtures.
//!
//! The `run` rule here is a stand-in command that copies a prepared run output into `$OUT`
//! (the real one launches Spark); expected values are `tests/data/eventlog/*/expected.json`.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::Project;
use serde_json::{Value, json};

const LOADFILE: &str = r#"
[dimensions]
case = ["plain35", "rolling41", "connect-a", "connect-b", "failed", "nospark", "crash"]
[tiers.all]
select = {}
"#;

/// Copies `runs/<case>/` into `$OUT`; a `TRANSIENT` marker fails the first attempt with
/// EX_TEMPFAIL, `FAIL` makes the command exit 1 (recorded as a failed outcome).
const RUN_RULE: &str = r#"
[rule.run]
per = ["case"]
on_failure = "record"
retries = 1
outputs = ["result.json"]
command = '''
cp -R runs/{{ case }}/. {{ out }}/
if [ -f {{ out }}/TRANSIENT ] && [ "$LOADBUILD_ATTEMPT" = 1 ]; then exit 75; fi
rm -f {{ out }}/TRANSIENT
[ -f {{ out }}/result.json ] && sed -i "s/\"@ATTEMPT@\"/$LOADBUILD_ATTEMPT/" {{ out }}/result.json
if [ -f {{ out }}/FAIL ]; then rm {{ out }}/FAIL; echo "spark failed" >&2; exit 1; fi
exit 0
'''
"#;

const METRICS_RULE: &str = r#"
[rule.metrics]
per = ["case"]
deps = ["run"]
action = "metrics"
"#;

fn fixture(name: &str) -> PathBuf {
    common::repo().join("tests/data/eventlog").join(name)
}

/// The event log of a fixture: the entry that is not one of our JSON files.
fn fixture_log(name: &str) -> PathBuf {
    fs::read_dir(fixture(name))
        .expect("fixture folder")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_none_or(|x| x != "json"))
        .expect("an event log")
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).expect("valid JSON")
}

fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        fs::create_dir_all(to).unwrap();
        for e in fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            copy_tree(&e.path(), &to.join(e.file_name()));
        }
    } else {
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::copy(from, to).unwrap();
    }
}

/// `runs/<case>/`: the fixture's log in `eventlog/` and a `result.json` as the driver writes it.
fn prepare(p: &Project, case: &str, log_fixture: Option<&str>, result: Value, markers: &[&str]) {
    let dir = p.path().join("runs").join(case);
    fs::create_dir_all(&dir).unwrap();
    if let Some(f) = log_fixture {
        let log = fixture_log(f);
        copy_tree(&log, &dir.join("eventlog").join(log.file_name().unwrap()));
    }
    if !result.is_null() {
        fs::write(dir.join("result.json"), serde_json::to_string_pretty(&result).unwrap()).unwrap();
    }
    for m in markers {
        fs::write(dir.join(m), "").unwrap();
    }
}

fn result_json(case: &str, status: &str, error: Option<&str>, executions: &Value, session: Option<&str>) -> Value {
    json!({
        "schema": 1, "cell": case, "op": "aggregate", "client": "airflow", "mode": "standalone",
        "spark_version": "test", "app_id": null, "connect_session_id": session,
        "status": status, "error": error, "repetitions": 2, "conf": {},
        "warmup": null, "executions": executions, "write": null, "attempt": "@ATTEMPT@",
    })
}

fn project() -> (Project, Value) {
    let p = Project::new(LOADFILE, &[("run.toml", RUN_RULE), ("metrics.toml", METRICS_RULE)]);
    let driver = |f: &str| read_json(&fixture(f).join("driver.json"))["executions"].clone();
    prepare(&p, "plain35", Some("spark35_plain"), result_json("plain35", "succeeded", None, &driver("spark35_plain"), None), &[]);
    prepare(
        &p,
        "rolling41",
        Some("spark41_rolling"),
        result_json("rolling41", "succeeded", None, &driver("spark41_rolling"), None),
        &["TRANSIENT"],
    );
    let sessions = read_json(&fixture("spark41_connect_shared").join("sessions.json"));
    for (case, s) in ["connect-a", "connect-b"].iter().zip(sessions["sessions"].as_array().unwrap()) {
        let id = s["connect_session_id"].as_str().unwrap();
        prepare(&p, case, Some("spark41_connect_shared"), result_json(case, "succeeded", None, &s["executions"], Some(id)), &[]);
    }
    let mut failed = read_json(&fixture("spark35_failed_run").join("result.json"));
    failed["cell"] = "failed".into();
    failed["attempt"] = "@ATTEMPT@".into();
    prepare(&p, "failed", Some("spark35_failed_run"), failed, &["FAIL"]);
    let no_spark = "java.net.BindException: Address already in use (the driver could not start Spark)";
    prepare(&p, "nospark", None, result_json("nospark", "failed", Some(no_spark), &json!([]), None), &["FAIL"]);
    prepare(&p, "crash", None, Value::Null, &["FAIL"]);
    (p, sessions)
}

fn metrics_file(p: &Project, case: &str) -> Value {
    let out = p.run(&["build", &format!("metrics[{case}]")]);
    let line = out.stdout.lines().find(|l| l.starts_with("metrics[")).unwrap_or_else(|| panic!("no output\n{}", out.stderr));
    read_json(&Path::new(line.split('\t').nth(1).unwrap()).join("metrics.json"))
}

fn value(tiers: &Value, name: &str) -> Option<f64> {
    let all = ["stability", "efficiency", "performance"].iter().flat_map(|t| tiers[t].as_array().unwrap().iter());
    let m = all.clone().find(|m| m["name"] == name).unwrap_or_else(|| panic!("no metric `{name}`"));
    m["measured"]["value"].as_f64()
}

/// Every metric of metrics.json equals expected.json's (`run_retries` comes from the run node here).
fn assert_matches(case: &str, got: &Value, want: &Value) {
    let scopes = std::iter::once(("cell".to_string(), &got["cell"], &want["cell"])).chain(
        got["executions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (format!("execution {}", e["execution"]), &e["tiers"], &want["executions"][e["execution"].to_string()])),
    );
    let mut compared = 0;
    for (scope, tiers, want) in scopes {
        for (name, exp) in want.as_object().unwrap().iter().filter(|(n, _)| *n != "run_retries") {
            let got = value(tiers, name);
            match (got, exp.as_f64()) {
                (Some(g), Some(e)) => assert!((g - e).abs() <= 1e-9 * e.abs().max(1.0), "{case} {scope} `{name}`: {g} vs {e}"),
                (None, None) => {}
                (g, e) => panic!("{case} {scope} `{name}`: got {g:?}, expected {e:?}"),
            }
            compared += 1;
        }
    }
    assert!(compared > 40, "{case}: compared {compared} metrics");
}

#[test]
fn issue_6_metrics_nodes_read_run_outputs_per_docs_runs_md() {
    let (p, sessions) = project();
    let expected = |f: &str| read_json(&fixture(f).join("expected.json"));

    let m = metrics_file(&p, "plain35");
    assert_eq!((m["schema"].as_u64(), m["cell"].as_str(), m["run_status"].as_str()), (Some(1), Some("plain35"), Some("succeeded")));
    assert!(m["error"].is_null());
    assert_eq!(m["metrics"]["parser_version"], loadbuild::metrics::PARSER_VERSION);
    assert_matches("plain35", &m["metrics"], &expected("spark35_plain"));
    assert_eq!(value(&m["metrics"]["cell"], "run_retries"), Some(0.0), "first attempt");
    let again = p.run(&["build", "metrics[plain35]"]).ok();
    assert!(again.stderr.contains("2 fresh"), "{}", again.stderr);

    // Spark 4 rolling zstd log; the run needed a second attempt, which run_retries counts.
    let m = metrics_file(&p, "rolling41");
    assert_matches("rolling41", &m["metrics"], &expected("spark41_rolling"));
    assert_eq!(value(&m["metrics"]["cell"], "run_retries"), Some(1.0));

    // Two cells' sessions share one Connect server log: each counts its own jobs only.
    let want = expected("spark41_connect_shared");
    for (case, s) in ["connect-a", "connect-b"].iter().zip(sessions["sessions"].as_array().unwrap()) {
        let m = metrics_file(&p, case);
        assert_eq!(m["run_status"], "succeeded");
        assert_matches(case, &m["metrics"], &want["sessions"][s["connect_session_id"].as_str().unwrap()]);
    }
}

#[test]
fn issue_6_failed_runs_still_get_metrics_that_count_them() {
    let (p, _) = project();
    // The run exits 1 after Spark ran: its log shows execution 2's failed job.
    let b = p.run(&["build", "metrics[failed]"]).code(3);
    assert!(b.stderr.contains("recorded as a failed outcome"), "{}", b.stderr);
    let m = metrics_file(&p, "failed");
    assert_eq!(m["run_status"], "failed");
    assert!(m["error"].as_str().unwrap().contains("Python worker"), "{}", m["error"]);
    assert_matches("failed", &m["metrics"], &read_json(&fixture("spark35_failed_run").join("expected.json")));
    let cell = &m["metrics"]["cell"];
    assert_eq!(value(cell, "succeeded"), Some(0.0));
    assert!(value(cell, "failed_jobs").unwrap() >= 1.0 && value(cell, "failed_tasks").unwrap() >= 2.0);
    let plan = p.run(&["plan", "--explain", "metrics[failed]"]).ok();
    assert!(plan.stdout.contains("stale   run[failed]"), "a failed run is never fresh:\n{}", plan.stdout);

    // Spark never started: only the driver's account; the log's metrics are absent, not 0.
    let m = metrics_file(&p, "nospark");
    assert_eq!(m["run_status"], "failed");
    let cell = &m["metrics"]["cell"];
    assert_eq!(value(cell, "succeeded"), Some(0.0));
    let succeeded = cell["stability"].as_array().unwrap().iter().find(|x| x["name"] == "succeeded").unwrap();
    assert!(succeeded["detail"].as_str().unwrap().contains("BindException"), "{succeeded}");
    for name in ["failed_tasks", "failed_jobs", "cpu_time_ratio", "job_span_s"] {
        assert_eq!(value(cell, name), None, "`{name}` without an event log");
    }
    let reason = cell["stability"].as_array().unwrap().iter().find(|x| x["name"] == "failed_tasks").unwrap();
    assert!(reason["measured"]["absent"]["reason"].as_str().unwrap().contains("no event log"), "{reason}");

    // The command died before writing anything.
    let m = metrics_file(&p, "crash");
    assert_eq!(m["run_status"], "failed");
    assert!(m["error"].as_str().unwrap().contains("before writing `result.json`"), "{}", m["error"]);
    assert_eq!(value(&m["metrics"]["cell"], "run_retries"), None, "unknown, so absent");
}

#[test]
fn issue_6_a_run_output_that_breaks_the_contract_is_a_clear_error() {
    let (p, _) = project();
    // Succeeded, but the run rule copied another cell's output.
    let mut r = read_json(&p.path().join("runs/plain35/result.json"));
    r["cell"] = "rolling41".into();
    fs::write(p.path().join("runs/plain35/result.json"), r.to_string()).unwrap();
    let b = p.run(&["build", "metrics[plain35]"]).code(3);
    assert!(b.stderr.contains("is for cell `rolling41`, not `plain35`"), "{}", b.stderr);
    // The log of another application than the one result.json names.
    r["cell"] = "plain35".into();
    r["app_id"] = "local-1".into();
    fs::write(p.path().join("runs/plain35/result.json"), r.to_string()).unwrap();
    p.run(&["invalidate", "plain35", "--rule", "run"]).ok();
    let b = p.run(&["build", "metrics[plain35]"]).code(3);
    assert!(b.stderr.contains("is the log of application `local-1795790339696`, but `result.json` names `local-1`"), "{}", b.stderr);
    // Succeeded without an event log.
    r["app_id"] = Value::Null;
    fs::write(p.path().join("runs/plain35/result.json"), r.to_string()).unwrap();
    fs::remove_dir_all(p.path().join("runs/plain35/eventlog")).unwrap();
    p.run(&["invalidate", "plain35", "--rule", "run"]).ok();
    let b = p.run(&["build", "metrics[plain35]"]).code(3);
    assert!(b.stderr.contains("left no event log in `eventlog/`"), "{}", b.stderr);
}

#[test]
fn issue_6_metrics_command_shows_a_cell_from_the_cache() {
    let (p, _) = project();
    let before = p.run(&["metrics", "plain35"]).code(3);
    assert!(before.stderr.contains("not built yet") && before.stderr.contains("`loadbuild build 'metrics[plain35]'`"), "{}", before.stderr);
    let unknown = p.run(&["metrics", "plain53"]).code(2);
    assert!(unknown.stderr.contains("no cell `plain53`") && unknown.stderr.contains("did you mean `plain35`"), "{}", unknown.stderr);

    p.run(&["build", "metrics[plain35]"]).ok();
    let json = p.run(&["metrics", "plain35", "--json"]).ok();
    let built = p.run(&["build", "metrics[plain35]"]).ok();
    let tree = built.stdout.lines().find_map(|l| l.strip_prefix("metrics[plain35]\t")).expect("output path");
    assert_eq!(json.stdout, fs::read_to_string(Path::new(tree).join("metrics.json")).unwrap(), "--json prints metrics.json");

    let table = p.run(&["metrics", "plain35"]).ok().stdout;
    for want in ["run     succeeded", "stability", "efficiency", "performance", "exec 1 (", "exec 2 (", "higher", "Executor CPU Time"] {
        assert!(table.contains(want), "`{want}` in\n{table}");
    }
    let line = |name: &str| table.lines().find(|l| l.trim_start().starts_with(&format!("{name} "))).unwrap_or_else(|| panic!("{name}"));
    assert!(line("succeeded").contains("yes"), "{}", line("succeeded"));
    assert!(line("wall_time_s").contains(" s "), "{}", line("wall_time_s"));
    assert!(line("run_retries").contains(" 0 "), "{}", line("run_retries"));
    assert!(!table.contains("absent"), "every metric measured:\n{table}");

    // A failed run: its last metrics are shown, with the reason they are stale; the failed
    // execution has no driver timings, so those are absent and say why.
    p.run(&["build", "metrics[failed]"]).code(3);
    let failed = p.run(&["metrics", "failed"]).ok();
    let table = &failed.stdout;
    assert!(table.contains("run     failed: An exception was thrown from the Python worker"), "{table}");
    assert!(failed.stderr.contains("is stale") && failed.stderr.contains("loadbuild build 'metrics[failed]'"), "{}", failed.stderr);
    let line = |name: &str| table.lines().find(|l| l.trim_start().starts_with(&format!("{name} "))).unwrap_or_else(|| panic!("{name}"));
    assert!(line("succeeded").contains("no"), "{}", line("succeeded"));
    let note = table.lines().find(|l| l.ends_with("] the driver reported no timings for this execution")).expect("the reason");
    let n = &note.trim_start()[..note.trim_start().find(']').unwrap() + 1];
    assert!(line("wall_time_s").contains(&format!("—{n}")), "{}", line("wall_time_s"));
}

/// The project's own `rules/metrics.toml` over its own Loadfile, with a stand-in `run` rule.
#[test]
fn issue_6_the_projects_metrics_rule_builds_one_node_per_cell() {
    // On p0, which has Spark 3.5 cells (the default tier has one Spark 4 version).
    let loadfile =
        fs::read_to_string(common::repo().join("Loadfile.toml")).unwrap().replacen("default_tier = \"quick\"", "default_tier = \"p0\"", 1);
    let rule = fs::read_to_string(common::repo().join("rules/metrics.toml")).unwrap();
    let run = r#"
[rule.run]
per = ["spark", "client", "mode", "ext", "op", "size"]
outputs = ["result.json"]
command = "cp -R runs/. {{ out }}/ && sed -i 's/@CELL@/{{ cell.id }}/; s/\"@ATTEMPT@\"/1/' {{ out }}/result.json"
"#;
    let p = Project::new(&loadfile, &[("run.toml", run), ("metrics.toml", &rule)]);
    let driver = read_json(&fixture("spark35_plain").join("driver.json"));
    prepare(&p, "", Some("spark35_plain"), result_json("@CELL@", "succeeded", None, &driver["executions"], None), &[]);
    let cell = "357-airflow-standalone-none-read-1gb";
    p.run(&["build", "metrics[3.5.7/airflow/standalone/none/read/1gb]"]).ok();
    let shown = p.run(&["metrics", cell, "--json"]).ok();
    let m: Value = serde_json::from_str(&shown.stdout).unwrap();
    assert_eq!((m["cell"].as_str(), m["run_status"].as_str()), (Some(cell), Some("succeeded")));
    assert_matches(cell, &m["metrics"], &read_json(&fixture("spark35_plain").join("expected.json")));
}
