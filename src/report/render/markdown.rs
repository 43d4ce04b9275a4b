//! `summary.md`: fit for `$GITHUB_STEP_SUMMARY` — regressions first, then guard-rails, failures,
//! inconclusive cells, improvements, change points, skipped cells grouped by reason, counts.
use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::report::analyze::{fmt_num, fmt_p, pct};
use crate::report::model::{CellStatus, MetricVerdict, Results, badness};

/// Cells listed per section before the rest is counted: keeps a step summary readable.
const LIST_LIMIT: usize = 200;

pub fn markdown(r: &Results) -> String {
    let c = &r.counts;
    let mut md = String::new();
    let _ = writeln!(md, "# loadbuild: tier `{}` on `{}` — {}\n", r.run.tier, r.run.backend, headline(r));
    regressions(&mut md, r);
    let guards: Vec<_> = r.cells_with(CellStatus::Guard).collect();
    if !guards.is_empty() {
        let _ = writeln!(md, "## Guard-rails breached ({})\n\n| cell | why |\n|---|---|", guards.len());
        for cell in guards.iter().take(LIST_LIMIT) {
            let _ = writeln!(md, "| `{}` | {} |", cell.id, cell_text(cell.reason.as_deref()));
        }
        more(&mut md, guards.len());
    }
    let failed: Vec<_> = r.cells_with(CellStatus::Failed).collect();
    if !failed.is_empty() {
        let _ = writeln!(md, "## Failed ({})\n\n| cell | error |\n|---|---|", failed.len());
        for cell in failed.iter().take(LIST_LIMIT) {
            let _ = writeln!(md, "| `{}` | {} |", cell.id, cell_text(cell.reason.as_deref()));
        }
        more(&mut md, failed.len());
    }
    let inconclusive: Vec<_> = r.cells_with(CellStatus::Inconclusive).collect();
    if !inconclusive.is_empty() {
        let _ = writeln!(
            md,
            "## Inconclusive ({}){}\n\n| cell | why | MDC | what would settle it |\n|---|---|---|---|",
            inconclusive.len(),
            if r.settings.fail_on_inconclusive { " — failing the report (`fail_on_inconclusive`)" } else { "" }
        );
        for cell in inconclusive.iter().take(LIST_LIMIT) {
            let gate = cell.metrics.iter().find(|m| m.gating);
            let _ = writeln!(
                md,
                "| `{}` | {} | {} | {} |",
                cell.id,
                cell_text(cell.reason.as_deref()),
                gate.map_or("–".into(), mdc_text),
                cell_text(gate.and_then(|m| m.settle.as_deref()).or(Some("–")))
            );
        }
        more(&mut md, inconclusive.len());
    }
    let improved: Vec<_> = r.cells_with(CellStatus::Improvement).collect();
    if !improved.is_empty() {
        let _ = writeln!(md, "## Improvements ({})\n\n| cell | change |\n|---|---|", improved.len());
        for cell in improved.iter().take(LIST_LIMIT) {
            let _ = writeln!(md, "| `{}` | {} |", cell.id, cell_text(cell.reason.as_deref()));
        }
        more(&mut md, improved.len());
    }
    detectable(&mut md, r);
    change_points(&mut md, r);
    skipped(&mut md, r);
    let _ = writeln!(md, "## Counts\n");
    let _ = writeln!(md, "| cells | failed | regression | guard | inconclusive | new | improvement | unchanged | skipped |");
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|");
    let _ = writeln!(
        md,
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
        c.cells, c.failed, c.regression, c.guard, c.inconclusive, c.new, c.improvement, c.unchanged, c.skipped
    );
    let s = &r.settings;
    let _ = writeln!(
        md,
        "Regression: `{}` worse than {:.0}% with Benjamini–Hochberg-adjusted p < {} over {} cell(s) (test `{}`: Welch tests means, \
         Mann–Whitney ranks; the change and its CI are of medians; at least {} samples per side, one sample per {}{}); also shown, \
         not gating: {}. Baseline `{}` ({}). History: {} ({} earlier report(s)). Run `{}`, loadbuild {}.",
        s.gate,
        s.threshold * 100.0,
        s.alpha,
        s.tests,
        s.test,
        s.min_samples,
        s.unit,
        if s.unit == "application" { format!(", the median of its executions after {} warm-up(s)", s.warmups) } else { String::new() },
        s.metrics.iter().filter(|m| **m != s.gate).map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", "),
        r.baseline.path,
        if r.baseline.exists { format!("{} cells", r.baseline.cells) } else { "absent: every cell is new".into() },
        r.history.source,
        r.history.runs.len(),
        r.run.id,
        r.run.loadbuild_version,
    );
    md
}

