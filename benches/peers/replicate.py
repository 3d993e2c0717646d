# The part of one whole replicate of the seed paper's pipeline (scenarios/tsh2024.toml, n = 53) that
# lifelines and scipy can do, generation included, timed per replicate: the lifelines peer of
# `replicate/tsh2024` in benches/replicate.rs and of benches/peers/replicate.R. The project never
# needs Python: compare_r.sh runs this only when `python3 -c 'import lifelines'` works.
#
#   python3 benches/peers/replicate.py [seconds]
#
# Prints CSV: bench,median_us,q25_us,q75_us,batches,reps_per_batch,scope
# (microseconds per replicate: median and quartiles over batches of `reps_per_batch` replicates,
# each batch timed with time.perf_counter() and lasting at least 0.5 s, for about `seconds` (default
# 20) and at least 5 batches; `scope` says what one replicate includes, without commas).
#
# The cohort is a reduced version of the scenario (numpy's generator, default_rng(20240601); the R
# peer now draws the scenario's own 41 characteristics, this one the earlier R peer's reduction):
# the same 36/17 strata, n = 53, the same
# kinds and numbers of columns (3 normal, 6 lognormal with 4-8 missing values, 9 binary, 10
# categorical with 3-4 levels, 7 derived indicators: 35 screened columns) and exponential OS and
# progression times driven by 3 of them, censoring by era, treatment at progression among 3 options.
# The cost of these fits depends on n, the numbers of events and distinct times and the numbers of
# levels, which match; all three sides include the generation in the time.
#
# Per replicate (library in brackets):
# - KM of OS (S at 12, 36, 60) and PFS (S at 60) [lifelines KaplanMeierFitter], with the log,
#   log-log and plain intervals at those times from the Greenwood variance of its event table
#   [numpy], and the RMST of each to 60 [lifelines.utils.restricted_mean_survival_time; no SE:
#   lifelines has none];
# - 6 log-rank tests [lifelines.statistics]: OS and PFS by stratum, OS by treatment among the
#   progressed (3 groups, multivariate_logrank_test; OS time, as replicate.R), OS by bin2, bin3, bin4;
# - the 3 Cox estimands nodules_gt10, ly23, nodules_gt10 + ly23 [lifelines CoxPHFitter, Efron ties,
#   `summary` for the Wald p-values and intervals];
# - 35 univariate Cox screens of OS on complete cases and the multivariate fit of the columns with
#   p < 0.05 [CoxPHFitter];
# - Table 1 by stratum: Fisher's exact test of the 9 binary columns [scipy.stats.fisher_exact] and
#   Mann-Whitney of the 10 continuous ones [scipy.stats.mannwhitneyu, R's wilcox.test rule: exact
#   when both groups < 50 and no ties, else normal with continuity correction].
# What it does less than survmc (so the lifelines / survmc ratio is an underestimate):
# - no ROC / Youden cut-offs with DeLong intervals (survmc: 15 markers; R: 10 with pROC) and no
#   maxstat (no lifelines or scipy equivalent);
# - no Fisher test of the 10 categorical (2 x 3, 2 x 4) columns: scipy's r x c test has only Monte
#   Carlo or permutation p-values;
# - no Firth fits (survmc: where the Cox likelihood is monotone), no likelihood-ratio (profile)
#   intervals of the Cox estimands, no RMST SEs, no restricted-mean difference after progression;
# - lifelines' Newton has its own step halving and stopping rule (not R's), so the number of
#   iterations per Cox fit may differ from survmc's and R's.
# A fit that fails (lifelines' ConvergenceError on a degenerate column) counts as done, as in survmc
# where a degenerate fit is an outcome.

import sys
import time
import warnings

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test, multivariate_logrank_test
from lifelines.utils import restricted_mean_survival_time
from scipy import stats

MIN_BATCH_S = 0.5
N = 53
STRATUM = np.repeat([0, 1], [36, 17])
Z975 = 1.959963984540054

