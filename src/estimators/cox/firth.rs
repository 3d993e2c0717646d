//! Firth's penalised Cox regression (Breslow ties), as R's `coxphf`: finite estimates even when
//! the partial likelihood is monotone (a covariate, or a combination, separates the deaths).
//!
//! ```text
//! l*(b)    = l(b) + 0.5 log|I(b)|                   (Jeffreys-prior penalty; `penalty` = 0.5)
//! U*(b)_t  = U(b)_t + 0.5 tr( I(b)^{-1} dI(b)/db_t )
//! dI/db_t  = Σ_events d [ S3_{rst}/S0 - (S2_{rs} S1_t + S2_{rt} S1_s + S2_{st} S1_r)/S0^2
//!                         + 2 S1_r S1_s S1_t/S0^3 ]       (S_k: risk-set sums of w x^{⊗k})
//! tr(J dI/db_t) = Σ_events d [ A_t/S0 - B xbar_t/S0 - 2 ((S2 J xbar)_t/S0 - xbar_t xbar'J xbar) ]
//!            with J = I^{-1}, h_j = x_j'J x_j, A = Σ_risk w h x, B = Σ_risk w h, xbar = S1/S0
//! b_{m+1}  = b_m + I(b_m)^{-1} U*(b_m)   (each component clipped to ±maxstep, step-halving)
//! converged: max |b_{m+1} - b_m| <= epsilon and max |U*(b_{m+1})| <= gconv
//! var(b)   = I(b)^{-1};  se = sqrt(diag var)  (the unpenalised information, as coxphf)
//! profile:  pl_k(c) = max_{b_-k} l*(b | b_k = c);  LR_k = 2 (l*(b) - pl_k(0)) ~ chi2_1
//!           CI_k = { c : 2 (l*(b) - pl_k(c)) <= qchisq(1 - alpha, 1) }
//! ```
//! Firth (1993) Biometrika 80:27; Heinze & Schemper (2001) Biometrics 57:114 (and Stat Med
//! 21:2409); R package `coxphf` (Heinze & Ploner, Fortran `FIRTHCOX`/`PLCOMP`).
//!
//! As in `coxphf`, the iteration runs on covariates divided by their standard deviation, so
//! `epsilon`, `gconv` and `maxstep` are in standardised units; the covariates are also centred
//! (the partial likelihood and I(b) do not change). Results are on the original scale,
//! including the penalised log-likelihood: `coxphf` reports l*(b) of the standardised
//! covariates, which differs by the constant `penalty * 2 Σ log sd_k`; differences of l* (the
//! LR tests, the profile intervals) are the same either way.
//!
//! The trace term needs I(b)^{-1}, so each evaluation is two O(n p^2) sweeps: the partial
//! likelihood sweep of `super::likelihood` (l, U, I), then one pass for the contracted
//! derivative of I above (no p^3 tensor). Profile bounds are found by bracketing then Brent's
//! method on the signed root `sqrt(2 (l*(b) - pl_k(c))) - sqrt(qchisq)`, which is nearly linear
//! in c; each evaluation is a constrained fit warm-started from the previous one.
//!
//! Differences from `coxphf` that change iteration paths, not the estimate: step-halving is
//! allowed from the first iteration (coxphf skips it there); a step is taken when l* rises (as
//! coxphf) or, so that the iteration cannot stall where l* is flat to machine precision near the
//! optimum, when l* is level within rounding (`1e-12 (1 + |l*|)`) and every |U*_k| shrinks below
//! 0.9 of the previous maximum; at most `maxhs` halvings (coxphf's loop allows `maxhs + 1`),
//! after which the halved step is taken, as coxphf does. Halving matters even near the optimum:
//! the I(b)-Newton step overshoots the penalised optimum (for n = 2 by exactly a factor 2, an
//! endless oscillation), and halving is what restores convergence. Profile bounds use
//! bracketing plus Brent instead of Venzon–Moolgavkar; the bound is the same root.

use super::likelihood::Sweep;
use super::{CoxData, CoxError, Ties, chisq_sf, ldl};
use statrs::distribution::{ChiSquared, ContinuousCDF};

/// Iteration control, as R's `coxphf` arguments (coxphf 1.13: `maxit = 50, maxhs = 5,
/// epsilon = 1e-6, gconv = 1e-4, maxstep = 0.5, penalty = 0.5, alpha = 0.05, pl = TRUE`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FirthControl {
    /// maximum number of Newton–Raphson iterations (per fit, also per constrained profile fit)
    pub maxit: usize,
    /// maximum number of step-halvings per iteration
    pub maxhs: usize,
    /// convergence: maximum change of a standardised coefficient in the last step; also the
    /// accuracy (standardised units) of the profile interval bounds
    pub epsilon: f64,
    /// convergence: maximum |penalised score| (standardised covariates)
    pub gconv: f64,
    /// largest change of one standardised coefficient in one step
    pub maxstep: f64,
    /// weight of log|I(b)|; 0.5 is Firth's (Jeffreys prior), 0 gives ordinary Cox (Breslow)
    pub penalty: f64,
    /// profile intervals have level 1 - alpha
    pub alpha: f64,
    /// which profile penalised-likelihood inference to compute (each costs constrained fits)
    pub profile: Profile,
    /// how far from the estimate (standardised units) to look for an interval bound before
    /// reporting [`Bound::BeyondBracket`]; default 40, a hazard ratio of e^40 per SD
    pub bracket: f64,
}

