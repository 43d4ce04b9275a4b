//! One metric: a value with its unit, direction and source field, or the reason it is absent.
//!
//! A metric the source cannot provide is `Absent { reason }`, never 0: a zero is a measurement.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Stability,
    Efficiency,
    Performance,
}

/// Which way is better; the regression rule needs it to tell a slowdown from a speed-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    LowerIsBetter,
    HigherIsBetter,
}

/// Normalized units: times are seconds, shares are ratios (not percent), sizes are bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Unit {
    /// 1 for yes, 0 for no.
    #[serde(rename = "bool")]
    Bool,
    #[serde(rename = "count")]
    Count,
    #[serde(rename = "ratio")]
    Ratio,
    #[serde(rename = "s")]
    Seconds,
    #[serde(rename = "rows/s")]
    RowsPerSecond,
    #[serde(rename = "B/s")]
    BytesPerSecond,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measured {
    Value(f64),
    Absent { reason: String },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metric {
    /// Stable snake_case key, e.g. `gc_time_ratio`.
    pub name: &'static str,
    pub tier: Tier,
    pub unit: Unit,
    pub direction: Direction,
    /// The event-log field(s) or driver timing the value comes from.
    pub source: &'static str,
    pub measured: Measured,
    /// Context a reader needs, e.g. which stage is the most skewed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Metric {
    pub fn value(&self) -> Option<f64> {
        match self.measured {
            Measured::Value(v) => Some(v),
            Measured::Absent { .. } => None,
        }
    }
}

/// The fixed description of a metric, to which a measurement is attached.
#[derive(Clone, Copy)]
pub(crate) struct Spec {
    pub name: &'static str,
    pub tier: Tier,
    pub unit: Unit,
    pub direction: Direction,
    pub source: &'static str,
}

impl Spec {
    pub(crate) fn value(self, v: f64) -> Metric {
        self.with(Measured::Value(v))
    }

    pub(crate) fn absent(self, reason: impl Into<String>) -> Metric {
        self.with(Measured::Absent { reason: reason.into() })
    }

    /// `num / den`, or absent with `why_zero` when the denominator is 0.
    pub(crate) fn ratio(self, num: f64, den: f64, why_zero: &str) -> Metric {
        if den > 0.0 { self.value(num / den) } else { self.absent(why_zero) }
    }

    pub(crate) fn with(self, measured: Measured) -> Metric {
        Metric { name: self.name, tier: self.tier, unit: self.unit, direction: self.direction, source: self.source, measured, detail: None }
    }
}
