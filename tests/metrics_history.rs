//! Issue 6: the History Server source against a real Spark History Server (from the pyspark 4.1.1
//! wheel) on loopback, serving copies of the event-log fixtures. Both of its paths — the log
//! fetched through `/logs`, and the REST fields — must give the metrics the local parser gives.
//!
//! Spark comes from `$LOADBUILD_TEST_SPARK_HOME` (`.ci/run` sets it to the pyspark 4.1.1 package
//! it installs in `target/ci-pyspark`), else that venv or `python3`'s pyspark
//! (`pip install pyspark==4.1.1`); Java 17 must be on PATH. One server serves the whole file: it takes most of this test's ~20 s.

mod common;

use std::fs;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use loadbuild::metrics::history::{Fetched, HistoryError, HistoryServer};
use loadbuild::metrics::{CellMetrics, DriverTimings, JobScope, Tiers, cell_metrics, read_event_log_scoped};
use serde_json::Value;

fn eventlog_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/eventlog")
}

/// The fixture's log: the entry that is not one of our JSON files.
fn fixture_log(name: &str) -> PathBuf {
    fs::read_dir(eventlog_fixtures().join(name))
        .expect("fixture folder")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_none_or(|x| x != "json"))
        .expect("an event log")
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).expect("readable")).expect("JSON")
}

/// `SPARK_HOME` of a Spark 4.1.1 distribution (a pyspark package is one).
fn spark_home() -> PathBuf {
    if let Some(home) = std::env::var_os("LOADBUILD_TEST_SPARK_HOME") {
        return PathBuf::from(home);
    }
    let ci_venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/ci-pyspark/bin/python");
    for python in [ci_venv.as_os_str(), "python3".as_ref()] {
        let out = Command::new(python).args(["-c", "import os, pyspark; print(os.path.dirname(pyspark.__file__))"]).output();
        if let Some(out) = out.ok().filter(|o| o.status.success()) {
            return PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        }
    }
    panic!(
        "no Spark for the History Server: run `.ci/run` (it makes target/ci-pyspark), set LOADBUILD_TEST_SPARK_HOME, or `pip install pyspark==4.1.1`"
    );
}