impl FirthControl {
    /// coxphf's defaults (maxit 50, maxhs 5, epsilon 1e-6, gconv 1e-4, maxstep 0.5, penalty 0.5,
    /// alpha 0.05, profile tests and intervals as `pl = TRUE`), plus `bracket = 40`.
    pub fn coxphf_defaults() -> FirthControl {
        FirthControl {
            maxit: 50,
            maxhs: 5,
            epsilon: 1e-6,
            gconv: 1e-4,
            maxstep: 0.5,
            penalty: 0.5,
            alpha: 0.05,
            profile: Profile::TestsAndIntervals,
            bracket: 40.0,
        }
    }
}

/// Which profile penalised-likelihood inference [`fit`] computes. `Tests` costs one constrained
/// fit per coefficient, `TestsAndIntervals` about 5–10 more per bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// estimate, Wald se and Wald p only
    Skip,
    /// plus the penalised likelihood-ratio test of each coefficient
    Tests,
    /// plus the profile penalised-likelihood interval of each coefficient (coxphf `pl = TRUE`)
    TestsAndIntervals,
}

/// How the Newton–Raphson iteration ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirthTermination {
    Converged,
    /// `maxit` iterations without meeting both criteria (coxphf: "Convergence for parameter
    /// estimation not attained")
    MaxIterations,
    /// I(b) is singular (no events, a constant covariate, aliased columns) or l* is not finite
    /// where the iteration had to go (coxphf: "Numerical problem in parameter estimation")
    Singular,
}

/// One end of a profile interval, on the coefficient (log hazard ratio) scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    /// not requested ([`Profile::Skip`] or [`Profile::Tests`])
    NotComputed,
    Found(f64),
    /// the profile stays above the cut-off out to `bracket` standardised units: the bound is
    /// further (the interval is open on this side as far as the search can tell)
    BeyondBracket,
    /// a constrained fit did not converge, or the main fit did not converge
    Failed,
}

impl Bound {
    pub fn value(self) -> Option<f64> {
        match self {
            Bound::Found(v) => Some(v),
            _ => None,
        }
    }
}

/// Penalised likelihood-ratio test of one coefficient = 0 (the others re-estimated).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LrTest {
    /// not requested ([`Profile::Skip`])
    NotComputed,
    Done {
        chisq: f64,
        p: f64,
    },
    /// the constrained fit did not converge, or the main fit did not converge
    Failed,
}

impl LrTest {
    pub fn p(self) -> Option<f64> {
        match self {
            LrTest::Done { p, .. } => Some(p),
            _ => None,
        }
    }
}

/// A fitted Firth-penalised Cox model. Never NaN: when I(b) cannot be inverted
/// ([`FirthTermination::Singular`]) `var` and `se` are +inf, z is 0 and the Wald p 1.
#[derive(Debug, Clone, PartialEq)]
pub struct FirthFit {
    pub coef: Vec<f64>,
    /// I(b)^{-1} at the estimate, p x p, rows
    pub var: Vec<Vec<f64>>,
    pub se: Vec<f64>,
    pub z: Vec<f64>,
    /// two-sided Wald p-value
    pub wald_p: Vec<f64>,
    /// exp(coef)
    pub hr: Vec<f64>,
    /// penalised log partial likelihood l*(b) at the estimate (original covariate scale)
    pub loglik: f64,
    /// l*(0)
    pub loglik_null: f64,
    /// Newton–Raphson iterations of the main fit
    pub iterations: usize,
    pub termination: FirthTermination,
    /// per coefficient, penalised LR test (profile p-value, as coxphf's `prob` with `pl = TRUE`)
    pub lr_test: Vec<LrTest>,
    /// per coefficient, profile penalised-likelihood interval of the coefficient; exponentiate
    /// for the hazard ratio
    pub ci_lower: Vec<Bound>,
    pub ci_upper: Vec<Bound>,
    pub n: usize,
    pub n_event: usize,
}

