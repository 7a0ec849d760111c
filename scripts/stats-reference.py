#!/usr/bin/env python3
"""Reference values for balloon-bench's statistics, computed independently with SciPy.

Writes test/fixtures/stats/scipy-reference.json; the tests check our TypeScript against it to
4 significant digits. Re-run after changing the cases: python3 scripts/stats-reference.py
"""
import json
import pathlib

import numpy as np
import scipy
from scipy import stats

rng = np.random.default_rng(20261123)
cases = {
    # task-clock (ms) recorded in a TCG guest (test/fixtures/perf/guest-tcg-append-3runs.csv) vs made-up faster runs
    "guest-small": ([579.41, 540.40, 509.68], [232.1, 251.9, 219.4]),
    # the cover letter's scale: baseline 232 +- 20 ms, optimized 51 +- 26 ms, n = 10
    "cover-letter-like": (list(np.round(rng.normal(232, 20, 10), 3)), list(np.round(rng.normal(51, 26, 10), 3))),
    # A/A: same distribution
    "a-a": (list(np.round(rng.normal(100, 5, 12), 3)), list(np.round(rng.normal(100, 5, 12), 3))),
    # ties, so Mann-Whitney must use the tie-corrected normal approximation
    "ties": ([1, 2, 2, 3, 3, 3, 4, 5, 5], [2, 3, 4, 4, 5, 6, 6, 6, 7]),
    # larger samples: asymptotic Mann-Whitney without ties
    "large": (list(np.round(rng.normal(10, 2, 30), 4)), list(np.round(rng.normal(11, 3, 25), 4))),
    # unequal sizes, small: exact Mann-Whitney
    "unequal-small": ([12.5, 13.1, 11.9, 12.2, 14.0], [10.1, 11.0, 10.7, 9.9, 10.5, 11.3, 10.2]),
}

out = {"scipy": scipy.__version__, "cases": {}}
for name, (a, b) in cases.items():
    a = [float(x) for x in a]
    b = [float(x) for x in b]
    welch = stats.ttest_ind(b, a, equal_var=False)
    ci = welch.confidence_interval(0.95)
    mw = stats.mannwhitneyu(a, b, alternative="two-sided", method="auto")
    desc = {}
    for label, x in (("a", a), ("b", b)):
        x = np.array(x)
        lo, hi = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
        desc[label] = {
            "mean": float(x.mean()),
            "sd": float(x.std(ddof=1)),
            "median": float(np.median(x)),
            "ci95": [float(lo), float(hi)],
        }
    out["cases"][name] = {
        "a": a,
        "b": b,
        "welch": {"t": float(welch.statistic), "df": float(welch.df), "p": float(welch.pvalue), "diffCi95": [float(ci.low), float(ci.high)]},
        "mannWhitney": {"u": float(mw.statistic), "p": float(mw.pvalue)},
        "describe": desc,
    }

# Holm, written out independently: sort, multiply by (k - i), running maximum, cap at 1.
p = [0.01, 0.04, 0.03, 0.005, 0.2]
order = sorted(range(len(p)), key=lambda i: p[i])
adjusted = [0.0] * len(p)
running = 0.0
for rank, i in enumerate(order):
    running = max(running, min(1.0, (len(p) - rank) * p[i]))
    adjusted[i] = running
out["holm"] = {"p": p, "adjusted": adjusted}
out["quantiles"] = {
    "t975_df3": float(stats.t.ppf(0.975, 3)),
    "t975_df17.3": float(stats.t.ppf(0.975, 17.3)),
    "tcdf_2.1_df5.5": float(stats.t.cdf(2.1, 5.5)),
    "normcdf_1.96": float(stats.norm.cdf(1.96)),
}
# Noise floor of an A/A pair: pooled CoV and the minimal detectable difference at 80 % power,
# (t.ppf(0.975, df) + t.ppf(0.8, df)) * sqrt(2/n) * CoV, df = 2n - 2.
a, b = cases["a-a"]
a = np.array(a, dtype=float)
b = np.array(b, dtype=float)
pooled = np.sqrt(((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2))
cov = pooled / abs(np.concatenate([a, b]).mean())
df = len(a) + len(b) - 2
out["noiseFloor"] = {"cov": float(cov), "minDetectablePct": float(100 * (stats.t.ppf(0.975, df) + stats.t.ppf(0.8, df)) * np.sqrt(2 / len(a)) * cov)}
# Survival functions far in the tail, where 1 - cdf is 0.
out["tails"] = {
    "tsf_40_df10": float(stats.t.sf(40, 10)),
    "tsf_12_df30": float(stats.t.sf(12, 30)),
    "normsf_10": float(stats.norm.sf(10)),
    "normsf_30": float(stats.norm.sf(30)),
}


def ratio_test(a, b):
    """The boot-level comparison, written out independently: log of the ratio of the means of
    boot means, delta-method variance, Welch-Satterthwaite degrees of freedom, t survival p."""
    a = np.array(a, dtype=float)
    b = np.array(b, dtype=float)
    ma, mb = a.mean(), b.mean()
    ua = a.var(ddof=1) / (len(a) * ma**2)
    ub = b.var(ddof=1) / (len(b) * mb**2)
    est = np.log(mb / ma)
    se = np.sqrt(ua + ub)
    df = (ua + ub) ** 2 / (ua**2 / (len(a) - 1) + ub**2 / (len(b) - 1))
    half = stats.t.ppf(0.975, df) * se
    return {
        "deltaPct": float(100 * (mb / ma - 1)),
        "ci95": [float(100 * (np.exp(est - half) - 1)), float(100 * (np.exp(est + half) - 1))],
        "p": float(2 * stats.t.sf(abs(est / se), df)),
        "df": float(df),
    }


def icc1(groups):
    """ICC(1) from the one-way ANOVA mean squares (Shrout and Fleiss), clipped to [0, 1]."""
    k = len(groups)
    n = sum(len(g) for g in groups)
    grand = np.mean(np.concatenate(groups))
    msb = sum(len(g) * (np.mean(g) - grand) ** 2 for g in groups) / (k - 1)
    msw = sum(((np.array(g) - np.mean(g)) ** 2).sum() for g in groups) / (n - k)
    n0 = (n - sum(len(g) ** 2 for g in groups) / n) / (k - 1)
    return float(min(1, max(0, (msb - msw) / (msb + (n0 - 1) * msw))))


boot_a = [[1301.2, 1290.4], [1412.8, 1399.1], [1250.3, 1262.9], [1333.0, 1340.7], [1380.5, 1371.2]]
boot_b = [[781.4, 790.2], [822.8, 815.1], [760.3, 771.9], [799.0, 805.7], [812.5, 798.2]]
out["bootLevel"] = {
    "a": boot_a,
    "b": boot_b,
    "ratio": ratio_test([np.mean(g) for g in boot_a], [np.mean(g) for g in boot_b]),
    "iccA": icc1([np.array(g) for g in boot_a]),
    "mannWhitney": float(stats.mannwhitneyu([np.mean(g) for g in boot_a], [np.mean(g) for g in boot_b], method="auto").pvalue),
}
path = pathlib.Path(__file__).resolve().parent.parent / "test/fixtures/stats/scipy-reference.json"
path.write_text(json.dumps(out, indent=1) + "\n")
print(f"wrote {path}")
