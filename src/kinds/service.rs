//! The `service` kind: declares a server (param `kind` and the kind's settings) that the
//! executor starts for the dependents that run and stops after the last of them
//! (`src/backend/services.rs`). Its output is the server's specification, never its port.

use crate::backend::{services, toolchain};
use crate::kind::{Ctx, Kind, Prepare, Work};
use crate::rules::{Action, Params};

/// The `service` action.
pub struct Service;

impl Kind for Service {
    fn params(&self) -> Params {
        (&["kind"], services::PARAMS)
    }

    fn version(&self) -> String {
        format!("service {}", services::VERSION)
    }

    fn is_service(&self) -> bool {
        true
    }

    fn prepare(&self, ctx: &Ctx, job: &Prepare) -> Result<Work, String> {
        let g = ctx.graph;
        let receipt = match g.nodes[job.n].deps.iter().find(|d| ctx.rules.rules[g.nodes[**d].rule].action == Action::Toolchain) {
            Some(d) => Some(toolchain::receipt(&job.dep_dir(ctx, *d))?),
            None => None,
        };
        let spec = services::Spec::from_params(&job.statics.params, receipt)?;
        Ok(Work::Builtin(Box::new(move |out, _| spec.write(out))))
    }
}