/// Fits Firth's penalised Cox model of `data` (prepared by [`CoxData::new`]) on covariate
/// `columns`, each of length n, complete cases; ties by Breslow, as coxphf.
pub fn fit<C: AsRef<[f64]>>(
    data: &CoxData,
    columns: &[C],
    control: &FirthControl,
) -> Result<FirthFit, CoxError> {
    let n = data.len();
    let p = columns.len();
    super::check_columns(columns, n)?;

    // sorted covariates, centred and divided by their SD (coxphf's standardisation), row by row
    let mut x = vec![0.0; n * p];
    let mut sd = vec![1.0; p];
    for (k, c) in columns.iter().enumerate() {
        let c = c.as_ref();
        let mean = c.iter().sum::<f64>() / n.max(1) as f64;
        let ss: f64 = c.iter().map(|v| (v - mean) * (v - mean)).sum();
        let s = (ss / (n as f64 - 1.0)).sqrt();
        if s.is_finite() && s > 0.0 {
            sd[k] = s;
        }
        for (pos, &i) in data.order.iter().enumerate() {
            x[pos * p + k] = (c[i] - mean) / sd[k];
        }
    }
    let problem = Problem { x: &x, status: &data.status, groups: &data.groups, p, control };
    let mut ws = Workspace::new(p);
    // l* of the standardised covariates + this = l* of the original ones
    let log_scale: f64 = 2.0 * control.penalty * sd.iter().map(|s| s.ln()).sum::<f64>();

    let zero = vec![0.0; p];
    let loglik_null = ws.eval(&problem, &zero).map_or(f64::NEG_INFINITY, |l| l + log_scale);
    let main = problem.newton(&mut ws, zero, None);

    let mut var = vec![vec![f64::INFINITY; p]; p];
    if main.loglik.is_finite() {
        // ws holds the evaluation at main.beta
        for i in 0..p {
            for j in 0..p {
                var[i][j] = ws.jinv[i * p + j] / (sd[i] * sd[j]);
            }
        }
    }
    let coef: Vec<f64> = main.beta.iter().zip(&sd).map(|(b, s)| b / s).collect();
    let se: Vec<f64> = (0..p).map(|k| var[k][k].max(0.0).sqrt()).collect();
    let z: Vec<f64> = coef.iter().zip(&se).map(|(b, s)| b / s).collect();
    let wald_p: Vec<f64> = z.iter().map(|z| chisq_sf(z * z, 1)).collect();

    let mut lr_test = vec![LrTest::NotComputed; p];
    let mut ci_lower = vec![Bound::NotComputed; p];
    let mut ci_upper = vec![Bound::NotComputed; p];
    if control.profile != Profile::Skip {
        let ok = main.termination == FirthTermination::Converged;
        let se_std: Vec<f64> = (0..p).map(|k| ws.jinv[k * p + k].max(0.0).sqrt()).collect();
        for k in 0..p {
            lr_test[k] = if ok { problem.lr_test(&mut ws, &main, k) } else { LrTest::Failed };
            if control.profile == Profile::TestsAndIntervals {
                for (dir, slot) in [(-1.0, &mut ci_lower[k]), (1.0, &mut ci_upper[k])] {
                    *slot = if ok {
                        match problem.bound(&mut ws, &main, k, se_std[k], dir) {
                            Bound::Found(c) => Bound::Found(c / sd[k]),
                            other => other,
                        }
                    } else {
                        Bound::Failed
                    };
                }
            }
        }
    }

    Ok(FirthFit {
        hr: coef.iter().map(|b| b.exp()).collect(),
        coef,
        var,
        se,
        z,
        wald_p,
        // -inf when the fit never got a finite l* (NaN-safe also for a NaN penalty)
        loglik: if main.loglik.is_finite() { main.loglik + log_scale } else { f64::NEG_INFINITY },
        loglik_null,
        iterations: main.iterations,
        termination: main.termination,
        lr_test,
        ci_lower,
        ci_upper,
        n,
        n_event: data.n_event,
    })
}

/// Pivot tolerance of the LDL' factor of I(b), as `coxph.control`'s `toler.chol`; a smaller
/// pivot makes I(b) singular (log|I| = -inf).
fn toler_chol() -> f64 {
    f64::EPSILON.powf(0.75)
}

/// The sorted, standardised data of one fit.
struct Problem<'a> {
    x: &'a [f64],
    status: &'a [bool],
    groups: &'a [(usize, usize)],
    p: usize,
    control: &'a FirthControl,
}

/// Result of one Newton–Raphson run (standardised scale).
#[derive(Debug, Clone)]
struct Newton {
    beta: Vec<f64>,
    /// l*(beta); -inf when even the start could not be evaluated
    loglik: f64,
    iterations: usize,
    termination: FirthTermination,
}

