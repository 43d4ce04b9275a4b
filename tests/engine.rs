//! The build engine through the binary: freshness, early cutoff, invalidation, failures,
//! retries, timeouts, crashes, concurrency and interruption — on a small project of
//! `command` rules whose commands log each run to `runs/`.

mod common;

use std::time::{Duration, Instant};

use common::{Project, lines};

const LOADFILE: &str = r#"
[project]
name = "engine-test"
default_tier = "all"

[dimensions]
x = ["a", "b", "c"]
y = ["1", "2"]

[tiers.all]
select = {}
expect = 6

[tiers.small]
select = { x = "a" }
expect = 2

[[skip]]
when = "x=c,y=2"
reason = "c2 cannot run here"
"#;

const RULES: &str = r#"
[rule.gen]
per = ["x"]
sources = { seed = "inputs/{{ x }}.txt" }
command = "echo run >> runs/gen-{{ x }}.log; head -c 1 {{ src.seed }} > {{ out }}/first.txt"

[rule.cell]
per = ["x", "y"]
deps = ["gen"]
command = "echo run >> runs/cell-{{ x }}-{{ y }}.log; cat {{ deps.gen }}/first.txt > {{ out }}/v.txt; echo {{ y }} >> {{ out }}/v.txt"

[rule.report]
per = ["tier"]
deps = ["cell"]
action = "summary"
"#;

fn project() -> Project {
    let p = Project::new(LOADFILE, &[("main.toml", RULES)]);
    for x in ["a", "b", "c"] {
        p.write(&format!("inputs/{x}.txt"), &format!("{x}-seed\n"));
    }
    std::fs::create_dir_all(p.path().join("runs")).unwrap();
    p
}

fn runs(p: &Project, name: &str) -> usize {
    lines(&p.path().join("runs").join(format!("{name}.log")))
}

#[test]
fn issue_2_second_build_runs_nothing() {
    let p = project();
    let first = p.run(&["report"]).ok();
    assert!(first.stderr.contains("10 node(s) on `local`: 9 built, 1 skipped"), "{}", first.stderr);
    assert!(first.stdout.contains("c2 cannot run here"), "the summary lists skipped cells:\n{}", first.stdout);
    let summary: serde_json::Value = serde_json::from_str(&p.read("report/summary.json")).unwrap();
    assert_eq!(summary["deps"].as_array().unwrap().len(), 5);
    let second = p.run(&["report"]).ok();
    assert!(second.stderr.contains("10 node(s) on `local`: 9 fresh, 1 skipped"), "{}", second.stderr);
    for name in ["gen-a", "gen-b", "gen-c", "cell-a-1", "cell-b-2", "cell-c-1"] {
        assert_eq!(runs(&p, name), 1, "{name} ran again");
    }
    assert_eq!(runs(&p, "cell-c-2"), 0, "a skipped cell never runs");
    let plan = p.run(&["plan", "--json"]).ok();
    let nodes: Vec<serde_json::Value> = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(nodes.len(), 10);
    assert!(nodes.iter().all(|n| n["state"] == "fresh" || n["state"] == "skipped"), "{nodes:?}");
    let skipped = nodes.iter().find(|n| n["id"] == "cell[c/2]").unwrap();
    assert_eq!(skipped["kind"], "cell");
    assert!(skipped["reason"].as_str().unwrap().contains("c2 cannot run here"));
}

#[test]
fn issue_2_early_cutoff_stops_at_identical_output() {
    let p = project();
    p.run(&["report"]).ok();
    // Same first byte: `gen[a]` re-runs, produces identical bytes, and nothing below it runs.
    p.write("inputs/a.txt", "avocado\n");
    let plan = p.run(&["plan", "--explain"]).ok();
    assert!(plan.stdout.contains("stale   gen[a]  source `seed` changed"), "{}", plan.stdout);
    assert!(plan.stdout.contains("stale   cell[a/1]  dependency `gen[a]` will rebuild"), "{}", plan.stdout);
    let why = p.run(&["why", "report[all]"]).ok();
    assert!(
        why.stdout.contains("because cell[a/1] is stale") && why.stdout.contains("because gen[a] is stale: source `seed` changed"),
        "{}",
        why.stdout
    );
    let b = p.run(&["report"]).ok();
    assert!(b.stderr.contains("1 built"), "{}", b.stderr);
    assert_eq!(runs(&p, "gen-a"), 2);
    assert_eq!(runs(&p, "cell-a-1"), 1, "early cutoff: the cell must not run");
    assert_eq!(runs(&p, "cell-a-2"), 1);
    // A real change flows down to exactly the dependents.
    p.write("inputs/a.txt", "zebra\n");
    p.run(&["report"]).ok();
    assert_eq!((runs(&p, "cell-a-1"), runs(&p, "cell-a-2"), runs(&p, "cell-b-1")), (2, 2, 1));
}

