//! Simulated reports for the regression gate, shared by `cargo bench --bench gate` (the sweep)
//! and `tests/stats_gate.rs` (seeded quick checks). Each cell's samples are built the way a
//! real report builds them: per fresh application, `executions` measured executions with a
//! between-application factor and within-application noise (plus a warm-up excess on the first
//! measured one), reduced to the median after `warmups`; then every cell is compared
//! (`stats::compare`) and the whole family is decided together (`stats::decide_all`), as
//! `report::analyze` does for the gating metric. `--adaptive` is modelled as rounds that give
//! every inconclusive cell one more application until `max_sets`.
#![allow(dead_code)]

use loadbuild::stats::{self, BootstrapConfig, Direction, InconclusiveReason, Verdict, VerdictConfig};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

/// The noise of one cell's gating metric, relative (log scale: 0.05 ≈ 5%).
#[derive(Debug, Clone, Copy)]
pub struct Noise {
    /// Standard deviation of a whole application's level (what a re-run shows).
    pub between: f64,
    /// Standard deviation of one execution around its application's level.
    pub within: f64,
    /// Extra time of the first measured execution (0.3 = 30% slower), for warm-up effects.
    pub first_excess: f64,
}

/// Measured (docs/reports.md, "Noise"): a real `loadbuild report` of the quick tier's two
/// `client=airflow` cells, 3 applications each of 4 measured executions of `read` on 1 GiB, on
/// this project's shared 2-core machine at load average 16–21 (so inflated): log-scale sd of the
/// application medians 0.136 (mean over the 2 cells), of executions 2–4 within an application
/// 0.150 (mean over 6 applications), first measured execution +22% over its application's
/// median (median over 6).
pub const NOISE: Noise = Noise { between: 0.136, within: 0.150, first_excess: 0.22 };

/// The report's settings that shape the gate.
#[derive(Debug, Clone, Copy)]
pub struct Gate {
    pub applications: usize,
    pub executions: usize,
    pub warmups: usize,
    /// Total sets a cell may reach under `--adaptive` (≤ `applications` turns it off).
    pub max_sets: usize,
    pub cfg: VerdictConfig,
}

impl Gate {
    /// The defaults of `[report]` and `vars.local.repetitions` as shipped.
    pub fn defaults() -> Gate {
        let s = loadbuild::loadfile::ReportSettings::default();
        Gate {
            applications: s.applications as usize,
            executions: 5,
            warmups: s.warmups,
            max_sets: s.max_repetition_sets as usize,
            cfg: VerdictConfig {
                threshold: s.threshold,
                alpha: s.alpha,
                test: s.test,
                min_samples: s.min_samples,
                bootstrap: BootstrapConfig { resamples: 2_000, ..BootstrapConfig::default() },
            },
        }
    }
}

/// One simulated report's outcome.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Cells judged a regression.
    pub regressions: Vec<usize>,
    pub inconclusive: usize,
    /// Applications added by the adaptive rounds (current side).
    pub extra_applications: usize,
}

fn normal(rng: &mut Xoshiro256PlusPlus) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// One application's value: the median of its measured executions after the warm-ups.
fn application(rng: &mut Xoshiro256PlusPlus, level: f64, noise: &Noise, gate: &Gate) -> f64 {
    let app = level * (noise.between * normal(rng)).exp();
    let mut xs: Vec<f64> = (0..gate.executions)
        .map(|k| app * (noise.within * normal(rng)).exp() * if k == 0 { 1.0 + noise.first_excess } else { 1.0 })
        .collect();
    let kept = if xs.len() > gate.warmups { xs.split_off(gate.warmups) } else { xs };
    stats::median(&kept).expect("finite values")
}

/// A report of `cells` cells: `slow` = (cell, relative slowdown) applied to the current side,
/// and `shift` a relative shift of every current application (an A/A run on a noisier day).
pub fn report(cells: usize, slow: Option<(usize, f64)>, shift: f64, noise: &Noise, gate: &Gate, seed: u64) -> Outcome {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut base: Vec<Vec<f64>> = Vec::with_capacity(cells);
    let mut now: Vec<Vec<f64>> = Vec::with_capacity(cells);
    let mut levels = Vec::with_capacity(cells);
    for c in 0..cells {
        // Cells differ in level (10 s to 60 s); only the relative noise matters.
        let level = 10.0 + 50.0 * rng.random::<f64>();
        let factor = (1.0 + shift) * slow.filter(|s| s.0 == c).map_or(1.0, |s| 1.0 + s.1);
        base.push((0..gate.applications).map(|_| application(&mut rng, level, noise, gate)).collect());
        now.push((0..gate.applications).map(|_| application(&mut rng, level * factor, noise, gate)).collect());
        levels.push(level * factor);
    }
    let mut extra = 0;
    loop {
        let comparisons: Vec<stats::Comparison> =
            base.iter().zip(&now).map(|(b, n)| stats::compare(b, n, Direction::LowerIsBetter, &gate.cfg).expect("valid samples")).collect();
        let decisions = stats::decide_all(&comparisons, &gate.cfg);
        let open: Vec<usize> = decisions
            .iter()
            .enumerate()
            .filter(|(c, d)| {
                matches!(d.verdict, Verdict::Inconclusive { reason } if !matches!(reason, InconclusiveReason::NonPositiveBaseline))
                    && now[*c].len() < gate.max_sets
            })
            .map(|(c, _)| c)
            .collect();
        if open.is_empty() {
            return Outcome {
                regressions: decisions.iter().enumerate().filter(|(_, d)| d.verdict == Verdict::Regression).map(|(c, _)| c).collect(),
                inconclusive: decisions.iter().filter(|d| matches!(d.verdict, Verdict::Inconclusive { .. })).count(),
                extra_applications: extra,
            };
        }
        for c in open {
            now[c].push(application(&mut rng, levels[c], noise, gate));
            extra += 1;
        }
    }
}
