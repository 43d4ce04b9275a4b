//! Issue 7 through the binary: a test project whose `metrics` rule copies fixtures into
//! `metrics.json`, so the samples of every cell are set precisely. Baselines are promoted with
//! `baseline update`, then new measurements are judged: direction, noise, too few samples,
//! failures, exit codes, and every report file read back by a reader other than ours.

mod common;

use common::report::{CELLS, Noise, cell, metric_of, project, results, write_cell, write_failed};
use common::{Project, lines};

/// Baseline measurements: wall time ~10 s and 1000 rows/s with 3% noise, 10 executions each
/// (join-m gets 3, to be inconclusive later).
fn write_baseline_fixtures(p: &Project, noise: &mut Noise) {
    for c in CELLS {
        let n = if c == "join-m" { 3 } else { 10 };
        let wall = noise.samples(n, 10.0, 0.03);
        let rows = noise.samples(n, 1000.0, 0.03);
        write_cell(p, c, &wall, Some(&rows));
    }
}

fn promote(p: &Project) {
    p.run(&["report"]).ok();
    let r = results(p);
    assert_eq!(r["counts"]["new"], 5, "without baselines every measured cell is new: {r:#}");
    assert_eq!(r["counts"]["skipped"], 1);
    let up = p.run(&["baseline", "update"]).ok();
    assert_eq!(up.stdout.lines().count(), 5, "{}", up.stderr);
    assert!(p.path().join("baselines/local.yaml").is_file());
}

#[test]
fn issue_7_verdicts_are_direction_aware_and_noise_stays_unchanged() {
    let p = project("");
    let mut noise = Noise::new(7);
    write_baseline_fixtures(&p, &mut noise);
    promote(&p);

    // read-s: 40% slower; read-m: 40% faster; join-s: wall time the same but 40% less
    // throughput; join-m: 3 vs 3 samples; write-s: noise only.
    let same = |noise: &mut Noise| noise.samples(10, 1000.0, 0.03);
    let rows = same(&mut noise);
    write_cell(&p, "read-s", &noise.samples(10, 14.0, 0.03), Some(&rows));
    let rows = same(&mut noise);
    write_cell(&p, "read-m", &noise.samples(10, 6.0, 0.03), Some(&rows));
    write_cell(&p, "join-s", &noise.samples(10, 10.0, 0.03), Some(&noise.samples(10, 600.0, 0.03)));
    write_cell(&p, "join-m", &noise.samples(3, 14.0, 0.03), Some(&noise.samples(3, 600.0, 0.03)));
    let rows = same(&mut noise);
    write_cell(&p, "write-s", &noise.samples(10, 10.0, 0.03), Some(&rows));

    let run = p.run(&["report"]).code(1);
    let r = results(&p);
    let status = |id: &str| cell(&r, id)["status"].as_str().unwrap().to_string();
    assert_eq!(status("read-s"), "regression", "{:#}", cell(&r, "read-s"));
    assert_eq!(status("read-m"), "improvement", "{:#}", cell(&r, "read-m"));
    // Issue 16: one metric gates (the first listed, `wall_time_s`); a throughput drop at the
    // same wall time is shown, compared on its raw p, and does not fail the cell.
    assert_eq!(status("join-s"), "unchanged", "only the gating metric decides: {:#}", cell(&r, "join-s"));
    assert_eq!(status("join-m"), "inconclusive");
    assert_eq!(status("write-s"), "unchanged", "{:#}", cell(&r, "write-s"));
    assert_eq!(status("write-m"), "skipped");

    let slow = metric_of(cell(&r, "read-s"), "wall_time_s");
    let change = slow["relative_change"].as_f64().unwrap();
    assert!((0.35..0.45).contains(&change), "about +40%: {change}");
    let [lo, hi] = [slow["ci"][0].as_f64().unwrap(), slow["ci"][1].as_f64().unwrap()];
    assert!(lo > 0.2 && hi < 0.6, "the CI lies beyond the threshold: [{lo}, {hi}]");
    assert!(slow["adjusted_p"].as_f64().unwrap() < 0.05);
    let faster = metric_of(cell(&r, "read-m"), "wall_time_s");
    assert_eq!(faster["verdict"], "improvement", "a 40% speed-up is never a regression");
    let drop = metric_of(cell(&r, "join-s"), "input_rows_per_s");
    assert_eq!(drop["verdict"], "regression");
    assert_eq!((drop["gating"].as_bool(), drop["adjusted_p"].is_null()), (Some(false), true), "outside the family: {drop:#}");
    assert_eq!(r["settings"]["gate"], "wall_time_s");
    assert_eq!(r["settings"]["tests"], 4, "one comparison per judged cell, not per metric");
    assert_eq!(metric_of(cell(&r, "join-s"), "wall_time_s")["verdict"], "unchanged");
    assert!(
        cell(&r, "join-m")["reason"].as_str().unwrap().contains("too few samples"),
        "3 vs 3 says why: {}",
        cell(&r, "join-m")["reason"]
    );
    assert_eq!(r["rerun"], serde_json::json!(["join-m"]), "inconclusive cells that more samples could settle");
    let skipped = cell(&r, "write-m");
    assert_eq!(skipped["reason"], "no sink for size m here");
    assert!(skipped["skip_rule"].as_str().unwrap().contains("Loadfile.toml:"), "{}", skipped["skip_rule"]);

    // summary.md (also printed on stdout): regressions first, then inconclusive, skipped, counts.
    let md = p.read("report/summary.md");
    assert_eq!(run.stdout, md);
    let at = |s: &str| md.find(s).unwrap_or_else(|| panic!("summary.md lacks `{s}`:\n{md}"));
    assert!(at("## Regressions (1)") < at("## Inconclusive (1)"));
    assert!(at("## Inconclusive (1)") < at("## Improvements (1)"));
    assert!(at("## Improvements (1)") < at("## Skipped (1)"));
    assert!(at("## Skipped (1)") < at("## Counts"));
    assert!(md.contains("| no sink for size m here |"), "{md}");
    assert!(
        md.starts_with("# loadbuild: tier `all` on `local` — 1 regression, 1 inconclusive, 1 improvement, 2 unchanged, 1 skipped"),
        "{md}"
    );

    // junit.xml through a JUnit parser: one case per cell, failures for regressions.
    let xml = p.read("report/junit.xml");
    let suites = junit_parser::from_reader(std::io::Cursor::new(xml.as_bytes())).expect("junit.xml parses");
    let suite = &suites.suites[0];
    assert_eq!(suite.cases.len(), 6);
    assert_eq!((suite.failures, suite.skipped), (1, 1));
    let failed: Vec<&str> = suite.cases.iter().filter(|c| c.status.is_failure()).map(|c| c.original_name.as_str()).collect();
    assert_eq!(failed, ["read-s"]);
    let skipped_case = suite.cases.iter().find(|c| c.original_name == "write-m").unwrap();
    assert!(skipped_case.status.is_skipped());

    // The HTML is one self-contained file: no URL it would fetch.
    let html = p.read("report/index.html");
    for bad in ["src=\"http", "href=\"http", "@import", "url(http"] {
        assert!(!html.contains(bad), "index.html refers to the network: `{bad}`");
    }
    assert!(html.contains("echarts") && html.contains("id=\"report-data\""));
}

