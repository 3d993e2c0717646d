//! Likelihood-ratio (profile-likelihood) confidence intervals for the coefficients of the ordinary
//! Cox model (Efron or Breslow ties): the interval Wald's cannot give under monotone likelihood.
//!
//! ```text
//! pl_k(c) = max_{b_-k} l(b | b_k = c)                    (l: log partial likelihood, as `coxph`)
//! CI_k    = { c : 2 (l(b_hat) - pl_k(c)) <= qchisq(1 - alpha, 1) }
//! each end: the root of the signed root  g(c) = sqrt(2 (l(b_hat) - pl_k(c))) - qnorm(1 - alpha/2)
//! ```
//! Venzon & Moolgavkar (1988) Appl Stat 37:87 (profile-likelihood intervals); Therneau & Grambsch
//! (2000), *Modeling Survival Data*, §3.4 (the likelihood-ratio interval of a Cox coefficient);
//! Heinze & Schemper (2001) Biometrics 57:114, who compare it with the Wald and Firth intervals
//! under monotone likelihood. In R: `coxph(Surv(t, d) ~ offset(c * x) + z)` gives pl_k(c), and
//! `uniroot` finds the ends (see `tests/reference/cox_profile/make_reference.R`).
//!
//! Each end is a [`Bound`]: `Found`, `Infinite` (the profile never drops below the cut-off on that
//! side, as under monotone likelihood, e.g. a binary covariate with every death in one group), or
//! `Failed`. l(b_hat) is the log partial likelihood at the fit's coefficients; when the fit
//! diverges (monotone likelihood) that is its last iterate, whose l is within R's `eps` (1e-9
//! relative) of the supremum, and that is the l R reports.
//!
//! How: the data are prepared as `coxph` does (sorted by [`CoxData`], covariates not all in
//! {-1, 0, 1} centred and scaled), so each evaluation is one O(n p^2) sweep of
//! `super::likelihood`. With one covariate, pl(c) = l(c) (one sweep, no iteration), and which
//! ends are infinite is decided exactly from the data: l is non-decreasing in direction s (s = +-1)
//! iff every death has the largest s x of its risk set (then the end is infinite); otherwise l
//! tends to -inf that way and the end is finite. With p > 1, pl_k(c) is a Newton–Raphson fit of
//! the other coefficients with b_k held at c (step-halving, warm-started from the previous c,
//! converged when the predicted gain 0.5 U'I^{-1}U is below `eps (1 + |l|)`); since pl_k is concave
//! (a profile of a concave function), an end still above the cut-off `bracket` scaled units from
//! b_hat is reported `Infinite`. Each end is found by Newton's method on the signed root g(d) at
//! distance d from b_hat, starting at the Wald distance: every evaluation also gives the slope,
//! dg/dd = -dir U_k / sqrt(2 (l_hat - pl)) (U_k at the constrained optimum, by the envelope
//! theorem). Steps go outwards until g >= 0 somewhere; from then on they stay inside the bracket
//! g(lo) < 0 <= g(hi), by bisection when a Newton step would leave it; the end is reached when a
//! step is below `xtol`.
//!
//! Cost: in the tsh2024 replicates an end takes 6.2 likelihood evaluations on average (the
//! constrained fits' iterations included; 8.1 with the bracketing and Brent's method used before);
//! nothing is allocated per evaluation.

use super::likelihood::{Likelihood, Sweep};
use super::{CoxData, CoxError, Ties, ldl};
use statrs::distribution::{ContinuousCDF, Normal};

/// How the profile intervals are computed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProfileControl {
    /// the intervals have level 1 - alpha
    pub alpha: f64,
    /// accuracy of each end, on the coefficient (log-HR) scale
    pub xtol: f64,
    /// p > 1: a constrained fit has converged when 0.5 U'I^{-1}U <= eps (1 + |l|)
    pub eps: f64,
    /// p > 1: most Newton–Raphson iterations per constrained fit
    pub iter_max: usize,
    /// p > 1: how far from b_hat (in units of the scaled covariate, as `coxph` scales it) to look
    /// for an end before reporting it [`Bound::Infinite`]; 40 is a hazard ratio of e^40
    pub bracket: f64,
}

