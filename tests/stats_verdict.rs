//! The verdict rule end to end on synthetic samples: direction, the effect gate, FDR control on
//! pure noise, and the sample sizes that cannot reach significance.
use loadbuild::stats::{
    BootstrapConfig, Comparison, Direction, InconclusiveReason, MwuMethod, TestChoice, TestUsed, Verdict, VerdictConfig, compare, decide,
    decide_all,
};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

/// `n` draws of N(mean, sd) by Box–Muller from a seeded xoshiro256++ stream.
fn normal(rng: &mut Xoshiro256PlusPlus, n: usize, mean: f64, sd: f64) -> Vec<f64> {
    (0..n)
        .map(|_| {
            let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1], so ln is finite
            let u2: f64 = rng.random();
            mean + sd * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
        })
        .collect()
}

fn verdict(base: &[f64], cur: &[f64], direction: Direction, cfg: &VerdictConfig) -> Verdict {
    let cmp = compare(base, cur, direction, cfg).unwrap();
    decide(&cmp, None, cfg).verdict
}

#[test]
fn issue_7_direction_decides_what_a_40_percent_change_means() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    let cfg = VerdictConfig::default();
    let base = normal(&mut rng, 10, 100.0, 2.0);
    let up = normal(&mut rng, 10, 140.0, 2.8);
    let down = normal(&mut rng, 10, 60.0, 1.2);
    use Direction::*;
    // Durations: 40% slower is a regression, 40% faster an improvement.
    assert_eq!(verdict(&base, &up, LowerIsBetter, &cfg), Verdict::Regression);
    assert_eq!(verdict(&base, &down, LowerIsBetter, &cfg), Verdict::Improvement);
    // Throughput: 40% lower is a regression (the old rule let this pass), 40% higher an improvement.
    assert_eq!(verdict(&base, &down, HigherIsBetter, &cfg), Verdict::Regression);
    assert_eq!(verdict(&base, &up, HigherIsBetter, &cfg), Verdict::Improvement);
}

#[test]
fn issue_7_decision_reports_change_ci_and_p() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
    let cfg = VerdictConfig::default();
    let (base, cur) = (normal(&mut rng, 10, 100.0, 2.0), normal(&mut rng, 10, 140.0, 2.8));
    let d = decide(&compare(&base, &cur, Direction::LowerIsBetter, &cfg).unwrap(), None, &cfg);
    let change = d.relative_change.unwrap();
    let (lo, hi) = d.ci.unwrap();
    assert!((change - 0.4).abs() < 0.05, "relative change {change}");
    assert!(lo < change && change < hi && lo > 0.2, "ci [{lo}, {hi}]");
    assert!(d.p_value.unwrap() < 1e-6, "p {:?}", d.p_value);
    assert_eq!(d.test, Some(TestUsed::Welch), "normal 10 vs 10 uses Welch under auto");
}

#[test]
fn issue_7_three_vs_three_under_mann_whitney_is_inconclusive() {
    let cfg = VerdictConfig { min_samples: 3, test: TestChoice::MannWhitney, ..VerdictConfig::default() };
    // Perfectly separated and twice as slow, yet 3 vs 3 cannot give p < 0.1.
    let v = verdict(&[10.0, 10.1, 10.2], &[20.0, 20.1, 20.2], Direction::LowerIsBetter, &cfg);
    let Verdict::Inconclusive { reason: InconclusiveReason::CannotReachSignificance { min_p, .. } } = v else {
        panic!("expected cannot-reach-significance, got {v:?}");
    };
    assert!((min_p - 0.1).abs() < 1e-12);
    // Auto also falls back to Mann–Whitney at n < 8, with the same answer.
    let auto = VerdictConfig { test: TestChoice::Auto, ..cfg };
    let v = verdict(&[10.0, 10.1, 10.2], &[20.0, 20.1, 20.2], Direction::LowerIsBetter, &auto);
    assert!(matches!(v, Verdict::Inconclusive { .. }), "{v:?}");
    // 4 vs 4 can reach 0.029 < 0.05.
    let four = VerdictConfig { min_samples: 4, ..cfg };
    let v = verdict(&[10.0, 10.1, 10.2, 10.3], &[20.0, 20.1, 20.2, 20.3], Direction::LowerIsBetter, &four);
    assert_eq!(v, Verdict::Regression);
}

#[test]
fn issue_7_too_few_samples_and_zero_baseline_are_inconclusive() {
    let cfg = VerdictConfig::default();
    let v = verdict(&[1.0, 2.0, 3.0, 4.0], &[5.0, 6.0, 7.0, 8.0, 9.0], Direction::LowerIsBetter, &cfg);
    assert_eq!(v, Verdict::Inconclusive { reason: InconclusiveReason::TooFewSamples { baseline: 4, current: 5, min: 5 } });
    let zeros = [0.0; 6];
    let v = verdict(&zeros, &[0.0, 0.1, 0.0, 0.2, 0.0, 0.0], Direction::LowerIsBetter, &cfg);
    assert_eq!(v, Verdict::Inconclusive { reason: InconclusiveReason::NonPositiveBaseline });
    assert!(compare(&[1.0, f64::NAN], &[1.0], Direction::LowerIsBetter, &cfg).is_err());
}

