//! Reading a cell's `metrics.json` (`docs/runs.md`): per-execution samples of each metric,
//! the run's status and error.
//!
//! Samples come from `metrics.executions[].tiers.*`, one per measured execution, so a cell run
//! with 5 repetitions gives 5 samples. Only the fields the report needs are read; unknown
//! fields are ignored so the metrics action can add some.
use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::metrics::{Direction, Unit};

/// The `metrics.json` schema this reader knows.
pub const METRICS_SCHEMA: u32 = 1;

/// What the report knows about one measured cell.
#[derive(Debug, Clone, PartialEq)]
pub struct CellSamples {
    pub run_succeeded: bool,
    pub error: Option<String>,
    pub spark_version: Option<String>,
    /// The cell-level `succeeded` stability metric, when present.
    pub succeeded: Option<bool>,
    pub metrics: BTreeMap<String, MetricSamples>,
    /// How many repetition sets (Spark applications) the samples come from.
    pub sets: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetricSamples {
    pub unit: Unit,
    pub direction: Direction,
    /// Values of the executions that have one, in execution order.
    pub values: Vec<f64>,
    /// Why an execution had no value (the first such reason), when some had none.
    pub absent: Option<String>,
}

impl CellSamples {
    /// Failed if the run says so, or if the measured executions did not all succeed.
    pub fn failed(&self) -> bool {
        !self.run_succeeded || self.succeeded == Some(false)
    }

    /// One application's measurement as one sample per metric: the median of its measured
    /// executions after the first `warmups` (all of them when no more remain). The
    /// executions of one application share its JIT, caches and server, so they are not
    /// independent samples; the application is.
    pub fn per_application(mut self, warmups: usize) -> CellSamples {
        for m in self.metrics.values_mut() {
            if m.values.is_empty() {
                continue;
            }
            let kept = if m.values.len() > warmups { &m.values[warmups..] } else { &m.values[..] };
            let median = crate::stats::median(kept).expect("metric values are finite and not empty");
            m.values = vec![median];
        }
        self
    }