impl ProfileControl {
    /// 95% intervals, ends to 1e-9, constrained fits to a relative gain of 1e-13 within 100
    /// iterations, `bracket` 40.
    pub fn standard() -> ProfileControl {
        ProfileControl { alpha: 0.05, xtol: 1e-9, eps: 1e-13, iter_max: 100, bracket: 40.0 }
    }
}

/// One end of a profile interval, on the coefficient (log hazard ratio) scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    Found(f64),
    /// the profile stays above the cut-off however far it goes (monotone likelihood)
    Infinite,
    /// the fit's coefficients or l are not finite, an evaluation failed, or a constrained fit did
    /// not converge
    Failed,
}

impl Bound {
    pub fn value(self) -> Option<f64> {
        match self {
            Bound::Found(v) => Some(v),
            _ => None,
        }
    }

    /// The end as a number: `Found(x)` is x, `Infinite` is -inf for a lower end and +inf for an
    /// upper one; `None` when `Failed`.
    pub fn end(self, upper: bool) -> Option<f64> {
        match self {
            Bound::Found(v) => Some(v),
            Bound::Infinite if upper => Some(f64::INFINITY),
            Bound::Infinite => Some(f64::NEG_INFINITY),
            Bound::Failed => None,
        }
    }
}

/// The profile-likelihood interval of one coefficient.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProfileInterval {
    pub lower: Bound,
    pub upper: Bound,
    /// l(b_hat), the log partial likelihood at the coefficients given
    pub loglik: f64,
}

/// Profile-likelihood interval of coefficient `k` of the Cox model of `data` (prepared by
/// [`CoxData::new`]) on `columns` (complete cases, each of length n), where `coef` are the fitted
/// coefficients (e.g. [`super::fit_coefficients`]`(..).coef`, the last iterate under monotone
/// likelihood). Errors for invalid columns as [`super::fit`]; an out-of-range `k`, a `coef` of the
/// wrong length or not finite give `Failed` ends.
pub fn interval<C: AsRef<[f64]>>(
    data: &CoxData,
    columns: &[C],
    ties: Ties,
    coef: &[f64],
    k: usize,
    control: &ProfileControl,
) -> Result<ProfileInterval, CoxError> {
    let n = data.len();
    let p = columns.len();
    super::check_columns(columns, n)?;
    let failed = |loglik: f64| ProfileInterval { lower: Bound::Failed, upper: Bound::Failed, loglik };
    let z = Normal::standard().inverse_cdf(1.0 - control.alpha / 2.0);
    if k >= p || coef.len() != p || coef.iter().any(|b| !b.is_finite()) || !(z.is_finite() && z > 0.0) {
        return Ok(failed(f64::NAN));
    }

    let (x, _, scale) = super::standardize(data, columns);
    let mut pb = Profiler {
        lik: Likelihood::new(&x, p, &data.status, &data.groups, ties),
        p,
        k,
        sweep: Sweep::new(p),
        beta: coef.iter().zip(&scale).map(|(b, s)| b / s).collect(),
        warm: vec![0.0; p],
        step: vec![0.0; p],
        sub: vec![0.0; p * p],
        control,
    };
    pb.warm.copy_from_slice(&pb.beta);
    let loglik = pb.lik.eval(&mut pb.sweep, &pb.beta);
    if !loglik.is_finite() {
        return Ok(failed(loglik));
    }
    // Wald SE of coefficient k at b_hat (scaled units): where the search starts
    pb.sub.copy_from_slice(&pb.sweep.imat);
    ldl::factor(&mut pb.sub, p, TOLER_CHOL);
    ldl::invert(&mut pb.sub, p);
    let se = pb.sub[k * p + k].sqrt();
    let b_hat = pb.beta[k];
    let mut ends = [Bound::Failed; 2];
    for (slot, dir) in ends.iter_mut().zip([-1.0, 1.0]) {
        let infinite = p == 1 && nondecreasing(data, columns[0].as_ref(), dir);
        *slot = if infinite {
            Bound::Infinite
        } else {
            pb.warm.copy_from_slice(&pb.beta);
            match pb.bound(loglik, b_hat, se, dir, z, control.xtol / scale[k]) {
                Bound::Found(c) => Bound::Found(c * scale[k]),
                other => other,
            }
        };
    }
    Ok(ProfileInterval { lower: ends[0], upper: ends[1], loglik })
}

