//! The plan check: every measured execution's physical plan must contain the operators its
//! workload declares (`-- plan: …` in `rules/workloads/<op>.sql`, forwarded by the driver as
//! `result.json`'s `plan_must_contain`), or the run fails with the plan shown.
//!
//! The same SQL can become another workload on another Spark version (a hint ignored, a rule
//! that rewrites a window, a join strategy changed by AQE); the check makes that a failure
//! instead of a silent change of what is measured. The plan checked is the last one the event
//! log gives per SQL execution: the final adaptive plan when AQE re-planned.
use std::collections::BTreeSet;

use super::ExecutionMetrics;

/// `Err` names the first execution whose plans lack a required operator, the operators missing
/// and the plan itself. An execution without any plan in the log fails too: what cannot be
/// checked is not passed.
pub fn check_plans(required: &[String], executions: &[ExecutionMetrics]) -> Result<(), String> {
    if required.is_empty() {
        return Ok(());
    }
    for e in executions {
        if e.plans.is_empty() {
            return Err(format!(
                "execution {}: the event log holds no physical plan (no `SparkListenerSQLExecutionStart` for its jobs), \
                 so its required operators {} cannot be checked",
                e.execution,
                required.join(", ")
            ));
        }
        let have: BTreeSet<&str> = e.plans.iter().flat_map(|p| p.operators.keys().map(String::as_str)).collect();
        let missing: Vec<&str> = required.iter().map(String::as_str).filter(|op| !have.contains(op)).collect();
        if !missing.is_empty() {
            let trees: Vec<String> =
                e.plans.iter().map(|p| format!("SQL execution {}:\n{}", p.sql_execution_id, p.tree.trim_end())).collect();
            return Err(format!(
                "execution {}: the physical plan lacks {} (the workload's `-- plan:` line requires {}); the run measured \
                 another workload. Its plan:\n{}",
                e.execution,
                missing.join(", "),
                required.join(", "),
                trees.join("\n")
            ));
        }
    }
    Ok(())
}
