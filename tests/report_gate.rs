//! Issue 16 through the binary: the application as the sample unit, one gating metric, the
//! minimum detectable change in every report file, `--fail-on-inconclusive`, and the review
//! fixes that show at the command line (bad baselines, unreadable results, Slack once per run,
//! the bootstrap echo, `vars.local.repetitions`).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::Project;
use common::report::{CELLS, LOADFILE, Noise, cell, metric_of, metrics_json, project, results, write_cell};

/// The report test project with fresh applications as the unit: a repeatable `metrics` rule
/// whose set k copies `fixtures/<cell>-set<k>.json`.
const RULES: &str = r#"
[rule.metrics]
per = ["op", "size"]
repeatable = true
sources = { fixture = "fixtures/{{ op }}-{{ size }}{% if set != '1' %}-set{{ set }}{% endif %}.json" }
command = "cp {{ src.fixture }} {{ out }}/metrics.json"

[rule.report]
per = ["tier"]
deps = ["metrics"]
action = "report"
"#;

const APPS: usize = 6;

fn app_project(extra: &str) -> Project {
    let lf =
        LOADFILE.replace("unit = \"execution\"\napplications = 1", &format!("unit = \"application\"\napplications = {APPS}\nwarmups = 1"));
    let p = Project::new(&format!("{lf}{extra}"), &[("main.toml", RULES)]);
    std::fs::create_dir_all(p.path().join("fixtures")).unwrap();
    p
}

/// Every application of `cell` at `level` s: 4 executions, the first 30% slow (warm-up), an
/// application-level factor of ±`between`.
fn write_apps(p: &Project, cell: &str, level: f64, between: f64, noise: &mut Noise) {
    for set in 1..=APPS {
        let app = noise.normal(level, level * between);
        let wall: Vec<f64> = (0..4).map(|k| noise.normal(app, app * 0.01) * if k == 0 { 1.3 } else { 1.0 }).collect();
        let rows: Vec<f64> = wall.iter().map(|w| 1e4 / w).collect();
        let file = if set == 1 { cell.to_string() } else { format!("{cell}-set{set}") };
        p.write(&format!("fixtures/{file}.json"), &metrics_json(cell, &wall, Some(&rows), None));
    }
}

#[test]
fn issue_16_applications_are_the_unit_and_the_report_says_what_it_could_detect() {
    let p = app_project("");
    let mut noise = Noise::new(161);
    for c in CELLS {
        write_apps(&p, c, 10.0, 0.03, &mut noise);
    }
    p.run(&["report", "--no-history"]).ok();
    let r = results(&p);
    let wall = metric_of(cell(&r, "read-s"), "wall_time_s");
    assert_eq!(wall["samples"].as_array().unwrap().len(), APPS, "one sample per application: {wall:#}");
    assert_eq!(cell(&r, "read-s")["repetition_sets"], APPS);
    // Each application's value is the median of executions 2–4: the slow first one is dropped.
    let v = wall["samples"][0].as_f64().unwrap();
    assert!((8.5..11.5).contains(&v), "the warm-up execution is left out: {v}");
    assert_eq!((r["settings"]["unit"].as_str(), r["settings"]["warmups"].as_u64()), (Some("application"), Some(1)));
    p.run(&["baseline", "update", "--from", "report"]).ok();

    // read-s 40% slower in every application; join-m as noisy as a shared machine can make it.
    for c in CELLS {
        let (level, between) = match c {
            "read-s" => (14.0, 0.03),
            "join-m" => (10.0, 0.35),
            _ => (10.0, 0.03),
        };
        write_apps(&p, c, level, between, &mut noise);
    }
    let run = p.run(&["report", "--no-history"]).code(1);
    let r = results(&p);
    assert_eq!(cell(&r, "read-s")["status"], "regression", "{:#}", cell(&r, "read-s"));
    let slow = metric_of(cell(&r, "read-s"), "wall_time_s");
    let mdc = slow["mdc"].as_f64().unwrap();
    assert!(mdc > 0.2 && mdc < 0.4, "MDC at 3% noise and 6 vs 6 applications: {mdc}");
    assert_eq!(slow["gating"], true);
    assert_eq!(metric_of(cell(&r, "read-s"), "input_rows_per_s")["gating"], false);
    assert_eq!(r["settings"]["tests"], 5, "one test per judged cell");
    let noisy = cell(&r, "join-m");
    assert_eq!(noisy["status"], "inconclusive", "{noisy:#}");
    let settle = metric_of(noisy, "wall_time_s")["settle"].as_str().unwrap().to_string();
    assert!(settle.contains("applications per side") && settle.contains("(now 6 vs 6)"), "{settle}");
    // The MDC and what would settle the cell are in summary.md and index.html too.
    let md = p.read("report/summary.md");
    assert!(md.contains("## What this report could detect (5)"), "{md}");
    assert!(md.contains(&format!("| `read-s` | `wall_time_s` | 6 vs 6 | {} | {:.1}% |", pct(slow), mdc * 100.0)), "{md}");
    assert!(md.contains(&settle), "{md}");
    assert_eq!(run.stdout, md);
    let html = p.read("report/index.html");
    assert!(
        html.contains("<h2>What this report could detect</h2>") && html.contains(&format!("{:.1}%", mdc * 100.0)),
        "no MDC in the page"
    );

    // Inconclusive passes by default, fails with the flag or the setting.
    write_apps(&p, "read-s", 10.0, 0.03, &mut noise);
    p.run(&["report", "--no-history"]).ok();
    p.run(&["report", "--no-history", "--fail-on-inconclusive"]).code(1);
}