#[test]
fn issue_2_a_damaged_output_is_rebuilt_and_its_dependents_wait_for_it() {
    let p = project();
    p.run(&["report"]).ok();
    // Planning first assumes recorded outputs intact, then checks them: a missing file must
    // still make its node stale, and everything below it wait for it.
    let plan = p.run(&["plan", "--json"]).ok();
    let nodes: Vec<serde_json::Value> = serde_json::from_str(&plan.stdout).unwrap();
    let gen_b = nodes.iter().find(|n| n["id"] == "gen[b]").unwrap();
    let file = p.path().join(gen_b["output"].as_str().unwrap()).join("first.txt");
    std::fs::remove_file(&file).unwrap();
    let plan = p.run(&["plan", "--explain"]).ok();
    assert!(plan.stdout.contains("stale   gen[b]  output `first.txt` is missing"), "{}", plan.stdout);
    assert!(plan.stdout.contains("stale   cell[b/1]  dependency `gen[b]` will rebuild"), "{}", plan.stdout);
    assert!(plan.stdout.contains("fresh   cell[a/1]"), "{}", plan.stdout);
    // Rebuilt to the same bytes: the cells below it are fresh after all.
    let b = p.run(&["report"]).ok();
    assert!(b.stderr.contains("1 built"), "{}", b.stderr);
    assert_eq!((runs(&p, "gen-b"), runs(&p, "cell-b-1"), runs(&p, "cell-b-2")), (2, 1, 1));
}

#[test]
fn issue_2_invalidate_reruns_exactly_that_cell() {
    let p = project();
    p.run(&["report"]).ok();
    let inv = p.run(&["invalidate", "x=b,y=1"]).ok();
    assert_eq!(inv.stdout.trim(), "cell[b/1]");
    let plan = p.run(&["plan", "--explain"]).ok();
    assert!(plan.stdout.contains("stale   cell[b/1]  forced by `loadbuild invalidate`"), "{}", plan.stdout);
    p.run(&["report"]).ok();
    for (name, n) in [("cell-b-1", 2), ("cell-b-2", 1), ("cell-a-1", 1), ("gen-b", 1)] {
        assert_eq!(runs(&p, name), n, "{name}");
    }
    // By cell id, and by rule.
    assert_eq!(p.run(&["invalidate", "a-2"]).ok().stdout.trim(), "cell[a/2]");
    assert_eq!(p.run(&["invalidate", "x=c", "--rule", "gen"]).ok().stdout.trim(), "gen[c]");
    p.run(&["invalidate", "x=zz"]).code(2);
}

#[test]
fn issue_2_golden_digests_for_a_fixed_project() {
    // A change here means the key encoding changed: bump `hash::KEY_SCHEMA` on purpose.
    let p = project();
    let h = p.run(&["hash"]).ok();
    assert_eq!(h.stdout.trim(), GOLDEN_HASH);
    let small = p.run(&["hash", "--tier", "small"]).ok();
    assert_ne!(small.stdout.trim(), GOLDEN_HASH, "another selection has another key");
    // The key covers inputs, not where the project lives or when it was built.
    let q = project();
    assert_eq!(q.run(&["hash"]).ok().stdout.trim(), GOLDEN_HASH);
    q.write("inputs/b.txt", "changed\n");
    assert_ne!(q.run(&["hash"]).ok().stdout.trim(), GOLDEN_HASH);
}

const GOLDEN_HASH: &str = "500b1af444e1bfeff8b48de9a0236a73621f35c97f68a8e7199e9021b08333f9";

