//! `metrics.prom`: the report in the Prometheus text exposition format, for node_exporter's
//! textfile collector or a Pushgateway. The alerting rules in `docs/prometheus/` read it.
//!
//! Per report: cells by status. Per cell × judged metric: the verdict (1 on the series whose
//! `verdict` label holds), the median, and the relative change against the baseline.
use std::fmt::Write as _;

use crate::report::model::{CellStatus, Results};

pub fn prometheus(r: &Results) -> String {
    let mut p = String::new();
    let base = format!("project=\"{}\",tier=\"{}\",backend=\"{}\"", label(&r.run.project), label(&r.run.tier), label(&r.run.backend));
    family(&mut p, "loadbuild_report_cells", "Cells of the tier's last report, by status.");
    for status in CellStatus::ALL {
        let n = r.cells.iter().filter(|c| c.status == status).count();
        let _ = writeln!(p, "loadbuild_report_cells{{{base},status=\"{}\"}} {n}", status.word());
    }
    family(&mut p, "loadbuild_report_info", "The last report's run id and loadbuild version (always 1).");
    let _ = writeln!(p, "loadbuild_report_info{{{base},run=\"{}\",loadbuild=\"{}\"}} 1", label(&r.run.id), label(&r.run.loadbuild_version));

    family(&mut p, "loadbuild_cell_verdict", "1 for each judged cell × metric, labelled with its verdict.");
    for c in r.cells.iter().filter(|c| c.status != CellStatus::Skipped) {
        for m in &c.metrics {
            let _ = writeln!(
                p,
                "loadbuild_cell_verdict{{{base},cell=\"{}\",metric=\"{}\",verdict=\"{}\"}} 1",
                label(&c.id),
                label(&m.name),
                m.verdict.word()
            );
        }
    }
    family(
        &mut p,
        "loadbuild_cell_metric_median",
        "Median of the report's samples of a metric, in the metric's unit (see docs/metrics.md).",
    );
    for c in &r.cells {
        for m in &c.metrics {
            if let Some(s) = &m.summary {
                let _ = writeln!(
                    p,
                    "loadbuild_cell_metric_median{{{base},cell=\"{}\",metric=\"{}\"}} {}",
                    label(&c.id),
                    label(&m.name),
                    num(s.median)
                );
            }
        }
    }
    family(&mut p, "loadbuild_cell_relative_change", "Relative change of the median against the baseline (0.2 = +20%).");
    for c in &r.cells {
        for m in &c.metrics {
            if let Some(x) = m.relative_change {
                let _ = writeln!(
                    p,
                    "loadbuild_cell_relative_change{{{base},cell=\"{}\",metric=\"{}\"}} {}",
                    label(&c.id),
                    label(&m.name),
                    num(x)
                );
            }
        }
    }
    p
}

fn family(p: &mut String, name: &str, help: &str) {
    let _ = writeln!(p, "# HELP {name} {help}\n# TYPE {name} gauge");
}

/// A label value as the exposition format escapes it.
fn label(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn num(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else if v.is_nan() {
        "NaN".into()
    } else if v > 0.0 {
        "+Inf".into()
    } else {
        "-Inf".into()
    }
}
