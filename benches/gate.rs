//! `cargo bench --bench gate`: how well the regression gate does with the default settings,
//! by simulation (`gate_sim.rs`), for reports the size of tiers p0, p1 and p2 (64, 384 and
//! 1,280 judged cells on a cluster). Prints one line per figure:
//!
//! - `gate_<tier>_detect_40|25|20`: share of reports in which one cell made 40%, 25%, 20%
//!   slower is judged a regression;
//! - `gate_<tier>_false_alarm`: share of A/A reports (nothing changed) with any regression;
//! - `gate_<tier>_extra_runs`: applications `--adaptive` adds, as a share of the report's own
//!   (cells × applications), in the A/A reports.
//!
//! The noise model (between- and within-application spread, warm-up excess of the first
//! measured execution) was estimated from real local runs: see `NOISE` and docs/reports.md.
//! `GATE_TRIALS=N` sets the reports simulated per figure (default 200; p2 uses half).
#[path = "support/gate_sim.rs"]
mod gate_sim;

use gate_sim::{Gate, NOISE, Noise, report};
use rayon::prelude::*;

fn main() {
    let trials: usize = std::env::var("GATE_TRIALS").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let env = |name: &str, default: f64| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    // What-if runs: GATE_BETWEEN / GATE_WITHIN / GATE_FIRST override the measured noise.
    let noise = Noise {
        between: env("GATE_BETWEEN", NOISE.between),
        within: env("GATE_WITHIN", NOISE.within),
        first_excess: env("GATE_FIRST", NOISE.first_excess),
    };
    let mut gate = Gate::defaults();
    gate.applications = env("GATE_APPLICATIONS", gate.applications as f64) as usize;
    gate.max_sets = env("GATE_MAX_SETS", gate.max_sets as f64) as usize;
    println!(
        "# defaults: {} applications per cell, {} measured executions each ({} warm-up dropped), adaptive up to {} sets, \
         threshold {}, alpha {}; noise between {} within {} first-execution excess {}",
        gate.applications,
        gate.executions,
        gate.warmups,
        gate.max_sets,
        gate.cfg.threshold,
        gate.cfg.alpha,
        noise.between,
        noise.within,
        noise.first_excess
    );
    let tiers: Vec<String> =
        std::env::var("GATE_TIERS").map_or(vec!["p0".into(), "p1".into(), "p2".into()], |t| t.split(',').map(String::from).collect());
    for (tier, cells, n) in [("p0", 64usize, trials), ("p1", 384, trials), ("p2", 1280, trials.div_ceil(2))] {
        if !tiers.iter().any(|t| t == tier) {
            continue;
        }
        let started = std::time::Instant::now();
        for slow in [0.40, 0.25, 0.20] {
            let hits = (0..n as u64)
                .into_par_iter()
                .filter(|&seed| report(cells, Some((0, slow)), 0.0, &noise, &gate, seed * 7 + 1).regressions.contains(&0))
                .count();
            println!("gate_{tier}_detect_{}={:.3}", (slow * 100.0f64).round(), hits as f64 / n as f64);
        }
        let aa: Vec<_> = (0..n as u64).into_par_iter().map(|seed| report(cells, None, 0.0, &noise, &gate, seed * 7 + 3)).collect();
        let alarms = aa.iter().filter(|o| !o.regressions.is_empty()).count();
        let extra: usize = aa.iter().map(|o| o.extra_applications).sum();
        println!("gate_{tier}_false_alarm={:.3}", alarms as f64 / n as f64);
        println!("gate_{tier}_extra_runs={:.3}", extra as f64 / (n * cells * gate.applications) as f64);
        eprintln!("# {tier}: {n} reports per figure in {:.1?}", started.elapsed());
    }
}