impl Problem<'_> {
    /// Newton–Raphson on l* from `beta`, all coordinates free, or all but `fixed` (held at its
    /// value in `beta`). On return `ws` holds the evaluation at the returned beta (when finite).
    fn newton(&self, ws: &mut Workspace, mut beta: Vec<f64>, fixed: Option<usize>) -> Newton {
        let p = self.p;
        let ctl = self.control;
        let free: Vec<usize> = (0..p).filter(|&k| Some(k) != fixed).collect();
        let q = free.len();
        if q == 0 {
            // nothing to maximise (a profile point of a one-covariate model): l*(beta) is the
            // answer, and neither U* nor I^{-1} is needed
            return match ws.eval_loglik(self, &beta) {
                Some(loglik) => {
                    Newton { beta, loglik, iterations: 1, termination: FirthTermination::Converged }
                }
                None => Newton {
                    beta,
                    loglik: f64::NEG_INFINITY,
                    iterations: 0,
                    termination: FirthTermination::Singular,
                },
            };
        }
        let Some(mut loglik) = ws.eval(self, &beta) else {
            return Newton {
                beta,
                loglik: f64::NEG_INFINITY,
                iterations: 0,
                termination: FirthTermination::Singular,
            };
        };
        let mut sub = vec![0.0; q * q];
        let mut step = vec![0.0; q];
        let mut trial = beta.clone();
        for iter in 1..=ctl.maxit {
            // step = I_ff^{-1} U*_f, each component clipped to ±maxstep
            for (a, &i) in free.iter().enumerate() {
                step[a] = ws.ustar[i];
                for (b, &j) in free.iter().enumerate() {
                    sub[a * q + b] = ws.sweep.imat[i * p + j];
                }
            }
            if ldl::factor(&mut sub, q, toler_chol()) != q as i32 {
                return Newton { beta, loglik, iterations: iter, termination: FirthTermination::Singular };
            }
            ldl::solve(&sub, q, &mut step);
            for s in step.iter_mut() {
                // max/min, not clamp: no panic on a negative or NaN maxstep (NaN: no clipping)
                *s = s.max(-ctl.maxstep.abs()).min(ctl.maxstep.abs());
            }
            // step-halving unless l* rises, or is flat to rounding while |U*| shrinks
            let slack = 1e-12 * (1.0 + loglik.abs());
            let score = free.iter().fold(0.0_f64, |m, &i| m.max(ws.ustar[i].abs()));
            let mut halvings = 0;
            let new_loglik = loop {
                for (a, &i) in free.iter().enumerate() {
                    trial[i] = beta[i] + step[a];
                }
                let l = ws.eval(self, &trial);
                let better = |l: f64, ws: &Workspace| {
                    l > loglik
                        || (l >= loglik - slack && free.iter().all(|&i| ws.ustar[i].abs() < 0.9 * score))
                };
                match l {
                    Some(l) if better(l, ws) || halvings == ctl.maxhs => break Some(l),
                    _ if halvings == ctl.maxhs => break None,
                    _ => {
                        halvings += 1;
                        step.iter_mut().for_each(|s| *s *= 0.5);
                    }
                }
            };
            let Some(new_loglik) = new_loglik else {
                // nowhere finite along the step: restore the workspace at beta and stop
                ws.eval(self, &beta);
                return Newton { beta, loglik, iterations: iter, termination: FirthTermination::Singular };
            };
            let max_change = step.iter().fold(0.0_f64, |m, s| m.max(s.abs()));
            beta.copy_from_slice(&trial);
            loglik = new_loglik;
            let max_score = free.iter().fold(0.0_f64, |m, &i| m.max(ws.ustar[i].abs()));
            if max_change <= ctl.epsilon && max_score <= ctl.gconv {
                return Newton { beta, loglik, iterations: iter, termination: FirthTermination::Converged };
            }
        }
        Newton { beta, loglik, iterations: ctl.maxit, termination: FirthTermination::MaxIterations }
    }

    /// pl_k(c) on the standardised scale, from a constrained fit started at `warm` with
    /// coordinate k set to c. `warm` receives the constrained estimate.
    fn profile(&self, ws: &mut Workspace, warm: &mut Vec<f64>, k: usize, c: f64) -> ProfilePoint {
        let mut start = warm.clone();
        start[k] = c;
        let fit = self.newton(ws, start, Some(k));
        match fit.termination {
            FirthTermination::Converged => {
                *warm = fit.beta;
                ProfilePoint::Value(fit.loglik)
            }
            // I(b) singular with b_k = c: log|I| -> -inf, the profile is below any cut-off there
            FirthTermination::Singular => ProfilePoint::MinusInfinity,
            FirthTermination::MaxIterations => ProfilePoint::Failed,
        }
    }

    fn lr_test(&self, ws: &mut Workspace, main: &Newton, k: usize) -> LrTest {
        let mut warm = main.beta.clone();
        match self.profile(ws, &mut warm, k, 0.0) {
            ProfilePoint::Value(l0) => {
                let chisq = (2.0 * (main.loglik - l0)).max(0.0);
                LrTest::Done { chisq, p: chisq_sf(chisq, 1) }
            }
            // I(b) singular where the constrained fit went: no test
            ProfilePoint::MinusInfinity | ProfilePoint::Failed => LrTest::Failed,
        }
    }

    /// Lower (`dir` = -1) or upper (`dir` = 1) profile bound of coefficient k, standardised scale.
    fn bound(&self, ws: &mut Workspace, main: &Newton, k: usize, se_std: f64, dir: f64) -> Bound {
        let ctl = self.control;
        if !(ctl.alpha > 0.0 && ctl.alpha < 1.0 && ctl.bracket > 0.0 && ctl.bracket.is_finite()) {
            return Bound::Failed;
        }
        let Some(crit) = chisq1_quantile(1.0 - ctl.alpha) else { return Bound::Failed };
        if !crit.is_finite() || crit <= 0.0 {
            return Bound::Failed;
        }
        let z = crit.sqrt();
        let b_hat = main.beta[k];
        // signed-root distance to the cut-off: nearly linear in c; +1e3 stands for -inf profile
        let mut warm = main.beta.clone();
        let mut g = |c: f64, ws: &mut Workspace| -> Option<f64> {
            match self.profile(ws, &mut warm, k, c) {
                ProfilePoint::Value(l) => Some((2.0 * (main.loglik - l)).max(0.0).sqrt() - z),
                ProfilePoint::MinusInfinity => Some(1e3),
                ProfilePoint::Failed => None,
            }
        };

        // bracket: from the Wald distance outwards, extrapolating the signed root linearly
        let mut dist = (z * se_std).max(1e-3).min(ctl.bracket);
        if !dist.is_finite() {
            dist = 1.0;
        }
        let (mut lo, mut g_lo) = (0.0, -z);
        let (hi, g_hi) = loop {
            let Some(gd) = g(b_hat + dir * dist, ws) else { return Bound::Failed };
            if gd >= 0.0 {
                break (dist, gd);
            }
            if dist >= ctl.bracket {
                return Bound::BeyondBracket;
            }
            (lo, g_lo) = (dist, gd);
            let factor = if gd + z > 0.0 { 1.1 * z / (gd + z) } else { 10.0 };
            dist = (dist * factor.clamp(1.5, 10.0)).min(ctl.bracket);
        };
        let mut f = |d: f64| g(b_hat + dir * d, ws);
        match brent(&mut f, lo, g_lo, hi, g_hi, ctl.epsilon) {
            Some(d) => Bound::Found(b_hat + dir * d),
            None => Bound::Failed,
        }
    }
}

