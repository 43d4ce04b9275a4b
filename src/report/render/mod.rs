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

/// Writes every report file into `out`.
pub fn write_all(a: &Analysis, out: &Path) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(&a.results).map_err(std::io::Error::other)?;
    std::fs::write(out.join("results.json"), json)?;
    std::fs::write(out.join("summary.md"), markdown(&a.results))?;
    std::fs::write(out.join("junit.xml"), junit(&a.results))?;
    std::fs::write(out.join("metrics.prom"), prometheus(&a.results))?;
    std::fs::write(out.join("index.html"), html(a))?;
    Ok(())
}
