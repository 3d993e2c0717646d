#!/usr/bin/env python3
"""Reference values for Firth's penalised Cox regression (Heinze & Schemper 2001), computed by an
implementation independent of survmc: the PyPI package firthmodels (FirthCoxPH, Breslow ties,
penalty weight 0.5 = Jeffreys prior, as R's coxphf). Usage: python3 make_firth.py OUTDIR
Writes one JSON per dataset with the data inline, so the Rust tests need no CSV reader."""
import json, sys, csv, os
import numpy as np
import firthmodels
from firthmodels import FirthCoxPH

here = os.path.dirname(os.path.abspath(__file__))
outdir = sys.argv[1] if len(sys.argv) > 1 else here

def read_case(name, covs):
    with open(os.path.join(here, "..", "data", name + ".csv")) as f:
        rows = [r for r in csv.DictReader(f) if all(r[c] != "" for c in covs)]
    t = [float(r["time"]) for r in rows]
    e = [int(float(r["event"])) for r in rows]
    x = [[float(r[c]) for c in covs] for r in rows]
    return t, e, x

def separation():
    # Monotone likelihood: the three subjects with rare = 1 die first, before anyone else has an event.
    t = list(range(1, 7)) + list(range(10, 30))
    e = [1] * 6 + [1, 0] * 10
    rare = [1, 1, 1] + [0] * 23
    z = [round(np.sin(k) * 2, 3) for k in range(26)]
    return t, e, [[a, b] for a, b in zip(rare, z)]

cases = {
    "ovarian_age_rx": (read_case("ovarian", ["age", "rx"]), ["age", "rx"]),
    "aml_maintained": (read_case("aml", ["maintained"]), ["maintained"]),
    "separation_rare_z": (separation(), ["rare", "z"]),
}
for name, ((t, e, x), covs) in cases.items():
    X = np.asarray(x, dtype=float)
    y = np.array(list(zip([bool(v) for v in e], t)), dtype=[("event", bool), ("time", float)])
    m = FirthCoxPH(backend="numpy", max_iter=200, gtol=1e-9, xtol=1e-10).fit(X, y)
    ci = m.conf_int(alpha=0.05, method="pl", tol=1e-10, max_iter=200)
    out = {
        "case": name,
        "generated_by": f"firthmodels {firthmodels.__version__ if hasattr(firthmodels, '__version__') else '0.8.2'} "
                        f"(FirthCoxPH, backend numpy, gtol 1e-9, xtol 1e-10; profile CI tol 1e-10); numpy {np.__version__}",
        "ties": "breslow",
        "time": t, "event": e, "covariates": covs, "x": x,
        "coef": m.coef_.tolist(), "se": m.bse_.tolist(),
        "penalized_loglik": float(m.loglik_),
        "pl_lower": ci[:, 0].tolist(), "pl_upper": ci[:, 1].tolist(),
        "converged": bool(m.converged_), "iterations": int(m.n_iter_),
    }
    with open(os.path.join(outdir, name + ".json"), "w") as f:
        json.dump(out, f, indent=1)
    print(name, out["coef"], out["se"], out["pl_lower"], out["pl_upper"])
