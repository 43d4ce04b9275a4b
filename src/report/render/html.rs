//! `index.html`: one self-contained page. The headline and counts are plain HTML; the charts
//! (verdict heatmap, distributions, trends) and the filterable table are drawn by
//! `assets/report/report.js` with Apache ECharts, both embedded, from the report's JSON embedded
//! in a `<script type="application/json">`. Nothing is fetched: the page works offline.
//!
//! ECharts (Apache-2.0, `assets/echarts/`, from the npm package `echarts` 6.1.0) was chosen
//! because one file holds every chart the page needs — heatmap, boxplot, line with marks — and
//! it draws on canvas, which stays fast with 1,280 cells.
use std::fmt::Write as _;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::metrics::{Direction, Unit};
use crate::report::Analysis;
use crate::report::model::{CellStatus, DimensionInfo, MetricVerdict};

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
        "{}<footer>Run <code>{}</code> · loadbuild {} · {} · charts by Apache ECharts (Apache-2.0)</footer>",
        detectable(r),
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

/// Each judged cell's gating metric with its minimum detectable change and, when
/// inconclusive, what would settle it.
fn detectable(r: &crate::report::model::Results) -> String {
    let mut h = String::new();
    let rows = r.detectable();
    if rows.is_empty() {
        return h;
    }
    let _ = writeln!(
        h,
        "<h2>What this report could detect</h2>\n<p class=\"sub\">MDC: the smallest slowdown of <code>{}</code> flagged with 80% power at the \
         cell's own noise and sample sizes, with Benjamini–Hochberg over {} cells.</p>\n<div class=\"table-box\"><table id=\"mdc\">\n\
         <thead><tr><th>cell</th><th>status</th><th>samples</th><th>change</th><th>MDC</th><th>what would settle it</th></tr></thead><tbody>",
        esc(&r.settings.gate),
        r.settings.tests
    );
    for (c, m) in rows {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{} vs {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&c.id),
            c.status.word(),
            m.baseline.as_ref().map_or(0, |b| b.samples.len()),
            m.samples.len(),
            m.relative_change.map_or("–".into(), crate::report::analyze::pct),
            esc(&super::markdown::mdc_text(m)),
            esc(m.settle.as_deref().unwrap_or("–"))
        );
    }
    h.push_str("</tbody></table></div>\n");
    h
}

/// What the page script reads: the results without what it never shows, numbers cut to six
/// significant digits, and each metric's history series as `[run index or null, median]`. A
/// 1,280-cell report with 100 earlier runs is mostly those series, so this is serialized
/// straight from borrowed fields rather than through a `serde_json::Value` tree.
#[derive(Serialize)]
struct PageData<'a> {
    dimensions: &'a [DimensionInfo],
    history: PageHistory<'a>,
    cells: Vec<PageCell<'a>>,
}

#[derive(Serialize)]
struct PageHistory<'a> {
    runs: Vec<PageRun<'a>>,
}

#[derive(Serialize)]
struct PageRun<'a> {
    run: &'a str,
    recorded_at: &'a str,
}

#[derive(Serialize)]
struct PageCell<'a> {
    id: &'a str,
    name: &'a str,
    dims: &'a BTreeMap<String, String>,
    status: CellStatus,
    reason: &'a Option<String>,
    environment_notes: &'a [String],
    metrics: Vec<PageMetric<'a>>,
}

#[derive(Serialize)]
struct PageMetric<'a> {
    name: &'a str,
    unit: Unit,
    direction: Direction,
    verdict: MetricVerdict,
    reason: &'a Option<String>,
    relative_change: Option<Sig6>,
    ci: Option<[Sig6; 2]>,
    adjusted_p: Option<Sig6>,
    samples: Sig6s<'a>,
    baseline: Option<PageBaseline<'a>>,
    trend: Option<PageTrend<'a>>,
    series: Vec<(Option<usize>, Sig6)>,
}

#[derive(Serialize)]
struct PageBaseline<'a> {
    samples: Sig6s<'a>,
}

#[derive(Serialize)]
struct PageTrend<'a> {
    direction: &'a str,
    change_points: Vec<PageChangePoint<'a>>,
}

#[derive(Serialize)]
struct PageChangePoint<'a> {
    run: &'a str,
    commit: &'a Option<String>,
    relative_change: Sig6,
}

fn page_data(a: &Analysis) -> PageData<'_> {
    let r = &a.results;
    let cells = r
        .cells
        .iter()
        .zip(&a.series)
        .map(|(c, series)| PageCell {
            id: &c.id,
            name: &c.name,
            dims: &c.dims,
            status: c.status,
            reason: &c.reason,
            environment_notes: &c.environment_notes,
            metrics: c
                .metrics
                .iter()
                .zip(series)
                .map(|(m, series)| PageMetric {
                    name: &m.name,
                    unit: m.unit,
                    direction: m.direction,
                    verdict: m.verdict,
                    reason: &m.reason,
                    relative_change: m.relative_change.map(Sig6),
                    ci: m.ci.map(|[lo, hi]| [Sig6(lo), Sig6(hi)]),
                    adjusted_p: m.adjusted_p.map(Sig6),
                    samples: Sig6s(&m.samples),
                    baseline: m.baseline.as_ref().map(|b| PageBaseline { samples: Sig6s(&b.samples) }),
                    trend: m.trend.as_ref().map(|t| PageTrend {
                        direction: &t.direction,
                        change_points: t
                            .change_points
                            .iter()
                            .map(|cp| PageChangePoint { run: &cp.run, commit: &cp.commit, relative_change: Sig6(cp.relative_change) })
                            .collect(),
                    }),
                    series: series.iter().map(|&(run, v)| (run, Sig6(v))).collect(),
                })
                .collect(),
        })
        .collect();
    let runs = r.history.runs.iter().map(|h| PageRun { run: &h.run, recorded_at: &h.recorded_at }).collect();
    PageData { dimensions: &r.dimensions, history: PageHistory { runs }, cells }
}

/// A number cut to six significant digits: plenty for a chart, a third of the bytes of a full
/// `f64`. Non-finite values become `null`, as JSON has no other word for them.
#[derive(Clone, Copy)]
struct Sig6(f64);

impl Sig6 {
    fn rounded(self) -> f64 {
        let x = self.0;
        if x == 0.0 || !x.is_finite() {
            return x;
        }
        // Scale so the sixth significant digit is the units digit, round, scale back; the
        // shortest representation of the result is then at most six digits long.
        let exponent = 5 - x.abs().log10().floor() as i32;
        let scaled = if exponent >= 0 {
            (x * 10f64.powi(exponent)).round() / 10f64.powi(exponent)
        } else {
            (x / 10f64.powi(-exponent)).round() * 10f64.powi(-exponent)
        };
        if scaled.is_finite() { scaled } else { x }
    }
}

impl Serialize for Sig6 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let x = self.rounded();
        if x.is_finite() { s.serialize_f64(x) } else { s.serialize_none() }
    }
}

struct Sig6s<'a>(&'a [f64]);

impl Serialize for Sig6s<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|&x| Sig6(x)))
    }
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