/// Pivot tolerance of the LDL' factor (`coxph.control`'s `toler.chol`).
const TOLER_CHOL: f64 = 1.8189894035458617e-12; // f64::EPSILON^0.75

/// Stands for g where pl = -inf (a point far below any cut-off), as in `firth`.
const FAR_BELOW: f64 = 1e3;

/// True when l(b) of a one-covariate model never decreases as b moves in direction `dir` (+-1):
/// every death has the largest `dir * x` of its risk set (its own time and later). One backward
/// pass.
fn nondecreasing(data: &CoxData, x: &[f64], dir: f64) -> bool {
    let mut max = f64::NEG_INFINITY;
    for &(start, end) in data.groups.iter().rev() {
        for pos in start..end {
            max = max.max(dir * x[data.order[pos]]);
        }
        for pos in start..end {
            if data.status[pos] && dir * x[data.order[pos]] < max {
                return false;
            }
        }
    }
    true
}

/// The prepared problem and the buffers of its evaluations.
struct Profiler<'a> {
    lik: Likelihood<'a>,
    p: usize,
    k: usize,
    sweep: Sweep,
    /// b_hat (scaled units)
    beta: Vec<f64>,
    /// the last constrained optimum (warm start of the next), then the trial point
    warm: Vec<f64>,
    step: Vec<f64>,
    sub: Vec<f64>,
    control: &'a ProfileControl,
}

