//! `src/stats` against SciPy: every expected number comes from `tests/data/stats/reference.json`,
//! which `tests/data/stats/reference.py` generates (see its docstring to regenerate).
use loadbuild::stats::{
    self, BootstrapConfig, MwuMethod, StatsError, benjamini_hochberg, mann_kendall, mann_whitney_u, relative_change_ci, skewness,
    student_t_test, summarize, theil_sen, welch_t_test,
};
use serde_json::Value;

fn reference() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/stats/reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("reference.json is checked in")).expect("reference.json is valid json")
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().expect("an array of numbers").iter().map(|x| x.as_f64().expect("a number")).collect()
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("expected a number, got {v}"))
}

/// |actual − expected| ≤ rel · |expected| + abs, with the case named on failure.
#[track_caller]
fn assert_close(what: &str, actual: f64, expected: f64, rel: f64, abs: f64) {
    let tol = rel * expected.abs() + abs;
    assert!((actual - expected).abs() <= tol, "{what}: got {actual:e}, scipy says {expected:e} (tolerance {tol:e})");
}

#[test]
fn issue_7_summary_matches_numpy_and_t_interval() {
    for case in reference()["summary"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let s = summarize(&floats(&case["x"])).unwrap();
        assert_eq!(s.n as u64, case["n"].as_u64().unwrap(), "{name}: n");
        assert_close(&format!("{name}: mean"), s.mean, num(&case["mean"]), 1e-12, 0.0);
        assert_close(&format!("{name}: median"), s.median, num(&case["median"]), 1e-12, 0.0);
        match (&case["stddev"], s.stddev) {
            (Value::Null, None) => {}
            (sd, Some(ours)) => assert_close(&format!("{name}: stddev"), ours, num(sd), 1e-9, 1e-12),
            (sd, ours) => panic!("{name}: stddev {ours:?} but scipy says {sd}"),
        }
        match (&case["ci95"], s.ci95) {
            (Value::Null, None) => {}
            (ci, Some((lo, hi))) => {
                let ci = floats(ci);
                assert_close(&format!("{name}: ci lo"), lo, ci[0], 1e-10, 0.0);
                assert_close(&format!("{name}: ci hi"), hi, ci[1], 1e-10, 0.0);
            }
            (ci, ours) => panic!("{name}: ci95 {ours:?} but scipy says {ci}"),
        }
    }
}

#[test]
fn issue_7_summary_edge_cases_are_defined() {
    assert!(matches!(summarize(&[]), Err(StatsError::TooFewSamples { got: 0, .. })));
    let err = summarize(&[1.0, f64::NAN, 3.0]).unwrap_err();
    assert!(matches!(err, StatsError::NonFinite { index: 1, .. }), "{err}");
    assert_eq!(err.to_string(), "`sample` holds the non-finite value `NaN` at index `1`");
    assert!(matches!(summarize(&[1.0, f64::INFINITY]), Err(StatsError::NonFinite { index: 1, .. })));
    let one = summarize(&[7.5]).unwrap();
    assert_eq!((one.mean, one.median, one.stddev, one.ci95), (7.5, 7.5, None, None));
}

#[test]
fn issue_7_welch_and_student_t_tests_match_scipy() {
    for case in reference()["ttest"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let (a, b) = (floats(&case["a"]), floats(&case["b"]));
        for (kind, ours) in [("welch", welch_t_test(&a, &b).unwrap()), ("student", student_t_test(&a, &b).unwrap())] {
            let want = &case[kind];
            assert_close(&format!("{name}/{kind}: t"), ours.t, num(&want["t"]), 1e-10, 1e-12);
            assert_close(&format!("{name}/{kind}: df"), ours.df, num(&want["df"]), 1e-10, 0.0);
            assert_close(&format!("{name}/{kind}: p"), ours.p_value, num(&want["p"]), 1e-8, 1e-15);
        }
    }
}

#[test]
fn issue_7_t_test_degenerate_cases_are_defined_where_scipy_gives_nan() {
    let same = welch_t_test(&[3.0, 3.0, 3.0], &[3.0, 3.0]).unwrap();
    assert_eq!((same.t, same.p_value), (0.0, 1.0));
    let apart = welch_t_test(&[3.0, 3.0, 3.0], &[4.0, 4.0]).unwrap();
    assert_eq!((apart.t, apart.p_value), (f64::NEG_INFINITY, 0.0));
    assert!(matches!(welch_t_test(&[1.0], &[1.0, 2.0]), Err(StatsError::TooFewSamples { need: 2, got: 1, .. })));
    assert!(matches!(welch_t_test(&[1.0, 2.0], &[f64::NAN, 2.0]), Err(StatsError::NonFinite { sample: "b", .. })));
}

