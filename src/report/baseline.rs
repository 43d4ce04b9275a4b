//! Baselines: per cell and metric, the samples a report compares against, kept as YAML under
//! version control (`<report.baselines>/<backend>.yaml`).
//!
//! Each cell records the report it was promoted from, its Spark version, the shared inputs it
//! was measured with (dataset digests) and an environment (loadbuild version, backend, machine)
//! stored once per distinct environment. `baseline update` writes the file; nothing else does.
use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::model::{CellResult, Environment, MetricResult, Results, SummaryOut};
use crate::metrics::{Direction, Unit};

pub const BASELINE_SCHEMA: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineFile {
    pub schema: u32,
    /// Environment id (a short digest) → environment.
    #[serde(default)]
    pub environments: BTreeMap<String, Environment>,
    /// Cell id → its baseline.
    #[serde(default)]
    pub cells: BTreeMap<String, BaselineCell>,
}

impl Default for BaselineFile {
    fn default() -> Self {
        BaselineFile { schema: BASELINE_SCHEMA, environments: BTreeMap::new(), cells: BTreeMap::new() }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineCell {
    /// Key into `environments`.
    pub environment: String,
    /// The report (run id) the samples were promoted from.
    pub run: String,
    #[serde(default)]
    pub spark_version: Option<String>,
    #[serde(default)]
    pub inputs: BTreeMap<String, String>,
    pub metrics: BTreeMap<String, BaselineMetric>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineMetric {
    pub unit: Unit,
    pub direction: Direction,
    pub samples: Vec<f64>,
    /// For readers of the file; recomputed from `samples` when used.
    pub summary: SummaryOut,
}

/// Reads a baseline file; a missing file is an empty baseline (every cell is `new`).
pub fn load(path: &Path) -> Result<Option<BaselineFile>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read the baseline file `{}`: {e}", path.display())),
    };
    let file = parse(&text).map_err(|e| format!("baseline file `{}`: {e}", path.display()))?;
    Ok(Some(file))
}

pub fn parse(text: &str) -> Result<BaselineFile, String> {
    let file: BaselineFile =
        serde_saphyr::from_str(text).map_err(|e| format!("{e}\n  = help: the format is described in docs/reports.md"))?;
    if file.schema != BASELINE_SCHEMA {
        return Err(format!("schema `{}` is not one this loadbuild reads (`{BASELINE_SCHEMA}`)", file.schema));
    }
    for (id, cell) in &file.cells {
        let at = line_of(text, id);
        if !file.environments.contains_key(&cell.environment) {
            return Err(format!("{at}cell `{id}` names environment `{}`, which `environments` does not hold", cell.environment));
        }
        for (name, m) in &cell.metrics {
            if let Some(bad) = m.samples.iter().find(|v| !v.is_finite()) {
                return Err(format!("{at}cell `{id}` metric `{name}` holds the non-finite sample `{bad}`"));
            }
        }
    }
    Ok(file)
}

/// `line N: ` of the first line that starts (after indentation) with the key `id:`, or nothing.
fn line_of(text: &str, id: &str) -> String {
    text.lines()
        .position(|l| l.trim_start().strip_prefix(id).is_some_and(|rest| rest.starts_with(':')))
        .map_or(String::new(), |i| format!("line {}: ", i + 1))
}

/// The YAML text of a baseline file, with a header saying what it is.
pub fn render(file: &BaselineFile) -> String {
    let body = serde_saphyr::to_string(file).expect("baseline values serialize to YAML");
    format!(
        "# loadbuild baselines: the samples reports compare against, per cell and metric.\n\
         # Written by `loadbuild baseline update`; the format is described in docs/reports.md.\n{body}"
    )
}

/// Writes `file` to `path` atomically (a temporary file renamed into place).
pub fn save(path: &Path, file: &BaselineFile) -> std::io::Result<()> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("yaml.tmp-{}", std::process::id()));
    std::fs::write(&tmp, render(file))?;
    std::fs::rename(&tmp, path)
}

