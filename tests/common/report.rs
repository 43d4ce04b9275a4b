//! A test project for reports: its `metrics` rule copies a fixture per cell into `metrics.json`
//! (the shape of `docs/runs.md`), so a test sets every sample precisely.
#![allow(dead_code)]

use super::Project;

pub const LOADFILE: &str = r#"
[project]
name = "report-test"
default_tier = "all"

[dimensions]
op = ["read", "join", "write"]
size = ["s", "m"]

[tiers.all]
select = {}
expect = 6

[tiers.small]
select = { size = "s" }
expect = 3

[[skip]]
when = "op=write,size=m"
reason = "no sink for size m here"

[report]
metrics = ["wall_time_s", "input_rows_per_s"]
# Fixtures set every execution's value: each is a sample here (tests of the gate's
# application unit set `unit = "application"` themselves).
unit = "execution"
applications = 1
"#;

pub const RULES: &str = r#"
[rule.metrics]
per = ["op", "size"]
sources = { fixture = "fixtures/{{ op }}-{{ size }}.json" }
command = "cp {{ src.fixture }} {{ out }}/metrics.json"

[rule.report]
per = ["tier"]
deps = ["metrics"]
action = "report"
"#;

pub const CELLS: [&str; 5] = ["read-s", "read-m", "join-s", "join-m", "write-s"];

pub fn project(loadfile_extra: &str) -> Project {
    let p = Project::new(&format!("{LOADFILE}{loadfile_extra}"), &[("main.toml", RULES)]);
    std::fs::create_dir_all(p.path().join("fixtures")).unwrap();
    p
}

/// Deterministic normal samples: xorshift64* and Box–Muller, so a test's noise is fixed.
pub struct Noise(u64);

impl Noise {
    pub fn new(seed: u64) -> Noise {
        Noise(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        ((self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    pub fn normal(&mut self, mean: f64, sd: f64) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        mean + sd * (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
    pub fn samples(&mut self, n: usize, mean: f64, cv: f64) -> Vec<f64> {
        (0..n).map(|_| self.normal(mean, mean * cv).max(mean * 0.01)).collect()
    }
}

fn metric(name: &str, unit: &str, direction: &str, value: Option<f64>) -> String {
    let measured = match value {
        Some(v) => format!("{{\"value\":{v}}}"),
        None => "{\"absent\":{\"reason\":\"no input rows\"}}".to_string(),
    };
    format!(
        r#"{{"name":"{name}","tier":"performance","unit":"{unit}","direction":"{direction}","source":"fixture","measured":{measured}}}"#
    )
}

/// A `metrics.json` with one execution per wall time (and rows/s when given).
pub fn metrics_json(cell: &str, wall: &[f64], rows_per_s: Option<&[f64]>, failed: Option<&str>) -> String {
    let executions: Vec<String> = wall
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let rows = rows_per_s.map(|r| r[i]);
            format!(
                r#"{{"execution":{},"jobs":1,"tiers":{{"stability":[],"efficiency":[],"performance":[{},{}]}}}}"#,
                i + 1,
                metric("wall_time_s", "s", "lower_is_better", Some(*w)),
                metric("input_rows_per_s", "rows/s", "higher_is_better", rows)
            )
        })
        .collect();
    let succeeded = if failed.is_some() { 0 } else { 1 };
    format!(
        r#"{{"schema":1,"cell":"{cell}","run_status":"{}","error":{},"metrics":{{"parser_version":1,"spark_version":"4.1.1","app_id":"app-1","warmup_jobs":1,"unattributed_jobs":0,"executions":[{}],"cell":{{"stability":[{{"name":"succeeded","tier":"stability","unit":"bool","direction":"higher_is_better","source":"fixture","measured":{{"value":{succeeded}}}}}],"efficiency":[],"performance":[]}}}}}}"#,
        if failed.is_some() { "failed" } else { "succeeded" },
        failed.map_or("null".to_string(), |e| format!("{e:?}")),
        executions.join(",")
    )
}

pub fn write_cell(p: &Project, cell: &str, wall: &[f64], rows_per_s: Option<&[f64]>) {
    p.write(&format!("fixtures/{cell}.json"), &metrics_json(cell, wall, rows_per_s, None));
}

pub fn write_failed(p: &Project, cell: &str, error: &str) {
    p.write(&format!("fixtures/{cell}.json"), &metrics_json(cell, &[], None, Some(error)));
}

pub fn results(p: &Project) -> serde_json::Value {
    serde_json::from_str(&p.read("report/results.json")).expect("report/results.json is JSON")
}

pub fn cell<'a>(results: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    results["cells"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap_or_else(|| panic!("no cell {id}"))
}

pub fn metric_of<'a>(cell: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    cell["metrics"].as_array().unwrap().iter().find(|m| m["name"] == name).unwrap_or_else(|| panic!("no metric {name}"))
}
