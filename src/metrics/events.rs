//! The few fields of Spark's listener events that the metrics need, under Spark's exact names.
//!
//! Each struct borrows from the line it was parsed from and lists only what is read; serde skips
//! (but still syntax-checks) every other field, so fields added by newer Spark versions are fine.
use std::borrow::Cow;

use serde::Deserialize;

type Text<'a> = Cow<'a, str>;

/// Only the discriminator, for lines that do not start with `{"Event":"…"`.
#[derive(Deserialize)]
pub(crate) struct Head<'a> {
    #[serde(rename = "Event", borrow)]
    pub event: Text<'a>,
}

#[derive(Deserialize)]
pub(crate) struct LogStart<'a> {
    #[serde(rename = "Spark Version", borrow)]
    pub spark_version: Text<'a>,
}

#[derive(Deserialize)]
pub(crate) struct ApplicationStart<'a> {
    #[serde(rename = "App Name", borrow)]
    pub app_name: Text<'a>,
    #[serde(rename = "App ID", borrow, default)]
    pub app_id: Option<Text<'a>>,
    #[serde(rename = "Timestamp")]
    pub timestamp: i64,
}

#[derive(Deserialize)]
pub(crate) struct ApplicationEnd {
    #[serde(rename = "Timestamp")]
    pub timestamp: i64,
}

#[derive(Deserialize)]
pub(crate) struct EnvironmentUpdate<'a> {
    #[serde(rename = "Spark Properties", borrow)]
    pub spark: SparkProperties<'a>,
}

#[derive(Deserialize)]
pub(crate) struct SparkProperties<'a> {
    #[serde(rename = "spark.master", borrow, default)]
    pub master: Option<Text<'a>>,
    #[serde(rename = "spark.executor.cores", borrow, default)]
    pub executor_cores: Option<Text<'a>>,
}

#[derive(Deserialize)]
pub(crate) struct ExecutorAdded<'a> {
    #[serde(rename = "Timestamp")]
    pub timestamp: i64,
    #[serde(rename = "Executor ID", borrow)]
    pub executor_id: Text<'a>,
    #[serde(rename = "Executor Info")]
    pub info: ExecutorInfo,
}

#[derive(Deserialize)]
pub(crate) struct ExecutorInfo {
    #[serde(rename = "Total Cores")]
    pub total_cores: u32,
}

#[derive(Deserialize)]
pub(crate) struct ExecutorRemoved<'a> {
    #[serde(rename = "Timestamp")]
    pub timestamp: i64,
    #[serde(rename = "Executor ID", borrow)]
    pub executor_id: Text<'a>,
    #[serde(rename = "Removed Reason", borrow, default)]
    pub reason: Option<Text<'a>>,
}

/// Job-level local properties: the attribution tags live here.
#[derive(Deserialize, Default)]
pub(crate) struct JobProperties<'a> {
    #[serde(rename = "spark.job.tags", borrow, default)]
    pub tags: Option<Text<'a>>,
    #[serde(rename = "spark.job.description", borrow, default)]
    pub description: Option<Text<'a>>,
    /// The SQL execution that submitted the job (Spark sets it on every job of a query).
    #[serde(rename = "spark.sql.execution.id", borrow, default)]
    pub sql_execution_id: Option<Text<'a>>,
}

#[derive(Deserialize)]
pub(crate) struct JobStart<'a> {
    #[serde(rename = "Job ID")]
    pub job_id: u64,
    #[serde(rename = "Submission Time", default)]
    pub submission_time: Option<i64>,
    #[serde(rename = "Stage IDs")]
    pub stage_ids: Vec<u64>,
    #[serde(rename = "Properties", borrow, default)]
    pub properties: JobProperties<'a>,
}

#[derive(Deserialize)]
pub(crate) struct JobEnd<'a> {
    #[serde(rename = "Job ID")]
    pub job_id: u64,
    #[serde(rename = "Completion Time", default)]
    pub completion_time: Option<i64>,
    #[serde(rename = "Job Result", borrow)]
    pub result: JobResult<'a>,
}

#[derive(Deserialize)]
pub(crate) struct JobResult<'a> {
    #[serde(rename = "Result", borrow)]
    pub result: Text<'a>,
    #[serde(rename = "Exception", borrow, default)]
    pub exception: Option<JobException<'a>>,
}

#[derive(Deserialize)]
pub(crate) struct JobException<'a> {
    #[serde(rename = "Message", borrow, default)]
    pub message: Option<Text<'a>>,
}

