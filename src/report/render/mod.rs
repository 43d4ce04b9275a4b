//! Renders a report's files from the [`Analysis`]: one module per format.
mod html;
mod junit;
pub(crate) mod markdown;
mod prom;

use std::path::Path;

use super::Analysis;

pub use html::html;
pub use junit::junit;
pub use markdown::markdown;
pub use prom::prometheus;

/// Writes every report file into `out`, rendering them in parallel (the HTML and the JSON are
/// the large ones).
pub fn write_all(a: &Analysis, out: &Path) -> std::io::Result<()> {
    let write = |name: &str, render: &(dyn Fn() -> Vec<u8> + Sync)| std::fs::write(out.join(name), render());
    let (json, (page, rest)) = rayon::join(
        || write("results.json", &|| serde_json::to_vec_pretty(&a.results).expect("results serialize")),
        || {
            rayon::join(
                || write("index.html", &|| html(a).into_bytes()),
                || {
                    write("summary.md", &|| markdown(&a.results).into_bytes())?;
                    write("junit.xml", &|| junit(&a.results).into_bytes())?;
                    write("metrics.prom", &|| prometheus(&a.results).into_bytes())
                },
            )
        },
    );
    json.and(page).and(rest)
}
