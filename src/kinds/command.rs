//! The `command` kind: a shell script, rendered with minijinja against the node's context
//! (binding, `src`, `deps`, `out`, `vars`, …), run by the backend with `$OUT` to fill, with
//! retries on transient exit codes and the endpoints of its service dependencies.

use std::collections::BTreeMap;

use minijinja::Value;

use crate::backend::{CommandJob, toolchain};
use crate::kind::{CommandWork, Ctx, Kind, Prepare, Work};
use crate::plan;
use crate::rules::PerDim;

/// The `command` action.
pub struct Command;

impl Kind for Command {
    fn version(&self) -> String {
        "command".into()
    }

    fn prepare(&self, ctx: &Ctx, job: &Prepare) -> Result<Work, String> {
        let (g, n) = (ctx.graph, job.n);
        let node = &g.nodes[n];
        let rule = &ctx.rules.rules[node.rule];
        let out = std::path::absolute(&job.out).map_err(|e| e.to_string())?;
        let mut context = plan::base_context(ctx, n);
        context.insert("src".into(), Value::from(job.statics.src.clone()));
        let mut deps: BTreeMap<String, Value> = BTreeMap::new();
        for &dr in &rule.deps {
            let dep_rule = &ctx.rules.rules[dr];
            let single = dep_rule.per.iter().all(|p| rule.per.contains(p) || *p == PerDim::Tier);
            let paths: Vec<Value> = node
                .deps
                .iter()
                .filter(|d| g.nodes[**d].rule == dr)
                .map(|d| Value::from(rel_to_root(ctx, &job.dep_dir(ctx, *d))))
                .collect();
            let v = if single && paths.len() == 1 { paths[0].clone() } else { Value::from(paths) };
            deps.insert(dep_rule.name.clone(), v);
        }
        context.insert("deps".into(), Value::from(deps));
        context.insert("out".into(), Value::from(out.to_string_lossy().into_owned()));
        let script = ctx
            .templates
            .command(&rule.name, &Value::from(context))
            .map_err(|e| format!("rendering the command of rule `{}`: {e}", rule.name))?;
        let command = CommandJob {
            node: node.id.clone(),
            script,
            out,
            cwd: ctx.lf.root.clone(),
            env: vec![
                ("LOADBUILD_ROOT".into(), std::path::absolute(&ctx.lf.root).unwrap_or_default().to_string_lossy().into_owned()),
                ("LOADBUILD_TOOLCHAINS".into(), toolchain::base(&ctx.layout.root).to_string_lossy().into_owned()),
            ],
            log: job.log.clone(),
            timeout: rule.timeout,
        };
        Ok(Work::Command(Box::new(CommandWork {
            job: command,
            retries: rule.retries,
            transient: rule.transient_exit_codes.clone(),
            on_failure: rule.on_failure,
            outputs: rule.outputs.clone(),
            services: node
                .deps
                .iter()
                .filter(|d| ctx.kind(**d).is_service())
                .map(|d| (g.nodes[*d].id.clone(), job.dep_dir(ctx, *d)))
                .collect(),
        })))
    }
}

/// A path as commands see it: relative to the project root (their working directory) when
/// inside it, which keeps the command line of a node with 1,280 dependencies short.
fn rel_to_root(ctx: &Ctx, p: &std::path::Path) -> String {
    p.strip_prefix(&ctx.lf.root).unwrap_or(p).to_string_lossy().into_owned()
}
