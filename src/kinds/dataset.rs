//! The `dataset` kind: generates the NYC-taxi dataset (`src/data/`) into its output; params
//! `size` (e.g. `1GiB`) and `seed` (optional). The generator's version is part of its key.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use crate::data::{self, GenSpec};
use crate::kind::{Ctx, Kind, Prepare, Work};
use crate::rules::Params;

/// The `dataset` action.
pub struct Dataset;

impl Kind for Dataset {
    fn params(&self) -> Params {
        (&["size"], &["seed"])
    }

    fn version(&self) -> String {
        format!("dataset {}", data::GENERATOR_VERSION)
    }

    fn prepare(&self, _ctx: &Ctx, job: &Prepare) -> Result<Work, String> {
        let spec = dataset_spec(&job.statics.params)?;
        Ok(Work::Builtin(Box::new(move |out, cancel| dataset(&spec, out, cancel))))
    }
}

/// What the `dataset` action generates: target size and seed, from the rule's params.
pub fn dataset_spec(params: &BTreeMap<String, String>) -> Result<GenSpec, String> {
    let size = params.get("size").ok_or("the `dataset` action needs param `size`")?;
    let bytes = data::parse_size(size).map_err(|e| format!("param `size`: {e}"))?;
    let seed = match params.get("seed") {
        Some(s) => s.trim().parse().map_err(|_| format!("param `seed` must be a whole number, not `{s}`"))?,
        None => data::DEFAULT_SEED,
    };
    Ok(GenSpec::new(bytes, seed))
}

/// Generates the dataset into `out` (which the executor created empty).
pub fn dataset(spec: &GenSpec, out: &Path, cancel: &AtomicBool) -> Result<(), String> {
    data::generate_unless(spec, out, &|_| {}, cancel).map(|_| ()).map_err(|e| e.to_string())
}
