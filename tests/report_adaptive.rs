//! `report --adaptive` through the binary: an inconclusive cell gets further repetition sets
//! (nodes of the repeatable rules with `set = 2, 3, …`) in the same build, the report merges
//! their samples, and the number of sets is capped by `[report] max_repetition_sets`.

mod common;

use common::Project;
use common::report::{CELLS, LOADFILE, Noise, cell, metric_of, metrics_json, results};

/// The report test project, its `metrics` rule repeatable: set k > 1 of a cell copies
/// `fixtures/<cell>-set<k>.json`.
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

fn write(p: &Project, file: &str, cell: &str, wall: &[f64], rows: &[f64]) {
    p.write(&format!("fixtures/{file}.json"), &metrics_json(cell, wall, Some(rows), None));
}

/// Every cell's baseline: 10 executions around 10 s and 1000 rows/s. Then join-m runs 40%
/// slower but with 3 executions per set: inconclusive on one set, a regression on three.
fn project(extra: &str) -> Project {
    let p = Project::new(&format!("{LOADFILE}{extra}"), &[("main.toml", RULES)]);
    std::fs::create_dir_all(p.path().join("fixtures")).unwrap();
    let mut noise = Noise::new(5);
    for c in CELLS {
        write(&p, c, c, &noise.samples(10, 10.0, 0.03), &noise.samples(10, 1000.0, 0.03));
    }
    p.run(&["report"]).ok();
    p.run(&["baseline", "update"]).ok();
    for c in CELLS.iter().filter(|&&c| c != "join-m") {
        write(&p, c, c, &noise.samples(10, 10.0, 0.03), &noise.samples(10, 1000.0, 0.03));
    }
    write(&p, "join-m", "join-m", &noise.samples(3, 14.0, 0.03), &noise.samples(3, 1000.0, 0.03));
    for set in 2..=4 {
        write(&p, &format!("join-m-set{set}"), "join-m", &noise.samples(3, 14.0, 0.03), &noise.samples(3, 1000.0, 0.03));
    }
    p
}

#[test]
fn issue_7_adaptive_adds_repetition_sets_until_the_verdict_settles() {
    let p = project("max_repetition_sets = 4\n");

    // Without --adaptive: 3 vs 10 samples is too few, and the cell is listed for a rerun.
    p.run(&["report"]).ok();
    let r = results(&p);
    assert_eq!(cell(&r, "join-m")["status"], "inconclusive", "{:#}", cell(&r, "join-m"));
    assert_eq!(r["rerun"], serde_json::json!(["join-m"]));

    // With it: another set of 3 executions each round, until the 40% slowdown is settled as a
    // regression (here after set 2, with 6 samples against 10).
    let run = p.run(&["report", "--adaptive"]).code(1);
    assert!(run.stderr.contains("adaptive: 1 inconclusive cell(s) get another repetition set: join-m"), "{}", run.stderr);
    let r = results(&p);
    let join = cell(&r, "join-m");
    assert_eq!(join["status"], "regression", "{join:#}");
    let sets = join["repetition_sets"].as_u64().unwrap();
    assert!((2..=4).contains(&sets), "{join:#}");
    assert_eq!(metric_of(join, "wall_time_s")["samples"].as_array().unwrap().len() as u64, 3 * sets, "every set's samples are merged");
    assert_eq!(cell(&r, "read-s")["repetition_sets"], 1, "settled cells run once");
    assert_eq!(r["rerun"], serde_json::json!([]));

    // Replayed from the cache: nothing runs again, and the same verdict comes out.
    let again = p.run(&["report", "--adaptive"]).code(1);
    assert!(!again.stderr.contains(" built"), "{}", again.stderr);
    assert_eq!(cell(&results(&p), "join-m")["repetition_sets"], sets);
}

#[test]
fn issue_7_adaptive_stops_at_the_cap_and_says_so() {
    let p = project("max_repetition_sets = 2\n");
    // Set 2 adds one execution: 4 samples are still fewer than `min_samples` (5).
    write(&p, "join-m-set2", "join-m", &[14.1], &[1000.0]);
    let run = p.run(&["report", "--adaptive"]).ok();
    let join = cell(&results(&p), "join-m").clone();
    assert_eq!((join["status"].as_str(), join["repetition_sets"].as_u64()), (Some("inconclusive"), Some(2)), "{join:#}");
    assert_eq!(run.stderr.matches("get another repetition set").count(), 1, "one round only: {}", run.stderr);
    assert!(run.stderr.contains("1 cell(s) stay inconclusive at 2 repetition set(s)"), "{}", run.stderr);
}
