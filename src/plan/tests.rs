//! Unit tests of the pure planner: graphs, index snapshots and observations built in memory,
//! no files. Each test shows the plan as `node: state` lines.

use std::collections::{BTreeMap, HashMap};

use expect_test::{Expect, expect};

use super::{State, Statics, key, states};
use crate::graph::{Graph, Node, NodeIx, SkipReason};
use crate::hash::Digest;
use crate::store::{Index, OutputRecord, Record, Status, Tree};

const RULES: &[&str] = &["gen", "run", "report"];

/// `gen` → `run` → `report`, plus a skipped `run[b]` the report does not wait for.
fn graph() -> Graph {
    let node = |id: &str, rule: usize, deps: Vec<NodeIx>| Node {
        id: id.into(),
        rule,
        binding: vec![],
        deps,
        skipped_deps: vec![],
        cells: vec![],
        skipped: None,
    };
    let mut skipped = node("run[b]", 1, vec![0]);
    skipped.skipped = Some(SkipReason { reason: "no cluster here".into(), rule: "`b` (Loadfile.toml:9)".into() });
    let nodes = vec![node("gen", 0, vec![]), node("run[a]", 1, vec![0]), skipped, node("report", 2, vec![1])];
    let by_id = nodes.iter().enumerate().map(|(i, n)| (n.id.clone(), i)).collect();
    Graph { tier: "p0".into(), backend: "local".into(), cells: vec![], cell_skips: vec![], nodes, by_id }
}

/// Static inputs of every node not skipped: its source `x` has content `version`.
fn statics(g: &Graph, version: &str) -> HashMap<NodeIx, Statics> {
    (0..g.nodes.len())
        .filter(|&n| g.nodes[n].skipped.is_none())
        .map(|n| {
            let inputs = BTreeMap::from([
                ("src:x".to_string(), Digest::of("test source", version)),
                ("rule".to_string(), Digest::of("test rule", &n)),
            ]);
            (n, Statics { inputs, src: BTreeMap::new(), params: BTreeMap::new() })
        })
        .collect()
}

/// The output a node produced in a previous build (its digest derived from the node id).
fn output(g: &Graph, n: NodeIx) -> Digest {
    Digest::of("test output", g.nodes[n].id.as_str())
}

/// An index in which every node of `built` was built from `st`, in order, with `status`.
fn index_with(g: &Graph, st: &HashMap<NodeIx, Statics>, built: &[(NodeIx, Status)]) -> Index {
    let mut index = Index::default();
    for &(n, status) in built {
        let deps: Vec<(NodeIx, Digest)> = g.nodes[n].deps.iter().map(|&d| (d, output(g, d))).collect();
        let (k, inputs) = key(g, RULES[g.nodes[n].rule], n, &st[&n], &deps);
        let tree = Tree { digest: output(g, n), entries: vec![] };
        let output = OutputRecord { tree, status, duration_ms: 5, finished_unix: 0 };
        index.record(Record::Built { node: g.nodes[n].id.clone(), key: k, inputs: inputs.into_iter().collect(), output });
    }
    index
}

/// Plans the whole graph; `damaged` lists nodes whose recorded output is no longer intact.
fn check(g: &Graph, st: &HashMap<NodeIx, Statics>, index: &Index, damaged: &[NodeIx], want: Expect) {
    let order: Vec<NodeIx> = (0..g.nodes.len()).collect();
    let intact = |n: NodeIx, _: &Tree| if damaged.contains(&n) { Err(format!("`{}`'s output was deleted", g.nodes[n].id)) } else { Ok(()) };
    let planned = states(g, RULES, &order, st, index, &intact);
    let shown: Vec<String> = order
        .iter()
        .map(|n| {
            let state = match &planned[n] {
                State::Fresh { output: o, .. } if *o == output(g, *n) => "fresh (the recorded output)".to_string(),
                State::Fresh { .. } => "fresh (another output!)".to_string(),
                State::Stale(why) => format!("stale: {why}"),
                State::Skipped(s) => format!("skipped: {}", s.reason),
            };
            format!("{}: {state}", g.nodes[*n].id)
        })
        .collect();
    want.assert_eq(&shown.join("\n"));
}

const ALL: &[(NodeIx, Status)] = &[(0, Status::Ok), (1, Status::Ok), (3, Status::Ok)];

