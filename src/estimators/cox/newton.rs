//! Newton–Raphson with step-halving for the Cox partial likelihood, step for step as R survival's
//! `coxfit6` (survival 3.5.3).
//!
//! ```text
//! b_0 = 0;  b_{m+1} = b_m + I(b_m)^{-1} U(b_m)
//! converged when |1 - l_best / l(b_new)| <= eps  (the new point must have finite l, U, I)
//! l(b_new) < l_best or not finite:  b_new := (b_new + h b_old) / (h + 1), h = 1, 2, ...
//! ```
//! The covariates arrive centred and scaled (see `mod.rs`); the results are returned on the
//! original scale. Newton steps are affine invariant, so scaling changes only rounding.

use super::likelihood::{Likelihood, MAX_P, Matrix, Sweep, Vector};
use super::{CoxControl, Ties, ldl};
use smallvec::{SmallVec, smallvec};

/// What the iteration found, on the original scale of the covariates.
#[derive(Debug, Clone)]
pub(crate) struct Newton {
    pub beta: Vector,
    /// inverse information at `beta`, row-major p x p (aliased rows/columns are 0)
    pub var: Matrix,
    /// score at `beta`
    pub u: Vector,
    pub loglik_null: f64,
    pub loglik: f64,
    pub score_test: f64,
    /// R's `iter`: the iteration at which it converged, `iter_max + 1` when it ran out
    pub iterations: usize,
    /// rank of the information matrix from the last factorisation (R's `flag`; -2 when
    /// convergence came during step-halving)
    pub rank_flag: i32,
    pub converged: bool,
}

pub(crate) fn newton(
    x: &[f64],
    scale: &[f64],
    status: &[bool],
    groups: &[(usize, usize)],
    ties: Ties,
    control: &CoxControl,
) -> Newton {
    newton_on(&Likelihood::new(x, scale.len(), status, groups, ties), scale, control)
}

/// [`newton`] on a likelihood already set up (`scale.len()` covariates).
pub(crate) fn newton_on(lik: &Likelihood, scale: &[f64], control: &CoxControl) -> Newton {
    let p = scale.len();
    let mut sweep = Sweep::new(p);
    let mut beta: Vector = smallvec![0.0; p];
    // the trial point and the Newton step, in one buffer
    let mut trial: SmallVec<[f64; 2 * MAX_P]> = smallvec![0.0; 2 * p];
    let (newbeta, step) = trial.split_at_mut(p);

    let loglik_null = lik.eval(&mut sweep, &beta);
    step.copy_from_slice(&sweep.u);
    let mut rank_flag = ldl::factor(&mut sweep.imat, p, control.toler_chol);
    ldl::solve(&sweep.imat, p, step);
    let score_test: f64 = sweep.u.iter().zip(step.iter()).map(|(u, s)| u * s).sum();

    // the fit at `b` on the original scale, from the sweep's U and I there (their buffers become
    // the result's)
    let finish = |mut b: Vector, sweep: Sweep| -> (Vector, Matrix, Vector) {
        let Sweep { mut u, imat: mut var, .. } = sweep;
        ldl::invert(&mut var, p);
        for (b, s) in b.iter_mut().zip(scale) {
            *b *= s;
        }
        for (u, s) in u.iter_mut().zip(scale) {
            *u /= s;
        }
        for i in 0..p {
            for j in 0..p {
                var[i * p + j] *= scale[i] * scale[j];
            }
        }
        (b, var, u)
    };

    if control.iter_max == 0 || !loglik_null.is_finite() {
        let (beta, var, u) = finish(beta, sweep);
        return Newton {
            beta,
            var,
            u,
            loglik_null,
            loglik: loglik_null,
            score_test,
            iterations: 0,
            rank_flag,
            converged: control.iter_max == 0,
        };
    }

    let mut loglik_best = loglik_null;
    for k in 0..p {
        newbeta[k] = beta[k] + step[k];
    }
    let mut halving = 0.0_f64;
    for iter in 1..=control.iter_max {
        let newlk = lik.eval(&mut sweep, newbeta);
        rank_flag = ldl::factor(&mut sweep.imat, p, control.toler_chol);
        let finite = newlk.is_finite()
            && sweep.u.iter().all(|v| v.is_finite())
            && sweep.imat.iter().all(|v| v.is_finite());
        if finite && (1.0 - loglik_best / newlk).abs() <= control.eps {
            beta.copy_from_slice(newbeta);
            let (beta, var, u) = finish(beta, sweep);
            return Newton {
                beta,
                var,
                u,
                loglik_null,
                loglik: newlk,
                score_test,
                iterations: iter,
                rank_flag: if halving > 0.0 { -2 } else { rank_flag },
                converged: true,
            };
        }
        if !finite || newlk < loglik_best {
            halving += 1.0;
            for k in 0..p {
                newbeta[k] = (newbeta[k] + halving * beta[k]) / (halving + 1.0);
            }
        } else {
            halving = 0.0;
            loglik_best = newlk;
            step.copy_from_slice(&sweep.u);
            ldl::solve(&sweep.imat, p, step);
            beta.copy_from_slice(newbeta);
            for (nb, s) in newbeta.iter_mut().zip(step.iter()) {
                *nb += s;
            }
        }
    }

    // Ran out of iterations: report the last accepted point. R recomputes U and I there but then
    // inverts I without factoring it first, which yields diag(1 / I_kk); we factor it, so `var`
    // here is the proper inverse information (R's differs off the diagonal).
    let loglik = if control.iter_max > 1 {
        let l = lik.eval(&mut sweep, &beta);
        rank_flag = ldl::factor(&mut sweep.imat, p, control.toler_chol);
        l
    } else {
        loglik_best
    };
    let (beta, var, u) = finish(beta, sweep);
    Newton {
        beta,
        var,
        u,
        loglik_null,
        loglik,
        score_test,
        iterations: control.iter_max + 1,
        rank_flag,
        converged: false,
    }
}
