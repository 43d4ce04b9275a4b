//! Event-log parser throughput and memory on a large synthetic log built from a real fixture.
//!
//! The real Spark 3.5 fixture's task-end lines are repeated with fresh job, stage and task ids
//! (one 200-task stage per job) into a temp file of `LOADBUILD_BENCH_MB` MiB (default 500), then
//! parsed once. Peak RSS is read after a small log and again after the large one: equal figures
//! mean memory does not grow with the size of the log. Run: `cargo bench --bench eventlog`.
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use loadbuild::metrics::{DriverTimings, cell_metrics, read_event_log};
use serde_json::{Value, json};

const TASKS_PER_STAGE: u64 = 200;

fn fixture() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/eventlog/spark35_plain");
    fs::read_dir(&dir)
        .expect("fixture folder")
        .map(|e| e.expect("entry").path())
        .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("local-")))
        .expect("the Spark 3.5 plain log")
}

/// The fixture's lines split into: header events, one tagged job start, task-end lines.
fn templates() -> (Vec<String>, Value, Vec<Value>) {
    let text = fs::read_to_string(fixture()).expect("read fixture");
    let mut header = Vec::new();
    let (mut job, mut tasks) = (None, Vec::new());
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).expect("fixture line is JSON");
        match v["Event"].as_str().expect("event name") {
            "SparkListenerLogStart" | "SparkListenerEnvironmentUpdate" | "SparkListenerApplicationStart" | "SparkListenerExecutorAdded" => {
                header.push(line.to_string())
            }
            "SparkListenerJobStart" if job.is_none() => job = Some(v),
            "SparkListenerTaskEnd" => tasks.push(v),
            _ => {}
        }
    }
    (header, job.expect("a job start"), tasks)
}

fn write_log(path: &Path, target_bytes: u64) -> u64 {
    let (header, mut job, mut tasks) = templates();
    job["Properties"]["spark.job.tags"] = json!("loadbuild-exec-1");
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path).expect("create temp log"));
    let mut written = 0u64;
    let mut emit = |out: &mut BufWriter<File>, line: &str| {
        out.write_all(line.as_bytes()).expect("write");
        out.write_all(b"\n").expect("write");
        written += line.len() as u64 + 1;
        written
    };
    for line in &header {
        emit(&mut out, line);
    }
    let (mut task_id, mut stage) = (0u64, 0u64);
    'jobs: loop {
        job["Job ID"] = json!(stage);
        job["Stage IDs"] = json!([stage]);
        emit(&mut out, &job.to_string());
        let info = json!({"Stage ID": stage, "Stage Attempt ID": 0});
        emit(&mut out, &json!({"Event": "SparkListenerStageSubmitted", "Stage Info": info}).to_string());
        for i in 0..TASKS_PER_STAGE {
            let n = tasks.len();
            let t = &mut tasks[(i as usize) % n];
            t["Stage ID"] = json!(stage);
            t["Stage Attempt ID"] = json!(0);
            t["Task Info"]["Task ID"] = json!(task_id);
            task_id += 1;
            emit(&mut out, &t.to_string());
        }
        emit(&mut out, &json!({"Event": "SparkListenerStageCompleted", "Stage Info": info}).to_string());
        let end = json!({"Event": "SparkListenerJobEnd", "Job ID": stage,
            "Completion Time": 1, "Job Result": {"Result": "JobSucceeded"}});
        if emit(&mut out, &end.to_string()) >= target_bytes {
            break 'jobs;
        }
        stage += 1;
    }
    out.flush().expect("flush");
    written
}

fn peak_rss_mb() -> f64 {
    let status = fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM line");
    kb / 1024.0
}

fn parse(path: &Path, bytes: u64) -> (f64, u64) {
    let start = Instant::now();
    let log = read_event_log(path).expect("synthetic log parses");
    let metrics = cell_metrics(&log, &DriverTimings::default());
    let secs = start.elapsed().as_secs_f64();
    let tasks = log.executions.values().map(|e| e.tasks.count).sum();
    assert_eq!(metrics.executions.len(), 1, "every job is tagged as execution 1");
    (bytes as f64 / 1e6 / secs, tasks)
}

fn main() {
    let mb: u64 = std::env::var("LOADBUILD_BENCH_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(500);
    let tmp = tempfile::tempdir().expect("temp dir");
    let small = tmp.path().join("small.log");
    let small_bytes = write_log(&small, 20 << 20);
    parse(&small, small_bytes);
    let rss_small = peak_rss_mb();
    fs::remove_file(&small).expect("remove small log");

    let large = tmp.path().join("large.log");
    let bytes = write_log(&large, mb << 20);
    let (mb_per_s, tasks) = parse(&large, bytes);
    println!("eventlog_bytes={bytes}");
    println!("eventlog_tasks={tasks}");
    println!("eventlog_mb_per_s={mb_per_s:.1}");
    println!("eventlog_peak_rss_mb_after_20mib={rss_small:.1}");
    println!("eventlog_peak_rss_mb={:.1}", peak_rss_mb());
}