#[test]
fn issue_7_failed_cells_exit_3_and_are_refused_as_baselines() {
    let p = project("");
    let mut noise = Noise::new(11);
    write_baseline_fixtures(&p, &mut noise);
    promote(&p);
    write_failed(&p, "join-s", "org.apache.spark.SparkException: Job aborted due to stage failure\n\tat ...");
    let run = p.run(&["report"]).code(3);
    let r = results(&p);
    assert_eq!(cell(&r, "join-s")["status"], "failed");
    assert_eq!(cell(&r, "join-s")["reason"], "org.apache.spark.SparkException: Job aborted due to stage failure");
    assert!(run.stdout.contains("## Failed (1)"), "{}", run.stdout);
    let xml = p.read("report/junit.xml");
    let suites = junit_parser::from_reader(std::io::Cursor::new(xml.as_bytes())).expect("junit.xml parses");
    let case = suites.suites[0].cases.iter().find(|c| c.original_name == "join-s").unwrap();
    assert!(case.status.is_failure(), "a failed run is a failed test case");

    let before = p.read("baselines/local.yaml");
    let up = p.run(&["baseline", "update", "--only", "op=join"]).code(3);
    assert!(up.stderr.contains("refused `join-s`: it failed: org.apache.spark.SparkException"), "{}", up.stderr);
    assert_eq!(up.stdout.trim(), "join-m", "the other selected cell is promoted");
    let after = p.read("baselines/local.yaml");
    assert_ne!(before, after);
    let show = p.run(&["baseline", "show", "--only", "op=join"]).ok();
    assert!(show.stdout.contains("join-s") && show.stdout.contains("join-m") && !show.stdout.contains("read-s"), "{}", show.stdout);
    assert!(show.stdout.contains("wall_time_s"), "{}", show.stdout);
}

