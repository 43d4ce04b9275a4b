//! [`AppLog`]: one application's event log folded into per-execution aggregates.
//!
//! Jobs are attributed to executions by their tags; stages by the job that submitted them;
//! tasks by their stage. Work the driver did not tag (schema inference, other clients) is
//! counted as unattributed and never mixed into an execution's figures.
use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::attribution::{Execution, JobScope};
use super::events::{TaskInfo, TaskMetrics};
use super::fold::Folder;
use super::skew::StageSkew;
use super::{MetricsError, reader};

/// What the metrics need from one application's event log (an intermediate value: the JSON
/// artifact is [`super::CellMetrics`]).
#[derive(Debug, Clone, Default)]
pub struct AppLog {
    pub spark_version: Option<String>,
    pub app_id: Option<String>,
    pub app_name: Option<String>,
    /// `spark.master`, e.g. `local[2]`.
    pub master: Option<String>,
    /// `spark.executor.cores`, when set.
    pub executor_cores: Option<u32>,
    pub app_start_ms: Option<i64>,
    pub app_end_ms: Option<i64>,
    pub executors: Vec<ExecutorSpan>,
    pub executions: BTreeMap<Execution, ExecutionAgg>,
    /// Jobs not attributed to an execution of this run: untagged, or another Connect session's.
    pub unattributed_jobs: u32,
    /// Submission and completion (ms) of each unattributed job, as far as the log tells.
    pub unattributed_spans: Vec<(Option<i64>, Option<i64>)>,
    pub unattributed_tasks: u64,
    /// Non-empty lines read, over all files.
    pub events: u64,
}

/// An executor's lifetime, from `SparkListenerExecutorAdded` to `…Removed` (if any).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExecutorSpan {
    pub id: String,
    pub cores: u32,
    pub added_ms: i64,
    pub removed_ms: Option<i64>,
    pub removed_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobSummary {
    pub job_id: u64,
    pub submitted_ms: Option<i64>,
    pub completed_ms: Option<i64>,
    /// `None` while the job has no `SparkListenerJobEnd` (the log was cut short).
    pub succeeded: Option<bool>,
    pub failure: Option<String>,
}

/// Everything measured about one execution's jobs, stages and tasks.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ExecutionAgg {
    pub jobs: Vec<JobSummary>,
    pub stages_completed: u32,
    pub stages_failed: u32,
    /// Stage attempts numbered above 0 that were submitted.
    pub stage_retries: u32,
    pub tasks: TaskTotals,
    /// Failed tasks whose reason is `ExecutorLostFailure`.
    pub executor_lost_tasks: u32,
    /// Failed tasks whose failure text shows an out-of-memory condition.
    pub oom_tasks: u32,
    pub oom_sample: Option<String>,
    pub worst_skew: Option<StageSkew>,
    /// Stage attempts for which skew is defined (≥ 2 successful tasks, median > 0 ms).
    pub stages_with_skew: u32,
    /// The physical plan of each SQL execution that submitted this execution's jobs, by SQL
    /// execution id (the last plan the log gave: the final adaptive plan when AQE re-planned).
    pub plans: Vec<SqlPlan>,
}

/// One SQL execution's physical plan, as `sparkPlanInfo` names its operators.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SqlPlan {
    pub sql_execution_id: u64,
    /// Operator name → how many nodes of the plan carry it (`WholeStageCodegen (2)` counts as
    /// `WholeStageCodegen`; names are trimmed).
    pub operators: BTreeMap<String, u32>,
    /// The plan tree, one operator per line, indented two spaces per level.
    pub tree: String,
}

impl SqlPlan {
    pub(crate) fn from_node(sql_execution_id: u64, root: &super::events::PlanNode<'_>) -> SqlPlan {
        let mut plan = SqlPlan { sql_execution_id, ..SqlPlan::default() };
        plan.walk(root, 0);
        plan
    }

    fn walk(&mut self, node: &super::events::PlanNode<'_>, depth: usize) {
        let name = operator_name(&node.name);
        *self.operators.entry(name.to_string()).or_default() += 1;
        self.tree.push_str(&"  ".repeat(depth));
        self.tree.push_str(node.name.trim());
        self.tree.push('\n');
        for child in &node.children {
            self.walk(child, depth + 1);
        }
    }
}

/// `WholeStageCodegen (2)` → `WholeStageCodegen`; `Scan parquet ` → `Scan parquet`.
fn operator_name(name: &str) -> &str {
    let name = name.trim();
    match name.rsplit_once(" (") {
        Some((head, tail)) if tail.strip_suffix(')').is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())) => head,
        _ => name,
    }
}

