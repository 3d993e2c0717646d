# The work of benches/estimators.rs done in Python (lifelines, scipy), timed per call: the lifelines
# column of benches/compare_r.sh. The project never needs Python: compare_r.sh runs this only when
# `python3 -c 'import lifelines'` works.
#
#   python3 benches/peers/estimators.py [seconds_per_cell]
#
# Prints the CSV of benches/peers/estimators.R, with the same estimator names:
#   estimator,n,median_us,q25_us,q75_us,batches,calls_per_batch
# (microseconds per call: median and quartiles over batches; each batch is `calls_per_batch` calls
# timed together with time.perf_counter(), sized to last at least 50 ms; about `seconds_per_cell`
# seconds and at least 5 batches per cell, at most 200). SURVMC_PY_ONLY=km,cox10 picks estimators.
#
# The data are drawn here with numpy's generator (default_rng(20261126)) from the same distribution
# as the Rust and R benches, at the same n = 53, 500, 5000 (not the same values: the cost depends on
# n and the numbers of events and distinct times, which the distribution fixes):
#
#   x1 ~ Bernoulli(0.5); z, z2..z9 ~ N(0, 1)
#   T ~ Exp(0.05 exp(0.7 x1 + 0.5 z)) months; C ~ Exp(0.045)   (about 40% censored)
#   time = max(0.1, round(min(T, C), 1)); event = T <= C
#
# Each timed call, and the library it uses:
#   km           lifelines KaplanMeierFitter.fit (its pointwise band is log-log, "exponential
#                Greenwood"; survmc and R time the log band: the same work) + S(t) and the band at
#                3, 6, 12 + lifelines.utils.restricted_mean_survival_time to the last time (no SE:
#                lifelines has none for the RMST; its return_variance is the variance of T) + median
#   logrank      lifelines.statistics.logrank_test, 2 groups (x1); the split by x1 is made once,
#                outside the timing, as the tables and the Mann-Whitney split on the other sides
#   cox1, cox10  lifelines CoxPHFitter().fit (Efron ties, lifelines' only method; its own Newton
#                with step halving and convergence rule; fit also computes the standard errors and
#                the baseline hazard and survival) on z, and on x1, z, z2..z9; the data frame of
#                each model is built once, outside the timing
#   fisher_2x2   scipy.stats.fisher_exact on x1 x event (p-value and the sample odds ratio)
#   mann_whitney scipy.stats.mannwhitneyu(z | x1 = 1, z | x1 = 0) twice, as wilcox.test in R:
#                R's default (exact when both groups < 50 and no ties, else normal with continuity
#                correction) and the normal approximation
# Left out: roc and maxstat (no lifelines or scipy equivalent; scikit-learn's roc_auc_score has no
# DeLong interval and is not assumed installed), fisher_2x4 (scipy's r x c Fisher test computes its
# p-value by Monte Carlo or permutation, not exactly: a different computation).

import os
import sys
import time
import warnings

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test
from lifelines.utils import restricted_mean_survival_time
from scipy import stats

MIN_BATCH_S = 0.05
SIZES = (53, 500, 5000)
COVS10 = ["x1", "z"] + [f"z{j}" for j in range(2, 10)]


def draw(rng, n):
    x1 = rng.binomial(1, 0.5, n)
    z = rng.standard_normal((n, 9))
    t = rng.exponential(1.0 / (0.05 * np.exp(0.7 * x1 + 0.5 * z[:, 0])))
    c = rng.exponential(1.0 / 0.045, n)
    d = pd.DataFrame(z, columns=["z"] + [f"z{j}" for j in range(2, 10)])
    d.insert(0, "x1", x1)
    d.insert(0, "event", (t <= c).astype(int))
    d.insert(0, "time", np.maximum(0.1, np.round(np.minimum(t, c), 1)))
    return d


def time_cell(f, seconds):
    """Calibrate the batch size, then time batches for about `seconds` (as estimators.R)."""
    f()  # warm up
    m = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(m):
            f()
        el = time.perf_counter() - t0
        if el >= MIN_BATCH_S:
            break
        m *= 10 if el <= 0 else max(2, int(np.ceil(1.2 * MIN_BATCH_S / el)))
    per_call = []
    start = time.perf_counter()
    while len(per_call) < 5 or (time.perf_counter() - start < seconds and len(per_call) < 200):
        t0 = time.perf_counter()
        for _ in range(m):
            f()
        per_call.append((time.perf_counter() - t0) / m)
    q25, q50, q75 = np.quantile(np.array(per_call) * 1e6, [0.25, 0.5, 0.75])  # R's type 7
    return q50, q25, q75, len(per_call), m


def cells(d):
    time_, event = d["time"].to_numpy(), d["event"].to_numpy()
    g1 = d["x1"].to_numpy() == 1
    t1, t0, e1, e0 = time_[g1], time_[~g1], event[g1], event[~g1]
    df1 = d[["time", "event", "z"]].copy()
    df10 = d[["time", "event"] + COVS10].copy()
    tab22 = pd.crosstab(d["x1"], d["event"]).to_numpy()
    z1 = d["z"].to_numpy()[g1]
    z0 = d["z"].to_numpy()[~g1]
    times = np.array([3.0, 6.0, 12.0])
    t_last = float(time_.max())
    # R's wilcox.test default: exact below 50 per group without ties, else the normal approximation
    mw_default = "exact" if len(z1) < 50 and len(z0) < 50 and len(np.unique(d["z"])) == len(d) \
        else "asymptotic"

    def km():
        kmf = KaplanMeierFitter().fit(time_, event)
        s = kmf.survival_function_at_times(times)
        band = kmf.confidence_interval_survival_function_
        at = band.iloc[np.maximum(band.index.searchsorted(times, side="right") - 1, 0)]
        rmst = restricted_mean_survival_time(kmf, t=t_last)
        return s, at, rmst, kmf.median_survival_time_

    def mann_whitney():
        a = stats.mannwhitneyu(z1, z0, method=mw_default, use_continuity=True)
        b = stats.mannwhitneyu(z1, z0, method="asymptotic", use_continuity=True)
        return a, b

    return {
        "km": km,
        "logrank": lambda: logrank_test(t1, t0, event_observed_A=e1, event_observed_B=e0),
        "cox1": lambda: CoxPHFitter().fit(df1, duration_col="time", event_col="event"),
        "cox10": lambda: CoxPHFitter().fit(df10, duration_col="time", event_col="event"),
        "fisher_2x2": lambda: stats.fisher_exact(tab22),
        "mann_whitney": mann_whitney,
    }


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    only = [s for s in os.environ.get("SURVMC_PY_ONLY", "").split(",") if s]
    warnings.simplefilter("ignore")  # convergence and approximation warnings: not the timed work
    rng = np.random.default_rng(20261126)
    print("estimator,n,median_us,q25_us,q75_us,batches,calls_per_batch", flush=True)
    for n in SIZES:
        fs = cells(draw(rng, n))
        for name, f in fs.items():
            if only and name not in only:
                continue
            med, q25, q75, batches, m = time_cell(f, seconds)
            print(f"{name},{n},{med:.3f},{q25:.3f},{q75:.3f},{batches},{m}", flush=True)


if __name__ == "__main__":
    main()
