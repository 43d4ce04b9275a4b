"""Reference values for `src/stats`, computed independently with SciPy.

Regenerate (from the repository root):
    pip install 'scipy==1.17.1' 'numpy==2.4.6'
    python3 tests/data/stats/reference.py > tests/data/stats/reference.json

Inputs come from a seeded NumPy generator and are rounded to 4 decimals so they print exactly.
Cases where SciPy answers NaN (e.g. a t-test on two constant samples) are left out here: the
Rust side defines and tests those itself.
"""
import json
import sys

import numpy as np
import scipy
from scipy import stats

rng = np.random.default_rng(20240607)


def r(xs):
    return [round(float(x), 4) for x in xs]


def normal(n, mu, sd):
    return r(rng.normal(mu, sd, n))


def lognormal(n, mu, sigma):
    return r(rng.lognormal(mu, sigma, n))


def summaries():
    samples = {
        "normal_10": normal(10, 100.0, 5.0),
        "pair": [4.5, 7.25],
        "single": [42.0],
        "zero_variance": [3.0, 3.0, 3.0, 3.0],
        "skewed_15": lognormal(15, 3.0, 0.8),
        "large_offset": r(1e6 + rng.normal(0, 0.01, 9)),
    }
    out = []
    for name, xs in samples.items():
        a = np.array(xs)
        case = {"name": name, "x": xs, "n": len(xs), "mean": float(a.mean()), "median": float(np.median(a))}
        if len(xs) > 1:
            sd = float(a.std(ddof=1))
            case["stddev"] = sd
            if sd > 0:
                lo, hi = stats.t.interval(0.95, len(xs) - 1, loc=a.mean(), scale=stats.sem(a))
            else:
                lo = hi = float(a.mean())
            case["ci95"] = [float(lo), float(hi)]
        else:
            case["stddev"] = None
            case["ci95"] = None
        out.append(case)
    return out


def ttests():
    pairs = {
        "shifted_10_12": (normal(10, 100, 5), normal(12, 106, 9)),
        "small_2_3": ([1.0, 2.5], [3.0, 4.5, 4.0]),
        "skewed": (lognormal(9, 2.0, 0.5), lognormal(11, 2.2, 0.9)),
        "identical": ([5.0, 6.0, 7.0, 8.0], [5.0, 6.0, 7.0, 8.0]),
        "far_apart": (normal(20, 10, 0.1), normal(20, 20, 0.1)),
        "one_constant": ([2.0, 2.0, 2.0], [1.0, 3.5, 2.25, 4.0]),
    }
    out = []
    for name, (a, b) in pairs.items():
        w = stats.ttest_ind(a, b, equal_var=False)
        s = stats.ttest_ind(a, b, equal_var=True)
        out.append({
            "name": name, "a": a, "b": b,
            "welch": {"t": float(w.statistic), "df": float(w.df), "p": float(w.pvalue)},
            "student": {"t": float(s.statistic), "df": float(s.df), "p": float(s.pvalue)},
        })
    return out


def has_ties(a, b):
    pooled = np.concatenate([a, b])
    return len(np.unique(pooled)) < len(pooled)


def auto_method(a, b):
    # SciPy's `_mwu_choose_method`, restated so the JSON records which one `auto` used.
    if len(a) > 8 and len(b) > 8:
        return "asymptotic"
    return "asymptotic" if has_ties(a, b) else "exact"


def mannwhitney():
    pairs = {
        "separated_3_3": ([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]),
        "separated_4_4": ([1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]),
        "mixed_5_7": (normal(5, 10, 2), normal(7, 12, 2)),
        "exact_8_20": (normal(8, 10, 2), normal(20, 11, 2)),
        "exact_3_15": (normal(3, 10, 2), normal(15, 10, 2)),
        "large_10_12": (normal(10, 10, 2), normal(12, 11.5, 2)),
        "large_25_30": (normal(25, 10, 2), normal(30, 10.5, 2)),
        "ties_6_6": ([1.0, 2.0, 2.0, 3.0, 4.0, 4.0], [2.0, 3.0, 5.0, 5.0, 6.0, 7.0]),
        "ties_12_10": (r(np.round(rng.normal(10, 2, 12))), r(np.round(rng.normal(11, 2, 10)))),
        "all_equal": ([3.0, 3.0, 3.0], [3.0, 3.0]),
        "single_1_5": ([2.5], [1.0, 2.0, 3.0, 4.0, 5.0]),
    }
    out = []
    for name, (a, b) in pairs.items():
        case = {"name": name, "a": a, "b": b}
        asym = stats.mannwhitneyu(a, b, alternative="two-sided", method="asymptotic")
        case["u"] = float(asym.statistic)
        case["asymptotic_p"] = float(asym.pvalue)
        if not has_ties(np.array(a), np.array(b)):
            case["exact_p"] = float(stats.mannwhitneyu(a, b, alternative="two-sided", method="exact").pvalue)
        auto = stats.mannwhitneyu(a, b, alternative="two-sided", method="auto")
        case["auto_method"] = auto_method(np.array(a), np.array(b))
        case["auto_p"] = float(auto.pvalue)
        out.append(case)
    return out