#[test]
fn issue_7_a_ci_straddling_the_threshold_is_inconclusive_and_a_small_change_is_unchanged() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    let cfg = VerdictConfig::default();
    let base = normal(&mut rng, 10, 100.0, 3.0);
    let v = verdict(&base, &normal(&mut rng, 10, 120.0, 3.6), Direction::LowerIsBetter, &cfg);
    let Verdict::Inconclusive { reason: reason @ InconclusiveReason::CiStraddlesThreshold { lo, hi, .. } } = v else {
        panic!("expected a straddling ci, got {v:?}");
    };
    assert!(lo < 0.2 && 0.2 < hi);
    assert!(reason.to_string().starts_with("the ci of the change `["), "{reason}");
    // A significant but small (5%) slowdown is below the gate.
    let v = verdict(&base, &normal(&mut rng, 10, 105.0, 3.0), Direction::LowerIsBetter, &cfg);
    assert_eq!(v, Verdict::Unchanged);
}

#[test]
fn issue_7_auto_uses_mann_whitney_for_skewed_or_outlying_samples() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(4);
    let cfg = VerdictConfig::default();
    let base = normal(&mut rng, 12, 100.0, 2.0);
    let mut cur = normal(&mut rng, 12, 100.0, 2.0);
    cur[3] = 300.0; // one GC-paused run
    let cmp = compare(&base, &cur, Direction::LowerIsBetter, &cfg).unwrap();
    assert_eq!(cmp.test, Some(TestUsed::MannWhitney(MwuMethod::Asymptotic)));
    assert_eq!(decide(&cmp, None, &cfg).verdict, Verdict::Unchanged);
}

#[test]
fn issue_7_the_caller_supplied_adjusted_p_is_what_the_rule_uses() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
    let cfg = VerdictConfig::default();
    let (base, cur) = (normal(&mut rng, 10, 100.0, 2.0), normal(&mut rng, 10, 140.0, 2.8));
    let cmp = compare(&base, &cur, Direction::LowerIsBetter, &cfg).unwrap();
    assert_eq!(decide(&cmp, Some(0.01), &cfg).verdict, Verdict::Regression);
    let d = decide(&cmp, Some(0.2), &cfg);
    assert_eq!(d.verdict, Verdict::Inconclusive { reason: InconclusiveReason::NotSignificant { p: 0.2, alpha: 0.05 } });
    assert_eq!(d.adjusted_p, Some(0.2));
}

#[test]
fn issue_7_bh_keeps_pure_noise_over_the_full_matrix_from_flagging() {
    const CELLS: usize = 1_280;
    let cfg = VerdictConfig {
        // The bootstrap only has to place the CI, not polish it: keep 3,840 of them quick.
        bootstrap: BootstrapConfig { resamples: 300, ..BootstrapConfig::default() },
        ..VerdictConfig::default()
    };
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1280);
    // (direction, mean, sd): a wall time, a throughput and a GC share, 10 vs 10 runs each, with
    // noisy-cluster spread (15%) so the effect gate alone would not hide false alarms.
    let metrics =
        [(Direction::LowerIsBetter, 60.0, 9.0), (Direction::HigherIsBetter, 2.0e6, 3.0e5), (Direction::LowerIsBetter, 0.08, 0.012)];
    let comparisons: Vec<Comparison> = (0..CELLS)
        .flat_map(|_| metrics)
        .map(|(direction, mean, sd)| {
            let base = normal(&mut rng, 10, mean, sd);
            let cur = normal(&mut rng, 10, mean, sd);
            compare(&base, &cur, direction, &cfg).unwrap()
        })
        .collect();
    let raw_significant = comparisons.iter().filter(|c| c.p_value.is_some_and(|p| p < cfg.alpha)).count();
    let flagged_without_bh = comparisons.iter().filter(|c| is_flagged(decide(c, None, &cfg).verdict)).count();
    let decisions = decide_all(&comparisons, &cfg);
    let bh_significant = decisions.iter().filter(|d| d.adjusted_p.is_some_and(|q| q < cfg.alpha)).count();
    let flagged = decisions.iter().filter(|d| is_flagged(d.verdict)).count();
    println!(
        "{} tests on noise: raw p < 0.05: {raw_significant}; flagged without BH: {flagged_without_bh}; \
         BH q < 0.05: {bh_significant}; flagged with BH: {flagged}",
        comparisons.len()
    );
    assert!(raw_significant > 100, "about 5% of 3,840 should be raw-significant, got {raw_significant}");
    assert!(bh_significant <= 3, "BH let {bh_significant} noise tests through");
    assert!(flagged <= 3, "the gate flagged {flagged} noise cells");
}

fn is_flagged(v: Verdict) -> bool {
    matches!(v, Verdict::Regression | Verdict::Improvement)
}
