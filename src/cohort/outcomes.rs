//! Steps 3-5: event times, treatment at progression, follow-up, and what is observed.
//!
//! ```text
//! eta = b' x (a missing / not-applicable value contributes 0)
//! T = H0^{-1}(E / exp(eta)), E ~ Exp(1)        so that S(t | x) = exp(-H0(t) exp(eta))
//! if T_prog < T_os:  k ~ P(k) = exp(a_k + c_k' x) / sum_j exp(a_j + c_j' x)
//!                    T_os <- T_prog + time_ratio_k (T_os - T_prog)
//! PFS = min(T_prog, T_os);  C ~ era's follow-up;  observed min(., C), event 1{. <= C}
//! ```

use rand::{Rng, RngExt};
use rand_distr::{Distribution, Exp1};

use super::Cohort;
use crate::scenario::{Censoring, Effect, Hazard, Scenario};

pub(super) fn draw_outcomes<R: Rng + ?Sized>(s: &Scenario, rng: &mut R, c: &mut Cohort) {
    let n = c.len();
    linear_predictor(&s.os.effects, &c.columns, &mut c.scratch.eta_os);
    if let Some(p) = &s.progression {
        linear_predictor(&p.effects, &c.columns, &mut c.scratch.eta_prog);
    }
    let n_options = s.after_progression.as_ref().map_or(0, |a| a.options.len());
    c.scratch.choice_eta.resize(n_options, 0.0);
    for i in 0..n {
        let t_os0 = event_time(&s.os, c.scratch.eta_os[i], rng);
        let t_prog = match &s.progression {
            Some(h) => event_time(h, c.scratch.eta_prog[i], rng),
            None => f64::INFINITY,
        };
        let mut t_os = t_os0;
        let mut choice = None;
        if t_prog < t_os0
            && let Some(ap) = &s.after_progression
        {
            for (k, o) in ap.options.iter().enumerate() {
                let mut e = o.intercept;
                for eff in &o.effects {
                    e += eff.log_hr * c.columns[eff.column_idx][i].unwrap_or(0.0);
                }
                c.scratch.choice_eta[k] = e;
            }
            let k = softmax_draw(&mut c.scratch.choice_eta, rng.random::<f64>());
            t_os = t_prog + ap.options[k].time_ratio * (t_os0 - t_prog);
            choice = Some(k);
        }
        let follow = follow_up(s.censoring[c.era[i]], rng);
        let pfs = t_prog.min(t_os);
        c.os_time[i] = t_os.min(follow);
        c.os_event[i] = t_os <= follow;
        c.pfs_time[i] = pfs.min(follow);
        c.pfs_event[i] = pfs <= follow;
        let progressed = t_prog < t_os && t_prog <= follow;
        c.progression[i] = progressed;
        c.treatment[i] = if progressed { choice } else { None };
        c.time_from_progression[i] = if progressed { Some(c.os_time[i] - t_prog) } else { None };
    }
}

fn linear_predictor(effects: &[Effect], columns: &[Vec<Option<f64>>], eta: &mut [f64]) {
    eta.fill(0.0);
    for e in effects {
        for (x, v) in eta.iter_mut().zip(&columns[e.column_idx]) {
            *x += e.log_hr * v.unwrap_or(0.0);
        }
    }
}

/// Inversion of the cumulative hazard.
fn event_time<R: Rng + ?Sized>(h: &Hazard, eta: f64, rng: &mut R) -> f64 {
    let e: f64 = Exp1.sample(rng);
    h.baseline.inverse_cumhaz(e * (-eta).exp())
}

/// Index k with probability exp(eta_k) / sum exp(eta_j), from one uniform u. `eta` is left
/// holding the weights exp(eta_k - max eta) (one exponential per option).
fn softmax_draw(eta: &mut [f64], u: f64) -> usize {
    let m = eta.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    for e in eta.iter_mut() {
        *e = (*e - m).exp();
    }
    let total: f64 = eta.iter().sum();
    let mut acc = 0.0;
    for (k, w) in eta.iter().enumerate() {
        acc += w / total;
        if u < acc {
            return k;
        }
    }
    eta.len() - 1
}

/// A potential follow-up time.
pub fn follow_up<R: Rng + ?Sized>(c: Censoring, rng: &mut R) -> f64 {
    match c {
        Censoring::None => f64::INFINITY,
        Censoring::Fixed { at } => at,
        Censoring::Uniform { min, max } => min + (max - min) * rng.random::<f64>(),
        Censoring::Exponential { mean, max } => {
            let e: f64 = Exp1.sample(rng);
            (mean * e).min(max)
        }
        Censoring::Weibull { shape, scale, max } => {
            let e: f64 = Exp1.sample(rng);
            (scale * e.powf(1.0 / shape)).min(max)
        }
    }
}
