//! The one error type of `stats`: inputs the functions refuse rather than answer with NaN.
//!
//! Too few samples for a *verdict* is not an error (it is `Verdict::Inconclusive`); it is an
//! error only for a primitive that is mathematically undefined at that size.
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Error)]
pub enum StatsError {
    #[error("`{sample}` holds the non-finite value `{value}` at index `{index}`")]
    NonFinite { sample: &'static str, index: usize, value: f64 },
    #[error("`{what}` needs at least `{need}` values in sample `{sample}`, got `{got}`")]
    TooFewSamples { what: &'static str, sample: &'static str, need: usize, got: usize },
    #[error("parameter `{name}` must be {expected}, got `{value}`")]
    InvalidParameter { name: &'static str, expected: &'static str, value: f64 },
    #[error("the exact mann–whitney distribution assumes no ties, but `{tied}` values tie")]
    ExactWithTies { tied: usize },
    #[error("the relative change is undefined: the baseline median is `{median}`, not positive")]
    NonPositiveBaseline { median: f64 },
}

/// Rejects NaN and ±inf: a silently propagated NaN would turn every later comparison false.
pub(crate) fn ensure_finite(sample: &'static str, xs: &[f64]) -> Result<(), StatsError> {
    match xs.iter().position(|x| !x.is_finite()) {
        Some(index) => Err(StatsError::NonFinite { sample, index, value: xs[index] }),
        None => Ok(()),
    }
}

pub(crate) fn ensure_len(what: &'static str, sample: &'static str, xs: &[f64], need: usize) -> Result<(), StatsError> {
    if xs.len() < need {
        return Err(StatsError::TooFewSamples { what, sample, need, got: xs.len() });
    }
    Ok(())
}
