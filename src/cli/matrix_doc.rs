//! `loadbuild matrix doc`: the matrix reference (`docs/matrix.md`) generated from the Loadfile —
//! dimensions, naming, tiers with their cell counts, and the skip rules with the cells they skip.
//! Deterministic: the same Loadfile gives the same bytes, so a test can tell a stale copy.

use std::fmt::Write;

use crate::loadfile::Loadfile;
use crate::matrix::{Matrix, NamePart, Selector};

fn template(m: &Matrix, parts: &[NamePart]) -> String {
    parts
        .iter()
        .map(|p| match p {
            NamePart::Literal(s) => s.clone(),
            NamePart::Dim(d) => format!("{{{}}}", m.dims[*d].name),
        })
        .collect()
}

fn selector(m: &Matrix, s: &Selector) -> String {
    let text = s.display(m);
    if text.is_empty() { "(every cell)".into() } else { format!("`{text}`") }
}

/// Markdown table cells must not hold `|` unescaped.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// The reference page for `lf`.
pub fn markdown(lf: &Loadfile) -> String {
    let m = &lf.matrix;
    let all = m.cells();
    let mut backends: Vec<&str> = lf.skips.iter().flat_map(|s| s.backends.iter().map(String::as_str)).collect();
    backends.sort_unstable();
    backends.dedup();
    let skipped_on = |cells: &[crate::matrix::Cell], backend: &str| {
        cells.iter().filter(|c| lf.skips.iter().any(|s| s.backends.iter().any(|b| b == backend) && s.when.matches(&c.0))).count()
    };

    let mut o = String::new();
    let _ = writeln!(o, "# The test matrix\n");
    let _ = writeln!(
        o,
        "Generated from `Loadfile.toml` by `loadbuild matrix doc --out docs/matrix.md`: do not edit by hand \
         (`tests/cli_meta.rs` fails when this copy is stale). How the Loadfile is written: [loadfile.md](loadfile.md).\n"
    );
    let _ = writeln!(
        o,
        "Project `{}`: {} dimensions, **{} cells**. A bare `loadbuild report` builds the tier `{}` on the `{}` backend.\n",
        lf.name,
        m.dims.len(),
        all.len(),
        lf.default_tier,
        lf.default_backend
    );

    let _ = writeln!(o, "## Dimensions\n\n| dimension | values | count |\n|---|---|---|");
    for d in &m.dims {
        let values: Vec<String> = d.values.iter().map(|v| format!("`{v}`")).collect();
        let _ = writeln!(o, "| `{}` | {} | {} |", d.name, values.join(", "), d.values.len());
    }
    let product: Vec<String> = m.dims.iter().map(|d| d.values.len().to_string()).collect();
    let _ = writeln!(o, "\n{} = {} cells.\n", product.join(" × "), all.len());

    let _ = writeln!(o, "## Naming\n");
    let _ = writeln!(o, "- id (an RFC 1123 label): `{}`", template(m, &m.id_template));
    let _ = writeln!(o, "- name: `{}`", template(m, &m.name_template));
    if let Some(first) = all.first() {
        let _ = writeln!(o, "- e.g. `{}` is `{}`", m.id(first), m.name(first));
    }

    let _ = write!(o, "\n## Tiers\n\n| tier | description | cells | budget | selects |");
    for b in &backends {
        let _ = write!(o, " skipped on `{b}` |");
    }
    let _ = write!(o, "\n|---|---|---|---|---|");
    for _ in &backends {
        let _ = write!(o, "---|");
    }
    let _ = writeln!(o);
    for t in &lf.tiers {
        let cells = m.select(&t.select);
        let budget = t.budget.map_or_else(|| "—".to_string(), |b| humantime::format_duration(b).to_string());
        let _ = write!(o, "| `{}` | {} | {} | {} | {} |", t.name, cell(&t.description), cells.len(), budget, cell(&selector(m, &t.select)));
        for b in &backends {
            let _ = write!(o, " {} |", skipped_on(&cells, b));
        }
        let _ = writeln!(o);
    }

    let _ =
        writeln!(o, "\n## Skip rules\n\nCells a backend cannot realize stay in the matrix and are reported as skipped, with the reason.\n");
    let _ = writeln!(o, "| when | backends | reason | cells of the matrix | rule |\n|---|---|---|---|---|");
    for s in &lf.skips {
        let n = all.iter().filter(|c| s.when.matches(&c.0)).count();
        let on: Vec<String> = s.backends.iter().map(|b| format!("`{b}`")).collect();
        let _ = writeln!(o, "| `{}` | {} | {} | {} | `{}` |", cell(&s.when_text), on.join(", "), cell(&s.reason), n, s.origin);
    }
    o
}