#[test]
fn issue_7_compare_judges_two_result_sets_directly() {
    let p = project("");
    let mut noise = Noise::new(3);
    write_baseline_fixtures(&p, &mut noise);
    p.run(&["report", "--out", "before", "--no-history"]).ok();
    write_cell(&p, "write-s", &noise.samples(10, 14.0, 0.03), Some(&noise.samples(10, 1000.0, 0.03)));
    p.run(&["report", "--out", "after", "--no-history"]).ok();
    let run = p.run(&["compare", "before", "after/results.json", "--out", "cmp"]).code(1);
    assert!(run.stdout.contains("## Regressions (1)") && run.stdout.contains("`write-s`"), "{}", run.stdout);
    let r: serde_json::Value = serde_json::from_str(&p.read("cmp/results.json")).unwrap();
    assert_eq!(r["counts"]["regression"], 1);
    assert_eq!(r["counts"]["unchanged"], 3, "{:#}", r["counts"]);
    // The other way round the same change is an improvement, and the gate passes.
    let back = p.run(&["compare", "after", "before", "--json"]).ok();
    let r: serde_json::Value = serde_json::from_str(&back.stdout).unwrap();
    assert_eq!(cell(&r, "write-s")["status"], "improvement");
    assert!(!p.path().join("cache/history.jsonl").exists(), "--no-history records nothing");
}

#[test]
fn issue_7_history_records_each_report_once_and_finds_the_shift() {
    let p = project("");
    let mut noise = Noise::new(5);
    // Ten reports at ~10 s, then five at ~13 s: the shift is at the eleventh.
    for i in 0..15 {
        let mean = if i < 10 { 10.0 } else { 13.0 };
        for c in CELLS {
            write_cell(&p, c, &noise.samples(5, mean, 0.01), Some(&noise.samples(5, 1000.0, 0.01)));
        }
        p.run(&["report"]).ok();
    }
    let history = p.path().join("cache/history.jsonl");
    assert_eq!(lines(&history), 15);
    let again = p.run(&["report"]).ok();
    assert!(again.stderr.contains("is already in the history"), "{}", again.stderr);
    assert_eq!(lines(&history), 15, "an unchanged report is recorded once");
    let r = results(&p);
    assert_eq!(r["history"]["runs"].as_array().unwrap().len(), 14, "earlier reports; this one is not among them");
    let trend = &metric_of(cell(&r, "read-s"), "wall_time_s")["trend"];
    assert_eq!(trend["points"], 15, "{trend:#}");
    let cps = trend["change_points"].as_array().unwrap();
    assert_eq!(cps.len(), 1, "{trend:#}");
    let eleventh = r["history"]["runs"][10]["run"].as_str().unwrap();
    assert_eq!(cps[0]["run"], eleventh, "the shift is found at the eleventh report");
    assert_eq!(cps[0]["effect"], "worse");
    assert!(p.read("report/summary.md").contains("## Change points"), "{}", p.read("report/summary.md"));
    // The throughput never moved: no change point there.
    let flat = &metric_of(cell(&r, "read-s"), "input_rows_per_s")["trend"];
    assert_eq!(flat["change_points"], serde_json::json!([]), "{flat:#}");
}

#[test]
fn issue_7_guard_rails_are_checked_apart_from_baselines() {
    let p = project("\n[[report.guard]]\nwhen = \"op=join,size=s\"\nmetric = \"wall_time_s\"\nmax = 12.0\n");
    let mut noise = Noise::new(9);
    write_baseline_fixtures(&p, &mut noise);
    write_cell(&p, "join-s", &noise.samples(10, 12.5, 0.01), Some(&noise.samples(10, 1000.0, 0.01)));
    // No baselines at all: the guard alone fails the gate.
    let run = p.run(&["report"]).code(1);
    let r = results(&p);
    assert_eq!(cell(&r, "join-s")["status"], "guard");
    assert!(run.stdout.contains("## Guard-rails breached (1)"), "{}", run.stdout);
    assert!(cell(&r, "join-s")["reason"].as_str().unwrap().contains("above the maximum `12`"), "{}", cell(&r, "join-s")["reason"]);
    assert_eq!(cell(&r, "join-m")["guards"], serde_json::json!([]), "the guard selects join on size s only");
}

#[test]
fn issue_7_report_node_is_fresh_until_baselines_or_settings_change() {
    let p = project("");
    let mut noise = Noise::new(13);
    write_baseline_fixtures(&p, &mut noise);
    p.run(&["report", "--no-history"]).ok();
    let plan = p.run(&["plan"]).ok();
    assert!(!plan.stdout.contains("report"), "fresh after a build: {}", plan.stdout);
    p.run(&["baseline", "update"]).ok();
    let why = p.run(&["plan", "--explain"]).ok();
    assert!(why.stdout.contains("stale   report[all]"), "a new baseline file makes the report stale: {}", why.stdout);
}
