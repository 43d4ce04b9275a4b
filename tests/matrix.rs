//! The project's own matrix through the binary: computed tier counts, ids, selectors.

mod common;

use std::collections::HashSet;
use std::process::Command;

fn lb(args: &[&str]) -> common::Run {
    common::Run::from(Command::new(common::bin()).args(args).current_dir(common::repo()).env("NO_COLOR", "1").output().unwrap())
}

#[test]
fn issue_2_tier_counts_are_computed() {
    for (tier, n) in [("p0", "64"), ("p1", "384"), ("p2", "1280")] {
        assert_eq!(lb(&["matrix", "count", "--tier", tier]).ok().stdout.trim(), n, "tier {tier}");
    }
    lb(&["matrix", "validate"]).ok();
}

#[test]
fn issue_2_cell_ids_are_unique_rfc1123_labels() {
    let run = lb(&["matrix", "list", "--tier", "p2", "--json"]).ok();
    let cells: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(cells.len(), 1280);
    let mut ids = HashSet::new();
    for c in &cells {
        let id = c["id"].as_str().unwrap();
        assert!(id.len() <= 63 && !id.starts_with('-') && !id.ends_with('-'), "{id}");
        assert!(id.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-'), "{id}");
        assert!(ids.insert(id.to_string()), "duplicate id {id}");
        for key in ["name", "spark", "client", "mode", "ext", "op", "size"] {
            assert!(c[key].is_string(), "{key} missing in {c}");
        }
    }
    assert_eq!(cells[0]["id"], "357-airflow-connect-none-read-1gb");
    assert_eq!(cells[0]["name"], "3.5.7/airflow/connect/none/read/1gb");
}

#[test]
fn issue_2_selectors_and_across_dimensions_or_within_one() {
    let n = |args: &[&str]| lb(args).ok().stdout.trim().parse::<usize>().unwrap();
    assert_eq!(n(&["matrix", "count", "--tier", "p2", "--only", "spark=4.1.1,op=read|join"]), 2 * 4 * 4 * 2 * 2);
    assert_eq!(n(&["matrix", "count", "--tier", "p0", "--only", "mode=connect"]), 16);
    // Narrowing a tier never adds cells outside it.
    assert_eq!(n(&["matrix", "count", "--tier", "p0", "--only", "op=join"]), 0);
    let listed =
        lb(&["matrix", "list", "--tier", "p2", "--only", "spark=4.1.1,client=jupyter,mode=connect,ext=iceberg+rapids,op=window,size=11gb"])
            .ok();
    assert_eq!(listed.stdout.trim(), "411-jupyter-connect-iceberg-rapids-window-11gb  4.1.1/jupyter/connect/iceberg+rapids/window/11gb");
}

#[test]
fn issue_2_bad_selectors_are_clear_errors() {
    let run = lb(&["matrix", "count", "--only", "sprak=4.1.1"]).code(2);
    assert!(run.stderr.contains("selector names unknown dimension `sprak`"), "{}", run.stderr);
    assert!(run.stderr.contains("known dimensions: `spark`"), "{}", run.stderr);
    let run = lb(&["matrix", "count", "--only", "op=read|drop"]).code(2);
    assert!(run.stderr.contains("unknown value `drop` for dimension `op`"), "{}", run.stderr);
    assert!(run.stderr.contains("--> --only:1:9"), "{}", run.stderr);
    let run = lb(&["matrix", "count", "--only", "op"]).code(2);
    assert!(run.stderr.contains("has no `=`"), "{}", run.stderr);
    let run = lb(&["matrix", "count", "--tier", "p7"]).code(2);
    assert!(run.stderr.contains("unknown tier `p7`") && run.stderr.contains("`p0`"), "{}", run.stderr);
}

#[test]
fn issue_2_show_names_tiers_and_skip_reasons() {
    let run = lb(&["matrix", "show", "411-airflow-k8s-none-read-1gb", "--json"]).ok();
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["mode"], "k8s");
    assert_eq!(v["tiers"], serde_json::json!(["quick", "p0", "p1", "p2"]));
    assert!(v["skipped"][0]["reason"].as_str().unwrap().contains("Kubernetes"), "{v}");
    lb(&["matrix", "show", "no-such-cell"]).code(2);
}
