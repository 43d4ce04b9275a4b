//! The `upload` kind: uploads its `dataset` dependency to S3 (`src/data/upload.rs`) and writes
//! `receipt.json`; params `bucket`, `prefix` (optional), `endpoint` (optional; else
//! `LOADBUILD_S3_ENDPOINT`). Credentials come only from the environment.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use crate::data::{self, Check, S3Target};
use crate::kind::{Ctx, Kind, Prepare, Work};
use crate::rules::{Action, Params};

/// The `upload` action.
pub struct Upload;

impl Kind for Upload {
    fn params(&self) -> Params {
        (&["bucket"], &["prefix", "endpoint"])
    }

    fn version(&self) -> String {
        "upload 1".into()
    }

    fn prepare(&self, ctx: &Ctx, job: &Prepare) -> Result<Work, String> {
        let g = ctx.graph;
        let node = &g.nodes[job.n];
        let dataset = node.deps.iter().find(|d| ctx.rules.rules[g.nodes[**d].rule].action == Action::Dataset).ok_or_else(|| {
            format!("rule `{}`: the `upload` action needs a dependency whose action is `dataset`", ctx.rules.rules[node.rule].name)
        })?;
        let (params, dataset) = (job.statics.params.clone(), job.dep_dir(ctx, *dataset));
        Ok(Work::Builtin(Box::new(move |out, cancel| upload(&params, &dataset, out, cancel))))
    }
}

/// Uploads the dataset in `dataset_dir` and writes `receipt.json` into `out`.
pub fn upload(params: &BTreeMap<String, String>, dataset_dir: &Path, out: &Path, cancel: &AtomicBool) -> Result<(), String> {
    let bucket = params.get("bucket").ok_or("the `upload` action needs param `bucket`")?;
    let prefix = params.get("prefix").map_or("datasets", String::as_str);
    let target = match params.get("endpoint") {
        Some(e) => S3Target::new(e, bucket, prefix),
        None => S3Target::from_env(bucket, prefix),
    }
    .map_err(|e| e.to_string())?;
    let manifest = data::verify(dataset_dir, Check::Sizes).map_err(|e| e.to_string())?;
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| format!("starting the upload runtime: {e}"))?;
    let receipt = runtime.block_on(data::upload_unless(dataset_dir, &manifest, &target, cancel)).map_err(|e| e.to_string())?;
    // Only what identifies the upload: how many files it sent this time is not an output.
    let json = serde_json::json!({ "url": receipt.url, "prefix": receipt.prefix, "dataset": manifest.digest, "endpoint": target.endpoint });
    std::fs::write(out.join("receipt.json"), serde_json::to_vec_pretty(&json).expect("JSON values serialize")).map_err(|e| e.to_string())
}