/// `2 regressions, 1 failed, 61 unchanged`.
pub fn headline(r: &Results) -> String {
    let c = &r.counts;
    let parts: Vec<String> = [
        (c.regression, "regression", "regressions"),
        (c.guard, "guard-rail breached", "guard-rails breached"),
        (c.failed, "failed", "failed"),
        (c.inconclusive, "inconclusive", "inconclusive"),
        (c.new, "new", "new"),
        (c.improvement, "improvement", "improvements"),
        (c.unchanged, "unchanged", "unchanged"),
        (c.skipped, "skipped", "skipped"),
    ]
    .iter()
    .filter(|(n, _, _)| *n > 0)
    .map(|(n, one, many)| format!("{n} {}", if *n == 1 { one } else { many }))
    .collect();
    if parts.is_empty() { "no cells".into() } else { parts.join(", ") }
}

fn regressions(md: &mut String, r: &Results) {
    let mut rows: Vec<_> = r
        .cells
        .iter()
        .filter(|c| c.status == CellStatus::Regression)
        .flat_map(|c| c.metrics.iter().filter(|m| m.gating && m.verdict == MetricVerdict::Regression).map(move |m| (c, m)))
        .collect();
    if rows.is_empty() {
        return;
    }
    rows.sort_by(|a, b| badness(b.1).total_cmp(&badness(a.1)));
    let cells = r.counts.regression;
    let _ = writeln!(md, "## Regressions ({cells})\n\n| cell | metric | baseline median | median | change | 95% CI | adjusted p | test |");
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|");
    for (cell, m) in rows.iter().take(LIST_LIMIT) {
        let base = m.baseline.as_ref().map_or("–".into(), |b| fmt_num(b.summary.median));
        let now = m.summary.as_ref().map_or("–".into(), |s| fmt_num(s.median));
        let ci = m.ci.map_or("–".into(), |[a, b]| format!("{} … {}", pct(a), pct(b)));
        let _ = writeln!(
            md,
            "| `{}` | `{}` | {base} {u} | {now} {u} | **{}** | {ci} | {} | {} |",
            cell.id,
            m.name,
            m.relative_change.map_or("–".into(), pct),
            m.adjusted_p.map_or("–".into(), fmt_p),
            m.test.as_deref().unwrap_or("–"),
            u = unit(m.unit),
        );
    }
    more(md, rows.len());
}

/// `31.2%`, `none at these sizes`, or `–`.
pub(crate) fn mdc_text(m: &crate::report::model::MetricResult) -> String {
    match (m.mdc, m.detectable) {
        (Some(v), _) => format!("{:.1}%", v * 100.0),
        (None, Some(false)) => "none at these sizes".into(),
        _ => "–".into(),
    }
}