BINARY = [f"bin{j}" for j in range(1, 10)]
CATEGORICAL = [f"cat{j}" for j in range(1, 11)]
CONTINUOUS = ["age", "bmi", "pt"] + [f"lab{j}" for j in range(1, 7)] + ["nodules"]
SCREENED = (["age", "bmi", "pt"] + [f"lab{j}" for j in range(1, 7)] + BINARY + CATEGORICAL
            + ["nodules_gt10", "ly23", "v23", "age_ge65", "lab1_ge10", "lab2_ge10", "pt_lt80"])
SCOPE = ("generation; KM OS+PFS (3 bands; RMST); 6 log-rank; 3 Cox estimands; 35 Cox screens"
         " + multivariate; Table 1: 9 Fisher 2x2 + 10 Mann-Whitney; no ROC/maxstat/Firth/LR"
         " intervals/Fisher r x c")


def with_missing(rng, x, k):
    x = x.astype(float)
    x[rng.choice(len(x), k, replace=False)] = np.nan
    return x


def draw(rng):
    s = STRATUM
    d = {"stratum": s}
    d["age"] = np.round(rng.normal(np.where(s == 0, 66, 55), np.where(s == 0, 6, 9)))
    d["bmi"] = with_missing(rng, np.round(rng.normal(22, 2.6, N), 1), 4)
    d["pt"] = np.round(rng.normal(90, 12, N))
    for j in range(1, 7):
        d[f"lab{j}"] = with_missing(rng, np.round(rng.lognormal(np.log(10), 0.6, N), 1), 4 + j % 5)
    for j in range(1, 10):
        d[f"bin{j}"] = rng.binomial(1, np.where(s == 0, 0.35, 0.5))
    for j in range(1, 11):
        d[f"cat{j}"] = rng.integers(0, 3 + j % 2, N)
    d["nodules"] = np.where(s == 0, np.clip(np.round(rng.normal(6, 2, N)), 1, 10),
                            11 + np.round(rng.gamma(1, 12, N)))
    d["nodules_gt10"] = (s == 1).astype(int)
    d["ly23"] = (d["cat1"] >= 2).astype(int)
    d["v23"] = (d["cat2"] >= 2).astype(int)
    d["age_ge65"] = (d["age"] >= 65).astype(int)
    with np.errstate(invalid="ignore"):  # NaN stays NaN in the indicator, as in R
        d["lab1_ge10"] = np.where(np.isnan(d["lab1"]), np.nan, d["lab1"] >= 10)
        d["lab2_ge10"] = np.where(np.isnan(d["lab2"]), np.nan, d["lab2"] >= 10)
    d["pt_lt80"] = (d["pt"] < 80).astype(int)
    lp = 1.4 * d["nodules_gt10"] + 0.8 * d["ly23"] + 0.5 * d["bin1"]
    t_os = rng.exponential(1.0 / (0.012 * np.exp(lp)))
    t_prog = rng.exponential(1.0 / (0.05 * np.exp(0.5 * lp)))
    era = rng.permutation(np.repeat([0, 1], [5, 48]))
    cens = np.where(era == 0, rng.uniform(30, 70, N), rng.uniform(3, 40, N))
    d["os_time"] = np.maximum(0.1, np.round(np.minimum(t_os, cens), 1))
    d["os_event"] = (t_os <= cens).astype(int)
    pfs = np.minimum(t_prog, t_os)
    d["pfs_time"] = np.maximum(0.1, np.round(np.minimum(pfs, cens), 1))
    d["pfs_event"] = (pfs <= cens).astype(int)
    d["progressed"] = t_prog < np.minimum(t_os, cens)
    d["treatment"] = np.where(d["progressed"], rng.integers(1, 4, N), 0)
    return pd.DataFrame(d)