thread_local! {
    /// The last (probability, quantile) of `chisq1_quantile`: every bound of every fit asks for the
    /// same quantile, and statrs inverts the CDF numerically each time.
    static CHISQ1_QUANTILE: std::cell::Cell<Option<(u64, f64)>> = const { std::cell::Cell::new(None) };
}

/// `qchisq(prob, 1)` by statrs (the same number every call; memoised per thread).
fn chisq1_quantile(prob: f64) -> Option<f64> {
    if let Some((bits, q)) = CHISQ1_QUANTILE.get()
        && bits == prob.to_bits()
    {
        return Some(q);
    }
    let q = ChiSquared::new(1.0).ok()?.inverse_cdf(prob);
    CHISQ1_QUANTILE.set(Some((prob.to_bits(), q)));
    Some(q)
}

enum ProfilePoint {
    Value(f64),
    MinusInfinity,
    Failed,
}

/// Brent's (1973) root finder on a bracket `f(a) < 0 <= f(b)` (or the reverse), to `xtol`.
/// `None` when an evaluation fails or it runs out of iterations.
pub(super) fn brent(
    f: &mut impl FnMut(f64) -> Option<f64>,
    a: f64,
    fa: f64,
    b: f64,
    fb: f64,
    xtol: f64,
) -> Option<f64> {
    let (mut a, mut fa, mut b, mut fb) = (a, fa, b, fb);
    let (mut c, mut fc) = (b, fb);
    let mut d = b - a;
    let mut e = d;
    for _ in 0..200 {
        if (fb > 0.0) == (fc > 0.0) {
            c = a;
            fc = fa;
            d = b - a;
            e = d;
        }
        if fc.abs() < fb.abs() {
            a = b;
            b = c;
            c = a;
            fa = fb;
            fb = fc;
            fc = fa;
        }
        let tol = 2.0 * f64::EPSILON * b.abs() + 0.5 * xtol;
        let xm = 0.5 * (c - b);
        if xm.abs() <= tol || fb == 0.0 {
            return Some(b);
        }
        if e.abs() >= tol && fa.abs() > fb.abs() {
            // inverse quadratic interpolation (secant when only two points)
            let s = fb / fa;
            let (mut p, mut q);
            if a == c {
                p = 2.0 * xm * s;
                q = 1.0 - s;
            } else {
                let qq = fa / fc;
                let r = fb / fc;
                p = s * (2.0 * xm * qq * (qq - r) - (b - a) * (r - 1.0));
                q = (qq - 1.0) * (r - 1.0) * (s - 1.0);
            }
            if p > 0.0 {
                q = -q;
            }
            p = p.abs();
            if 2.0 * p < (3.0 * xm * q - (tol * q).abs()).min((e * q).abs()) {
                e = d;
                d = p / q;
            } else {
                d = xm;
                e = d;
            }
        } else {
            d = xm;
            e = d;
        }
        a = b;
        fa = fb;
        b += if d.abs() > tol { d } else { tol.copysign(xm) };
        fb = f(b)?;
    }
    None
}

/// Buffers for evaluating l*, U* and I at one beta, reused across iterations and fits.
struct Workspace {
    p: usize,
    /// l, U and I (full symmetric after `eval`)
    sweep: Sweep,
    /// penalised score
    ustar: Vec<f64>,
    /// I^{-1}
    jinv: Vec<f64>,
    s1: Vec<f64>,
    s2: Vec<f64>,
    a: Vec<f64>,
    xbar: Vec<f64>,
    jx: Vec<f64>,
}

impl Workspace {
    fn new(p: usize) -> Workspace {
        Workspace {
            p,
            sweep: Sweep::new(p),
            ustar: vec![0.0; p],
            jinv: vec![0.0; p * p],
            s1: vec![0.0; p],
            s2: vec![0.0; p * p],
            a: vec![0.0; p],
            xbar: vec![0.0; p],
            jx: vec![0.0; p],
        }
    }

    /// l*(beta), filling `ustar`, `sweep.imat` (I) and `jinv` (I^{-1}); `None` when l is not
    /// finite or I is singular.
    fn eval(&mut self, pb: &Problem, beta: &[f64]) -> Option<f64> {
        let lstar = self.eval_loglik(pb, beta)?;
        // `jinv` holds the LDL' factor of I
        ldl::invert(&mut self.jinv, self.p);
        self.trace_term(pb);
        let penalty = pb.control.penalty;
        for (us, u) in self.ustar.iter_mut().zip(&self.sweep.u) {
            *us = u + penalty * *us;
        }
        self.ustar.iter().all(|v| v.is_finite()).then_some(lstar)
    }

