//! Rendering benchmark (issue 3): `cargo bench --bench render`.
//!
//! 1. Through the binary, on a copy of this project: `loadbuild render --tier p2` from an empty
//!    cache (1,280 cells + the tier's workflows, validated), then the no-op re-run (median of
//!    7), at once and again 2 s later (when published cell directories are stamped). Wall time
//!    and the CPU time (user + sys) of the process and what it ran (shellcheck, bash,
//!    python3): on a shared machine CPU time is the steadier figure.
//! 2. In this process, one thread, every render node: rendering only; with the in-process
//!    checks (YAML, names, schemas); with all checks (first pass: schemas compiled, shellcheck
//!    run per script shape; then again); and storing the files in a scratch cache. CPU time of
//!    the thread (the tools' processes are not in it), and wall time.
//!
//! Needs the vendored schemas (`vendor/`); shellcheck is provisioned by `render` on first use (as in the tests).
//! Put the temporary project on tmpfs for figures about loadbuild rather than the disk:
//! `TMPDIR=/dev/shm cargo bench --bench render`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use loadbuild::observe::Sources;
use loadbuild::plan::Ctx;
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

/// User + sys CPU time of finished children so far.
fn children_cpu() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let mut u = unsafe { std::mem::zeroed::<libc::rusage>() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// One `loadbuild render`: (wall, CPU, first line of stderr).
fn render(root: &Path, out: &Path) -> (Duration, Duration, String) {
    let cpu0 = children_cpu();
    let t = Instant::now();
    let o = Command::new(env!("CARGO_BIN_EXE_loadbuild"))
        .args(["render", "--tier", "p2", "--out", out.to_str().unwrap()])
        .current_dir(root)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let took = t.elapsed();
    let cpu = children_cpu() - cpu0;
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "render failed:\n{stderr}");
    (took, cpu, stderr.lines().next().unwrap_or("").to_string())
}

/// Seven no-op renders: prints the median and least wall and CPU time (each sorted on its own).
fn noops(root: &Path, out: &Path, label: &str) {
    let runs: Vec<(Duration, Duration)> = (0..7).map(|_| render(root, out)).map(|(w, c, _)| (w, c)).collect();
    let mut walls: Vec<Duration> = runs.iter().map(|r| r.0).collect();
    let mut cpus: Vec<Duration> = runs.iter().map(|r| r.1).collect();
    walls.sort();
    cpus.sort();
    println!(
        "  {label} {:>7.3} s wall, {:>6.3} s CPU   (min {:.3} s wall, {:.3} s CPU)",
        walls[3].as_secs_f64(),
        cpus[3].as_secs_f64(),
        walls[0].as_secs_f64(),
        cpus[0].as_secs_f64()
    );
}

/// User + sys CPU time of this thread so far.
fn thread_cpu() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let mut u = unsafe { std::mem::zeroed::<libc::rusage>() };
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut u) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// Runs `f`, returning its wall and CPU time per node.
fn timed<T>(nodes: usize, f: impl FnOnce() -> T) -> (T, String) {
    let (t, c) = (Instant::now(), thread_cpu());
    let r = f();
    let (wall, cpu) = (t.elapsed(), thread_cpu() - c);
    let us = |d: Duration| d.as_secs_f64() * 1e6 / nodes as f64;
    (r, format!("{:>5.0} µs/node CPU ({:>5.0} wall)", us(cpu), us(wall)))
}

fn main() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("project");
    for sub in ["rules", "templates"] {
        copy_dir(&repo.join(sub), &root.join(sub));
    }
    std::fs::copy(repo.join("Loadfile.toml"), root.join("Loadfile.toml")).unwrap();
    std::os::unix::fs::symlink(repo.join("vendor"), root.join("vendor")).unwrap();
    let out = dir.path().join("rendered");

    println!(
        "render benchmark: tier p2 (1,280 cells + workflows), {} cores, in {}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        dir.path().display()
    );
    let (full, cpu, line) = render(&root, &out);
    println!("  full render, empty cache, validated:  {:>7.3} s wall, {:>6.3} s CPU   ({line})", full.as_secs_f64(), cpu.as_secs_f64());
    noops(&root, &out, "no-op re-render (median of 7):        ");

    // A re-run some time later: the cells' directories are stamped by the first run at least
    // 2 s after publishing (src/cli/render.rs), and later runs stat them instead of their files.
    std::thread::sleep(Duration::from_millis(2100));
    render(&root, &out);
    noops(&root, &out, "no-op, 2 s later (cells stamped, m. of 7):");

    // In-process, one thread, no cache: rendering and each level of validation.
    let lf = loadbuild::loadfile::load(&root.join("Loadfile.toml")).unwrap();
    let kinds = loadbuild::kinds::Registry::default();
    let rules = loadbuild::rules::load(&lf, &|a| kinds.params(a)).unwrap();
    let templates = loadbuild::template::Templates::compile(&rules).unwrap();
    let layout = loadbuild::store::Layout::new(&lf.cache_dir);
    let graph = loadbuild::graph::build(&lf, &rules, lf.matrix.cells(), "p2", "kubernetes");
    let vars = minijinja::Value::from(minijinja::value::Serde(&lf.vars));
    let ctx = Ctx { lf: &lf, rules: &rules, graph: &graph, templates: &templates, layout: &layout, vars, kinds: &kinds };
    let mut stat = loadbuild::store::StatCache::default();
    let mut sources = Sources::new(&lf.root, &mut stat);
    let nodes: Vec<usize> = (0..graph.nodes.len()).filter(|&n| rules.rules[graph.nodes[n].rule].action == Action::Render).collect();
    let jobs: Vec<scenario::Job> = nodes
        .iter()
        .map(|&n| {
            let st = loadbuild::observe::statics(&ctx, n, &mut sources).unwrap();
            scenario::job(&ctx, &kinds.render.library, &st, n).unwrap()
        })
        .collect();
    let n = jobs.len();
    println!("  in-process, 1 thread, {n} nodes:");
    let mut last = Vec::new();
    for (label, v) in [
        ("render only", Validation::None),
        ("+ YAML, names, schemas (first pass: compiles the schemas)", Validation::InProcess),
        ("+ YAML, names, schemas", Validation::InProcess),
        ("+ bash -n, shellcheck (first pass: tools run per script shape)", Validation::Full),
        ("+ bash -n, shellcheck (verdicts kept)", Validation::Full),
    ] {
        let (files, took) = timed(n, || jobs.iter().map(|job| scenario::render_with(job, v).unwrap()).collect());
        last = files;
        println!("    {label:<62} {took}");
    }
    let shapes = kinds.render.library.yaml();
    println!("    (YAML documents from a shared skeleton: {}; texts parsed: {})", shapes.hits(), shapes.parses());
    let scratch = tempfile::tempdir_in(dir.path()).unwrap();
    let store = loadbuild::store::Layout::new(scratch.path());
    store.prepare().unwrap();
    let ((), took) = timed(n, || {
        for files in last {
            loadbuild::store::objects::store(&store, files).unwrap();
        }
    });
    println!("    {:<62} {took}", "storing the files (objects + trees)");
}
