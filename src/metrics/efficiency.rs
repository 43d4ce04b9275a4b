//! Efficiency tier: how well the executions used the CPU, memory, network and slots they had.
//!
//! Ratios pool the task sums of the scope (a cell pools its measured executions). Executor CPU
//! time is ns while run, GC and fetch-wait times are ms: CPU time is divided by 10^6 first.
use super::applog::TaskTotals;
use super::metric::Direction::{HigherIsBetter, LowerIsBetter};
use super::metric::{Metric, Spec, Tier, Unit};
use super::tiers::Scope;

const fn ratio(name: &'static str, direction: super::Direction, source: &'static str) -> Spec {
    Spec { name, tier: Tier::Efficiency, unit: Unit::Ratio, direction, source }
}

pub(crate) const CPU: Spec = ratio("cpu_time_ratio", HigherIsBetter, "Task Metrics.Executor CPU Time (ns) / Executor Run Time (ms)");
pub(crate) const GC: Spec = ratio("gc_time_ratio", LowerIsBetter, "Task Metrics.JVM GC Time / Executor Run Time");
pub(crate) const SKEW: Spec = ratio("task_skew", LowerIsBetter, "Task Info.Finish Time − Launch Time, max / median per stage attempt");
pub(crate) const SPILL: Spec = ratio(
    "spill_ratio",
    LowerIsBetter,
    "Task Metrics.Memory + Disk Bytes Spilled / (Input Bytes Read + Shuffle Remote + Local Bytes Read)",
);
pub(crate) const SHUFFLE: Spec = ratio(
    "shuffle_bytes_per_input_byte",
    LowerIsBetter,
    "Task Metrics.Shuffle Write Metrics.Shuffle Bytes Written / Input Metrics.Bytes Read",
);
pub(crate) const FETCH_WAIT: Spec =
    ratio("fetch_wait_share", LowerIsBetter, "Task Metrics.Shuffle Read Metrics.Fetch Wait Time / Executor Run Time");
pub(crate) const SLOTS: Spec = ratio(
    "slot_utilization",
    HigherIsBetter,
    "Σ task duration / (executor cores × job time window); cores from SparkListenerExecutorAdded",
);

pub(crate) fn efficiency(scope: &Scope) -> Vec<Metric> {
    let t = scope.totals();
    let no_metrics = "no task reported `Task Metrics`";
    let run = t.run_time_ms as f64;
    let read = (t.input_bytes + t.shuffle_read_bytes) as f64;
    let fetch_wait = if t.shuffle_read_bytes == 0 {
        FETCH_WAIT.absent("no shuffle read in scope")
    } else {
        FETCH_WAIT.ratio(t.fetch_wait_ms as f64, run, "executor run time is 0 ms")
    };
    vec![
        CPU.ratio(t.cpu_time_ns as f64 / 1e6, run, no_run_time(&t, no_metrics)),
        GC.ratio(t.gc_time_ms as f64, run, no_run_time(&t, no_metrics)),
        skew(scope),
        SPILL.ratio((t.memory_spilled + t.disk_spilled) as f64, read, "no input or shuffle bytes read"),
        SHUFFLE.ratio(
            t.shuffle_write_bytes as f64,
            t.input_bytes as f64,
            "no input bytes read (the source reports no `Input Metrics.Bytes Read`)",
        ),
        fetch_wait,
        slots(scope, &t),
    ]
}

fn no_run_time<'a>(t: &TaskTotals, no_metrics: &'a str) -> &'a str {
    if t.with_metrics == 0 { no_metrics } else { "executor run time is 0 ms" }
}

fn skew(scope: &Scope) -> Metric {
    let worst = scope.aggs.iter().filter_map(|a| a.worst_skew.as_ref()).reduce(|w, s| if s.worse_than(w) { s } else { w });
    match worst {
        Some(s) => {
            let mut m = SKEW.value(s.ratio);
            m.detail = Some(format!(
                "stage `{}` attempt `{}`: max {} ms / median {} ms over {} tasks",
                s.stage_id, s.attempt, s.max_ms, s.median_ms, s.tasks
            ));
            m
        }
        None => SKEW.absent("no stage with at least 2 successful tasks and a median above 0 ms"),
    }
}

/// Task time over the core time the executors offered while each execution's jobs ran.
fn slots(scope: &Scope, t: &TaskTotals) -> Metric {
    let mut core_ms = 0.0;
    for agg in &scope.aggs {
        let Some((start, end)) = agg.job_span_ms() else {
            return SLOTS.absent("no complete job time window");
        };
        match scope.cores_ms(start, end) {
            Ok(c) => core_ms += c,
            Err(why) => return SLOTS.absent(why),
        }
    }
    SLOTS.ratio(t.duration_ms as f64, core_ms, "job time window is 0 ms or no cores")
}
