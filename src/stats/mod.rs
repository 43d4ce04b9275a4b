//! Pure statistics on `&[f64]` samples: summaries, two-sample tests, bootstrap, FDR, trend,
//! change points, the regression verdict, and what a comparison could have detected. No I/O, no clock, no global randomness.
//!
//! The verdict is two-phase: [`compare`] every cell × metric, adjust all raw p-values together
//! with [`benjamini_hochberg`], then [`decide`] each one (or let [`decide_all`] do both).
mod bootstrap;
mod changepoint;
mod error;
mod fdr;
mod mannwhitney;
mod normality;
mod power;
mod summary;
mod trend;
mod ttest;
mod verdict;

pub use bootstrap::{BootstrapConfig, BootstrapMethod, relative_change_ci, relative_change_ci_with_method};
pub use changepoint::{ChangePoint, ChangePointConfig, change_points};
pub use error::StatsError;
pub use fdr::benjamini_hochberg;
pub use mannwhitney::{MannWhitney, MwuMethod, mann_whitney_min_p, mann_whitney_u};
pub use normality::{looks_normal, skewness};
pub use power::{MAX_APPLICATIONS, MDC_POWER, applications_to_settle, minimum_detectable_change};
pub use summary::{Summary, median, summarize};
pub use trend::{MannKendall, TheilSen, mann_kendall, theil_sen};
pub use ttest::{TTest, student_t_test, welch_t_test};
pub use verdict::{
    Comparison, Decision, Direction, InconclusiveReason, TestChoice, TestUsed, Verdict, VerdictConfig, compare, decide, decide_all,
};
