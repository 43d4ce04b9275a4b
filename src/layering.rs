//! A guard over the crate's own imports (test only): no import cycle between top-level
//! modules, and the engine core imports no node kind, domain library or command line
//! (docs/ARCHITECTURE.md, "Layers"). It reads the `crate::…` paths in `src/`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The engine: knows graphs, keys, the store and the seams (`kind`, `backend`), nothing of Spark.
const CORE: &[&str] =
    &["diag", "exit", "hash", "matrix", "loadfile", "rules", "template", "graph", "kind", "plan", "observe", "schedule", "store", "exec"];
/// What the core must never import.
const ABOVE_CORE: &[&str] = &["kinds", "scenario", "report", "data", "cli"];

/// Top-level module → the top-level modules its files name through `crate::`.
fn imports(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut mods: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for e in std::fs::read_dir(src).expect("src/ is readable").map(|e| e.expect("a directory entry")) {
        let name = e.file_name().to_string_lossy().into_owned();
        let top = match name.strip_suffix(".rs") {
            Some("lib" | "main") => continue,
            Some(m) => m.to_string(),
            None if e.path().is_dir() => name,
            None => continue,
        };
        let mut files = vec![e.path()];
        let mut used = BTreeSet::new();
        while let Some(p) = files.pop() {
            if p.is_dir() {
                files.extend(std::fs::read_dir(&p).expect("readable").map(|e| e.expect("an entry").path()));
                continue;
            }
            // Test modules may import anything.
            if p.extension().is_none_or(|x| x != "rs") || p.file_name().is_some_and(|f| f == "tests.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&p).expect("a source file is readable");
            let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or_default();
            used.extend(crate_paths(text));
        }
        used.remove(&top);
        // `plan.rs` and `plan/` are one module.
        mods.entry(top).or_default().extend(used);
    }
    let known: BTreeSet<String> = mods.keys().cloned().collect();
    mods.values_mut().for_each(|u| u.retain(|m| known.contains(m)));
    mods
}

/// The first segment after every `crate::`, including each name of `use crate::{a::x, b}`.
fn crate_paths(text: &str) -> BTreeSet<String> {
    let ident = |s: &str| s.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect::<String>();
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + 7..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find("};").unwrap_or(group.len())];
            let mut depth = 0;
            let mut start = true;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && !c.is_whitespace() => {
                        out.insert(ident(&group[j..]));
                        start = false;
                    }
                    _ => {}
                }
            }
        } else {
            out.insert(ident(rest));
        }
    }
    out
}

/// A cycle through `from`, if any (depth-first).
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(m: &str, g: &BTreeMap<String, BTreeSet<String>>, path: &mut Vec<String>, done: &mut BTreeSet<String>) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == m) {
            return Some(path[at..].iter().cloned().chain([m.to_string()]).collect());
        }
        if !done.insert(m.to_string()) {
            return None;
        }
        path.push(m.to_string());
        for next in &g[m] {
            if let Some(c) = visit(next, g, path, done) {
                return Some(c);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|m| visit(m, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_import_cycle_and_the_core_imports_nothing_above_it() {
    let g = imports(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(g.len() > 15 && g["exec"].contains("plan"), "the import reader found the modules: {g:?}");
    if let Some(c) = cycle(&g) {
        panic!("import cycle between top-level modules: {}", c.join(" → "));
    }
    for core in CORE {
        let bad: Vec<&String> = g[*core].iter().filter(|m| ABOVE_CORE.contains(&m.as_str())).collect();
        assert!(bad.is_empty(), "the core module `{core}` imports {bad:?}: go through a seam (`kind::Kind`, `backend::Backend`)");
    }
}

#[test]
fn the_reader_sees_grouped_and_nested_imports() {
    let found = crate_paths("use crate::{a::X, b::{c, d}, e};\nlet x = crate::f::g();");
    assert_eq!(found.into_iter().collect::<Vec<_>>(), ["a", "b", "e", "f"]);
    let g: BTreeMap<String, BTreeSet<String>> = [("a", &["b"][..]), ("b", &["c"]), ("c", &["a"])]
        .iter()
        .map(|(m, d)| (m.to_string(), d.iter().map(|s| s.to_string()).collect()))
        .collect();
    assert_eq!(cycle(&g), Some(vec!["a".into(), "b".into(), "c".into(), "a".into()]));
}