def km_at(time_, event, times, tau):
    kmf = KaplanMeierFitter().fit(time_, event)
    s = kmf.survival_function_at_times(times).to_numpy()
    et = kmf.event_table
    d, r = et["observed"].to_numpy(), et["at_risk"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        greenwood = np.cumsum(d / (r * (r - d)))  # Var log S(t)
        se = np.sqrt(greenwood[np.searchsorted(et.index.to_numpy(), times, side="right") - 1])
        log = (s * np.exp(-Z975 * se), s * np.exp(Z975 * se))
        w = Z975 * se / np.log(s)
        loglog = (s ** np.exp(-w), s ** np.exp(w))
        plain = (s - Z975 * s * se, s + Z975 * s * se)
    return s, log, loglog, plain, restricted_mean_survival_time(kmf, t=tau)


def cox(df, covariates, time_col="os_time", event_col="os_event"):
    try:
        fit = CoxPHFitter().fit(df[[time_col, event_col] + covariates].dropna(),
                                duration_col=time_col, event_col=event_col)
        return fit.summary
    except Exception:  # lifelines' ConvergenceError (singular or degenerate column): an outcome
        return None


def mann_whitney(x, y):
    x, y = x[~np.isnan(x)], y[~np.isnan(y)]
    ties = len(np.unique(np.concatenate([x, y]))) < len(x) + len(y)
    method = "exact" if len(x) < 50 and len(y) < 50 and not ties else "asymptotic"
    return stats.mannwhitneyu(x, y, method=method, use_continuity=True).pvalue


def one_replicate(rng):
    d = draw(rng)
    r = {}
    os_t, os_e = d["os_time"].to_numpy(), d["os_event"].to_numpy()
    pfs_t, pfs_e = d["pfs_time"].to_numpy(), d["pfs_event"].to_numpy()
    r["km_os"] = km_at(os_t, os_e, np.array([12.0, 36.0, 60.0]), 60.0)
    r["km_pfs"] = km_at(pfs_t, pfs_e, np.array([60.0]), 60.0)
    r["cox"] = [cox(d, ["nodules_gt10"]), cox(d, ["ly23"]), cox(d, ["nodules_gt10", "ly23"])]

    def lr(t, e, g):
        return logrank_test(t[g], t[~g], event_observed_A=e[g], event_observed_B=e[~g])

    s1 = d["stratum"].to_numpy() == 1
    prog = d["progressed"].to_numpy()
    r["lr"] = [
        lr(os_t, os_e, s1), lr(pfs_t, pfs_e, s1),
        multivariate_logrank_test(os_t[prog], d["treatment"].to_numpy()[prog], os_e[prog]),
        lr(os_t, os_e, d["bin2"].to_numpy() == 1), lr(os_t, os_e, d["bin3"].to_numpy() == 1),
        lr(os_t, os_e, d["bin4"].to_numpy() == 1),
    ]
    p_uni = {}
    for v in SCREENED:
        fit = cox(d, [v])
        p_uni[v] = np.nan if fit is None else fit["p"].iloc[0]
    chosen = [v for v in SCREENED if p_uni[v] < 0.05]
    if chosen:
        r["multi"] = cox(d, chosen)
    strat = d["stratum"].to_numpy()
    p_fisher = []
    for v in BINARY:
        tab = pd.crosstab(strat, d[v].to_numpy()).to_numpy()
        if tab.shape == (2, 2):
            p_fisher.append(stats.fisher_exact(tab).pvalue)
    p_mw = [mann_whitney(d[v].to_numpy()[strat == 0], d[v].to_numpy()[strat == 1])
            for v in CONTINUOUS]
    r["table1"] = p_fisher + p_mw
    return r


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 20.0
    warnings.simplefilter("ignore")  # convergence warnings of degenerate fits: not the timed work
    rng = np.random.default_rng(20240601)
    one_replicate(rng)  # warm up
    m = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(m):
            one_replicate(rng)
        el = time.perf_counter() - t0
        if el >= MIN_BATCH_S:
            break
        m *= 10 if el <= 0 else max(2, int(np.ceil(1.2 * MIN_BATCH_S / el)))
    per_rep = []
    start = time.perf_counter()
    while len(per_rep) < 5 or time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        for _ in range(m):
            one_replicate(rng)
        per_rep.append((time.perf_counter() - t0) / m)
    q25, q50, q75 = np.quantile(np.array(per_rep) * 1e6, [0.25, 0.5, 0.75])  # R's type 7
    print("bench,median_us,q25_us,q75_us,batches,reps_per_batch,scope")
    print(f"tsh2024,{q50:.1f},{q25:.1f},{q75:.1f},{len(per_rep)},{m},{SCOPE}")


if __name__ == "__main__":
    main()