/// Sums over the `SparkListenerTaskEnd` events of an execution, failed attempts included.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TaskTotals {
    pub count: u64,
    pub failed: u64,
    pub killed: u64,
    /// Tasks that reported `Task Metrics` (the sums below cover only these).
    pub with_metrics: u64,
    /// `Finish Time − Launch Time`, ms.
    pub duration_ms: u64,
    pub run_time_ms: u64,
    pub cpu_time_ns: u64,
    pub gc_time_ms: u64,
    pub memory_spilled: u64,
    pub disk_spilled: u64,
    pub input_bytes: u64,
    pub input_records: u64,
    /// Input of the task attempts that succeeded (neither failed nor killed): the numerators
    /// of throughput, so a retried task's partial read is not counted twice.
    pub ok_input_bytes: u64,
    pub ok_input_records: u64,
    pub shuffle_read_bytes: u64,
    pub fetch_wait_ms: u64,
    pub shuffle_write_bytes: u64,
}

impl AppLog {
    /// The measured executions (warm-up excluded), in order.
    pub fn measured(&self) -> impl Iterator<Item = (u32, &ExecutionAgg)> {
        self.executions.iter().filter_map(|(e, agg)| match e {
            Execution::Measured(k) => Some((*k, agg)),
            Execution::Warmup => None,
        })
    }

    /// Executors that existed at some point in `[start_ms, end_ms]`, with their overlap in ms.
    pub fn executor_overlap(&self, start_ms: i64, end_ms: i64) -> Vec<(&ExecutorSpan, i64)> {
        self.executors
            .iter()
            .filter_map(|x| {
                let from = x.added_ms.max(start_ms);
                let to = x.removed_ms.unwrap_or(i64::MAX).min(end_ms);
                (to >= from).then_some((x, to - from))
            })
            .collect()
    }
}

impl ExecutionAgg {
    /// First job submission to last job completion; `None` without jobs or if any bound is
    /// unknown (`min` over options is `None` as soon as one is).
    pub fn job_span_ms(&self) -> Option<(i64, i64)> {
        let start = self.jobs.iter().map(|j| j.submitted_ms).min()??;
        let end = self.jobs.iter().map(|j| j.completed_ms).try_fold(i64::MIN, |m, c| c.map(|c| m.max(c)))?;
        Some((start, end))
    }
}

/// Reads the event log at `path`: a plain JSON-lines file, a `.zstd` file, or a Spark rolling
/// directory `eventlog_v2_<app>/` (its `events_<N>_…` files in order of N). Every tagged job of
/// the application counts.
pub fn read_event_log(path: &Path) -> Result<AppLog, MetricsError> {
    read_event_log_scoped(path, &JobScope::Application)
}

/// [`read_event_log`], counting only the jobs in `scope` (e.g. one session of a shared Spark
/// Connect server); other jobs are counted in [`AppLog::unattributed_jobs`].
pub fn read_event_log_scoped(path: &Path, scope: &JobScope) -> Result<AppLog, MetricsError> {
    let files = reader::event_files(path)?;
    let mut folder = Folder::new(scope.clone());
    reader::for_each_line(&files, |line, file, n| folder.line(line, file, n))?;
    let log = folder.finish();
    if log.events == 0 {
        return Err(MetricsError::Empty { path: path.to_path_buf() });
    }
    Ok(log)
}

impl TaskTotals {
    pub(crate) fn merge(&mut self, o: &TaskTotals) {
        self.count += o.count;
        self.failed += o.failed;
        self.killed += o.killed;
        self.with_metrics += o.with_metrics;
        self.duration_ms += o.duration_ms;
        self.run_time_ms += o.run_time_ms;
        self.cpu_time_ns += o.cpu_time_ns;
        self.gc_time_ms += o.gc_time_ms;
        self.memory_spilled += o.memory_spilled;
        self.disk_spilled += o.disk_spilled;
        self.input_bytes += o.input_bytes;
        self.input_records += o.input_records;
        self.ok_input_bytes += o.ok_input_bytes;
        self.ok_input_records += o.ok_input_records;
        self.shuffle_read_bytes += o.shuffle_read_bytes;
        self.fetch_wait_ms += o.fetch_wait_ms;
        self.shuffle_write_bytes += o.shuffle_write_bytes;
    }

