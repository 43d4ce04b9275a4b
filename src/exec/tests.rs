//! The executor with a fake backend (as ninja tests its build logic with a fake command
//! runner): ordering, resource limits, early cutoff, failure isolation, Ctrl-C. The project and
//! the cache are real files in a temporary directory; commands never reach a shell.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{ExecConfig, Executed, Outcome, execute};
use crate::backend::{Backend, CommandJob, Exit};
use crate::graph::{self, NodeIx};
use crate::kinds::Registry;
use crate::observe::{self, Sources};
use crate::schedule::Budget;
use crate::store::{Index, Journal, Layout, StatCache};
use crate::template::Templates;

/// Runs no process: writes `out.txt` (the same bytes for every node unless told otherwise),
/// and remembers the order and the most commands running at once.
#[derive(Default)]
struct Fake {
    started: Mutex<Vec<String>>,
    running: AtomicUsize,
    most: AtomicUsize,
    /// Nodes whose command exits 1.
    fail: Vec<&'static str>,
    /// Set when the first command starts (Ctrl-C), which then ends as cancelled.
    interrupt: Option<Arc<AtomicBool>>,
}

impl Backend for Fake {
    fn name(&self) -> &'static str {
        "fake"
    }

    fn run(&self, job: &CommandJob, cancel: &AtomicBool) -> Exit {
        self.started.lock().unwrap().push(job.node.clone());
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(30));
        self.running.fetch_sub(1, Ordering::SeqCst);
        if let Some(flag) = &self.interrupt {
            flag.store(true, Ordering::SeqCst);
        }
        if cancel.load(Ordering::SeqCst) {
            return Exit::Cancelled;
        }
        if self.fail.contains(&job.node.as_str()) {
            return Exit::Code(1);
        }
        std::fs::write(job.out.join("out.txt"), "same bytes").unwrap();
        Exit::Success
    }
}

/// A project: `gen` per `x` (three values, each reading `inputs/X.txt`, with `resources`), and
/// `all` depending on every `gen`.
fn project(resources: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("rules")).unwrap();
    std::fs::create_dir_all(root.join("inputs")).unwrap();
    std::fs::create_dir_all(root.join("templates")).unwrap();
    std::fs::write(
        root.join("Loadfile.toml"),
        "[project]\nname = \"fake\"\n[dimensions]\nx = [\"a\", \"b\", \"c\"]\n[tiers.all]\nselect = {}\nexpect = 3\n",
    )
    .unwrap();
    std::fs::write(
        root.join("rules/r.toml"),
        format!(
            "[rule.gen]\nper = [\"x\"]\nsources = {{ input = \"inputs/{{{{ x }}}}.txt\" }}\ncommand = \"gen\"\nresources = {resources}\n\n\
             [rule.all]\ndeps = [\"gen\"]\ncommand = \"all\"\n"
        ),
    )
    .unwrap();
    for x in ["a", "b", "c"] {
        std::fs::write(root.join(format!("inputs/{x}.txt")), x).unwrap();
    }
    dir
}

/// Plans every node of the project and executes the plan on `fake`; outcomes by node id.
fn build(dir: &tempfile::TempDir, fake: &Fake, cores: u32, cancel: Arc<AtomicBool>) -> (Executed, HashMap<String, Outcome>) {
    let lf = crate::loadfile::load(&dir.path().join("Loadfile.toml")).unwrap();
    let kinds = Registry::default();
    let rules = crate::rules::load(&lf, &|a| kinds.params(a)).unwrap();
    let templates = Templates::compile(&rules).unwrap();
    let layout = Layout::new(&lf.cache_dir);
    layout.prepare().unwrap();
    let g = graph::build(&lf, &rules, lf.matrix.cells(), "all", "local");
    let vars = minijinja::Value::from(minijinja::value::Serde(&lf.vars));
    let ctx = crate::kind::Ctx { lf: &lf, rules: &rules, graph: &g, templates: &templates, layout: &layout, vars, kinds: &kinds };
    let targets: Vec<NodeIx> = (0..g.nodes.len()).collect();
    let mut index = Index::load(&layout.journal()).unwrap();
    let mut stat = StatCache::default();
    let plan = observe::plan(&ctx, &targets, &index, &mut Sources::new(&lf.root, &mut stat)).unwrap();
    let mut journal = Journal::open(&layout.journal(), &index).unwrap();
    let cfg = ExecConfig { budget: Budget { cores, memory: 0 }, keep_going: true, progress: false };
    let executed = execute(&ctx, &plan, &mut index, &mut journal, fake, &cfg, &cancel).unwrap();
    let by_id = executed.outcomes.iter().map(|(n, o)| (g.nodes[*n].id.clone(), o.clone())).collect();
    (executed, by_id)
}