impl Profiler<'_> {
    /// The end of the interval in direction `dir` (scaled units).
    fn bound(&mut self, loglik: f64, b_hat: f64, se: f64, dir: f64, z: f64, xtol: f64) -> Bound {
        let bracket = self.control.bracket;
        let limited = self.p > 1;
        if limited && !(bracket > 0.0 && bracket.is_finite()) {
            return Bound::Failed;
        }
        // g(d) = signed root at distance d, with its slope: dl/dd = dir U_k, U_k being the score
        // of coefficient k at the constrained optimum (envelope theorem), so
        // dg/dd = -dir U_k / sqrt(2 (l_hat - pl))
        let g = |pb: &mut Self, d: f64| -> Option<(f64, f64)> {
            match pb.profile(b_hat + dir * d) {
                Some(l) if l == f64::NEG_INFINITY => Some((FAR_BELOW, f64::NAN)),
                Some(l) => {
                    let root = (2.0 * (loglik - l)).max(0.0).sqrt();
                    Some((root - z, -dir * pb.sweep.u[pb.k] / root))
                }
                None => None,
            }
        };
        // Newton's method on the signed root (nearly linear in d) from the Wald distance. Until
        // a point with g >= 0 is found the steps go outwards (at least 1%, at most 10x, as far as
        // `bracket` when limited); then they are kept inside the bracket [lo, hi],
        // g(lo) < 0 <= g(hi), by bisection when a step would leave it.
        let cap = if bracket > 0.0 && bracket.is_finite() { bracket } else { 40.0 };
        let mut d = z * se;
        if !(d.is_finite() && d > 0.0) {
            d = 1.0;
        }
        d = d.clamp(1e-3, cap);
        let (mut lo, mut hi) = (0.0, f64::INFINITY);
        for _ in 0..200 {
            let Some((gd, slope)) = g(self, d) else { return Bound::Failed };
            if gd == 0.0 {
                return Bound::Found(b_hat + dir * d);
            }
            if gd < 0.0 {
                lo = d;
            } else {
                hi = d;
            }
            let newton = d - gd / slope;
            let next = if hi.is_infinite() {
                if limited && d >= bracket {
                    return Bound::Infinite;
                }
                let next = if slope > 0.0 { newton.clamp(1.01 * d, 10.0 * d) } else { 10.0 * d };
                if limited { next.min(bracket) } else { next }
            } else if slope > 0.0 && newton > lo && newton < hi {
                newton
            } else {
                0.5 * (lo + hi)
            };
            if (next - d).abs() <= xtol || hi - lo <= xtol {
                return Bound::Found(b_hat + dir * next);
            }
            d = next;
        }
        Bound::Failed
    }

    /// pl_k(c): l itself for one covariate; else the constrained fit from the warm start, which
    /// then holds its optimum. `Some(-inf)` when l is not finite at the start (overflow: far
    /// below any cut-off), `None` when the constrained fit does not converge.
    fn profile(&mut self, c: f64) -> Option<f64> {
        let (p, k) = (self.p, self.k);
        if p == 1 {
            let l = self.lik.eval(&mut self.sweep, &[c]);
            return if l.is_nan() { None } else { Some(l) };
        }
        self.warm[k] = c;
        let mut l = self.lik.eval(&mut self.sweep, &self.warm);
        if !l.is_finite() {
            return if l.is_nan() { None } else { Some(f64::NEG_INFINITY) };
        }
        let q = p - 1;
        let free = |a: usize| if a < k { a } else { a + 1 };
        for _ in 0..self.control.iter_max {
            // Newton step on the free coefficients: I_ff^{-1} U_f
            for a in 0..q {
                self.step[a] = self.sweep.u[free(a)];
                for b in 0..q {
                    self.sub[a * q + b] = self.sweep.imat[free(a) * p + free(b)];
                }
            }
            ldl::factor(&mut self.sub[..q * q], q, TOLER_CHOL);
            ldl::solve(&self.sub[..q * q], q, &mut self.step[..q]);
            let gain: f64 = 0.5 * (0..q).map(|a| self.sweep.u[free(a)] * self.step[a]).sum::<f64>();
            if !gain.is_finite() {
                return None;
            }
            if gain <= self.control.eps * (1.0 + l.abs()) {
                return Some(l);
            }
            // step-halving until l does not decrease
            let mut accepted = None;
            let mut h = 1.0;
            for _ in 0..40 {
                for a in 0..q {
                    self.beta_trial(free(a), h * self.step[a]);
                }
                let lt = self.lik.eval(&mut self.sweep, &self.warm);
                if lt.is_finite() && lt >= l {
                    accepted = Some(lt);
                    break;
                }
                for a in 0..q {
                    self.beta_trial(free(a), -h * self.step[a]);
                }
                h *= 0.5;
            }
            match accepted {
                Some(lt) => l = lt,
                // no increase along the Newton direction: l is at its maximum to rounding; the
                // sweep now holds the last trial, so re-evaluate at the point kept
                None => {
                    return Some(self.lik.eval(&mut self.sweep, &self.warm));
                }
            }
        }
        None
    }

    /// Moves free coefficient `j` of the warm start by `delta`.
    fn beta_trial(&mut self, j: usize, delta: f64) {
        self.warm[j] += delta;
    }
}

#[cfg(test)]
mod tests {
    use super::super::{CoxControl, fit};
    use super::*;
    use crate::data::SurvivalData;
    use proptest::prelude::*;

    fn data(time: &[f64], event: &[bool]) -> CoxData {
        CoxData::new(&SurvivalData::new(time.to_vec(), event.to_vec()).unwrap())
    }

    /// R: qchisq(0.95, 1)
    const CRIT: f64 = 3.841458820694124;

    fn tight() -> ProfileControl {
        ProfileControl { xtol: 1e-13, ..ProfileControl::standard() }
    }

