//! History analysis on synthetic series: change points (E-divisive with a t-test, as Otava
//! does), Mann–Kendall and Theil–Sen.
use loadbuild::stats::{ChangePointConfig, StatsError, change_points, mann_kendall, theil_sen};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

fn noise(seed: u64, n: usize, sd: f64) -> Vec<f64> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let u1: f64 = 1.0 - rng.random::<f64>();
            let u2: f64 = rng.random();
            sd * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
        })
        .collect()
}

/// 100 runs around 100 ms, shifted by `step` from run `at` on.
fn history(seed: u64, at: usize, step: f64) -> Vec<f64> {
    noise(seed, 100, 2.0).into_iter().enumerate().map(|(i, e)| 100.0 + e + if i >= at { step } else { 0.0 }).collect()
}

#[test]
fn issue_7_a_step_at_run_60_is_found_at_60() {
    let cfg = ChangePointConfig::default();
    for seed in 0..10 {
        let found = change_points(&history(seed, 60, 15.0), &cfg).unwrap();
        let indices: Vec<usize> = found.iter().map(|c| c.index).collect();
        assert_eq!(indices, [60], "seed {seed}: {found:?}");
        let cp = found[0];
        assert!(cp.p_value < cfg.max_p, "seed {seed}: p {}", cp.p_value);
        assert!((cp.mean_before - 100.0).abs() < 1.5 && (cp.mean_after - 115.0).abs() < 1.5);
        assert!((cp.relative_change() - 0.15).abs() < 0.03);
    }
}

#[test]
fn issue_7_no_change_finds_no_change_point() {
    let cfg = ChangePointConfig::default();
    // The t-test's p is not adjusted for E-divisive's search over splits, so a few flat series
    // still show a small shift at p < 0.001; all of them are noise-sized (< 5%).
    let (mut series_with_points, mut points) = (0, 0);
    for seed in 100..200 {
        let found = change_points(&history(seed, 100, 0.0), &cfg).unwrap();
        assert!(found.iter().all(|c| c.relative_change().abs() < 0.05), "seed {seed}: {found:?}");
        series_with_points += usize::from(!found.is_empty());
        points += found.len();
    }
    println!("100 flat histories of 100 runs: {points} change points in {series_with_points} series");
    assert!(series_with_points <= 8, "{series_with_points} of 100 flat series have change points");
    // Asking for at least a 5% shift, as a report would, leaves none.
    let gated = ChangePointConfig { min_magnitude: 0.05, ..cfg };
    for seed in 100..200 {
        let found = change_points(&history(seed, 100, 0.0), &gated).unwrap();
        assert!(found.is_empty(), "seed {seed}: {found:?}");
    }
    assert!(change_points(&[5.0; 40], &cfg).unwrap().is_empty());
}

#[test]
fn issue_7_two_steps_and_a_clean_step_are_both_found() {
    let cfg = ChangePointConfig::default();
    let mut series = history(7, 30, 10.0);
    for x in &mut series[70..] {
        *x -= 25.0;
    }
    let indices: Vec<usize> = change_points(&series, &cfg).unwrap().iter().map(|c| c.index).collect();
    assert_eq!(indices, [30, 70]);
    // Without noise the t-test's p is 0: a change point at exactly the step.
    let clean: Vec<f64> = (0..20).map(|i| if i < 12 { 1.0 } else { 2.0 }).collect();
    let found = change_points(&clean, &cfg).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].index, found[0].p_value), (12, 0.0));
}

#[test]
fn issue_7_change_point_inputs_are_checked() {
    let cfg = ChangePointConfig::default();
    assert!(matches!(change_points(&[1.0, f64::NAN, 2.0], &cfg), Err(StatsError::NonFinite { index: 1, .. })));
    let bad = ChangePointConfig { window: 1, ..cfg };
    assert!(matches!(change_points(&[1.0, 2.0], &bad), Err(StatsError::InvalidParameter { name: "window", .. })));
    assert!(change_points(&[], &cfg).unwrap().is_empty());
    assert!(change_points(&[1.0, 9.0], &cfg).unwrap().is_empty());
}

#[test]
fn issue_7_trend_of_a_slow_drift() {
    let drift: Vec<f64> = noise(11, 60, 2.0).into_iter().enumerate().map(|(i, e)| 100.0 + 0.3 * i as f64 + e).collect();
    let mk = mann_kendall(&drift).unwrap();
    assert!(mk.s > 0 && mk.p_value < 1e-6, "{mk:?}");
    let ts = theil_sen(&drift).unwrap();
    assert!((ts.slope - 0.3).abs() < 0.05, "{ts:?}");
    assert!((ts.intercept - 100.0).abs() < 2.0, "{ts:?}");
    let flat = mann_kendall(&noise(12, 60, 2.0)).unwrap();
    assert!(flat.p_value > 0.05, "{flat:?}");
}