#[test]
fn issue_7_mann_whitney_matches_scipy_exact_asymptotic_and_auto() {
    for case in reference()["mannwhitney"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let (a, b) = (floats(&case["a"]), floats(&case["b"]));
        let asym = mann_whitney_u(&a, &b, MwuMethod::Asymptotic).unwrap();
        assert_close(&format!("{name}: u"), asym.u, num(&case["u"]), 0.0, 1e-12);
        assert_close(&format!("{name}: asymptotic p"), asym.p_value, num(&case["asymptotic_p"]), 1e-9, 1e-15);
        match &case["exact_p"] {
            Value::Null => assert!(matches!(mann_whitney_u(&a, &b, MwuMethod::Exact), Err(StatsError::ExactWithTies { .. }))),
            p => {
                let exact = mann_whitney_u(&a, &b, MwuMethod::Exact).unwrap();
                assert_close(&format!("{name}: exact p"), exact.p_value, num(p), 1e-12, 1e-15);
            }
        }
        let auto = mann_whitney_u(&a, &b, MwuMethod::Auto).unwrap();
        let method = match case["auto_method"].as_str().unwrap() {
            "exact" => MwuMethod::Exact,
            _ => MwuMethod::Asymptotic,
        };
        assert_eq!(auto.method, method, "{name}: auto picked the method scipy picks");
        assert_close(&format!("{name}: auto p"), auto.p_value, num(&case["auto_p"]), 1e-9, 1e-15);
    }
}

#[test]
fn issue_7_mann_whitney_3_vs_3_cannot_reach_005_but_4_vs_4_can() {
    assert_close("min p 3v3", stats::mann_whitney_min_p(3, 3), 0.1, 1e-12, 0.0);
    assert_close("min p 4v4", stats::mann_whitney_min_p(4, 4), 2.0 / 70.0, 1e-12, 0.0);
    assert!(stats::mann_whitney_min_p(4, 4) < 0.05);
}

#[test]
fn issue_7_benjamini_hochberg_matches_false_discovery_control() {
    for case in reference()["fdr"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let ours = benjamini_hochberg(&floats(&case["p"])).unwrap();
        let want = floats(&case["adjusted"]);
        assert_eq!(ours.len(), want.len(), "{name}: length");
        for (i, (o, w)) in ours.iter().zip(&want).enumerate() {
            assert_close(&format!("{name}[{i}]"), *o, *w, 1e-12, 0.0);
        }
    }
    assert!(matches!(benjamini_hochberg(&[0.1, f64::NAN]), Err(StatsError::InvalidParameter { name: "p-value", .. })));
    assert!(benjamini_hochberg(&[0.1, 1.5]).is_err());
}

#[test]
fn issue_7_skewness_matches_scipy() {
    for case in reference()["skewness"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let ours = skewness(&floats(&case["x"])).unwrap().expect("defined");
        assert_close(name, ours, num(&case["skew"]), 1e-10, 1e-12);
    }
    assert_eq!(skewness(&[2.0, 2.0, 2.0]).unwrap(), None);
}

#[test]
fn issue_7_mann_kendall_and_theil_sen_match_reference() {
    for case in reference()["trend"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let y = floats(&case["y"]);
        let mk = mann_kendall(&y).unwrap();
        let want = &case["mann_kendall"];
        assert_eq!(mk.s, want["s"].as_i64().unwrap(), "{name}: s");
        assert_close(&format!("{name}: var"), mk.var_s, num(&want["var_s"]), 1e-12, 0.0);
        assert_close(&format!("{name}: z"), mk.z, num(&want["z"]), 1e-12, 1e-15);
        assert_close(&format!("{name}: p"), mk.p_value, num(&want["p"]), 1e-9, 1e-15);
        let ts = theil_sen(&y).unwrap();
        let want = &case["theil_sen"];
        assert_close(&format!("{name}: slope"), ts.slope, num(&want["slope"]), 1e-12, 1e-12);
        assert_close(&format!("{name}: intercept"), ts.intercept, num(&want["intercept"]), 1e-12, 1e-12);
    }
}

#[test]
fn issue_7_bootstrap_is_exact_for_small_supports_seeded_beyond_and_agrees_with_scipy() {
    let case = &reference()["bootstrap"][0];
    let (base, cur) = (floats(&case["baseline"]), floats(&case["current"]));
    let ci = floats(&case["ci"]);
    let point = num(&case["point"]);
    // 30 and 25 samples: 465 × 25 possible pairs of resampled medians, fewer than the resamples,
    // so the distribution is computed exactly and the seed plays no part.
    let exact = BootstrapConfig { resamples: case["resamples"].as_u64().unwrap() as usize, seed: 7, confidence: 0.95 };
    let (lo, hi) = relative_change_ci(&base, &cur, &exact).unwrap();
    assert_eq!(relative_change_ci(&base, &cur, &BootstrapConfig { seed: 8, ..exact }).unwrap(), (lo, hi), "exact: no seed involved");
    // SciPy's 20,000-resample interval agrees to well under one percentage point.
    assert_close("exact ci lo", lo, ci[0], 0.0, 0.01);
    assert_close("exact ci hi", hi, ci[1], 0.0, 0.01);
    assert!(lo < point && point < hi, "the ci [{lo}, {hi}] holds the point {point}");
    // With fewer resamples than support points the interval is resampled: seeded, repeatable.
    let sampled = BootstrapConfig { resamples: 5_000, ..exact };
    let (slo, shi) = relative_change_ci(&base, &cur, &sampled).unwrap();
    assert_eq!(relative_change_ci(&base, &cur, &sampled).unwrap(), (slo, shi), "same seed, same ci");
    assert_ne!(relative_change_ci(&base, &cur, &BootstrapConfig { seed: 8, ..sampled }).unwrap(), (slo, shi), "the seed is used");
    assert_close("resampled ci lo", slo, ci[0], 0.0, 0.01);
    assert_close("resampled ci hi", shi, ci[1], 0.0, 0.01);
}
