//! The `toolchain` kind: provisions a Python environment with pinned packages (params `pins`,
//! `python`) under the cache (`src/backend/toolchain.rs` does the work). Its output is a
//! receipt; the node is fresh only while the environment it names is intact (external state).

use crate::backend::toolchain;
use crate::kind::{Ctx, Kind, Prepare, Work};
use crate::rules::Params;
use crate::store::Tree;

/// The `toolchain` action.
pub struct Toolchain;

impl Kind for Toolchain {
    fn params(&self) -> Params {
        (&["pins"], &["python"])
    }

    fn version(&self) -> String {
        format!("toolchain {}", toolchain::VERSION)
    }

    fn intact(&self, ctx: &Ctx, out: &Tree) -> Result<(), String> {
        // External state: the receipt is not enough, the environment must still be there.
        toolchain::intact(&ctx.layout.tree(&out.digest), &toolchain::base(&ctx.layout.root))
    }

    fn prepare(&self, ctx: &Ctx, job: &Prepare) -> Result<Work, String> {
        let spec = toolchain::Spec::from_params(&job.statics.params)?;
        let base = toolchain::base(&ctx.layout.root);
        Ok(Work::Builtin(Box::new(move |out, _| toolchain::provision(&spec, &base, out))))
    }
}
