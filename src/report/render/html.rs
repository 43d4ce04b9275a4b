//! `index.html`: one self-contained page. The headline and counts are plain HTML; the charts
//! (verdict heatmap, distributions, trends) and the filterable table are drawn by
//! `assets/report/report.js` with Apache ECharts, both embedded, from the report's JSON embedded
//! in a `<script type="application/json">`. Nothing is fetched: the page works offline.
//!
//! ECharts (Apache-2.0, `assets/echarts/`, from the npm package `echarts` 6.1.0) was chosen
//! because one file holds every chart the page needs — heatmap, boxplot, line with marks — and
//! it draws on canvas, which stays fast with 1,280 cells.
use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::report::Analysis;
use crate::report::model::CellStatus;

const ECHARTS: &str = include_str!("../../../assets/echarts/echarts.min.js");
const SCRIPT: &str = include_str!("../../../assets/report/report.js");
const STYLE: &str = include_str!("../../../assets/report/report.css");

pub fn html(a: &Analysis) -> String {
    let r = &a.results;
    let data = page_data(a);
    // `</` inside a script element would end it early; JSON allows `<\/` for `</`.
    let data = serde_json::to_string(&data).expect("report values serialize").replace("</", "<\\/");
    let title = format!("loadbuild: tier {} on {}", r.run.tier, r.run.backend);
    let mut h = String::with_capacity(ECHARTS.len() + data.len() + 16_384);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n",
        esc(&title)
    );
    let _ = writeln!(h, "<div id=\"errors\" hidden></div>");
    let _ = writeln!(h, "<h1>{}</h1>", esc(&title));
    let _ = writeln!(h, "<p class=\"sub\">{}</p>", esc(&super::markdown::headline(r)));
    let _ = writeln!(h, "<div class=\"counts\">");
    for status in CellStatus::ALL {
        let n = r.cells.iter().filter(|c| c.status == status).count();
        let _ = writeln!(h, "<div class=\"count st-{0}\" style=\"background:{1}\"><b>{n}</b>{0}</div>", status.word(), tint(status));
    }
    let _ = writeln!(h, "</div>");
    let s = &r.settings;
    let _ = writeln!(
        h,
        "<p class=\"sub\">Regression: worse than {:.0}% in the metric's bad direction with Benjamini–Hochberg-adjusted p &lt; {} \
         (test {}, at least {} samples per side). Baseline <code>{}</code>{}. History: {} ({} earlier reports).</p>",
        s.threshold * 100.0,
        s.alpha,
        esc(&s.test),
        s.min_samples,
        esc(&r.baseline.path),
        if r.baseline.exists { format!(" ({} cells)", r.baseline.cells) } else { " (absent)".into() },
        esc(&r.history.source),
        r.history.runs.len()
    );
    h.push_str(
        "<h2>Verdicts across two dimensions</h2>\n<div class=\"controls\">columns <select id=\"heat-x\" aria-label=\"columns\"></select> \
         rows <select id=\"heat-y\" aria-label=\"rows\"></select> <span class=\"sub\">a square shows the worst status of its cells; click it to filter the table</span></div>\n\
         <div id=\"heatmap\"></div>\n\
         <h2>Cells</h2>\n<div class=\"controls\"><input id=\"text-filter\" type=\"search\" placeholder=\"filter by id, name or reason\" aria-label=\"filter\">\
         <select id=\"status-filter\" aria-label=\"status\"><option value=\"\">every status</option></select><span id=\"dim-filters\"></span>\
         <button id=\"clear-filters\" type=\"button\">clear filters</button> <span id=\"shown\" class=\"sub\"></span></div>\n\
         <div class=\"table-box\"><table>\n<thead><tr><th>cell</th><th>status</th><th>metric</th><th>change</th><th>95% CI</th><th>adjusted p</th><th>why</th></tr></thead>\n\
         <tbody id=\"cells-body\"></tbody></table></div>\n<div id=\"detail\"></div>\n",
    );
    let _ = writeln!(
        h,
        "<footer>Run <code>{}</code> · loadbuild {} · {} · charts by Apache ECharts (Apache-2.0)</footer>",
        esc(&r.run.id),
        esc(&r.run.loadbuild_version),
        esc(&r.environment.machine)
    );
    let _ = write!(
        h,
        "<script id=\"report-data\" type=\"application/json\">{data}</script>\n<script>\n{ECHARTS}\n</script>\n<script>\n{SCRIPT}</script>\n</body>\n</html>\n"
    );
    h
}

/// What the page script reads: the results without what it never shows, numbers cut to six
/// significant digits, and each metric's history series as `[run index or null, median]`. A
/// 1,280-cell report with 100 earlier runs is mostly those series.
fn page_data(a: &Analysis) -> Value {
    let r = &a.results;
    let cells: Vec<Value> = r
        .cells
        .iter()
        .enumerate()
        .map(|(ci, c)| {
            let metrics: Vec<Value> = c
                .metrics
                .iter()
                .enumerate()
                .map(|(mi, m)| {
                    let series: Vec<Value> = a.series[ci][mi].iter().map(|(run, v)| json!([run, num(*v)])).collect();
                    json!({
                        "name": m.name, "unit": m.unit, "direction": m.direction, "verdict": m.verdict, "reason": m.reason,
                        "relative_change": m.relative_change.map(num), "ci": m.ci.map(|[lo, hi]| json!([num(lo), num(hi)])),
                        "adjusted_p": m.adjusted_p.map(num),
                        "samples": nums(&m.samples),
                        "baseline": m.baseline.as_ref().map(|b| json!({ "samples": nums(&b.samples) })),
                        "trend": m.trend.as_ref().map(|t| json!({
                            "direction": t.direction,
                            "change_points": t.change_points.iter().map(|cp| json!({ "run": cp.run, "commit": cp.commit, "relative_change": num(cp.relative_change) })).collect::<Vec<_>>(),
                        })),
                        "series": series,
                    })
                })
                .collect();
            json!({ "id": c.id, "name": c.name, "dims": c.dims, "status": c.status, "reason": c.reason, "environment_notes": c.environment_notes, "metrics": metrics })
        })
        .collect();
    let runs: Vec<Value> = r.history.runs.iter().map(|h| json!({ "run": h.run, "recorded_at": h.recorded_at })).collect();
    json!({ "dimensions": r.dimensions, "history": { "runs": runs }, "cells": cells })
}

/// Six significant digits: plenty for a chart, a third of the bytes of a full `f64`.
fn num(x: f64) -> Value {
    format!("{x:.5e}").parse::<f64>().ok().and_then(serde_json::Number::from_f64).map_or(Value::Null, Value::Number)
}

fn nums(xs: &[f64]) -> Vec<Value> {
    xs.iter().map(|&x| num(x)).collect()
}

fn tint(s: CellStatus) -> &'static str {
    match s {
        CellStatus::Failed => "#e1bee7",
        CellStatus::Regression => "#ffcdd2",
        CellStatus::Guard => "#ffe0b2",
        CellStatus::Inconclusive => "#fff9c4",
        CellStatus::New => "#cfd8dc",
        CellStatus::Improvement => "#c8e6c9",
        CellStatus::Unchanged => "#e8f5e9",
        CellStatus::Skipped => "#f5f5f5",
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