#[derive(Deserialize)]
pub(crate) struct StageEvent<'a> {
    #[serde(rename = "Stage Info", borrow)]
    pub info: StageInfo<'a>,
    /// On `SparkListenerStageSubmitted`: the properties of the job that submitted this attempt.
    #[serde(rename = "Properties", borrow, default)]
    pub properties: Option<JobProperties<'a>>,
}

#[derive(Deserialize)]
pub(crate) struct StageInfo<'a> {
    #[serde(rename = "Stage ID")]
    pub stage_id: u64,
    #[serde(rename = "Stage Attempt ID")]
    pub attempt: u32,
    #[serde(rename = "Failure Reason", borrow, default)]
    pub failure_reason: Option<Text<'a>>,
}

#[derive(Deserialize)]
pub(crate) struct TaskEnd<'a> {
    #[serde(rename = "Stage ID")]
    pub stage_id: u64,
    #[serde(rename = "Stage Attempt ID")]
    pub stage_attempt: u32,
    #[serde(rename = "Task End Reason", borrow)]
    pub reason: TaskEndReason<'a>,
    #[serde(rename = "Task Info")]
    pub info: TaskInfo,
    /// Absent on some failures (e.g. an executor lost before reporting).
    #[serde(rename = "Task Metrics", default)]
    pub metrics: Option<TaskMetrics>,
}

#[derive(Deserialize)]
pub(crate) struct TaskEndReason<'a> {
    #[serde(rename = "Reason", borrow)]
    pub reason: Text<'a>,
    #[serde(rename = "Description", borrow, default)]
    pub description: Option<Text<'a>>,
    #[serde(rename = "Full Stack Trace", borrow, default)]
    pub full_stack_trace: Option<Text<'a>>,
    #[serde(rename = "Loss Reason", borrow, default)]
    pub loss_reason: Option<Text<'a>>,
}

#[derive(Deserialize)]
pub(crate) struct TaskInfo {
    #[serde(rename = "Launch Time")]
    pub launch_time: i64,
    #[serde(rename = "Finish Time")]
    pub finish_time: i64,
    #[serde(rename = "Failed")]
    pub failed: bool,
    #[serde(rename = "Killed", default)]
    pub killed: bool,
}

/// Times are ms except the `…CPU Time` fields, which are ns.
#[derive(Deserialize, Default)]
pub(crate) struct TaskMetrics {
    #[serde(rename = "Executor Run Time")]
    pub run_time_ms: u64,
    #[serde(rename = "Executor CPU Time", default)]
    pub cpu_time_ns: u64,
    #[serde(rename = "JVM GC Time")]
    pub gc_time_ms: u64,
    #[serde(rename = "Memory Bytes Spilled")]
    pub memory_spilled: u64,
    #[serde(rename = "Disk Bytes Spilled")]
    pub disk_spilled: u64,
    #[serde(rename = "Shuffle Read Metrics", default)]
    pub shuffle_read: ShuffleRead,
    #[serde(rename = "Shuffle Write Metrics", default)]
    pub shuffle_write: ShuffleWrite,
    #[serde(rename = "Input Metrics", default)]
    pub input: Input,
}

#[derive(Deserialize, Default)]
pub(crate) struct ShuffleRead {
    #[serde(rename = "Fetch Wait Time")]
    pub fetch_wait_ms: u64,
    #[serde(rename = "Remote Bytes Read")]
    pub remote_bytes: u64,
    #[serde(rename = "Local Bytes Read")]
    pub local_bytes: u64,
}

#[derive(Deserialize, Default)]
pub(crate) struct ShuffleWrite {
    #[serde(rename = "Shuffle Bytes Written")]
    pub bytes: u64,
}

#[derive(Deserialize, Default)]
pub(crate) struct Input {
    #[serde(rename = "Bytes Read")]
    pub bytes: u64,
    #[serde(rename = "Records Read")]
    pub records: u64,
}

/// `SparkListenerSQLExecutionStart` and `SparkListenerSQLAdaptiveExecutionUpdate`: the physical
/// plan of one SQL execution (the adaptive update carries the plan as re-optimised so far).
#[derive(Deserialize)]
pub(crate) struct SqlPlanEvent<'a> {
    #[serde(rename = "executionId")]
    pub execution_id: u64,
    #[serde(rename = "sparkPlanInfo", borrow)]
    pub plan: PlanNode<'a>,
}

/// One node of `sparkPlanInfo`, recursively.
#[derive(Deserialize)]
pub(crate) struct PlanNode<'a> {
    #[serde(rename = "nodeName", borrow)]
    pub name: Text<'a>,
    #[serde(rename = "children", borrow, default)]
    pub children: Vec<PlanNode<'a>>,
}