fn pct(m: &serde_json::Value) -> String {
    format!("{:+.1}%", m["relative_change"].as_f64().unwrap() * 100.0)
}

#[test]
fn issue_16_fail_on_inconclusive_as_a_loadfile_setting() {
    let p = app_project("fail_on_inconclusive = true\n");
    let mut noise = Noise::new(7);
    for c in CELLS {
        write_apps(&p, c, 10.0, 0.03, &mut noise);
    }
    p.run(&["report", "--no-history"]).ok();
    p.run(&["baseline", "update"]).ok();
    for c in CELLS {
        write_apps(&p, c, 10.0, if c == "read-m" { 0.4 } else { 0.03 }, &mut noise);
    }
    let run = p.run(&["report", "--no-history"]).code(1);
    assert!(run.stdout.contains("failing the report (`fail_on_inconclusive`)"), "{}", run.stdout);
    assert_eq!(results(&p)["settings"]["fail_on_inconclusive"], true);
}

#[test]
fn issue_16_a_malformed_baseline_under_report_is_bad_input_with_file_and_line() {
    let p = project("");
    let mut noise = Noise::new(3);
    for c in CELLS {
        write_cell(&p, c, &noise.samples(5, 10.0, 0.02), None);
    }
    p.write("baselines/local.yaml", "schema: 1\nenvironments: {}\ncells:\n  read-s:\n    environment: [x\n");
    let run = p.run(&["report"]).code(2);
    assert!(run.stderr.contains("baselines/local.yaml") && run.stderr.contains("line 5"), "{}", run.stderr);
    // Nothing was built for it: the mistake is found before any measurement runs.
    assert!(!p.path().join("report").exists());
}

#[test]
fn issue_16_non_ascii_input_digests_in_a_baseline_do_not_panic() {
    // Cells bind a shared `data` node per size, so reports and baselines record its digest.
    let rules = r#"
[rule.data]
per = ["size"]
command = "echo {{ size }} > {{ out }}/d"

[rule.metrics]
per = ["op", "size"]
deps = ["data"]
sources = { fixture = "fixtures/{{ op }}-{{ size }}.json" }
command = "cp {{ src.fixture }} {{ out }}/metrics.json"

[rule.report]
per = ["tier"]
deps = ["metrics", "data"]
action = "report"
"#;
    let p = Project::new(LOADFILE, &[("main.toml", rules)]);
    let mut noise = Noise::new(4);
    for c in CELLS {
        write_cell(&p, c, &noise.samples(5, 10.0, 0.02), None);
    }
    p.run(&["report", "--no-history"]).ok();
    p.run(&["baseline", "update"]).ok();
    // Hand-edited: the input digest in another script, byte 12 inside a character.
    let yaml = p.read("baselines/local.yaml");
    let digest = results(&p)["cells"][0]["inputs"]["data[s]"].as_str().unwrap().to_string();
    let edited = yaml.replace(&digest, "xéééééééééééé");
    assert_ne!(edited, yaml);
    p.write("baselines/local.yaml", &edited);
    p.run(&["report", "--no-history"]).ok();
    let notes = cell(&results(&p), "read-s")["environment_notes"].to_string();
    assert!(notes.contains("`data[s]` differs from the baseline's (xééééééééééé → "), "{notes}");
}

