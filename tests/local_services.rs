//! Servers of the local backend (issue 5): rules limited to some cells with `when`, a real
//! PostgreSQL started for the nodes that need it and stopped after them, and cleanup of servers
//! left behind by a build killed with SIGKILL.

mod common;

use std::time::{Duration, Instant};

use common::Project;

const LOADFILE: &str = r#"
[project]
name = "svc"
default_tier = "all"
[naming]
id = "{op}-{size}"
[dimensions]
op = ["read", "write"]
size = ["s", "m"]
[tiers.all]
select = {}
"#;

/// `postgres` exists only for the write cells; `run` writes what it was told about it.
const RULES: &str = r#"
[rule.postgres]
description = "a private PostgreSQL"
when = "op=write"
action = "service"
params = { kind = "postgres" }

[rule.run]
per = ["op", "size"]
deps = ["postgres"]
command = """
env | grep '^LOADBUILD_JDBC_URL=' | cut -d/ -f3 > $OUT/server || true
if [ -f "$LOADBUILD_ROOT/slow" ]; then echo started > "$LOADBUILD_ROOT/started-{{ op }}-{{ size }}"; sleep 120; fi
if [ -n "${LOADBUILD_JDBC_URL:-}" ]; then
  hostport=$(echo "$LOADBUILD_JDBC_URL" | cut -d/ -f3)
  pg_isready -h "${hostport%:*}" -p "${hostport#*:}" > $OUT/ready
fi
"""
"#;

fn project() -> Project {
    Project::new(LOADFILE, &[("svc.toml", RULES)])
}

fn graph(p: &Project) -> serde_json::Value {
    serde_json::from_str(&p.run(&["graph", "--format", "json"]).ok().stdout).expect("graph JSON")
}

fn deps_of(g: &serde_json::Value, id: &str) -> Vec<String> {
    let node = g.as_array().unwrap().iter().find(|n| n["id"] == id).unwrap_or_else(|| panic!("no node {id} in {g}"));
    node["deps"].as_array().unwrap().iter().map(|d| d.as_str().unwrap().to_string()).collect()
}

fn pg_on_path() -> bool {
    std::process::Command::new("pg_isready").arg("--version").output().is_ok_and(|o| o.status.success())
}

#[test]
fn a_rule_with_when_has_nodes_only_for_the_cells_it_selects() {
    let p = project();
    let g = graph(&p);
    assert_eq!(deps_of(&g, "run[write/s]"), ["postgres"]);
    assert_eq!(deps_of(&g, "run[write/m]"), ["postgres"]);
    assert!(deps_of(&g, "run[read/s]").is_empty(), "a read cell must not depend on the write cells' server");
    assert_eq!(g.as_array().unwrap().iter().filter(|n| n["id"] == "postgres").count(), 1);

    // Restricted to read cells, the server is not in the graph at all.
    let g: serde_json::Value =
        serde_json::from_str(&p.run(&["graph", "--format", "json", "--only", "op=read"]).ok().stdout).expect("graph JSON");
    assert!(g.as_array().unwrap().iter().all(|n| n["id"] != "postgres"), "{g}");
}

#[test]
fn a_bad_when_selector_is_reported_where_it_is_written() {
    let p = project();
    p.write("rules/svc.toml", &RULES.replace("when = \"op=write\"", "when = \"op=delete\""));
    let r = p.run(&["plan"]).code(2);
    assert!(r.stderr.contains("rules/svc.toml:4"), "{}", r.stderr);
    assert!(r.stderr.contains("delete"), "{}", r.stderr);
}

#[test]
fn postgres_starts_for_the_cells_that_need_it_and_stops_after_them() {
    if !pg_on_path() {
        // The server binaries are found through pg_config; pg_isready is what this test uses.
        assert!(std::env::var_os("CI").is_none(), "CI must install PostgreSQL (postgresql-15)");
        eprintln!("skipping: pg_isready is not on PATH");
        return;
    }
    let p = project();
    let r = p.run(&["build", "run"]).ok();
    assert!(r.stderr.contains("started postgres"), "{}", r.stderr);
    assert!(r.stderr.contains("stopped postgres"), "{}", r.stderr);
    let plan: serde_json::Value = serde_json::from_str(&p.run(&["plan", "--json", "run"]).ok().stdout).unwrap();
    let out = |id: &str| -> std::path::PathBuf {
        let node = plan.as_array().unwrap().iter().find(|n| n["id"] == id).unwrap_or_else(|| panic!("no {id} in {plan}"));
        p.path().join(node["output"].as_str().unwrap_or_else(|| panic!("{id} is not fresh: {node}")))
    };
    let write = out("run[write/s]");
    assert!(std::fs::read_to_string(write.join("ready")).unwrap().contains("accepting connections"));
    let server = std::fs::read_to_string(write.join("server")).unwrap();
    assert_eq!(server, std::fs::read_to_string(out("run[write/m]").join("server")).unwrap(), "one server for the build");
    assert!(std::fs::read_to_string(out("run[read/s]").join("server")).unwrap().is_empty(), "read cells get no database");
    let port: u16 = server.trim().rsplit(':').next().unwrap().parse().unwrap();
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "the server must be stopped after the build");

    // Nothing stale: nothing starts.
    let r = p.run(&["build", "run"]).ok();
    assert!(!r.stderr.contains("started postgres"), "{}", r.stderr);
}

#[test]
fn servers_left_by_a_killed_build_are_stopped_by_the_next_one() {
    if !pg_on_path() {
        assert!(std::env::var_os("CI").is_none(), "CI must install PostgreSQL (postgresql-15)");
        eprintln!("skipping: pg_isready is not on PATH");
        return;
    }
    let p = project();
    p.write("slow", "");
    let mut child = p.cmd(&["build", "run", "--only", "op=write,size=s"]).stderr(std::process::Stdio::null()).spawn().unwrap();
    let t0 = Instant::now();
    while !p.path().join("started-write-s").exists() {
        assert!(t0.elapsed() < Duration::from_secs(60), "the run never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    let record = std::fs::read_dir(p.path().join("cache/v2/services"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "pids"))
        .expect("a record of the started server");
    let pids: Vec<serde_json::Value> = serde_json::from_str(&std::fs::read_to_string(&record).unwrap()).unwrap();
    let pid = pids[0]["pid"].as_u64().unwrap();
    // SAFETY: plain kill(2).
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    child.wait().unwrap();
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists(), "killing loadbuild leaves its server behind");

    std::fs::remove_file(p.path().join("slow")).unwrap();
    let r = p.run(&["build", "run", "--only", "op=read"]).ok();
    assert!(r.stderr.contains("left running by an earlier build"), "{}", r.stderr);
    let t0 = Instant::now();
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        assert!(t0.elapsed() < Duration::from_secs(15), "PostgreSQL (pid {pid}) still runs after the next build");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!record.exists(), "the record of a stopped server is removed");
}
