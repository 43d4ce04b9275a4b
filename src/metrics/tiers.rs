//! Assembles the three tiers per measured execution and per cell from an [`AppLog`].
//!
//! A cell's scope is its measured executions only: the warm-up and untagged jobs never count.
//! Executions the driver reports but the log lacks still appear, and fail `succeeded`.
use std::collections::BTreeSet;

use serde::Serialize;

use super::applog::{AppLog, ExecutionAgg, SqlPlan, TaskTotals};
use super::attribution::Execution;
use super::driver::DriverTimings;
use super::efficiency::efficiency;
use super::metric::{Measured, Metric};
use super::performance::{DRIVER_METRICS, median_over, performance};
use super::stability::{RUN_RETRIES, SUCCEEDED, stability};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tiers {
    pub stability: Vec<Metric>,
    pub efficiency: Vec<Metric>,
    pub performance: Vec<Metric>,
}

impl Tiers {
    pub fn all(&self) -> impl Iterator<Item = &Metric> {
        self.stability.iter().chain(&self.efficiency).chain(&self.performance)
    }

    pub fn get(&self, name: &str) -> Option<&Metric> {
        self.all().find(|m| m.name == name)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExecutionMetrics {
    /// k of the `loadbuild-exec-<k>` tag.
    pub execution: u32,
    pub jobs: usize,
    /// Jobs the driver did not tag (or another Connect session's) that ran, at least in part,
    /// inside this execution's window (its first job's submission to its last job's end): work
    /// that shared the machine with the measurement. 0 when the window is unknown.
    pub overlapping_unattributed_jobs: u32,
    /// The physical plan of each SQL execution behind this execution's jobs (empty when the log
    /// holds no SQL events, e.g. an application read through the History Server's REST API).
    pub plans: Vec<SqlPlan>,
    pub tiers: Tiers,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellMetrics {
    pub parser_version: u32,
    pub spark_version: Option<String>,
    pub app_id: Option<String>,
    /// Jobs of the warm-up, excluded from every metric.
    pub warmup_jobs: usize,
    /// Jobs without a loadbuild tag, excluded from every metric.
    pub unattributed_jobs: u32,
    /// Tasks of stages no tagged job ran, excluded from every metric.
    pub unattributed_tasks: u64,
    pub executions: Vec<ExecutionMetrics>,
    /// Stability and efficiency pooled over the measured executions; performance is their median.
    pub cell: Tiers,
}

impl CellMetrics {
    /// A run that failed did not succeed, whatever its jobs did (the driver may have failed
    /// after them, e.g. verifying a write): the cell's `succeeded` becomes 0, naming the error.
    pub fn mark_run_failed(&mut self, error: &str) {
        let first = error.lines().next().unwrap_or(error);
        for m in self.cell.stability.iter_mut().filter(|m| m.name == SUCCEEDED.name) {
            m.measured = Measured::Value(0.0);
            m.detail = Some(format!("the run failed: {first}"));
        }
    }

    /// For a run without a usable event log: every metric read from the log becomes absent with
    /// `reason` (an empty log would otherwise read as "0 failures"); `succeeded`, `run_retries`
    /// and the driver's own timings stay.
    pub fn without_event_log(&mut self, reason: &str) {
        let keep = |m: &Metric| m.name == SUCCEEDED.name || m.name == RUN_RETRIES.name || DRIVER_METRICS.contains(&m.name);
        let tiers = std::iter::once(&mut self.cell).chain(self.executions.iter_mut().map(|e| &mut e.tiers));
        for tiers in tiers {
            for m in tiers.stability.iter_mut().chain(&mut tiers.efficiency).chain(&mut tiers.performance).filter(|m| !keep(m)) {
                m.measured = Measured::Absent { reason: reason.to_string() };
                m.detail = None;
            }
        }
    }
}

/// The executions a tier looks at, with the application they belong to.
pub(crate) struct Scope<'a> {
    pub log: &'a AppLog,
    pub executions: Vec<u32>,
    pub aggs: Vec<&'a ExecutionAgg>,
    /// From the first job submitted to the last job completed, over all executions in scope.
    pub window: Option<(i64, i64)>,
}

impl Scope<'_> {
    pub(crate) fn totals(&self) -> TaskTotals {
        let mut t = TaskTotals::default();
        for a in &self.aggs {
            t.merge(&a.tasks);
        }
        t
    }

    /// Core-milliseconds the executors offered in `[start, end]`.
    pub(crate) fn cores_ms(&self, start: i64, end: i64) -> Result<f64, &'static str> {
        if !self.log.executors.is_empty() {
            let overlap = self.log.executor_overlap(start, end);
            return Ok(overlap.iter().map(|(x, ms)| f64::from(x.cores) * *ms as f64).sum());
        }
        match self.log.master.as_deref().and_then(local_cores) {
            Some(n) => Ok(f64::from(n) * (end - start) as f64),
            None => Err("no `SparkListenerExecutorAdded` event and `spark.master` is not `local[N]`"),
        }
    }
}

