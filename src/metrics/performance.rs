//! Performance tier: how long each measured execution took and how fast it moved data.
//!
//! Two clocks: the driver's (what a user waits for) and the event log's job span (first job
//! submitted to last job completed). A cell reports the median over its measured executions.
use super::applog::ExecutionAgg;
use super::driver::DriverExecution;
use super::metric::Direction::{HigherIsBetter, LowerIsBetter};
use super::metric::{Measured, Metric, Spec, Tier, Unit};

const fn spec(name: &'static str, unit: Unit, direction: super::Direction, source: &'static str) -> Spec {
    Spec { name, tier: Tier::Performance, unit, direction, source }
}

pub(crate) const WALL: Spec = spec("wall_time_s", Unit::Seconds, LowerIsBetter, "driver.wall_s");
pub(crate) const SPAN: Spec =
    spec("job_span_s", Unit::Seconds, LowerIsBetter, "SparkListenerJobStart.Submission Time → SparkListenerJobEnd.Completion Time");
pub(crate) const INPUT_ROWS: Spec = spec(
    "input_rows_per_s",
    Unit::RowsPerSecond,
    HigherIsBetter,
    "Task Metrics.Input Metrics.Records Read (successful tasks) / job_span_s",
);
pub(crate) const INPUT_BYTES: Spec = spec(
    "input_bytes_per_s",
    Unit::BytesPerSecond,
    HigherIsBetter,
    "Task Metrics.Input Metrics.Bytes Read (successful tasks) / job_span_s",
);
pub(crate) const DRIVER_ROWS: Spec = spec("driver_rows_per_s", Unit::RowsPerSecond, HigherIsBetter, "driver.rows / driver.wall_s");
pub(crate) const LATENCY: Spec = spec("client_latency_s", Unit::Seconds, LowerIsBetter, "driver.first_result_s");
/// The metrics measured by the workload driver, not read from the event log.
pub(crate) const DRIVER_METRICS: [&str; 3] = [WALL.name, DRIVER_ROWS.name, LATENCY.name];

/// The performance of one execution.
pub(crate) fn performance(agg: &ExecutionAgg, driver: Option<&DriverExecution>) -> Vec<Metric> {
    let no_driver = "the driver reported no timings for this execution";
    let wall = match driver {
        Some(d) => WALL.value(d.wall_s),
        None => WALL.absent(no_driver),
    };
    let span_s = agg.job_span_ms().map(|(s, e)| (e - s) as f64 / 1000.0);
    let span = match span_s {
        Some(s) => SPAN.value(s),
        None => SPAN.absent("no complete job time window"),
    };
    let per_span = |spec: Spec, amount: u64, what: &str| match span_s {
        _ if amount == 0 => spec.absent(format!("no {what} in `Input Metrics`")),
        Some(s) if s > 0.0 => spec.value(amount as f64 / s),
        _ => spec.absent("job span is 0 s or unknown"),
    };
    let driver_rows = match driver {
        Some(DriverExecution { rows: Some(rows), wall_s, .. }) if *wall_s > 0.0 => DRIVER_ROWS.value(*rows as f64 / wall_s),
        Some(_) => DRIVER_ROWS.absent("the driver reported no row count or a 0 s wall time"),
        None => DRIVER_ROWS.absent(no_driver),
    };
    let latency = match driver.and_then(|d| d.first_result_s) {
        Some(l) => LATENCY.value(l),
        None => LATENCY.absent("the driver reported no time to first result"),
    };
    vec![
        wall,
        span,
        // Successful task attempts only: a failed or killed attempt's partial read is redone.
        per_span(INPUT_ROWS, agg.tasks.ok_input_records, "records read by successful tasks"),
        per_span(INPUT_BYTES, agg.tasks.ok_input_bytes, "bytes read by successful tasks"),
        driver_rows,
        latency,
    ]
}

/// A cell's performance: per metric, the median over the executions that measured it.
pub(crate) fn median_over(executions: &[&[Metric]]) -> Vec<Metric> {
    let template = performance(&ExecutionAgg::default(), None);
    template
        .into_iter()
        .enumerate()
        .map(|(i, mut m)| {
            let values: Vec<f64> = executions.iter().filter_map(|e| e[i].value()).collect();
            let n = values.len();
            m.measured = match median(values) {
                Some(v) => Measured::Value(v),
                None => Measured::Absent { reason: format!("no measured execution has `{}`", m.name) },
            };
            m.detail = (n > 0).then(|| format!("median of {n} executions"));
            m
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 })
}