    pub(crate) fn add(&mut self, info: &TaskInfo, metrics: Option<&TaskMetrics>, duration_ms: u64) {
        self.count += 1;
        self.failed += u64::from(info.failed);
        self.killed += u64::from(info.killed);
        self.duration_ms += duration_ms;
        let Some(m) = metrics else { return };
        self.with_metrics += 1;
        self.run_time_ms += m.run_time_ms;
        self.cpu_time_ns += m.cpu_time_ns;
        self.gc_time_ms += m.gc_time_ms;
        self.memory_spilled += m.memory_spilled;
        self.disk_spilled += m.disk_spilled;
        self.input_bytes += m.input.bytes;
        self.input_records += m.input.records;
        if !info.failed && !info.killed {
            self.ok_input_bytes += m.input.bytes;
            self.ok_input_records += m.input.records;
        }
        self.shuffle_read_bytes += m.shuffle_read.remote_bytes + m.shuffle_read.local_bytes;
        self.fetch_wait_ms += m.shuffle_read.fetch_wait_ms;
        self.shuffle_write_bytes += m.shuffle_write.bytes;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Minimal events in Spark's shapes (the real fixtures have no stage retry or failed job).
    const LINES: &[&str] = &[
        r#"{"Event":"SparkListenerJobStart","Job ID":7,"Submission Time":1000,"Stage IDs":[3],"Properties":{"spark.job.tags":"loadbuild-exec-1"}}"#,
        r#"{"Event":"SparkListenerStageSubmitted","Stage Info":{"Stage ID":3,"Stage Attempt ID":0}}"#,
        r#"{"Event":"SparkListenerStageCompleted","Stage Info":{"Stage ID":3,"Stage Attempt ID":0,"Failure Reason":"FetchFailed"}}"#,
        r#"{"Event":"SparkListenerStageSubmitted","Stage Info":{"Stage ID":3,"Stage Attempt ID":1}}"#,
        r#"{"Event":"SparkListenerJobEnd","Job ID":7,"Completion Time":4000,"Job Result":{"Result":"JobFailed","Exception":{"Message":"boom"}}}"#,
        r#"{"Event":"SparkListenerJobStart","Job ID":8,"Submission Time":5000,"Stage IDs":[4],"Properties":{"spark.job.tags":"loadbuild-exec-1"}}"#,
    ];

    fn fold(lines: &[&str]) -> AppLog {
        let mut folder = Folder::default();
        for (i, l) in lines.iter().enumerate() {
            folder.line(l.as_bytes(), Path::new("t"), i as u64 + 1).expect("valid");
        }
        folder.finish()
    }

    #[test]
    fn retries_failed_stages_and_unfinished_jobs_are_recorded() {
        let log = fold(LINES);
        let agg = &log.executions[&Execution::Measured(1)];
        assert_eq!((agg.stage_retries, agg.stages_failed), (1, 1));
        assert_eq!(agg.jobs[0].succeeded, Some(false));
        assert_eq!(agg.jobs[0].failure.as_deref(), Some("boom"));
        assert_eq!(agg.jobs[1].succeeded, None, "job 8 never ended");
        assert_eq!(agg.job_span_ms(), None, "an unfinished job leaves no window");
        assert_eq!(fold(&LINES[..5]).executions[&Execution::Measured(1)].job_span_ms(), Some((1000, 4000)));
    }

    #[test]
    fn throughput_numerators_count_successful_task_attempts_only() {
        let task = |failed: bool, records: u64| {
            format!(
                r#"{{"Event":"SparkListenerTaskEnd","Stage ID":3,"Stage Attempt ID":0,"Task End Reason":{{"Reason":"{}"}},"Task Info":{{"Launch Time":1000,"Finish Time":2000,"Failed":{failed}}},"Task Metrics":{{"Executor Run Time":900,"JVM GC Time":0,"Memory Bytes Spilled":0,"Disk Bytes Spilled":0,"Input Metrics":{{"Bytes Read":{},"Records Read":{records}}}}}}}"#,
                if failed { "ExceptionFailure" } else { "Success" },
                records * 10
            )
        };
        let (bad, good) = (task(true, 400), task(false, 1000));
        let lines = [LINES[0], LINES[1], bad.as_str(), good.as_str()];
        let log = fold(&lines);
        let t = &log.executions[&Execution::Measured(1)].tasks;
        assert_eq!((t.input_records, t.ok_input_records), (1400, 1000), "the failed attempt's partial read is not throughput");
        assert_eq!(t.ok_input_bytes, 10_000);
    }
}