/// `local[4]` and `local[4,2]` → 4; `local` → 1; `local[*]` and cluster masters → `None`.
fn local_cores(master: &str) -> Option<u32> {
    if master == "local" {
        return Some(1);
    }
    let inner = master.strip_prefix("local[")?.strip_suffix(']')?;
    inner.split(',').next()?.trim().parse().ok()
}

/// Metrics for each measured execution and for the cell as a whole.
pub fn cell_metrics(log: &AppLog, driver: &DriverTimings) -> CellMetrics {
    let empty = ExecutionAgg::default();
    let ks: BTreeSet<u32> = log.measured().map(|(k, _)| k).chain(driver.executions.iter().map(|d| d.execution)).collect();
    let agg = |k: u32| log.executions.get(&Execution::Measured(k)).unwrap_or(&empty);
    let scope = |ks: Vec<u32>| {
        let aggs: Vec<&ExecutionAgg> = ks.iter().map(|&k| agg(k)).collect();
        let spans: Option<Vec<(i64, i64)>> = aggs.iter().map(|a| a.job_span_ms()).collect();
        let window = spans.filter(|s| !s.is_empty()).map(|s| {
            let start = s.iter().map(|w| w.0).min().expect("non-empty");
            (start, s.iter().map(|w| w.1).max().expect("non-empty"))
        });
        Scope { log, executions: ks, aggs, window }
    };
    let executions: Vec<ExecutionMetrics> = ks
        .iter()
        .map(|&k| {
            let s = scope(vec![k]);
            ExecutionMetrics {
                execution: k,
                jobs: agg(k).jobs.len(),
                overlapping_unattributed_jobs: s.window.map_or(0, |w| overlapping(log, w)),
                plans: agg(k).plans.clone(),
                tiers: Tiers {
                    stability: stability(&s),
                    efficiency: efficiency(&s),
                    performance: performance(agg(k), driver.execution(k)),
                },
            }
        })
        .collect();
    let all = scope(ks.into_iter().collect());
    let mut cell_stability = stability(&all);
    cell_stability.push(match driver.run_retries {
        Some(n) => RUN_RETRIES.value(n.into()),
        None => RUN_RETRIES.absent("the caller did not say how often the run was retried"),
    });
    let perf: Vec<&[Metric]> = executions.iter().map(|e| e.tiers.performance.as_slice()).collect();
    CellMetrics {
        parser_version: super::PARSER_VERSION,
        spark_version: log.spark_version.clone(),
        app_id: log.app_id.clone(),
        warmup_jobs: log.executions.get(&Execution::Warmup).map_or(0, |w| w.jobs.len()),
        unattributed_jobs: log.unattributed_jobs,
        unattributed_tasks: log.unattributed_tasks,
        cell: Tiers { stability: cell_stability, efficiency: efficiency(&all), performance: median_over(&perf) },
        executions,
    }
}

/// Unattributed jobs whose span meets `[start, end]`; a job whose end is unknown (the log was cut
/// short) counts as running to the end of the log, one whose submission is unknown is not counted.
fn overlapping(log: &AppLog, (start, end): (i64, i64)) -> u32 {
    let meets = |&&(from, to): &&(Option<i64>, Option<i64>)| from.is_some_and(|f| f <= end && to.is_none_or(|t| t >= start));
    log.unattributed_spans.iter().filter(meets).count() as u32
}

#[cfg(test)]
mod tests {
    use super::super::driver::DriverExecution;
    use super::*;

    #[test]
    fn execution_the_driver_ran_but_the_log_lacks_is_a_failure_not_a_zero() {
        let driver = DriverTimings {
            executions: vec![DriverExecution { execution: 1, wall_s: 2.0, rows: Some(10), first_result_s: None }],
            run_retries: Some(2),
        };
        let m = cell_metrics(&AppLog::default(), &driver);
        assert_eq!(m.executions.len(), 1);
        let ok = m.cell.get("succeeded").expect("succeeded");
        assert_eq!(ok.value(), Some(0.0));
        assert_eq!(ok.detail.as_deref(), Some("no jobs tagged `loadbuild-exec-1`"));
        let value = |n: &str| m.cell.get(n).and_then(Metric::value);
        assert_eq!(value("run_retries"), Some(2.0));
        assert_eq!(value("driver_rows_per_s"), Some(5.0));
        assert_eq!(value("cpu_time_ratio"), None, "no tasks: absent, not 0");
        assert_eq!(value("job_span_s"), None);
    }

    #[test]
    fn local_master_gives_its_thread_count() {
        assert_eq!(local_cores("local[2]"), Some(2));
        assert_eq!(local_cores("local[2,4]"), Some(2));
        assert_eq!(local_cores("local"), Some(1));
        assert_eq!(local_cores("local[*]"), None);
        assert_eq!(local_cores("spark://m:7077"), None);
    }
}