#[test]
fn nothing_built_yet() {
    let g = graph();
    let st = statics(&g, "v1");
    check(
        &g,
        &st,
        &Index::default(),
        &[],
        expect![[r#"
            gen: stale: never built
            run[a]: stale: dependency `gen` will rebuild
            run[b]: skipped: no cluster here
            report: stale: dependency `run[a]` will rebuild"#]],
    );
}

#[test]
fn everything_built_is_fresh() {
    let g = graph();
    let st = statics(&g, "v1");
    check(
        &g,
        &st,
        &index_with(&g, &st, ALL),
        &[],
        expect![[r#"
            gen: fresh (the recorded output)
            run[a]: fresh (the recorded output)
            run[b]: skipped: no cluster here
            report: fresh (the recorded output)"#]],
    );
}

#[test]
fn a_changed_source_names_the_input() {
    let g = graph();
    let index = index_with(&g, &statics(&g, "v1"), ALL);
    check(
        &g,
        &statics(&g, "v2"),
        &index,
        &[],
        expect![[r#"
            gen: stale: source `x` changed
            run[a]: stale: dependency `gen` will rebuild
            run[b]: skipped: no cluster here
            report: stale: dependency `run[a]` will rebuild"#]],
    );
}

#[test]
fn a_damaged_output_rebuilds_it_and_what_depends_on_it() {
    let g = graph();
    let st = statics(&g, "v1");
    check(
        &g,
        &st,
        &index_with(&g, &st, ALL),
        &[1],
        expect![[r#"
            gen: fresh (the recorded output)
            run[a]: stale: `run[a]`'s output was deleted
            run[b]: skipped: no cluster here
            report: stale: dependency `run[a]` will rebuild"#]],
    );
}

#[test]
fn a_recorded_failure_is_never_fresh() {
    let g = graph();
    let st = statics(&g, "v1");
    check(
        &g,
        &st,
        &index_with(&g, &st, &[(0, Status::Ok), (1, Status::Failed), (3, Status::Ok)]),
        &[],
        expect![[r#"
            gen: fresh (the recorded output)
            run[a]: stale: its last run failed
            run[b]: skipped: no cluster here
            report: stale: dependency `run[a]` will rebuild"#]],
    );
}

#[test]
fn invalidate_forces_a_node_with_an_unchanged_key() {
    let g = graph();
    let st = statics(&g, "v1");
    let mut index = index_with(&g, &st, ALL);
    index.record(Record::Invalidated { node: "report".into() });
    check(
        &g,
        &st,
        &index,
        &[],
        expect![[r#"
            gen: fresh (the recorded output)
            run[a]: fresh (the recorded output)
            run[b]: skipped: no cluster here
            report: stale: forced by `loadbuild invalidate`"#]],
    );
}

#[test]
fn a_new_dependency_output_is_named_after_own_inputs() {
    let g = graph();
    let st = statics(&g, "v1");
    // `report` was last built on another output of `run[a]`: its key differs only in `dep:`.
    let mut index = index_with(&g, &st, &[(0, Status::Ok), (1, Status::Ok)]);
    let (k, inputs) = key(&g, "report", 3, &st[&3], &[(1, Digest::of("test output", "an older run"))]);
    let output =
        OutputRecord { tree: Tree { digest: output(&g, 3), entries: vec![] }, status: Status::Ok, duration_ms: 5, finished_unix: 0 };
    index.record(Record::Built { node: "report".into(), key: k, inputs: inputs.into_iter().collect(), output });
    check(
        &g,
        &st,
        &index,
        &[],
        expect![[r#"
            gen: fresh (the recorded output)
            run[a]: fresh (the recorded output)
            run[b]: skipped: no cluster here
            report: stale: output of `run[a]` changed"#]],
    );
}

#[test]
fn input_names_read_back_as_written() {
    use crate::hash::Input;
    for input in [
        Input::Rule,
        Input::Src("input".into()),
        Input::Var("*".into()),
        Input::Param("size".into()),
        Input::Dep("run[a/b]".into()),
        Input::Other("backend".into()),
    ] {
        assert_eq!(Input::parse(&input.name()), input);
    }
    assert_eq!(Input::Dep("gen".into()).name(), "dep:gen", "the written form is part of every key: never change it");
}
