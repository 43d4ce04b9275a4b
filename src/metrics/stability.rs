//! Stability tier: did the work succeed, and how much failed or was retried on the way.
//!
//! Everything here is counted over the executions in scope only, never over the application or
//! the History Server as a whole; executors count when removed inside the scope's time window.
use super::applog::ExecutionAgg;
use super::metric::{Direction::LowerIsBetter, Metric, Spec, Tier, Unit};
use super::oom;
use super::tiers::Scope;

const fn count(name: &'static str, source: &'static str) -> Spec {
    Spec { name, tier: Tier::Stability, unit: Unit::Count, direction: LowerIsBetter, source }
}

pub(crate) const SUCCEEDED: Spec = Spec {
    name: "succeeded",
    tier: Tier::Stability,
    unit: Unit::Bool,
    direction: super::metric::Direction::HigherIsBetter,
    source: "SparkListenerJobEnd.Job Result.Result",
};
pub(crate) const FAILED_JOBS: Spec = count("failed_jobs", "SparkListenerJobEnd.Job Result.Result");
pub(crate) const FAILED_STAGES: Spec = count("failed_stages", "SparkListenerStageCompleted.Stage Info.Failure Reason");
pub(crate) const FAILED_TASKS: Spec = count("failed_tasks", "SparkListenerTaskEnd.Task Info.Failed");
pub(crate) const STAGE_RETRIES: Spec = count("stage_retries", "SparkListenerStageSubmitted.Stage Info.Stage Attempt ID");
pub(crate) const EXECUTORS_REMOVED: Spec = count("executors_removed", "SparkListenerExecutorRemoved");
pub(crate) const EXECUTOR_LOST_TASKS: Spec = count("executor_lost_tasks", "SparkListenerTaskEnd.Task End Reason.Reason");
pub(crate) const OOM_EVENTS: Spec =
    count("oom_events", "SparkListenerTaskEnd.Task End Reason; SparkListenerExecutorRemoved.Removed Reason");
pub(crate) const RUN_RETRIES: Spec = count("run_retries", "caller (run node retries; result.json `attempt` − 1)");

pub(crate) fn stability(scope: &Scope) -> Vec<Metric> {
    let aggs = &scope.aggs;
    let sum = |f: fn(&ExecutionAgg) -> u64| aggs.iter().map(|a| f(a)).sum::<u64>() as f64;
    let failed_jobs = |a: &ExecutionAgg| a.jobs.iter().filter(|j| j.succeeded != Some(true)).count() as u64;
    let mut out = vec![
        succeeded(scope),
        FAILED_JOBS.value(sum(failed_jobs)),
        FAILED_STAGES.value(sum(|a| a.stages_failed.into())),
        FAILED_TASKS.value(sum(|a| a.tasks.failed)),
        STAGE_RETRIES.value(sum(|a| a.stage_retries.into())),
    ];
    let removed = scope.window.map(|(start, end)| {
        scope.log.executors.iter().filter(|x| x.removed_ms.is_some_and(|t| start <= t && t <= end)).collect::<Vec<_>>()
    });
    out.push(EXECUTOR_LOST_TASKS.value(sum(|a| a.executor_lost_tasks.into())));
    let oom_tasks = sum(|a| a.oom_tasks.into());
    match removed {
        Some(removed) => {
            let oom_removals = removed.iter().filter(|x| x.removed_reason.as_deref().and_then(oom::evidence).is_some()).count() as f64;
            out.push(EXECUTORS_REMOVED.value(removed.len() as f64));
            let mut oom = OOM_EVENTS.value(oom_tasks + oom_removals);
            oom.detail = aggs.iter().find_map(|a| a.oom_sample.clone());
            out.push(oom);
        }
        None => {
            let why = "no complete job time window (a job has no submission or completion time)";
            out.push(EXECUTORS_REMOVED.absent(why));
            out.push(OOM_EVENTS.absent(why));
        }
    }
    out
}

/// 1 when every execution in scope ran at least one job and all its jobs succeeded.
fn succeeded(scope: &Scope) -> Metric {
    let missing: Vec<String> = scope
        .executions
        .iter()
        .zip(&scope.aggs)
        .filter(|(_, a)| a.jobs.is_empty())
        .map(|(k, _)| format!("`{}`", super::execution_tag(*k)))
        .collect();
    let ok = !scope.aggs.is_empty() && missing.is_empty() && scope.aggs.iter().all(|a| a.jobs.iter().all(|j| j.succeeded == Some(true)));
    let mut m = SUCCEEDED.value(if ok { 1.0 } else { 0.0 });
    if scope.aggs.is_empty() {
        m.detail = Some("no measured execution in the event log".into());
    } else if !missing.is_empty() {
        m.detail = Some(format!("no jobs tagged {}", missing.join(", ")));
    } else {
        m.detail = scope.aggs.iter().flat_map(|a| &a.jobs).find_map(|j| j.failure.clone());
    }
    m
}