#[test]
fn issue_16_an_unreadable_results_json_after_publishing_fails() {
    // A report rule that writes something that is not a results file.
    let rules = "[rule.report]\nper = [\"tier\"]\ncommand = \"echo '{not json' > $OUT/results.json\"\n";
    let p = Project::new(&LOADFILE.replace("unit = \"execution\"\napplications = 1\n", ""), &[("main.toml", rules)]);
    let run = p.run(&["report", "--no-history"]).code(3);
    assert!(run.stderr.contains("reading the published report") && run.stderr.contains("results.json"), "{}", run.stderr);
}

/// Answers every request 200 and counts them.
fn counting_server() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let stream = stream.unwrap();
            stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line.trim().is_empty() {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            seen.fetch_add(1, Ordering::SeqCst);
            let mut stream = stream;
            stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok").unwrap();
        }
    });
    (port, count)
}

#[test]
fn issue_16_slack_gets_one_digest_per_run_id() {
    let p = project("");
    let mut noise = Noise::new(5);
    for c in CELLS {
        write_cell(&p, c, &noise.samples(5, 10.0, 0.02), None);
    }
    let (port, count) = counting_server();
    let url = format!("http://127.0.0.1:{port}/services/T/B/x");
    let report = || common::Run::from(p.cmd(&["report", "--no-history"]).env("LOADBUILD_SLACK_WEBHOOK", &url).output().unwrap());
    assert!(report().ok().stderr.contains("posted the digest to Slack"));
    let again = report().ok();
    assert!(again.stderr.contains("was already posted"), "{}", again.stderr);
    assert_eq!(count.load(Ordering::SeqCst), 1, "a no-op report posts nothing");
    // New measurements are a new run id: posted again.
    write_cell(&p, "read-s", &noise.samples(5, 10.0, 0.02), None);
    report().ok();
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[test]
fn issue_16_the_bootstrap_echo_says_what_each_ci_used() {
    let p = project("");
    let mut noise = Noise::new(6);
    for c in CELLS {
        write_cell(&p, c, &noise.samples(8, 10.0, 0.02), None);
    }
    p.run(&["report", "--no-history"]).ok();
    p.run(&["baseline", "update"]).ok();
    for c in CELLS {
        write_cell(&p, c, &noise.samples(8, 10.0, 0.02), None);
    }
    p.run(&["report", "--no-history"]).ok();
    let r = results(&p);
    assert_eq!(
        (r["settings"]["bootstrap_resamples"].as_u64(), r["settings"]["bootstrap_resamples_refined"].as_u64()),
        (Some(2000), Some(10000))
    );
    // 8 vs 8: the exact bootstrap distribution, no resampling at all.
    assert_eq!(metric_of(cell(&r, "read-s"), "wall_time_s")["bootstrap"], "exact");
    assert_eq!(metric_of(cell(&r, "read-s"), "wall_time_s")["tested"], "means", "welch tests means; the change is of medians");
}

#[test]
fn issue_16_negative_repetitions_are_refused_by_matrix_validate() {
    let lf = std::fs::read_to_string(common::repo().join("Loadfile.toml")).unwrap();
    let bad = lf.replacen("repetitions = 5 ", "repetitions = -5 ", 1);
    assert_ne!(bad, lf);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Loadfile.toml"), &bad).unwrap();
    for d in ["rules", "templates", "vendor"] {
        std::os::unix::fs::symlink(common::repo().join(d), dir.path().join(d)).unwrap();
    }
    let line = bad.lines().position(|l| l.starts_with("repetitions = -5")).unwrap() + 1;
    let run = common::Run::from(
        std::process::Command::new(common::bin())
            .args(["matrix", "validate"])
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .output()
            .unwrap(),
    )
    .code(2);
    assert!(run.stderr.contains("`vars.local.repetitions` must be between 1 and 1000, found `-5`"), "{}", run.stderr);
    assert!(run.stderr.contains(&format!("Loadfile.toml:{line}")), "file and line: {}", run.stderr);
}