    /// l*(beta) alone, leaving the LDL' factor of I in `jinv` (no U*, no I^{-1}): all that a
    /// profile point with no free coordinate needs, and the first half of `eval`. `None` when l
    /// or l* is not finite or I is singular.
    fn eval_loglik(&mut self, pb: &Problem, beta: &[f64]) -> Option<f64> {
        let p = self.p;
        let l = self.sweep.eval(pb.x, pb.status, pb.groups, Ties::Breslow, beta);
        if !l.is_finite() || self.sweep.imat.iter().any(|v| !v.is_finite()) {
            return None;
        }
        self.jinv.copy_from_slice(&self.sweep.imat);
        if ldl::factor(&mut self.jinv, p, toler_chol()) != p as i32 {
            return None;
        }
        let logdet: f64 = (0..p).map(|i| self.jinv[i * p + i].ln()).sum();
        let lstar = l + pb.control.penalty * logdet;
        lstar.is_finite().then_some(lstar)
    }

    /// tr(I^{-1} dI/db_t) for each t into `ustar` (Breslow ties), one backward sweep.
    /// The trace term at the `beta` of the last likelihood sweep (whose exp(x'b) it reuses).
    fn trace_term(&mut self, pb: &Problem) {
        // the same code with the number of covariates known to the compiler (see `Sweep::eval`)
        match self.p {
            1 => self.trace_term_p::<1>(pb),
            2 => self.trace_term_p::<2>(pb),
            3 => self.trace_term_p::<3>(pb),
            _ => self.trace_term_p::<0>(pb),
        }
    }

