//! `junit.xml`: one test case per cell. A regression, a breached guard-rail or a failed run is a
//! `<failure>`; a skipped cell is `<skipped>` with its reason; every other status passes, with
//! its verdicts in `<system-out>`.
use std::fmt::Write as _;

use crate::report::analyze::explain;
use crate::report::model::{CellResult, CellStatus, Results};

pub fn junit(r: &Results) -> String {
    let c = &r.counts;
    let failures = c.regression + c.guard + c.failed;
    let suite = format!("loadbuild.{}.{}", r.run.tier, r.run.backend);
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ =
        writeln!(x, "<testsuites name=\"loadbuild\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{}\">", c.cells, c.skipped);
    let _ = writeln!(
        x,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{}\">",
        esc(&suite),
        c.cells,
        c.skipped
    );
    let _ = writeln!(x, "    <properties>");
    for (k, v) in [
        ("run", r.run.id.as_str()),
        ("tier", &r.run.tier),
        ("backend", &r.run.backend),
        ("baseline", &r.baseline.path),
        ("loadbuild", &r.run.loadbuild_version),
    ] {
        let _ = writeln!(x, "      <property name=\"{k}\" value=\"{}\"/>", esc(v));
    }
    let _ = writeln!(x, "    </properties>");
    for cell in &r.cells {
        case(&mut x, &suite, cell);
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

fn case(x: &mut String, suite: &str, cell: &CellResult) {
    let _ = write!(x, "    <testcase classname=\"{}\" name=\"{}\" time=\"0\"", esc(suite), esc(&cell.id));
    let reason = cell.reason.as_deref().unwrap_or("");
    let body = details(cell);
    match cell.status {
        CellStatus::Skipped => {
            let _ = writeln!(
                x,
                ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                esc(&format!("{reason} ({})", cell.skip_rule.as_deref().unwrap_or("")))
            );
        }
        CellStatus::Regression | CellStatus::Guard | CellStatus::Failed => {
            let _ = writeln!(
                x,
                ">\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    </testcase>",
                cell.status.word(),
                esc(&format!("{}: {reason}", cell.status.word())),
                text(&body)
            );
        }
        _ => {
            let _ = writeln!(x, ">\n      <system-out>{}</system-out>\n    </testcase>", text(&format!("{}\n{body}", cell.status.word())));
        }
    }
}

fn details(cell: &CellResult) -> String {
    let mut lines: Vec<String> = cell.metrics.iter().map(|m| format!("{}: {}", m.verdict.word(), explain(m))).collect();
    lines.extend(cell.guards.iter().filter(|g| g.breached).map(|g| format!("guard {} at {}", g.metric, g.origin)));
    lines.extend(cell.environment_notes.iter().cloned());
    lines.join("\n")
}

/// Escaped element text, keeping line breaks.
fn text(s: &str) -> String {
    esc(s).replace("&#10;", "\n")
}

/// XML text and attribute escaping; control characters XML 1.0 forbids are dropped.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            '\n' => o.push_str("&#10;"),
            '\t' | '\r' => o.push(' '),
            c if (c as u32) < 0x20 => {}
            c => o.push(c),
        }
    }
    o
}
