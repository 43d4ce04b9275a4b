//! The streaming fold: one event line at a time into an [`AppLog`].
//!
//! The event name is sliced from the line's `{"Event":"…"` prefix (Spark always writes it first),
//! then only the events the metrics need are deserialized into their small structs. Every other
//! line is still syntax-checked, so a corrupt line is an error wherever it is.
use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::applog::{AppLog, ExecutionAgg, ExecutorSpan, JobSummary, SqlPlan};
use super::attribution::{Execution, JobScope, attribute};
use super::events::{self as ev, TaskEnd};
use super::skew::{OpenStages, StageSkew};
use super::{MetricsError, oom};

#[derive(Default)]
pub(crate) struct Folder {
    scope: JobScope,
    pub(crate) log: AppLog,
    /// Job id → its execution and index in that execution's `jobs`.
    jobs: HashMap<u64, (Execution, usize)>,
    stages: HashMap<u64, Execution>,
    executors: HashMap<String, usize>,
    open: OpenStages,
    /// SQL execution id → its latest physical plan (start event, then adaptive updates).
    sql_plans: HashMap<u64, SqlPlan>,
    /// SQL execution id → the execution whose jobs it submitted.
    sql_owner: HashMap<u64, Execution>,
    /// Job id → index in `log.unattributed_spans`.
    unattributed: HashMap<u64, usize>,
}

impl Folder {
    pub(crate) fn new(scope: JobScope) -> Folder {
        Folder { scope, ..Folder::default() }
    }

    pub(crate) fn line(&mut self, line: &[u8], path: &Path, n: u64) -> Result<(), MetricsError> {
        self.log.events += 1;
        let malformed = |source| MetricsError::Malformed { path: path.to_path_buf(), line: n, source };
        let owned;
        let name = match event_name(line) {
            Some(name) => name,
            None => {
                owned = serde_json::from_slice::<ev::Head>(line).map_err(malformed)?.event;
                owned.as_ref()
            }
        };
        self.event(name, line).map_err(malformed)
    }

    fn event(&mut self, name: &str, line: &[u8]) -> Result<(), serde_json::Error> {
        match name {
            "SparkListenerTaskEnd" => self.task_end(parse(line)?),
            "SparkListenerJobStart" => self.job_start(parse(line)?),
            "SparkListenerJobEnd" => self.job_end(parse(line)?),
            "SparkListenerStageSubmitted" => self.stage_submitted(parse(line)?),
            "SparkListenerStageCompleted" => self.stage_completed(parse(line)?),
            "SparkListenerExecutorAdded" => self.executor_added(parse(line)?),
            "SparkListenerExecutorRemoved" => self.executor_removed(parse(line)?),
            "org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionStart"
            | "org.apache.spark.sql.execution.ui.SparkListenerSQLAdaptiveExecutionUpdate" => {
                let event: ev::SqlPlanEvent = parse(line)?;
                self.sql_plans.insert(event.execution_id, SqlPlan::from_node(event.execution_id, &event.plan));
            }
            "SparkListenerEnvironmentUpdate" => {
                let env: ev::EnvironmentUpdate = parse(line)?;
                self.log.master = env.spark.master.map(String::from);
                self.log.executor_cores = env.spark.executor_cores.and_then(|c| c.parse().ok());
            }
            "SparkListenerApplicationStart" => {
                let start: ev::ApplicationStart = parse(line)?;
                self.log.app_name = Some(start.app_name.into());
                self.log.app_id = start.app_id.map(String::from);
                self.log.app_start_ms = Some(start.timestamp);
            }
            "SparkListenerApplicationEnd" => {
                self.log.app_end_ms = Some(parse::<ev::ApplicationEnd>(line)?.timestamp);
            }
            "SparkListenerLogStart" => {
                let start: ev::LogStart = parse(line)?;
                self.log.spark_version = Some(start.spark_version.into());
            }
            _ => {
                parse::<IgnoredAny>(line)?;
            }
        }
        Ok(())
    }

    pub(crate) fn job_start(&mut self, job: ev::JobStart) {
        let Some(exec) = attribute(&job.properties, &self.scope) else {
            self.log.unattributed_jobs += 1;
            self.unattributed.insert(job.job_id, self.log.unattributed_spans.len());
            self.log.unattributed_spans.push((job.submission_time, None));
            return;
        };
        if let Some(sql) = job.properties.sql_execution_id.as_deref().and_then(|id| id.parse().ok()) {
            self.sql_owner.entry(sql).or_insert(exec);
        }
        for stage in job.stage_ids {
            // The first job to list a stage is the one that runs it; later jobs only reuse it.
            self.stages.entry(stage).or_insert(exec);
        }
        let jobs = &mut self.log.executions.entry(exec).or_default().jobs;
        self.jobs.insert(job.job_id, (exec, jobs.len()));
        jobs.push(JobSummary { job_id: job.job_id, submitted_ms: job.submission_time, completed_ms: None, succeeded: None, failure: None });
    }

    pub(crate) fn job_end(&mut self, end: ev::JobEnd) {
        let Some(&(exec, i)) = self.jobs.get(&end.job_id) else {
            if let Some(&i) = self.unattributed.get(&end.job_id) {
                self.log.unattributed_spans[i].1 = end.completion_time;
            }
            return;
        };
        let job = &mut self.exec(exec).jobs[i];
        job.completed_ms = end.completion_time;
        job.succeeded = Some(end.result.result == "JobSucceeded");
        job.failure = end.result.exception.and_then(|e| e.message).map(String::from);
    }