/// A History Server, stopped when dropped: `spark-class` runs in its own process group (its id
/// is the child's PID), so the JVM it starts is stopped with it.
struct Server {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the process group this test created; no memory is involved.
        unsafe { libc::kill(-(self.child.id() as i32), libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("bound").port()
}

/// Starts a History Server over `logs` and waits until it lists `apps` applications.
fn start(logs: &Path, work: &Path, apps: usize) -> Server {
    let port = free_port();
    let home = spark_home();
    let opts = format!(
        "-Dspark.history.fs.logDirectory=file:{} -Dspark.history.ui.port={port} -Dspark.history.fs.update.interval=1s \
         -Dspark.history.fs.cleaner.enabled=false -XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
        logs.display()
    );
    let log = work.join("history-server.log");
    let out = fs::File::create(&log).expect("server log");
    let child = Command::new(home.join("bin/spark-class"))
        .arg("org.apache.spark.deploy.history.HistoryServer")
        .env("SPARK_HOME", &home)
        .env("SPARK_LOCAL_IP", "127.0.0.1") // bind to loopback only
        .env("SPARK_HISTORY_OPTS", opts)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("dup"))
        .stderr(out)
        .spawn()
        .unwrap_or_else(|e| panic!("starting `{}/bin/spark-class`: {e}", home.display()));
    let mut server = Server { child, url: format!("http://127.0.0.1:{port}"), log };
    let deadline = Instant::now() + Duration::from_secs(180);
    let listing = format!("{}/api/v1/applications", server.url);
    loadbuild::http::ensure_tls();
    loop {
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("the History Server exited ({status}):\n{}", fs::read_to_string(&server.log).unwrap_or_default());
        }
        let listed = reqwest::blocking::get(&listing)
            .ok()
            .and_then(|r| r.text().ok())
            .and_then(|text| serde_json::from_str::<Vec<Value>>(&text).ok());
        if listed.is_some_and(|l| l.len() == apps) {
            return server;
        }
        assert!(Instant::now() < deadline, "the History Server did not list {apps} applications:\n{}", tail(&server.log));
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    text.lines().rev().take(20).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n")
}

/// One application to check: fixture, its app id, whose jobs, and the driver's timings.
struct Case {
    fixture: &'static str,
    scope: JobScope,
    driver: DriverTimings,
}

fn cases() -> Vec<Case> {
    let mut cases: Vec<Case> = ["spark35_plain", "spark35_failures", "spark35_executor_lost", "spark35_failed_run", "spark41_rolling"]
        .into_iter()
        .map(|fixture| Case {
            fixture,
            scope: JobScope::Application,
            driver: serde_json::from_value(read_json(&eventlog_fixtures().join(fixture).join("driver.json"))).expect("driver.json"),
        })
        .collect();
    let sessions = read_json(&eventlog_fixtures().join("spark41_connect_shared/sessions.json"));
    for s in sessions["sessions"].as_array().expect("sessions") {
        cases.push(Case {
            fixture: "spark41_connect_shared",
            scope: JobScope::ConnectSession(s["connect_session_id"].as_str().expect("id").to_string()),
            driver: serde_json::from_value(s.clone()).expect("session timings"),
        });
    }
    cases
}

/// The application id a log names (its file or directory name).
fn app_id(log: &Path) -> String {
    let name = log.file_name().expect("name").to_string_lossy().into_owned();
    let name = name.strip_prefix("eventlog_v2_").unwrap_or(&name);
    name.strip_suffix(".inprogress").unwrap_or(name).to_string()
}

/// Same metrics and the same absences; details aside (REST has no job exception text).
fn assert_same_values(what: &str, got: &CellMetrics, want: &CellMetrics) {
    let pairs = std::iter::once((&got.cell, &want.cell, "cell".to_string()))
        .chain(got.executions.iter().zip(&want.executions).map(|(g, w)| (&g.tiers, &w.tiers, format!("execution {}", w.execution))));
    assert_eq!(got.executions.len(), want.executions.len(), "{what}: executions");
    assert_eq!((got.warmup_jobs, got.unattributed_jobs), (want.warmup_jobs, want.unattributed_jobs), "{what}: jobs");
    for (g, w, scope) in pairs {
        let (g, w): (&Tiers, &Tiers) = (g, w);
        for (gm, wm) in g.all().zip(w.all()) {
            assert_eq!(gm.name, wm.name);
            match (gm.value(), wm.value()) {
                (Some(a), Some(b)) => assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{what} {scope} `{}`: REST {a}, log {b}", gm.name),
                (None, None) => {}
                (a, b) => panic!("{what} {scope} `{}`: REST {a:?}, log {b:?}", gm.name),
            }
        }
    }
}

#[test]
fn issue_6_history_server_agrees_with_the_event_log() {
    let work = tempfile::tempdir().expect("temp dir");
    let logs = work.path().join("logs");
    fs::create_dir_all(&logs).expect("log dir");
    let fixtures = [
        "spark35_plain",
        "spark35_failures",
        "spark35_executor_lost",
        "spark35_failed_run",
        "spark41_rolling",
        "spark41_connect_shared",
        "spark41_lz4",
    ];
    for f in fixtures {
        let log = fixture_log(f);
        copy_tree(&log, &logs.join(log.file_name().expect("name")));
    }
    let t0 = Instant::now();
    let server = start(&logs, work.path(), fixtures.len());
    eprintln!("history server up after {:?}", t0.elapsed());
    let hs = HistoryServer::new(&server.url, Duration::from_secs(120));

    for case in cases() {
        let log = fixture_log(case.fixture);
        let app = app_id(&log);
        let what = format!("{} ({app}, {:?})", case.fixture, case.scope);
        let local = cell_metrics(&read_event_log_scoped(&log, &case.scope).expect("fixture parses"), &case.driver);
        let (fetched, how) = hs.app_log(&app, &case.scope).unwrap_or_else(|e| panic!("{what}: {e}\n{}", tail(&server.log)));
        assert_eq!(how, Fetched::EventLog, "{what}");
        assert_eq!(cell_metrics(&fetched, &case.driver), local, "{what}: the log through /logs");
        let rest = hs.rest(&app, &case.scope).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(rest.app_id.as_deref(), Some(app.as_str()));
        assert_same_values(&what, &cell_metrics(&rest, &case.driver), &local);
    }

    // A log the parser cannot read (lz4): the server still serves it, so REST fields stand in.
    let lz4 = app_id(&fixture_log("spark41_lz4"));
    let driver: DriverTimings = serde_json::from_value(read_json(&eventlog_fixtures().join("spark41_lz4/driver.json"))).expect("driver");
    let (log, how) = hs.app_log(&lz4, &JobScope::Application).expect("falls back to REST");
    let Fetched::Rest { why } = how else { panic!("expected the REST fallback") };
    assert!(why.contains("unsupported event log codec `lz4`"), "{why}");
    let m = cell_metrics(&log, &driver);
    assert_eq!(m.executions.iter().map(|e| e.execution).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(m.cell.get("succeeded").and_then(|x| x.value()), Some(1.0));
    assert!(m.cell.get("cpu_time_ratio").and_then(|x| x.value()).is_some_and(|v| v > 0.0));

    // Another application's id is an error naming the server, never someone else's numbers.
    let err = hs.app_log("app-20000101000000-0000", &JobScope::Application).expect_err("unknown app");
    assert!(matches!(err, HistoryError::UnknownApp { .. }), "{err}");
    assert!(err.to_string().contains(&server.url), "{err}");

    metrics_nodes_fetch_what_runs_left_on_the_server(&server.url);
}

/// A remote backend's run leaves its log on the cluster: `result.json` names the application,
/// and the `metrics` node, given `history_server`, fetches it.
fn metrics_nodes_fetch_what_runs_left_on_the_server(url: &str) {
    let loadfile = format!("[dimensions]\ncase = [\"plain\", \"session\"]\n[tiers.all]\nselect = {{}}\n[vars]\nhistory = \"{url}\"\n");
    let rules = r#"
[rule.run]
per = ["case"]
command = "cp runs/{{ case }}.json {{ out }}/result.json"
[rule.metrics]
per = ["case"]
deps = ["run"]
action = "metrics"
params = { history_server = "{{ vars.history }}" }
"#;
    let p = common::Project::new(&loadfile, &[("cells.toml", rules)]);
    let session = cases().pop().expect("a Connect session case");
    let JobScope::ConnectSession(session_id) = &session.scope else { panic!("the last case is a session") };
    let plain = fixture_log("spark35_plain");
    let shared = fixture_log("spark41_connect_shared");
    for (case, log, driver, session) in
        [("plain", &plain, &cases()[0].driver, None), ("session", &shared, &session.driver, Some(session_id.as_str()))]
    {
        let result = serde_json::json!({
            "schema": 1, "cell": case, "app_id": app_id(log), "connect_session_id": session,
            "status": "succeeded", "error": null, "executions": driver.executions, "attempt": 1,
        });
        p.write(&format!("runs/{case}.json"), &result.to_string());
        let scope = session.map_or(JobScope::Application, |s| JobScope::ConnectSession(s.to_string()));
        let timings = DriverTimings { executions: driver.executions.clone(), run_retries: Some(0) };
        let local = cell_metrics(&read_event_log_scoped(log, &scope).expect("parses"), &timings);

        let built = p.run(&["build", &format!("metrics[{case}]")]).ok();
        let tree = built.stdout.split('\t').nth(1).expect("output path").trim().to_string();
        let file = read_json(&Path::new(&tree).join("metrics.json"));
        assert_eq!(file["run_status"], "succeeded");
        assert_eq!(file["history_server"]["url"], url);
        assert_eq!(file["history_server"]["via"], "event_log", "{case}");
        // Both sides through the same JSON text → value parse, so float digits compare alike.
        let want: Value = serde_json::from_str(&serde_json::to_string(&local).expect("serializes")).expect("parses");
        assert!(file["metrics"] == want, "{case}: metrics.json differs from the local log's metrics");
    }
}

fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        fs::create_dir_all(to).expect("dir");
        for e in fs::read_dir(from).expect("read dir") {
            let e = e.expect("entry");
            copy_tree(&e.path(), &to.join(e.file_name()));
        }
    } else {
        fs::copy(from, to).expect("copy");
    }
}
