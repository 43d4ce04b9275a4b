//! The `render` kind: renders scenario templates (its sources) into its outputs and validates
//! them (`src/scenario/`, docs/scenarios.md). The files are made in memory; a render whose
//! script shape is still with the shell tools waits off its cores (see [`crate::kind::Prepared`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::graph::NodeIx;
use crate::hash::Digest;
use crate::kind::{Ctx, InMemory, Kind, Prepare, Prepared, Work};
use crate::rules::Params;
use crate::scenario::{self, Library, Rendered, Validation};
use crate::store::NewFile;

/// The `render` action, with the scenario templates it has read (shared by its workers).
#[derive(Default)]
pub struct Render {
    pub library: Arc<Library>,
}

impl Kind for Render {
    fn params(&self) -> Params {
        (scenario::PARAMS, &[])
    }

    fn version(&self) -> String {
        scenario::VERSION.into()
    }

    fn key_inputs(
        &self,
        ctx: &Ctx,
        n: NodeIx,
        sources: &[(String, String)],
        _digest: &mut dyn FnMut(&str) -> Result<Digest, String>,
        inputs: &mut BTreeMap<String, Digest>,
    ) -> Result<(), String> {
        scenario::key_inputs(ctx, &self.library, n, sources, inputs)
    }

    fn prepare(&self, ctx: &Ctx, job: &Prepare) -> Result<Work, String> {
        Ok(Work::InMemory(Box::new(scenario::job(ctx, &self.library, job.statics, job.n)?)))
    }
}

impl InMemory for scenario::Job {
    fn prepare(self: Box<Self>) -> Result<Box<dyn Prepared>, String> {
        Ok(Box::new(scenario::prepare(&self, Validation::Full)?))
    }
}

impl Prepared for Rendered {
    fn ready(&self) -> bool {
        Rendered::ready(self)
    }

    fn finish(self: Box<Self>) -> Result<Vec<NewFile>, String> {
        Rendered::finish(*self)
    }
}