fn built(o: &Outcome) -> bool {
    matches!(o, Outcome::Built { .. })
}

#[test]
fn dependencies_first_then_fresh_then_early_cutoff() {
    let dir = project("{ cores = 1 }");
    let fake = Fake::default();
    let (_, first) = build(&dir, &fake, 2, Arc::default());
    assert!(first.values().all(built), "{first:?}");
    let started = fake.started.lock().unwrap().clone();
    assert_eq!(started.last().map(String::as_str), Some("all"), "`all` runs after every `gen`: {started:?}");
    assert_eq!(started.len(), 4);

    // Nothing changed: nothing runs.
    let (_, second) = build(&dir, &fake, 2, Arc::default());
    assert!(second.values().all(|o| *o == Outcome::Fresh), "{second:?}");
    assert_eq!(fake.started.lock().unwrap().len(), 4);

    // `gen[a]`'s input changes but it writes the same bytes: `all` is fresh after all.
    std::fs::write(dir.path().join("inputs/a.txt"), "changed").unwrap();
    let (_, third) = build(&dir, &fake, 2, Arc::default());
    assert!(built(&third["gen[a]"]), "{third:?}");
    assert_eq!(third["gen[b]"], Outcome::Fresh);
    assert_eq!(third["all"], Outcome::Cutoff);
    assert_eq!(fake.started.lock().unwrap().len(), 5);
}

#[test]
fn the_budget_and_mutexes_bound_what_runs_at_once() {
    let fake = Fake::default();
    build(&project("{ cores = 1 }"), &fake, 2, Arc::default());
    assert!(fake.most.load(Ordering::SeqCst) <= 2, "at most 2 single-core nodes on 2 cores");

    let fake = Fake::default();
    build(&project("{ cores = 1, mutex = [\"one\"] }"), &fake, 3, Arc::default());
    assert_eq!(fake.most.load(Ordering::SeqCst), 1, "nodes sharing a mutex never run together");
}

#[test]
fn a_failure_blocks_its_dependents_only_and_is_never_recorded() {
    let dir = project("{ cores = 1 }");
    let fake = Fake { fail: vec!["gen[a]"], ..Fake::default() };
    let (executed, outcomes) = build(&dir, &fake, 2, Arc::default());
    assert!(matches!(&outcomes["gen[a]"], Outcome::Failed { error, .. } if error.contains("exit status 1")), "{outcomes:?}");
    assert!(built(&outcomes["gen[b]"]) && built(&outcomes["gen[c]"]), "{outcomes:?}");
    assert_eq!(outcomes["all"], Outcome::Blocked { dep: "gen[a]".into() });
    assert_eq!(executed.failed(), 2);

    // The next build runs the failed node again (and what it blocked), not the others.
    let fake = Fake::default();
    let (_, again) = build(&dir, &fake, 2, Arc::default());
    assert!(built(&again["gen[a]"]) && built(&again["all"]), "{again:?}");
    assert_eq!(again["gen[b]"], Outcome::Fresh);
}

#[test]
fn ctrl_c_stops_scheduling_and_records_nothing_interrupted() {
    let dir = project("{ cores = 1 }");
    let cancel = Arc::new(AtomicBool::new(false));
    let fake = Fake { interrupt: Some(Arc::clone(&cancel)), ..Fake::default() };
    let (executed, outcomes) = build(&dir, &fake, 1, Arc::clone(&cancel));
    assert!(executed.interrupted);
    assert_eq!(fake.started.lock().unwrap().len(), 1, "nothing starts after Ctrl-C");
    assert!(outcomes.values().all(|o| *o == Outcome::NotRun), "{outcomes:?}");

    // Nothing was recorded: everything runs next time.
    let fake = Fake::default();
    let (_, again) = build(&dir, &fake, 1, Arc::default());
    assert!(again.values().all(built), "{again:?}");
}
