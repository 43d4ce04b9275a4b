//! The report's files read by the tools they are meant for: `promtool check metrics` on
//! `metrics.prom`, `promtool check rules` / `test rules` on the alerting rules, and headless
//! Chromium on `index.html` (charts drawn, no console output, no page errors). Under CI a
//! missing tool fails the test; elsewhere the test says it skipped.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::Project;
use common::report::{CELLS, Noise, project, write_cell};

/// The tool on PATH; under CI its absence is a failure.
fn tool(name: &str, package: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| std::env::split_paths(&paths).map(|d| d.join(name)).find(|p| p.is_file()));
    if found.is_none() {
        assert!(std::env::var_os("CI").is_none(), "`{name}` is missing: install the Debian package `{package}` (.ci/run does)");
        eprintln!("SKIPPED: `{name}` is not installed (Debian package `{package}`)");
    }
    found
}

/// A report with a baseline, one regression and a few earlier reports, so every chart has data.
fn report_with_history() -> Project {
    let p = project("");
    let mut noise = Noise::new(21);
    for round in 0..5 {
        for c in CELLS {
            let mean = if round == 4 && c == "read-s" { 14.0 } else { 10.0 };
            write_cell(&p, c, &noise.samples(6, mean, 0.02), Some(&noise.samples(6, 1000.0, 0.02)));
        }
        if round == 3 {
            p.run(&["baseline", "update"]).ok();
        }
        let code = if round == 4 { 1 } else { 0 };
        p.run(&["report"]).code(code);
    }
    p
}

#[test]
fn issue_7_metrics_prom_and_alert_rules_pass_promtool() {
    let Some(promtool) = tool("promtool", "prometheus") else { return };
    let p = report_with_history();
    let prom = std::fs::read(p.path().join("report/metrics.prom")).unwrap();
    let mut child = Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), &prom).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(prom).unwrap();
    assert!(
        text.contains("loadbuild_report_cells{project=\"report-test\",tier=\"all\",backend=\"local\",status=\"regression\"} 1"),
        "{text}"
    );
    assert!(text.contains("loadbuild_cell_verdict{project=\"report-test\",tier=\"all\",backend=\"local\",cell=\"read-s\",metric=\"wall_time_s\",verdict=\"regression\"} 1"));

    let rules = common::repo().join("docs/prometheus");
    for args in [["check", "rules", "loadbuild-alerts.yml"], ["test", "rules", "loadbuild-alerts.test.yml"]] {
        let out = Command::new(&promtool).args(args).current_dir(&rules).output().unwrap();
        assert!(
            out.status.success(),
            "promtool {args:?}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn issue_7_html_report_draws_its_charts_in_headless_chromium() {
    let Some(chromium) = tool("chromium", "chromium") else { return };
    let p = report_with_history();
    let profile = tempfile::tempdir().unwrap();
    let page = format!("file://{}", p.path().join("report/index.html").display());
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(["--dump-dom", &page])
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "chromium failed:\n{log}");
    let root = dom
        .lines()
        .find(|l| l.starts_with("<html"))
        .unwrap_or_else(|| panic!("no <html> in the DOM dump:\n{}", &dom[..dom.len().min(2000)]));
    assert!(root.contains("data-ready=\"true\""), "the page script ran to its end: {root}");
    assert!(root.contains("data-charts=\"distribution,heatmap,trend\""), "every chart was drawn: {root}");
    assert!(!root.contains("data-errors"), "page errors: {root}");
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "the page wrote to the console:\n{}", console.join("\n"));
    // Drawn: ECharts renders into canvases, one per chart (heatmap + 2 per metric of the cell).
    assert!(dom.matches("<canvas").count() >= 5, "canvases in the DOM: {}", dom.matches("<canvas").count());
    assert!(dom.contains("data-cell=\"read-s\" class=\"st-regression\""), "the table lists the regression");
}
