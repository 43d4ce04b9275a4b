//! What the workload driver measured on the client side, handed in next to the event log.
//!
//! The driver writes it as JSON (`docs/metrics.md` shows the shape); the caller adds how many
//! times the run itself had to be retried, which no log of the successful attempt can show.
use serde::{Deserialize, Serialize};

/// Client-side timings of one run; `Default` means the driver measured nothing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DriverTimings {
    /// Measured executions only (the warm-up is not listed), in any order.
    #[serde(default)]
    pub executions: Vec<DriverExecution>,
    /// Times the run node was retried before this attempt (filled in by the caller); `None`
    /// when the caller cannot tell, and `run_retries` is then absent.
    #[serde(default)]
    pub run_retries: Option<u32>,
}

/// One measured execution as the client saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriverExecution {
    /// k of the `loadbuild-exec-<k>` tag, from 1.
    pub execution: u32,
    /// From submitting the query to having consumed its whole result, seconds.
    pub wall_s: f64,
    /// Rows the execution processed, as the driver counted them.
    #[serde(default)]
    pub rows: Option<u64>,
    /// From submitting the query to receiving its first result row (or batch), seconds.
    #[serde(default)]
    pub first_result_s: Option<f64>,
}

impl DriverTimings {
    pub fn execution(&self, k: u32) -> Option<&DriverExecution> {
        self.executions.iter().find(|e| e.execution == k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_fields_default_when_the_driver_omits_them() {
        let json = r#"{"executions":[{"execution":2,"wall_s":1.5}]}"#;
        let t: DriverTimings = serde_json::from_str(json).expect("minimal driver timings");
        assert_eq!(t.run_retries, None);
        let e = t.execution(2).expect("execution 2 is listed");
        assert_eq!((e.wall_s, e.rows, e.first_result_s), (1.5, None, None));
        assert!(t.execution(1).is_none());
    }
}