    #[test]
    fn three_subjects_closed_form_loglik() {
        // A (x = 1) dies at t = 1, B (x = 0) dies at t = 2, C (x = 1) is censored at t = 3:
        // l(b) = b - log(2e^b + 1) - log(e^b + 1), maximised at b = -log(2)/2 (cox/tests.rs).
        // Both ends finite (B dies with x = 0 while C, x = 1, is at risk; A dies with x = 1 while
        // B, x = 0, is at risk), and each solves 2 (l(b_hat) - l(c)) = qchisq(0.95, 1).
        let d = data(&[1.0, 2.0, 3.0], &[true, true, false]);
        let l = |b: f64| b - (2.0 * b.exp() + 1.0).ln() - (b.exp() + 1.0).ln();
        let b_hat = -(2f64.ln()) / 2.0;
        for ties in [Ties::Efron, Ties::Breslow] {
            let x = [vec![1.0, 0.0, 1.0]];
            let ci = interval(&d, &x, ties, &[b_hat], 0, &tight()).unwrap();
            assert!((ci.loglik - l(b_hat)).abs() < 1e-14);
            let (lo, up) = (ci.lower.value().unwrap(), ci.upper.value().unwrap());
            assert!(lo < b_hat && b_hat < up, "{ci:?}");
            for c in [lo, up] {
                assert!((2.0 * (l(b_hat) - l(c)) - CRIT).abs() < 1e-9, "{ci:?}");
            }
        }
    }

    #[test]
    fn two_subjects_monotone_upper_end_is_infinite() {
        // A (x = 1) dies at t = 1, B (x = 0) is censored at t = 2: l(b) = log pi(b),
        // pi = e^b / (e^b + 1), increasing to 0 (monotone likelihood). The fit runs out of
        // iterations at some b_last (firth.rs tests); the lower end solves
        // log pi(c) = l(b_last) - CRIT / 2, i.e. c = logit(exp(l(b_last) - CRIT / 2)).
        let d = data(&[1.0, 2.0], &[true, false]);
        let x = [vec![1.0, 0.0]];
        let f = fit(&d, &x, Ties::Efron, &CoxControl::r_defaults()).unwrap();
        let ci = interval(&d, &x, Ties::Efron, &f.coef, 0, &tight()).unwrap();
        assert_eq!(ci.upper, Bound::Infinite);
        assert!((ci.loglik - f.loglik).abs() < 1e-14, "{ci:?} {}", f.loglik);
        let pi = (f.loglik - CRIT / 2.0).exp();
        let expect = (pi / (1.0 - pi)).ln();
        assert!((ci.lower.value().unwrap() - expect).abs() < 1e-10, "{ci:?} vs {expect}");
        assert_eq!(ci.upper.end(true), Some(f64::INFINITY));
        assert_eq!(ci.lower.end(false), ci.lower.value());
        // the same data with x negated: the lower end is the infinite one
        let neg = [vec![-1.0, 0.0]];
        let ci = interval(&d, &neg, Ties::Efron, &[-f.coef[0]], 0, &tight()).unwrap();
        assert_eq!(ci.lower, Bound::Infinite);
        assert!((ci.upper.value().unwrap() + expect).abs() < 1e-10, "{ci:?}");
    }

    #[test]
    fn nondecreasing_follows_the_risk_sets() {
        // deaths at t = 1 (x = 2) and t = 3 (x = 0); censored t = 2 (x = 1), t = 4 (x = -1):
        // + direction: at t = 3 the risk set {0, -1} has max 0 = the death: yes; at t = 1, 2 is the
        // max: yes. - direction: at t = 1, -2 < max(-x) = 1: no.
        let d = data(&[1.0, 2.0, 3.0, 4.0], &[true, false, true, false]);
        let x = [2.0, 1.0, 0.0, -1.0];
        assert!(nondecreasing(&d, &x, 1.0));
        assert!(!nondecreasing(&d, &x, -1.0));
        // a tie with a larger x at the same time makes it finite
        let d = data(&[1.0, 1.0, 3.0], &[true, false, true]);
        assert!(!nondecreasing(&d, &[0.0, 1.0, 5.0], 1.0));
    }