def fdr():
    cases = {
        "textbook": [0.01, 0.04, 0.03, 0.005, 0.5, 0.2, 0.04, 0.9],
        "with_ties_and_edges": [0.0, 1.0, 0.05, 0.05, 0.05, 0.001, 0.3],
        "uniform_60": r(rng.uniform(0, 1, 60)),
        "single": [0.03],
        "empty": [],
    }
    out = []
    for name, ps in cases.items():
        adjusted = stats.false_discovery_control(ps, method="bh").tolist() if ps else []
        out.append({"name": name, "p": ps, "adjusted": [float(q) for q in adjusted]})
    return out


def skewness():
    cases = {"normal_30": normal(30, 0, 1), "lognormal_20": lognormal(20, 0, 1), "three": [1.0, 2.0, 10.0]}
    return [{"name": k, "x": v, "skew": float(stats.skew(v))} for k, v in cases.items()]


def mann_kendall(x):
    """Hand formula (Hirsch & Slack / pymannkendall's original test), cross-checked with kendalltau."""
    x = np.asarray(x)
    n = len(x)
    s = int(sum(np.sign(x[j] - x[i]) for i in range(n) for j in range(i + 1, n)))
    _, counts = np.unique(x, return_counts=True)
    var = (n * (n - 1) * (2 * n + 5) - sum(t * (t - 1) * (2 * t + 5) for t in counts)) / 18.0
    if s > 0:
        z = (s - 1) / np.sqrt(var)
    elif s < 0:
        z = (s + 1) / np.sqrt(var)
    else:
        z = 0.0
    p = float(min(1.0, 2 * stats.norm.sf(abs(z))))
    # Independent check of S: Kendall's tau-b against the run index (which has no ties).
    n0 = n * (n - 1) / 2
    n_tied_pairs = sum(t * (t - 1) / 2 for t in counts)
    if n0 > n_tied_pairs:
        tau_b = stats.kendalltau(np.arange(n), x).statistic
        assert abs(tau_b * np.sqrt(n0 * (n0 - n_tied_pairs)) - s) < 1e-6, "S disagrees with kendalltau"
    return {"s": s, "var_s": float(var), "z": float(z), "p": p}


def trends():
    t = np.arange(40)
    cases = {
        "upward_40": r(100 + 0.5 * t + rng.normal(0, 3, 40)),
        "flat_30": normal(30, 50, 2),
        "downward_ties_25": r(np.round(60 - 0.4 * np.arange(25) + rng.normal(0, 1.5, 25))),
        "constant_5": [7.0] * 5,
        "three": [1.0, 3.0, 2.0],
    }
    out = []
    for name, y in cases.items():
        ts = stats.theilslopes(y)
        out.append({
            "name": name, "y": y,
            "mann_kendall": mann_kendall(y),
            "theil_sen": {"slope": float(ts.slope), "intercept": float(ts.intercept)},
        })
    return out


def bootstrap():
    # SciPy's generator differs from ours, so these are compared with a Monte Carlo tolerance.
    base, cur = normal(30, 100, 8), normal(25, 130, 10)

    def rel(b, c):
        return np.median(c) / np.median(b) - 1

    res = stats.bootstrap((base, cur), rel, paired=False, vectorized=False, method="percentile",
                          n_resamples=20000, confidence_level=0.95, rng=np.random.default_rng(7))
    ci = res.confidence_interval
    return [{"name": "slower_30_25", "baseline": base, "current": cur, "resamples": 20000,
             "point": float(rel(np.array(base), np.array(cur))), "ci": [float(ci.low), float(ci.high)]}]


json.dump({
    "generator": f"tests/data/stats/reference.py with scipy {scipy.__version__}, numpy {np.__version__}",
    "summary": summaries(),
    "ttest": ttests(),
    "mannwhitney": mannwhitney(),
    "fdr": fdr(),
    "skewness": skewness(),
    "trend": trends(),
    "bootstrap": bootstrap(),
}, sys.stdout, indent=1)
sys.stdout.write("\n")