#[test]
fn issue_2_failures_are_not_cached_and_transients_are_retried() {
    let p = project();
    p.write(
        "rules/extra.toml",
        r#"
[rule.flaky]
retries = 2
command = "n=$(cat runs/flaky.log 2>/dev/null | wc -l); echo run >> runs/flaky.log; [ $n -ge 1 ] || exit 75; echo ok > {{ out }}/o"

[rule.broken]
command = "echo run >> runs/broken.log; echo 'no such table' >&2; exit 1"

[rule.slow]
timeout = "300ms"
command = "sleep 5"

[rule.recorded]
on_failure = "record"
command = "echo run >> runs/recorded.log; echo partial > {{ out }}/r; exit 1"
"#,
    );
    let b = p.run(&["build", "flaky"]).ok();
    assert!(b.stdout.starts_with("flaky\t"), "{}", b.stdout);
    assert_eq!(runs(&p, "flaky"), 2, "one transient failure, one success");
    p.run(&["build", "flaky"]).ok();
    assert_eq!(runs(&p, "flaky"), 2, "the success is cached");

    let b = p.run(&["build", "broken"]).code(3);
    assert!(b.stderr.contains("failed   broken") && b.stderr.contains("no such table"), "{}", b.stderr);
    p.run(&["build", "broken"]).code(3);
    assert_eq!(runs(&p, "broken"), 2, "a failure is never cached");

    let t0 = Instant::now();
    let b = p.run(&["build", "slow"]).code(3);
    assert!(b.stderr.contains("timed out after 300ms"), "{}", b.stderr);
    assert!(t0.elapsed() < Duration::from_secs(4), "the timeout stopped the command");

    let b = p.run(&["build", "recorded"]).code(3);
    assert!(b.stderr.contains("recorded as a failed outcome"), "{}", b.stderr);
    let plan = p.run(&["plan", "--explain", "recorded"]).ok();
    assert!(plan.stdout.contains("its last run failed"), "{}", plan.stdout);
    p.run(&["build", "recorded"]).code(3);
    assert_eq!(runs(&p, "recorded"), 2);

    // --keep-going builds what does not depend on the failure.
    let b = p.run(&["build", "broken", "cell", "-k", "-j", "1"]).code(3);
    assert!(b.stderr.contains("8 built, 1 failed, 1 skipped"), "{}", b.stderr);
}

#[test]
fn issue_2_kill_9_mid_build_then_rerun_finishes_and_redoes_only_unfinished() {
    let p = project();
    p.write(
        "rules/main.toml",
        &RULES.replace("echo run >> runs/cell-{{ x }}-{{ y }}.log;", "echo run >> runs/cell-{{ x }}-{{ y }}.log; sleep 0.6;"),
    );
    let mut child = p.cmd(&["report", "-j", "2"]).spawn().unwrap();
    // Wait until the three `gen` nodes and one cell are stored, then kill without warning.
    let trees = p.path().join("cache/v2/trees");
    let t0 = Instant::now();
    while std::fs::read_dir(&trees).map_or(0, |d| d.count()) < 4 && t0.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let started: Vec<usize> = ["a-1", "a-2", "b-1", "b-2", "c-1"].iter().map(|c| runs(&p, &format!("cell-{c}"))).collect();
    assert!(started.contains(&1) && started.contains(&0), "killed mid-build: {started:?}");
    std::thread::sleep(Duration::from_millis(500)); // let orphaned commands finish
    let rerun = p.run(&["report", "-j", "2"]).ok();
    assert!(rerun.stdout.contains("| 6 |"), "{}", rerun.stdout);
    let after: Vec<usize> = ["a-1", "a-2", "b-1", "b-2", "c-1"].iter().map(|c| runs(&p, &format!("cell-{c}"))).collect();
    assert!(after.iter().all(|&n| (1..=2).contains(&n)), "{after:?}");
    // Only cells that were in flight when killed run twice (at most -j of them).
    assert!(after.iter().filter(|&&n| n == 2).count() <= 2, "{started:?} → {after:?}");
    p.run(&["report"]).ok();
    assert_eq!(after, ["a-1", "a-2", "b-1", "b-2", "c-1"].iter().map(|c| runs(&p, &format!("cell-{c}"))).collect::<Vec<_>>());
}

#[test]
fn issue_2_two_invocations_on_one_cache() {
    let p = project();
    p.write("rules/main.toml", &RULES.replace("head -c 1", "sleep 1; head -c 1"));
    let mut first = p.cmd(&["report", "-j", "1"]).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let refused = p.run(&["report", "--no-wait"]).code(3);
    assert!(refused.stderr.contains("is in use by another loadbuild (pid"), "{}", refused.stderr);
    let waited = p.run(&["report"]).ok();
    assert!(waited.stderr.contains("waiting for another loadbuild"), "{}", waited.stderr);
    assert!(first.wait().unwrap().success());
    for x in ["a", "b", "c"] {
        assert_eq!(runs(&p, &format!("gen-{x}")), 1, "the second build found the first one's work");
    }
}