/// A short, stable id for an environment: the first 12 hex digits of its digest.
pub fn environment_id(env: &Environment) -> String {
    crate::hash::Digest::of("loadbuild 2026-11 baseline environment", env).to_hex()[..12].to_string()
}

/// Why a cell cannot be promoted, if it cannot.
pub fn refusal(cell: &CellResult) -> Option<String> {
    use super::model::CellStatus;
    match cell.status {
        CellStatus::Failed => Some(format!("it failed: {}", cell.reason.as_deref().unwrap_or("no reason recorded"))),
        CellStatus::Skipped => Some("it was skipped".into()),
        _ if cell.metrics.iter().all(|m| m.samples.is_empty()) => Some("it has no samples".into()),
        _ => None,
    }
}

/// Promotes the chosen cells of `results` into `file`; returns the ids promoted and the cells
/// refused with the reason. A promoted cell replaces its previous baseline whole.
pub fn promote(file: &mut BaselineFile, results: &Results, chosen: impl Fn(&CellResult) -> bool) -> (Vec<String>, Vec<(String, String)>) {
    let env_id = environment_id(&results.environment);
    let (mut promoted, mut refused) = (Vec::new(), Vec::new());
    for cell in results.cells.iter().filter(|c| chosen(c)) {
        if let Some(why) = refusal(cell) {
            if cell.status != super::model::CellStatus::Skipped {
                refused.push((cell.id.clone(), why));
            }
            continue;
        }
        let metrics = cell.metrics.iter().filter_map(|m| baseline_metric(m).map(|b| (m.name.clone(), b))).collect();
        file.cells.insert(
            cell.id.clone(),
            BaselineCell {
                environment: env_id.clone(),
                run: results.run.id.clone(),
                spark_version: cell.spark_version.clone(),
                inputs: cell.inputs.clone(),
                metrics,
            },
        );
        promoted.push(cell.id.clone());
    }
    if !promoted.is_empty() {
        file.environments.insert(env_id, results.environment.clone());
    }
    // Environments no cell refers to any more are dropped.
    let used: std::collections::BTreeSet<&String> = file.cells.values().map(|c| &c.environment).collect();
    file.environments.retain(|id, _| used.contains(id));
    (promoted, refused)
}

fn baseline_metric(m: &MetricResult) -> Option<BaselineMetric> {
    Some(BaselineMetric { unit: m.unit, direction: m.direction, samples: m.samples.clone(), summary: m.summary.clone()? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_baseline_file_survives_a_yaml_round_trip() {
        let env = Environment { loadbuild: "0.1.0".into(), backend: "local".into(), machine: "Linux x86_64, 2 cores".into() };
        let id = environment_id(&env);
        let mut file = BaselineFile::default();
        file.environments.insert(id.clone(), env);
        let summary = SummaryOut { n: 3, mean: 2.0, median: 2.0, stddev: Some(0.1), ci95: Some([1.75, 2.25]) };
        let metric = BaselineMetric { unit: Unit::Seconds, direction: Direction::LowerIsBetter, samples: vec![1.9, 2.0, 2.1], summary };
        file.cells.insert(
            "411-airflow-standalone-none-read-1gb".into(),
            BaselineCell {
                environment: id,
                run: "abc".into(),
                spark_version: Some("4.1.1".into()),
                inputs: [("dataset[1gb]".to_string(), "d1".to_string())].into(),
                metrics: [("wall_time_s".to_string(), metric)].into(),
            },
        );
        let text = render(&file);
        assert!(text.contains("wall_time_s:"), "{text}");
        assert_eq!(parse(&text).expect("parses back"), file);
    }

    #[test]
    fn a_dangling_environment_is_an_error_naming_the_cell() {
        let text = "schema: 1\nenvironments: {}\ncells:\n  c1:\n    environment: nope\n    run: r\n    metrics: {}\n";
        let e = parse(text).unwrap_err();
        assert!(e.contains("line 4: cell `c1` names environment `nope`"), "{e}");
    }
}
