//! The History Server's REST fields → the listener events the event-log fold reads.
//!
//! Each job, stage attempt, task and executor the server keeps is turned into the event Spark
//! would have logged for it (`SparkListenerJobStart` with the job's tags, `…TaskEnd` with the
//! task's metrics, …) and fed to the same [`Folder`], so both sources share every definition.
//! What REST lacks: stage-submission properties (a stage belongs to the first job listing it)
//! and a failed job's exception text (only `detail` misses it). Tasks are paged through
//! `taskList`; the server keeps at most `spark.ui.retainedJobs/Stages/Tasks` of them.
use std::borrow::Cow;

use serde::Deserialize;

use super::super::events as ev;
use super::super::fold::Folder;
use super::super::{AppLog, JobScope};
use super::{HistoryError, HistoryServer};

const PAGE: usize = 1000;

#[derive(Deserialize)]
pub(super) struct Application {
    pub name: String,
    pub attempts: Vec<Attempt>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Attempt {
    start_time_epoch: i64,
    end_time_epoch: i64,
    completed: bool,
    app_spark_version: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Job {
    job_id: u64,
    description: Option<String>,
    submission_time: Option<String>,
    completion_time: Option<String>,
    stage_ids: Vec<u64>,
    #[serde(default)]
    job_tags: Vec<String>,
    status: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Stage {
    status: String,
    stage_id: u64,
    attempt_id: u32,
    failure_reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Task {
    launch_time: String,
    duration: Option<i64>,
    status: String,
    error_message: Option<String>,
    task_metrics: Option<TaskMetrics>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskMetrics {
    executor_run_time: u64,
    executor_cpu_time: u64,
    jvm_gc_time: u64,
    memory_bytes_spilled: u64,
    disk_bytes_spilled: u64,
    input_metrics: InputMetrics,
    shuffle_read_metrics: ShuffleReadMetrics,
    shuffle_write_metrics: ShuffleWriteMetrics,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InputMetrics {
    bytes_read: u64,
    records_read: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ShuffleReadMetrics {
    fetch_wait_time: u64,
    remote_bytes_read: u64,
    local_bytes_read: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ShuffleWriteMetrics {
    bytes_written: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Executor {
    id: String,
    total_cores: u32,
    add_time: String,
    remove_time: Option<String>,
    remove_reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Environment {
    spark_properties: Vec<(String, String)>,
}

pub(super) fn app_log(hs: &HistoryServer, app: &str, scope: &JobScope) -> Result<AppLog, HistoryError> {
    let info = hs.application(app)?;
    let mut jobs: Vec<Job> = hs.json(&format!("applications/{app}/jobs"))?;
    let mut stages: Vec<Stage> = hs.json(&format!("applications/{app}/stages"))?;
    let executors: Vec<Executor> = hs.json(&format!("applications/{app}/allexecutors"))?;
    let env: Environment = hs.json(&format!("applications/{app}/environment"))?;
    let mut f = Folder::new(scope.clone());
    let time = |field: &str, text: &str| epoch_ms(text).ok_or_else(|| bad_time(hs, app, field, text));

    let attempt = info.attempts.last();
    f.log.app_id = Some(app.to_string());
    f.log.app_name = Some(info.name);
    f.log.spark_version = attempt.and_then(|a| a.app_spark_version.clone());
    f.log.app_start_ms = attempt.map(|a| a.start_time_epoch);
    f.log.app_end_ms = attempt.filter(|a| a.completed).map(|a| a.end_time_epoch);
    let property = |key: &str| env.spark_properties.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    f.log.master = property("spark.master");
    f.log.executor_cores = property("spark.executor.cores").and_then(|c| c.parse().ok());

    // The event log has no `ExecutorAdded` for the driver; REST lists it as executor `driver`.
    for x in executors.iter().filter(|x| x.id != "driver") {
        let added = time("addTime", &x.add_time)?;
        f.executor_added(ev::ExecutorAdded {
            timestamp: added,
            executor_id: Cow::Borrowed(&x.id),
            info: ev::ExecutorInfo { total_cores: x.total_cores },
        });
        if let Some(removed) = &x.remove_time {
            let reason = x.remove_reason.as_deref().map(Cow::Borrowed);
            f.executor_removed(ev::ExecutorRemoved { timestamp: time("removeTime", removed)?, executor_id: Cow::Borrowed(&x.id), reason });
        }
    }
    jobs.sort_by_key(|j| j.job_id);
    let tags: Vec<String> = jobs.iter().map(|j| j.job_tags.join(",")).collect();
    for (job, tags) in jobs.iter().zip(&tags) {
        let properties = ev::JobProperties {
            tags: (!tags.is_empty()).then_some(Cow::Borrowed(tags.as_str())),
            description: job.description.as_deref().map(Cow::Borrowed),
            // Read without SQL executions: the plans of a REST-read application are unknown.
            sql_execution_id: None,
        };
        let submitted = job.submission_time.as_deref().map(|t| time("submissionTime", t)).transpose()?;
        f.job_start(ev::JobStart { job_id: job.job_id, submission_time: submitted, stage_ids: job.stage_ids.clone(), properties });
    }
    stages.sort_by_key(|s| (s.stage_id, s.attempt_id));
    for stage in stages.iter().filter(|s| s.status != "SKIPPED" && s.status != "PENDING") {
        f.stage_submitted(ev::StageEvent { info: stage_info(stage, None), properties: None });
        for task in tasks(hs, app, stage)? {
            if let Some(end) = task_end(stage, &task, &time)? {
                f.task_end(end);
            }
        }
        if stage.status != "ACTIVE" {
            let reason = stage.failure_reason.as_deref().filter(|_| stage.status == "FAILED").map(Cow::Borrowed);
            f.stage_completed(ev::StageEvent { info: stage_info(stage, reason), properties: None });
        }
    }
    for job in jobs.iter().filter(|j| j.status == "SUCCEEDED" || j.status == "FAILED") {
        let completed = job.completion_time.as_deref().map(|t| time("completionTime", t)).transpose()?;
        let result = if job.status == "SUCCEEDED" { "JobSucceeded" } else { "JobFailed" };
        f.job_end(ev::JobEnd {
            job_id: job.job_id,
            completion_time: completed,
            result: ev::JobResult { result: Cow::Borrowed(result), exception: None },
        });
    }
    f.log.events = (jobs.len() + stages.len() + executors.len()) as u64;
    Ok(f.finish())
}

fn stage_info<'a>(stage: &Stage, failure_reason: Option<Cow<'a, str>>) -> ev::StageInfo<'a> {
    ev::StageInfo { stage_id: stage.stage_id, attempt: stage.attempt_id, failure_reason }
}

/// Every task attempt of a stage attempt, a page at a time.
fn tasks(hs: &HistoryServer, app: &str, stage: &Stage) -> Result<Vec<Task>, HistoryError> {
    let mut all: Vec<Task> = Vec::new();
    loop {
        let path = format!("applications/{app}/stages/{}/{}/taskList?offset={}&length={PAGE}", stage.stage_id, stage.attempt_id, all.len());
        let page: Vec<Task> = hs.json(&path)?;
        let n = page.len();
        all.extend(page);
        if n < PAGE {
            return Ok(all);
        }
    }
}

/// The `SparkListenerTaskEnd` of a finished task; `None` for one still running.
fn task_end<'a>(
    stage: &Stage,
    task: &'a Task,
    time: &dyn Fn(&str, &str) -> Result<i64, HistoryError>,
) -> Result<Option<ev::TaskEnd<'a>>, HistoryError> {
    let (failed, killed) = match task.status.as_str() {
        "SUCCESS" => (false, false),
        "FAILED" => (true, false),
        "KILLED" => (false, true),
        _ => return Ok(None),
    };
    let launch = time("launchTime", &task.launch_time)?;
    let message = task.error_message.as_deref();
    // `errorMessage` is the end reason's text: `ExecutorLostFailure (executor …) Reason: …` for a
    // lost executor, the stack trace for an exception.
    let reason = match message {
        Some(m) if m.starts_with("ExecutorLostFailure") => "ExecutorLostFailure",
        _ if failed => "ExceptionFailure",
        _ if killed => "TaskKilled",
        _ => "Success",
    };
    let metrics = task.task_metrics.as_ref().map(|m| ev::TaskMetrics {
        run_time_ms: m.executor_run_time,
        cpu_time_ns: m.executor_cpu_time,
        gc_time_ms: m.jvm_gc_time,
        memory_spilled: m.memory_bytes_spilled,
        disk_spilled: m.disk_bytes_spilled,
        shuffle_read: ev::ShuffleRead {
            fetch_wait_ms: m.shuffle_read_metrics.fetch_wait_time,
            remote_bytes: m.shuffle_read_metrics.remote_bytes_read,
            local_bytes: m.shuffle_read_metrics.local_bytes_read,
        },
        shuffle_write: ev::ShuffleWrite { bytes: m.shuffle_write_metrics.bytes_written },
        input: ev::Input { bytes: m.input_metrics.bytes_read, records: m.input_metrics.records_read },
    });
    Ok(Some(ev::TaskEnd {
        stage_id: stage.stage_id,
        stage_attempt: stage.attempt_id,
        reason: ev::TaskEndReason {
            reason: Cow::Borrowed(reason),
            description: message.map(Cow::Borrowed),
            full_stack_trace: None,
            loss_reason: None,
        },
        info: ev::TaskInfo { launch_time: launch, finish_time: launch + task.duration.unwrap_or(0), failed, killed },
        metrics,
    }))
}

fn bad_time(hs: &HistoryServer, app: &str, field: &str, text: &str) -> HistoryError {
    HistoryError::Http { url: hs.url(&format!("applications/{app}")), detail: format!("`{field}` is not a time: `{text}`") }
}

/// `2026-11-27T14:51:18.680GMT` (the API's date format) → ms since the epoch.
fn epoch_ms(text: &str) -> Option<i64> {
    let iso = format!("{}Z", text.strip_suffix("GMT")?);
    let t = humantime::parse_rfc3339(&iso).ok()?;
    Some(t.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_dates_are_epoch_milliseconds() {
        assert_eq!(epoch_ms("2026-11-27T14:50:29.399GMT"), Some(1_795_791_029_399));
        assert_eq!(epoch_ms("2026-11-27T14:50:29.399"), None, "the API always says GMT");
    }
}