    pub(crate) fn stage_submitted(&mut self, stage: ev::StageEvent) {
        let info = &stage.info;
        if let Some(exec) = stage.properties.as_ref().and_then(|p| attribute(p, &self.scope)) {
            self.stages.insert(info.stage_id, exec);
        }
        if info.attempt > 0
            && let Some(&exec) = self.stages.get(&info.stage_id)
        {
            self.exec(exec).stage_retries += 1;
        }
    }

    pub(crate) fn stage_completed(&mut self, stage: ev::StageEvent) {
        let info = stage.info;
        let skew = self.open.close((info.stage_id, info.attempt));
        let Some(&exec) = self.stages.get(&info.stage_id) else {
            return;
        };
        let agg = self.exec(exec);
        agg.stages_completed += 1;
        if info.failure_reason.is_some() {
            agg.stages_failed += 1;
        }
        note_skew(agg, skew);
    }

    pub(crate) fn task_end(&mut self, task: TaskEnd) {
        let Some(&exec) = self.stages.get(&task.stage_id) else {
            self.log.unattributed_tasks += 1;
            return;
        };
        let duration = (task.info.finish_time - task.info.launch_time).max(0) as u64;
        if !task.info.failed && !task.info.killed {
            self.open.record((task.stage_id, task.stage_attempt), duration);
        }
        let agg = self.exec(exec);
        if task.info.failed {
            if task.reason.reason == "ExecutorLostFailure" {
                agg.executor_lost_tasks += 1;
            }
            let texts = [task.reason.description.as_deref(), task.reason.full_stack_trace.as_deref(), task.reason.loss_reason.as_deref()];
            if let Some(hit) = texts.into_iter().flatten().find_map(oom::evidence) {
                agg.oom_tasks += 1;
                agg.oom_sample.get_or_insert_with(|| hit.to_string());
            }
        }
        agg.tasks.add(&task.info, task.metrics.as_ref(), duration);
    }

    pub(crate) fn executor_added(&mut self, added: ev::ExecutorAdded) {
        self.executors.insert(added.executor_id.to_string(), self.log.executors.len());
        self.log.executors.push(ExecutorSpan {
            id: added.executor_id.into(),
            cores: added.info.total_cores,
            added_ms: added.timestamp,
            removed_ms: None,
            removed_reason: None,
        });
    }

    pub(crate) fn executor_removed(&mut self, removed: ev::ExecutorRemoved) {
        if let Some(&i) = self.executors.get(removed.executor_id.as_ref()) {
            let span = &mut self.log.executors[i];
            span.removed_ms = Some(removed.timestamp);
            span.removed_reason = removed.reason.map(String::from);
        }
    }

    fn exec(&mut self, exec: Execution) -> &mut ExecutionAgg {
        self.log.executions.entry(exec).or_default()
    }

    pub(crate) fn finish(mut self) -> AppLog {
        for (stage, skew) in self.open.close_all() {
            if let Some(&exec) = self.stages.get(&stage.0) {
                note_skew(self.log.executions.entry(exec).or_default(), skew);
            }
        }
        let mut owned: Vec<(u64, Execution)> = self.sql_owner.into_iter().collect();
        owned.sort_unstable();
        for (sql, exec) in owned {
            if let Some(plan) = self.sql_plans.remove(&sql) {
                self.log.executions.entry(exec).or_default().plans.push(plan);
            }
        }
        self.log
    }
}

fn note_skew(agg: &mut ExecutionAgg, skew: Option<StageSkew>) {
    let Some(skew) = skew else { return };
    agg.stages_with_skew += 1;
    if agg.worst_skew.as_ref().is_none_or(|w| skew.worse_than(w)) {
        agg.worst_skew = Some(skew);
    }
}

fn parse<'a, T: Deserialize<'a>>(line: &'a [u8]) -> Result<T, serde_json::Error> {
    serde_json::from_slice(line)
}

/// `{"Event":"SparkListenerTaskEnd",…` → `SparkListenerTaskEnd`, without parsing the line.
fn event_name(line: &[u8]) -> Option<&str> {
    let rest = line.strip_prefix(br#"{"Event":""#)?;
    let end = rest.iter().position(|&b| b == b'"' || b == b'\\')?;
    (rest.get(end) == Some(&b'"')).then(|| std::str::from_utf8(&rest[..end]).ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_name_is_sliced_only_from_the_usual_prefix() {
        let line = br#"{"Event":"SparkListenerTaskEnd","Stage ID":1}"#;
        assert_eq!(event_name(line), Some("SparkListenerTaskEnd"));
        assert_eq!(event_name(br#"{"Stage ID":1,"Event":"SparkListenerTaskEnd"}"#), None);
        assert_eq!(event_name(br#"{"Event":"Odd\"Name"}"#), None, "escapes take the slow path");
    }

    #[test]
    fn event_not_written_first_is_still_recognised() {
        let mut folder = Folder::default();
        let line = br#"{"Spark Version":"3.5.7","Event":"SparkListenerLogStart"}"#;
        folder.line(line, Path::new("x"), 1).expect("valid line");
        assert_eq!(folder.finish().spark_version.as_deref(), Some("3.5.7"));
    }
}