#[test]
fn issue_2_ctrl_c_stops_cleanly_and_publishes_nothing() {
    let p = project();
    p.write("rules/main.toml", &RULES.replace("head -c 1", "sleep 3; head -c 1"));
    let child = p.cmd(&["report", "-j", "2"]).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(600));
    let t0 = Instant::now();
    // SAFETY: sending a signal to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(t0.elapsed() < Duration::from_secs(3), "running commands were stopped");
    assert!(!p.path().join("report").exists(), "nothing partial is published");
    let plan = p.run(&["plan"]).ok();
    assert!(plan.stdout.contains("stale   gen[a]"), "{}", plan.stdout);
}

#[test]
fn issue_2_bad_rules_are_reported_with_their_file() {
    let p = Project::new(
        LOADFILE,
        &[(
            "a.toml",
            "[rule.one]\nper = [\"z\"]\ndeps = [\"two\"]\ncommand = \"true\"\n[rule.two]\ndeps = [\"one\"]\naction = \"magic\"\n",
        )],
    );
    let run = p.run(&["matrix", "validate"]).code(2);
    assert!(run.stderr.contains("rule `one` is per unknown dimension `z`") && run.stderr.contains("rules/a.toml:2:"), "{}", run.stderr);
    assert!(run.stderr.contains("unknown action `magic`"), "{}", run.stderr);
    let p = Project::new(
        LOADFILE,
        &[("a.toml", "[rule.one]\ndeps = [\"two\"]\ncommand = \"true\"\n[rule.two]\ndeps = [\"one\"]\ncommand = \"true\"\n")],
    );
    let run = p.run(&["matrix", "validate"]).code(2);
    assert!(run.stderr.contains("rules form a cycle: "), "{}", run.stderr);
    p.run(&["build", "nothing"]).code(2);
}

#[test]
fn issue_2_graph_and_cache_commands() {
    let p = project();
    let dot = p.run(&["graph"]).ok();
    assert!(dot.stdout.contains("\"gen[a]\" -> \"cell[a/1]\""), "{}", dot.stdout);
    let json: Vec<serde_json::Value> = serde_json::from_str(&p.run(&["graph", "--format", "json"]).ok().stdout).unwrap();
    assert_eq!(json.len(), 10);
    p.run(&["report"]).ok();
    let stats = p.run(&["cache", "stats"]).ok();
    assert!(stats.stdout.contains("outputs    9 recorded"), "{}", stats.stdout);
    p.write("inputs/a.txt", "zzz\n");
    p.run(&["report"]).ok();
    let gc = p.run(&["cache", "gc"]).ok();
    assert!(gc.stdout.contains("removed 4 tree(s)"), "{}", gc.stdout);
    // After gc, everything is still fresh.
    let again = p.run(&["report"]).ok();
    assert!(!again.stderr.contains("built"), "{}", again.stderr);
}

#[test]
fn nodes_with_identical_outputs_built_at_once_share_one_tree() {
    // Forty nodes, every output the same bytes, two workers: their ingests race for one tree.
    let loadfile = r#"
[project]
name = "same-output"
default_tier = "all"

[dimensions]
n = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]
m = ["a", "b", "c", "d"]

[tiers.all]
select = {}
"#;
    let rules = r#"
[rule.same]
per = ["n", "m"]
command = "echo same > {{ out }}/x.txt"
"#;
    let p = Project::new(loadfile, &[("main.toml", rules)]);
    let r = p.run(&["build", "same", "-j", "2"]).ok();
    let trees: std::collections::BTreeSet<&str> = r.stdout.lines().filter_map(|l| l.split('\t').nth(1)).collect();
    assert_eq!(trees.len(), 1, "one tree for forty identical outputs: {}", r.stdout);
    assert_eq!(std::fs::read_to_string(trees.iter().next().unwrap().to_string() + "/x.txt").unwrap(), "same\n");
    assert!(p.run(&["plan", "same"]).ok().stderr.contains("40 fresh"), "every record stays valid");
}