    fn trace_term_p<const P: usize>(&mut self, pb: &Problem) {
        let p = if P == 0 { self.p } else { P };
        let x = pb.x;
        let j = &self.jinv;
        let risk = &self.sweep.risk;
        self.ustar.fill(0.0);
        self.s1.fill(0.0);
        self.s2.fill(0.0);
        self.a.fill(0.0);
        let mut s0 = 0.0;
        let mut bsum = 0.0;
        for &(start, end) in pb.groups.iter().rev() {
            let mut n_dead = 0usize;
            for pos in start..end {
                let xi = &x[pos * p..(pos + 1) * p];
                // exp(x_i'b), as this loop computed it (same products, same order) before the sweep
                // kept it
                let w = risk[pos];
                let mut h = 0.0;
                for r in 0..p {
                    let mut jr = 0.0;
                    for s in 0..p {
                        jr += j[r * p + s] * xi[s];
                    }
                    h += xi[r] * jr;
                }
                s0 += w;
                bsum += w * h;
                for r in 0..p {
                    self.s1[r] += w * xi[r];
                    self.a[r] += w * h * xi[r];
                    for s in 0..=r {
                        self.s2[r * p + s] += w * xi[r] * xi[s];
                    }
                }
                n_dead += usize::from(pb.status[pos]);
            }
            if n_dead == 0 {
                continue;
            }
            let d = n_dead as f64;
            for r in 0..p {
                self.xbar[r] = self.s1[r] / s0;
            }
            let mut quad = 0.0;
            for r in 0..p {
                self.jx[r] = (0..p).map(|s| j[r * p + s] * self.xbar[s]).sum();
                quad += self.xbar[r] * self.jx[r];
            }
            for t in 0..p {
                let mut s2jx = 0.0;
                for r in 0..p {
                    let s2 = if r <= t { self.s2[t * p + r] } else { self.s2[r * p + t] };
                    s2jx += s2 * self.jx[r];
                }
                self.ustar[t] +=
                    d * (self.a[t] / s0 - bsum * self.xbar[t] / s0 - 2.0 * (s2jx / s0 - self.xbar[t] * quad));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{CoxControl, Termination};
    use super::*;
    use crate::data::SurvivalData;
    use proptest::prelude::*;

    fn data(time: &[f64], event: &[bool]) -> CoxData {
        CoxData::new(&SurvivalData::new(time.to_vec(), event.to_vec()).unwrap())
    }

    fn tight() -> FirthControl {
        FirthControl { maxit: 200, epsilon: 1e-12, gconv: 1e-11, ..FirthControl::coxphf_defaults() }
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * a.abs().max(b.abs()).max(1.0)
    }

    /// l*, U* and I at `beta` (original scale: these tests use unscaled covariates directly).
    fn eval_raw(d: &CoxData, x: &[f64], p: usize, beta: &[f64]) -> (f64, Vec<f64>, Vec<f64>) {
        let mut x_sorted = vec![0.0; x.len()];
        for (pos, &i) in d.order.iter().enumerate() {
            x_sorted[pos * p..(pos + 1) * p].copy_from_slice(&x[i * p..(i + 1) * p]);
        }
        let ctl = FirthControl::coxphf_defaults();
        let pb = Problem { x: &x_sorted, status: &d.status, groups: &d.groups, p, control: &ctl };
        let mut ws = Workspace::new(p);
        let l = ws.eval(&pb, beta).unwrap();
        (l, ws.ustar.clone(), ws.sweep.imat.to_vec())
    }

    #[test]
    fn two_subjects_closed_form() {
        // A (x = 1) dies at t = 1, B (x = 0) is censored at t = 2: pi = e^b / (e^b + 1),
        // l = log pi (monotone: U = 1 - pi > 0, the ordinary MLE is +inf), I = pi (1 - pi),
        // 0.5 d log I / db = 0.5 (1 - 2 pi), so U* = 1.5 - 2 pi = 0 at pi = 3/4: b = log 3,
        // l* = log(3/4) + 0.5 log(3/16), se = 1/sqrt(3/16).
        let d = data(&[1.0, 2.0], &[true, false]);
        let f = fit(&d, &[vec![1.0, 0.0]], &tight()).unwrap();
        assert_eq!(f.termination, FirthTermination::Converged);
        assert!(close(f.coef[0], 3f64.ln(), 1e-10), "{f:?}");
        assert!(close(f.loglik, 0.75f64.ln() + 0.5 * (3.0f64 / 16.0).ln(), 1e-12), "{f:?}");
        assert!(close(f.se[0], (16.0f64 / 3.0).sqrt(), 1e-10), "{f:?}");
        // l*(0) = log(1/2) + 0.5 log(1/4)
        assert!(close(f.loglik_null, 0.5f64.ln() + 0.5 * 0.25f64.ln(), 1e-14));
        // the ordinary Cox fit cannot converge: l = -log(1 + e^-b) keeps changing by a fixed
        // relative amount per unit of b, so R's iteration runs out (as R coxph does here; the
        // MonotoneLikelihood flag on a converged fit is checked in tests/ref_firth.rs)
        let cox = super::super::fit(&d, &[vec![1.0, 0.0]], Ties::Breslow, &CoxControl::r_defaults());
        assert_eq!(cox.unwrap().termination, Termination::MaxIterations);
        // profile interval: 2 (l*(log 3) - l*(c)) = qchisq(.95, 1) at both bounds
        let crit = 3.841458820694124; // R: qchisq(0.95, 1)
        let lstar = |b: f64| {
            let pi = b.exp() / (b.exp() + 1.0);
            pi.ln() + 0.5 * (pi * (1.0 - pi)).ln()
        };
        for bound in [f.ci_lower[0], f.ci_upper[0]] {
            let c = bound.value().unwrap();
            assert!((2.0 * (f.loglik - lstar(c)) - crit).abs() < 1e-9, "{f:?}");
        }
        // LR test at 0
        let chisq = 2.0 * (f.loglik - lstar(0.0));
        match f.lr_test[0] {
            LrTest::Done { chisq: c, .. } => assert!(close(c, chisq, 1e-10)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn penalised_score_closed_form_three_subjects() {
        // A (x = 1) dies at t = 1, B (x = 0) dies at t = 2, C (x = 1) censored at t = 3.
        // Binary covariate, no ties: at each death pi_k = share of e^b among the risk set,
        // I = Σ pi_k (1 - pi_k), dI/db = Σ pi_k (1 - pi_k)(1 - 2 pi_k), U = Σ (x_k - pi_k),
        // U* = U + 0.5 dI/db / I.  pi_1 = 2e^b/(2e^b + 1), pi_2 = e^b/(e^b + 1).
        let d = data(&[1.0, 2.0, 3.0], &[true, true, false]);
        let b = 0.3_f64;
        let e = b.exp();
        let (p1, p2) = (2.0 * e / (2.0 * e + 1.0), e / (e + 1.0));
        let info = p1 * (1.0 - p1) + p2 * (1.0 - p2);
        let di = p1 * (1.0 - p1) * (1.0 - 2.0 * p1) + p2 * (1.0 - p2) * (1.0 - 2.0 * p2);
        let u = (1.0 - p1) + (0.0 - p2);
        // l = log(e^b / (2e^b + 1)) + log(1 / (e^b + 1)) = log(pi_1 / 2) - log(e^b + 1)
        let lstar = (p1 / 2.0).ln() - (e + 1.0).ln() + 0.5 * info.ln();
        let (ls, us, im) = eval_raw(&d, &[1.0, 0.0, 1.0], 1, &[b]);
        assert!((ls - lstar).abs() < 1e-14, "{ls} {lstar}");
        assert!((us[0] - (u + 0.5 * di / info)).abs() < 1e-14, "{us:?}");
        assert!((im[0] - info).abs() < 1e-15);
    }

    #[test]
    fn penalised_score_is_the_gradient_of_penalised_loglik() {
        // Two correlated covariates with ties: U* must equal the central difference of l*
        // (step 1e-5, error O(h^2) ~ 1e-10 relative to second derivatives of order 10).
        let time = [1.0, 2.0, 2.0, 3.0, 4.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        let event = [true, true, true, false, true, true, false, true, true, false];
        let x = [
            0.5, 1.0, -1.2, 0.0, 0.3, 1.0, 2.0, 1.0, -0.7, 0.0, 1.1, 1.0, 0.0, 0.0, -0.4, 1.0, 0.9, 0.0, 1.5,
            1.0,
        ];
        let d = data(&time, &event);
        let beta = [0.4, -0.6];
        let (_, us, _) = eval_raw(&d, &x, 2, &beta);
        let h = 1e-5;
        for t in 0..2 {
            let (mut bp, mut bm) = (beta, beta);
            bp[t] += h;
            bm[t] -= h;
            let fd = (eval_raw(&d, &x, 2, &bp).0 - eval_raw(&d, &x, 2, &bm).0) / (2.0 * h);
            assert!((fd - us[t]).abs() < 1e-8, "t {t}: {fd} vs {}", us[t]);
        }
    }

    #[test]
    fn no_events_and_constant_columns_are_flagged_not_nan() {
        let d = data(&[1.0, 2.0, 3.0], &[false, false, false]);
        let f = fit(&d, &[vec![1.0, 0.0, 1.0]], &FirthControl::coxphf_defaults()).unwrap();
        assert_eq!(f.termination, FirthTermination::Singular);
        assert_eq!(f.se[0], f64::INFINITY);
        assert_eq!((f.coef[0], f.z[0], f.wald_p[0]), (0.0, 0.0, 1.0));
        assert_eq!((f.lr_test[0], f.ci_lower[0]), (LrTest::Failed, Bound::Failed));
        let d = data(&[1.0, 2.0, 3.0], &[true, true, false]);
        let f = fit(&d, &[vec![2.0, 2.0, 2.0]], &FirthControl::coxphf_defaults()).unwrap();
        assert_eq!(f.termination, FirthTermination::Singular);
        assert!(!f.coef[0].is_nan() && !f.se[0].is_nan());
    }

    #[test]
    fn no_covariates_gives_the_null_partial_likelihood() {
        // Breslow, no covariates: l = -Σ_deaths log(n_risk) = -log 3 - log 2; log|I| of 0 x 0 = 0.
        let d = data(&[1.0, 2.0, 3.0], &[true, true, false]);
        let f = fit(&d, &Vec::<Vec<f64>>::new(), &FirthControl::coxphf_defaults()).unwrap();
        assert_eq!(f.termination, FirthTermination::Converged);
        assert!(close(f.loglik, -(6f64.ln()), 1e-15), "{f:?}");
        assert!(f.coef.is_empty() && f.lr_test.is_empty());
    }

    #[test]
    fn invalid_columns_are_errors() {
        let d = data(&[1.0, 2.0, 3.0], &[true, true, false]);
        let ctl = FirthControl::coxphf_defaults();
        assert_eq!(
            fit(&d, &[vec![1.0, 0.0]], &ctl).unwrap_err(),
            CoxError::ColumnLength { column_idx: 0, len: 2, n: 3 }
        );
        assert_eq!(
            fit(&d, &[vec![1.0, f64::NAN, 0.0]], &ctl).unwrap_err(),
            CoxError::NotFinite { column_idx: 0, row_idx: 1 }
        );
    }

    #[test]
    fn nonsense_control_values_do_not_panic_or_give_nan() {
        // the data of `penalised_score_is_the_gradient_of_penalised_loglik`, first covariate
        let d = data(&[1.0, 2.0, 3.0, 4.0, 5.0], &[true, true, false, true, true]);
        let x = vec![0.5, -1.2, 0.3, 2.0, -0.7];
        let base = FirthControl::coxphf_defaults();
        let controls = [
            FirthControl { maxstep: -1.0, ..base },
            FirthControl { maxstep: f64::NAN, ..base },
            FirthControl { bracket: 0.0, ..base },
            FirthControl { bracket: f64::NAN, ..base },
            FirthControl { alpha: 2.0, ..base },
            FirthControl { alpha: f64::NAN, ..base },
            FirthControl { epsilon: f64::NAN, ..base },
            FirthControl { epsilon: -1.0, maxit: 0, maxhs: 0, ..base },
            FirthControl { penalty: f64::NAN, ..base },
        ];
        for ctl in controls {
            let f = fit(&d, std::slice::from_ref(&x), &ctl).unwrap();
            assert!(!f.coef[0].is_nan() && !f.se[0].is_nan() && !f.loglik.is_nan(), "{ctl:?} {f:?}");
            for b in [f.ci_lower[0], f.ci_upper[0]] {
                assert!(b.value().is_none_or(|v| v.is_finite()), "{ctl:?} {f:?}");
            }
        }
    }

    #[test]
    fn critical_value_matches_r() {
        // R: qchisq(0.95, 1) = 3.841458820694124
        let q = ChiSquared::new(1.0).unwrap().inverse_cdf(0.95);
        assert!((q - 3.841458820694124).abs() < 1e-9, "{q}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn never_nan_never_panics(
            rows in prop::collection::vec((1u8..20, any::<bool>(), 0u8..2, -3.0f64..3.0), 1..12)
        ) {
            let time: Vec<f64> = rows.iter().map(|r| r.0 as f64).collect();
            let event: Vec<bool> = rows.iter().map(|r| r.1).collect();
            let d = data(&time, &event);
            let cols = [rows.iter().map(|r| r.2 as f64).collect::<Vec<_>>(),
                        rows.iter().map(|r| r.3).collect::<Vec<_>>()];
            let f = fit(&d, &cols, &FirthControl::coxphf_defaults()).unwrap();
            for k in 0..2 {
                prop_assert!(!f.coef[k].is_nan() && !f.se[k].is_nan() && !f.wald_p[k].is_nan());
                if let Some(v) = f.ci_lower[k].value() { prop_assert!(v.is_finite() && v <= f.coef[k] + 1e-9); }
                if let Some(v) = f.ci_upper[k].value() { prop_assert!(v.is_finite() && v >= f.coef[k] - 1e-9); }
                if let Some(p) = f.lr_test[k].p() { prop_assert!((0.0..=1.0).contains(&p)); }
            }
            prop_assert!(!f.loglik.is_nan() && !f.loglik_null.is_nan());
        }
    }
}