/// Every judged cell's minimum detectable change: what this report could have seen.
fn detectable(md: &mut String, r: &Results) {
    let rows = r.detectable();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "## What this report could detect ({})\n\nMDC: the smallest slowdown of the gating metric flagged with 80% power at the \
         cell's own noise and sample sizes, with Benjamini–Hochberg over {} cell(s).\n\n| cell | metric | samples (baseline vs now) | change | MDC |\n|---|---|---|---|---|",
        rows.len(),
        r.settings.tests
    );
    for (cell, m) in rows.iter().take(LIST_LIMIT) {
        let _ = writeln!(
            md,
            "| `{}` | `{}` | {} vs {} | {} | {} |",
            cell.id,
            m.name,
            m.baseline.as_ref().map_or(0, |b| b.samples.len()),
            m.samples.len(),
            m.relative_change.map_or("–".into(), pct),
            mdc_text(m)
        );
    }
    more(md, rows.len());
}

fn change_points(md: &mut String, r: &Results) {
    let mut rows = Vec::new();
    for cell in &r.cells {
        for m in &cell.metrics {
            if let Some(cp) = m.trend.as_ref().and_then(|t| t.change_points.last()) {
                rows.push((cell, m, cp));
            }
        }
    }
    if rows.is_empty() {
        return;
    }
    // Most recent shifts first: `this` report, then later runs before earlier ones.
    let order: BTreeMap<&str, usize> = r.history.runs.iter().enumerate().map(|(i, h)| (h.run.as_str(), i)).collect();
    let pos = |run: &str| if run == "this" { usize::MAX } else { order.get(run).copied().unwrap_or(0) };
    rows.sort_by(|a, b| pos(&b.2.run).cmp(&pos(&a.2.run)).then(a.0.id.cmp(&b.0.id)));
    let _ = writeln!(
        md,
        "## Change points ({})\n\n| cell | metric | shifted at | commit | change | p |\n|---|---|---|---|---|---|",
        rows.len()
    );
    for (cell, m, cp) in rows.iter().take(LIST_LIMIT) {
        let at = if cp.run == "this" {
            "this report".to_string()
        } else {
            format!("run `{}` ({})", cp.run, cp.recorded_at.as_deref().unwrap_or("?"))
        };
        let commit = cp.commit.as_deref().map_or("–".to_string(), |c| format!("`{}`", &c[..c.len().min(12)]));
        let _ = writeln!(
            md,
            "| `{}` | `{}` | {at} | {commit} | {} ({}) | {} |",
            cell.id,
            m.name,
            pct(cp.relative_change),
            cp.effect,
            fmt_p(cp.p_value)
        );
    }
    more(md, rows.len());
}

fn skipped(md: &mut String, r: &Results) {
    let mut groups: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    for cell in r.cells_with(CellStatus::Skipped) {
        groups.entry((cell.reason.as_deref().unwrap_or(""), cell.skip_rule.as_deref().unwrap_or(""))).or_default().push(&cell.id);
    }
    if groups.is_empty() {
        return;
    }
    let _ = writeln!(md, "## Skipped ({})\n\n| because | rule | cells |\n|---|---|---|", r.counts.skipped);
    for ((reason, rule), cells) in &groups {
        let list = cells.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(" ");
        let _ =
            writeln!(md, "| {} | {rule} | {}: <details><summary>list</summary>{list}</details> |", cell_text(Some(reason)), cells.len());
    }
    md.push('\n');
}

fn more(md: &mut String, total: usize) {
    if total > LIST_LIMIT {
        let _ = writeln!(md, "\n… and {} more (see `results.json` or `index.html`)", total - LIST_LIMIT);
    }
    md.push('\n');
}

/// Table-safe text: no pipes or newlines.
fn cell_text(s: Option<&str>) -> String {
    s.unwrap_or("").replace('|', "\\|").replace('\n', " ")
}

pub(crate) fn unit(u: crate::metrics::Unit) -> &'static str {
    use crate::metrics::Unit;
    match u {
        Unit::Bool => "",
        Unit::Count => "",
        Unit::Ratio => "",
        Unit::Seconds => "s",
        Unit::RowsPerSecond => "rows/s",
        Unit::BytesPerSecond => "B/s",
    }
}