    /// max over b2 of l(c, b2) by golden-section search on the likelihood sweep (independent of
    /// the constrained Newton–Raphson).
    fn brute_profile(d: &CoxData, x: &[Vec<f64>], c: f64) -> f64 {
        let n = d.len();
        let mut xs = vec![0.0; 2 * n];
        for (pos, &i) in d.order.iter().enumerate() {
            xs[2 * pos] = x[0][i];
            xs[2 * pos + 1] = x[1][i];
        }
        let mut sw = Sweep::new(2);
        let mut l = |b2: f64| sw.eval(&xs, &d.status, &d.groups, Ties::Efron, &[c, b2]);
        let (mut a, mut b) = (-20.0, 20.0);
        let r = (5f64.sqrt() - 1.0) / 2.0;
        for _ in 0..200 {
            let (m1, m2) = (b - r * (b - a), a + r * (b - a));
            if l(m1) < l(m2) {
                a = m1;
            } else {
                b = m2;
            }
        }
        l((a + b) / 2.0)
    }

    #[test]
    fn two_covariates_profile_re_maximises_the_nuisance() {
        let time = [1.0, 2.0, 2.0, 3.0, 4.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        let event = [true, true, true, false, true, true, false, true, true, false, true, false];
        let x = vec![
            vec![0.5, -1.2, 0.3, 2.0, -0.7, 1.1, 0.0, -0.4, 0.9, 1.5, -0.2, 0.8],
            vec![1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0],
        ];
        let d = data(&time, &event);
        let f = fit(&d, &x, Ties::Efron, &CoxControl::r_defaults()).unwrap();
        for k in 0..2 {
            let ci = interval(&d, &x, Ties::Efron, &f.coef, k, &tight()).unwrap();
            assert!((ci.loglik - f.loglik).abs() < 1e-12, "{ci:?}");
            for c in [ci.lower.value().unwrap(), ci.upper.value().unwrap()] {
                let pl = if k == 0 {
                    brute_profile(&d, &x, c)
                } else {
                    brute_profile(&d, &[x[1].clone(), x[0].clone()], c)
                };
                assert!((2.0 * (f.loglik - pl) - CRIT).abs() < 1e-7, "k {k}: {ci:?}, pl {pl}");
            }
        }
    }

    #[test]
    fn bad_arguments_fail_without_panicking() {
        let d = data(&[1.0, 2.0, 3.0], &[true, true, false]);
        let x = [vec![1.0, 0.0, 1.0]];
        let c = ProfileControl::standard();
        for (coef, k) in [(vec![0.1], 1), (vec![f64::NAN], 0), (vec![0.1, 0.2], 0)] {
            let ci = interval(&d, &x, Ties::Efron, &coef, k, &c).unwrap();
            assert_eq!((ci.lower, ci.upper), (Bound::Failed, Bound::Failed));
        }
        let ci = interval(&d, &x, Ties::Efron, &[0.1], 0, &ProfileControl { alpha: 2.0, ..c }).unwrap();
        assert_eq!(ci.lower, Bound::Failed);
        assert_eq!(
            interval(&d, &[vec![1.0, 0.0]], Ties::Efron, &[0.0], 0, &c).unwrap_err(),
            CoxError::ColumnLength { column_idx: 0, len: 2, n: 3 }
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn ends_bracket_the_estimate_and_are_never_nan(
            rows in prop::collection::vec((1u8..20, any::<bool>(), 0u8..2, -3.0f64..3.0), 2..15)
        ) {
            let time: Vec<f64> = rows.iter().map(|r| r.0 as f64).collect();
            let event: Vec<bool> = rows.iter().map(|r| r.1).collect();
            let d = data(&time, &event);
            let cols = [rows.iter().map(|r| r.2 as f64).collect::<Vec<_>>(),
                        rows.iter().map(|r| r.3).collect::<Vec<_>>()];
            for m in [&cols[..1], &cols[..]] {
                let Ok(f) = fit(&d, m, Ties::Efron, &CoxControl::r_defaults()) else { continue };
                if f.coef.iter().any(|b| !b.is_finite()) { continue; }
                for k in 0..m.len() {
                    let ci = interval(&d, m, Ties::Efron, &f.coef, k, &ProfileControl::standard()).unwrap();
                    if let Some(v) = ci.lower.value() { prop_assert!(v.is_finite() && v <= f.coef[k] + 1e-6); }
                    if let Some(v) = ci.upper.value() { prop_assert!(v.is_finite() && v >= f.coef[k] - 1e-6); }
                }
            }
        }
    }
}