    /// One cell's repetition sets as one measurement: samples concatenated in set order; a
    /// failure in any set fails the cell (its error is the first set's that failed).
    pub fn merge(sets: Vec<CellSamples>) -> CellSamples {
        let mut sets = sets.into_iter();
        let mut out = sets.next().expect("at least one repetition set");
        for s in sets {
            if s.failed() && !out.failed() {
                out.error = s.error.clone();
            }
            out.run_succeeded &= s.run_succeeded;
            out.succeeded = match (out.succeeded, s.succeeded) {
                (Some(a), Some(b)) => Some(a && b),
                (a, b) => a.or(b),
            };
            out.spark_version = out.spark_version.or(s.spark_version);
            out.sets += s.sets;
            for (name, m) in s.metrics {
                match out.metrics.get_mut(&name) {
                    Some(have) => {
                        have.values.extend(m.values);
                        have.absent = have.absent.take().or(m.absent);
                    }
                    None => {
                        out.metrics.insert(name, m);
                    }
                }
            }
        }
        out
    }
}

#[derive(Deserialize)]
struct File {
    schema: u32,
    run_status: String,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    metrics: Option<Cell>,
}

#[derive(Deserialize)]
struct Cell {
    #[serde(default)]
    spark_version: Option<String>,
    #[serde(default)]
    executions: Vec<Execution>,
    #[serde(default)]
    cell: Option<Tiers>,
}

#[derive(Deserialize)]
struct Execution {
    execution: u32,
    tiers: Tiers,
}

#[derive(Deserialize, Default)]
struct Tiers {
    #[serde(default)]
    stability: Vec<Metric>,
    #[serde(default)]
    efficiency: Vec<Metric>,
    #[serde(default)]
    performance: Vec<Metric>,
}

impl Tiers {
    fn all(&self) -> impl Iterator<Item = &Metric> {
        self.stability.iter().chain(&self.efficiency).chain(&self.performance)
    }
}

#[derive(Deserialize)]
struct Metric {
    name: String,
    unit: Unit,
    direction: Direction,
    measured: Measured,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Measured {
    Value(f64),
    Absent { reason: String },
}

/// Reads `metrics.json` from a cell's output directory.
pub fn read(dir: &Path) -> Result<CellSamples, String> {
    let path = dir.join("metrics.json");
    let bytes = std::fs::read(&path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    parse(&bytes).map_err(|e| format!("`{}`: {e}", path.display()))
}

/// Parses the text of a `metrics.json`.
pub fn parse(bytes: &[u8]) -> Result<CellSamples, String> {
    let file: File = serde_json::from_slice(bytes).map_err(|e| format!("not a metrics file (docs/runs.md): {e}"))?;
    if file.schema != METRICS_SCHEMA {
        return Err(format!("schema `{}` is not one this loadbuild reads (`{METRICS_SCHEMA}`): rebuild the metrics nodes", file.schema));
    }
    let run_succeeded = match file.run_status.as_str() {
        "succeeded" => true,
        "failed" => false,
        other => return Err(format!("`run_status` is `{other}`, not `succeeded` or `failed`")),
    };
    let mut out = CellSamples { run_succeeded, error: file.error, spark_version: None, succeeded: None, metrics: BTreeMap::new(), sets: 1 };
    let Some(cell) = file.metrics else { return Ok(out) };
    out.spark_version = cell.spark_version;
    out.succeeded = cell.cell.as_ref().and_then(|t| t.all().find(|m| m.name == "succeeded")).and_then(|m| match m.measured {
        Measured::Value(v) => Some(v >= 1.0),
        Measured::Absent { .. } => None,
    });
    let mut executions = cell.executions;
    executions.sort_by_key(|e| e.execution);
    for e in &executions {
        for m in e.tiers.all() {
            let entry = out.metrics.entry(m.name.clone()).or_insert_with(|| MetricSamples {
                unit: m.unit,
                direction: m.direction,
                values: Vec::new(),
                absent: None,
            });
            match &m.measured {
                Measured::Value(v) if v.is_finite() => entry.values.push(*v),
                Measured::Value(v) => {
                    entry.absent.get_or_insert_with(|| format!("execution {} gave the non-finite value `{v}`", e.execution));
                }
                Measured::Absent { reason } => {
                    entry.absent.get_or_insert_with(|| format!("execution {}: {reason}", e.execution));
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_per_execution_in_order_and_absences_keep_their_reason() {
        let json = br#"{"schema":1,"cell":"c","run_status":"succeeded","error":null,"metrics":{"parser_version":1,
          "spark_version":"4.1.1",
          "executions":[
            {"execution":2,"jobs":1,"tiers":{"stability":[],"efficiency":[],"performance":[
              {"name":"wall_time_s","tier":"performance","unit":"s","direction":"lower_is_better","source":"x","measured":{"value":2.5}},
              {"name":"input_rows_per_s","tier":"performance","unit":"rows/s","direction":"higher_is_better","source":"x","measured":{"absent":{"reason":"no rows"}}}]}},
            {"execution":1,"jobs":1,"tiers":{"stability":[],"efficiency":[],"performance":[
              {"name":"wall_time_s","tier":"performance","unit":"s","direction":"lower_is_better","source":"x","measured":{"value":2.0}}]}}],
          "cell":{"stability":[{"name":"succeeded","tier":"stability","unit":"bool","direction":"higher_is_better","source":"x","measured":{"value":1}}],"efficiency":[],"performance":[]}}}"#;
        let c = parse(json).expect("valid metrics.json");
        assert!(!c.failed());
        assert_eq!(c.spark_version.as_deref(), Some("4.1.1"));
        let wall = &c.metrics["wall_time_s"];
        assert_eq!(wall.values, vec![2.0, 2.5]);
        assert_eq!(wall.direction, Direction::LowerIsBetter);
        let rows = &c.metrics["input_rows_per_s"];
        assert!(rows.values.is_empty());
        assert_eq!(rows.absent.as_deref(), Some("execution 2: no rows"));
    }

    #[test]
    fn reads_what_the_metrics_action_writes() {
        use crate::metrics::run::{MetricsFile, RunStatus, SCHEMA};
        use crate::metrics::{AppLog, DriverExecution, DriverTimings, cell_metrics};
        let executions =
            (1..=4).map(|k| DriverExecution { execution: k, wall_s: 2.0 + f64::from(k), rows: Some(100), first_result_s: None }).collect();
        let metrics = cell_metrics(&AppLog::default(), &DriverTimings { executions, run_retries: Some(0) });
        let file = MetricsFile {
            schema: SCHEMA,
            cell: "c".into(),
            run_status: RunStatus::Succeeded,
            error: None,
            event_log_error: None,
            history_server: None,
            plan_check: None,
            metrics,
        };
        let c = parse(&serde_json::to_vec(&file).unwrap()).expect("the report reads the metrics action's file");
        assert_eq!(c.metrics["wall_time_s"].values, vec![3.0, 4.0, 5.0, 6.0]);
        assert_eq!(c.metrics["driver_rows_per_s"].values.len(), 4);
        assert!(c.metrics["job_span_s"].values.is_empty() && c.metrics["job_span_s"].absent.is_some());
        assert!(c.failed(), "no jobs in the log: `succeeded` is 0, so the cell failed");
    }

    #[test]
    fn unknown_schema_and_status_are_refused() {
        assert!(parse(br#"{"schema":2,"run_status":"succeeded"}"#).unwrap_err().contains("schema `2`"));
        assert!(parse(br#"{"schema":1,"run_status":"maybe"}"#).unwrap_err().contains("`maybe`"));
        let failed = parse(br#"{"schema":1,"run_status":"failed","error":"boom"}"#).unwrap();
        assert!(failed.failed());
        assert_eq!(failed.error.as_deref(), Some("boom"));
    }
}
