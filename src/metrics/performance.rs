//! Performance measures of one method for one estimand, with Monte Carlo SEs.
//!
//! ```text
//! n replicates, estimates t_i, truth T, model SEs s_i, intervals [l_i, u_i], p-values p_i
//! d_i = t_i - T                                   (accumulated about the truth)
//! measure     estimate                              Monte Carlo SE
//! thetamean   mean(t)                               sqrt(S2_d / n)
//! bias        mean(d)                               sqrt(S2_d / n)
//! relbias     mean(d) / T                           sqrt(S2_d / n) / |T|
//! empse       E = sqrt(S2_d)                        E / sqrt(2 (n - 1))
//! mse         mean(d^2)                             sqrt(S2_{d^2} / n)
//! modelse     M = sqrt(mean(s^2))                   sqrt(S2_{s^2} / (4 n M^2))
//! relerror    100 (M / E - 1)                       100 (M / E) sqrt(S2_{s^2} / (4 n M^4) + 1 / (2 (n - 1)))
//! cover       P = #{l_i <= T <= u_i} / n            sqrt(P (1 - P) / n)
//! becover     #{l_i <= mean(t) <= u_i} / n          same
//! power       #{p_i <= alpha} / n                   same   (type-I error when T is the null)
//! S2_x = sum (x_i - mean x)^2 / (n - 1)
//! ```
//! Morris, White & Crowther (2019) Stat Med 38:2074, Table 6 (relbias: their bias divided by T).
//! Names as R's rsimsum (`thetamean`, `bias`, `empse`, `mse`, `modelse`, `relerror`, `cover`,
//! `becover`, `power`).
//!
//! How replicates enter (each measure reports its own `n`, the replicates it used):
//! - A missing observation (the method produced nothing) enters no measure; it is counted in
//!   `n_missing`.
//! - A degenerate observation (any [`Flags`] set: non-convergence, monotone likelihood, empty group,
//!   no events, other) enters the `included` view with whatever numbers it carries, and is left out of
//!   the `excluded` view altogether. Counts per kind are kept; `degenerate_rate` = n_degenerate / nsim.
//! - Within a view, each field enters only the measures that use it, and only when valid: a finite
//!   estimate (thetamean, bias, relbias, empse, mse; otherwise counted in `n_nonfinite`), a finite
//!   SE >= 0 (modelse, relerror), an interval with lower <= upper, neither NaN, infinite ends allowed
//!   (cover, becover), a p-value in [0, 1] (power).
//!
//! Bias-eliminated coverage needs mean(t), known only at the end. It is computed exactly and stays
//! mergeable: the interval ends are kept (as offsets l_i - T and u_i - T: 16 bytes per replicate and
//! view, so up to 32 bytes per replicate and pair in memory and in block files) and
//! counted at the end, using #{l_i <= c <= u_i} = #{l_i <= c} - #{u_i < c} for intervals with l <= u.
//! This is the one part of the accumulator whose size grows with the number of replicates.

use serde::{Deserialize, Serialize};

use super::moments::Moments;
use super::{DegenerateKind, Observation};

/// A performance measure (rsimsum's name from [`Measure::name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Measure {
    ThetaMean,
    Bias,
    RelBias,
    EmpSe,
    Mse,
    ModelSe,
    RelError,
    Cover,
    BeCover,
    Power,
}

impl Measure {
    pub const ALL: [Measure; 10] = [
        Measure::ThetaMean,
        Measure::Bias,
        Measure::RelBias,
        Measure::EmpSe,
        Measure::Mse,
        Measure::ModelSe,
        Measure::RelError,
        Measure::Cover,
        Measure::BeCover,
        Measure::Power,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Measure::ThetaMean => "thetamean",
            Measure::Bias => "bias",
            Measure::RelBias => "relbias",
            Measure::EmpSe => "empse",
            Measure::Mse => "mse",
            Measure::ModelSe => "modelse",
            Measure::RelError => "relerror",
            Measure::Cover => "cover",
            Measure::BeCover => "becover",
            Measure::Power => "power",
        }
    }
}

/// Streaming, mergeable accumulator of one (estimand, method) pair.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PairAccumulator {
    pub n_reps: u64,
    pub n_missing: u64,
    pub n_degenerate: u64,
    /// Counts per [`DegenerateKind`], in `DegenerateKind::ALL` order (a fit may have several).
    pub n_by_kind: [u64; DegenerateKind::COUNT],
    /// Every present observation.
    pub all: ViewAccumulator,
    /// Present observations without flags.
    pub clean: ViewAccumulator,
}

/// The sums one view needs. Deviations are taken about `shift` (the truth, or 0 without one).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ViewAccumulator {
    pub n_obs: u64,
    pub n_nonfinite: u64,
    /// d = estimate - shift.
    pub dev: Moments,
    /// d^2.
    pub sq_dev: Moments,
    /// se^2.
    pub var: Moments,
    pub n_ci: u64,
    pub n_covered: u64,
    pub n_p: u64,
    pub n_reject: u64,
    /// Finite lower ends minus shift, in replicate order.
    pub lower: Vec<f64>,
    /// Finite upper ends minus shift, in replicate order.
    pub upper: Vec<f64>,
    /// Lower ends at -infinity (always <= any centre).
    pub n_lower_neg_inf: u64,
    /// Upper ends at -infinity (always < any centre).
    pub n_upper_neg_inf: u64,
}

impl PairAccumulator {
    /// Add one replicate: `obs` is `None` when the method produced nothing.
    pub fn push(&mut self, obs: Option<&Observation>, truth: Option<f64>, alpha: f64) {
        self.n_reps += 1;
        let Some(obs) = obs else {
            self.n_missing += 1;
            return;
        };
        self.all.push(obs, truth, alpha);
        if obs.flags.is_degenerate() {
            self.n_degenerate += 1;
            for kind in obs.flags.kinds() {
                self.n_by_kind[kind as usize] += 1;
            }
        } else {
            self.clean.push(obs, truth, alpha);
        }
    }

    /// Fold `other` (later replicates) into `self`.
    pub fn merge(&mut self, other: &PairAccumulator) {
        self.n_reps += other.n_reps;
        self.n_missing += other.n_missing;
        self.n_degenerate += other.n_degenerate;
        for (a, b) in self.n_by_kind.iter_mut().zip(other.n_by_kind) {
            *a += b;
        }
        self.all.merge(&other.all);
        self.clean.merge(&other.clean);
    }

    pub fn summary(&self, truth: Option<f64>) -> PairSummary {
        let by_kind = DegenerateKind::ALL
            .iter()
            .map(|k| KindCount { kind: k.name(), n: self.n_by_kind[*k as usize] })
            .collect();
        PairSummary {
            counts: PairCounts {
                nsim: self.n_reps,
                n_missing: self.n_missing,
                n_degenerate: self.n_degenerate,
                degenerate_rate: proportion(self.n_degenerate, self.n_reps),
                by_kind,
            },
            included: self.all.summary(truth),
            excluded: self.clean.summary(truth),
        }
    }
}

impl ViewAccumulator {
    fn push(&mut self, obs: &Observation, truth: Option<f64>, alpha: f64) {
        let shift = truth.unwrap_or(0.0);
        self.n_obs += 1;
        if obs.estimate.is_finite() {
            let d = obs.estimate - shift;
            self.dev.push(d);
            self.sq_dev.push(d * d);
        } else {
            self.n_nonfinite += 1;
        }
        if let Some(se) = obs.se.filter(|s| s.is_finite() && *s >= 0.0) {
            self.var.push(se * se);
        }
        if let (Some(l), Some(u)) = (obs.lower, obs.upper)
            && !l.is_nan()
            && !u.is_nan()
            && l <= u
        {
            self.n_ci += 1;
            if truth.is_some_and(|t| l <= t && t <= u) {
                self.n_covered += 1;
            }
            let (lo, up) = (l - shift, u - shift);
            if lo == f64::NEG_INFINITY {
                self.n_lower_neg_inf += 1;
            } else if lo.is_finite() {
                self.lower.push(lo);
            }
            if up == f64::NEG_INFINITY {
                self.n_upper_neg_inf += 1;
            } else if up.is_finite() {
                self.upper.push(up);
            }
        }
        if let Some(p) = obs.p_value.filter(|p| (0.0..=1.0).contains(p)) {
            self.n_p += 1;
            if p <= alpha {
                self.n_reject += 1;
            }
        }
    }

    fn merge(&mut self, other: &ViewAccumulator) {
        self.n_obs += other.n_obs;
        self.n_nonfinite += other.n_nonfinite;
        self.dev.merge(&other.dev);
        self.sq_dev.merge(&other.sq_dev);
        self.var.merge(&other.var);
        self.n_ci += other.n_ci;
        self.n_covered += other.n_covered;
        self.n_p += other.n_p;
        self.n_reject += other.n_reject;
        self.lower.extend_from_slice(&other.lower);
        self.upper.extend_from_slice(&other.upper);
        self.n_lower_neg_inf += other.n_lower_neg_inf;
        self.n_upper_neg_inf += other.n_upper_neg_inf;
    }

    /// Number of intervals containing `shift + c`, given as the offset `c`.
    fn n_containing(&self, c: f64) -> u64 {
        let below = self.lower.iter().filter(|&&l| l <= c).count() as u64 + self.n_lower_neg_inf;
        let above = self.upper.iter().filter(|&&u| u < c).count() as u64 + self.n_upper_neg_inf;
        below.saturating_sub(above)
    }

    fn summary(&self, truth: Option<f64>) -> ViewSummary {
        let shift = truth.unwrap_or(0.0);
        let n_d = self.dev.n;
        let var_d = self.dev.variance();
        let se_of_mean = var_d.map(|v| (v / n_d as f64).sqrt());
        let mean_d = self.dev.mean();
        let empse = var_d.map(f64::sqrt);
        let modelse = self.var.mean().map(f64::sqrt);
        let var_v = self.var.variance();
        let n_v = self.var.n as f64;
        let with_truth = |e: Estimate| if truth.is_some() { e } else { Estimate::undefined(e.n) };

        let relbias = match truth {
            Some(t) if t != 0.0 => {
                Estimate { est: mean_d.map(|m| m / t), mcse: se_of_mean.map(|s| s / t.abs()), n: n_d }
            }
            _ => Estimate::undefined(n_d),
        };
        let modelse_mcse = match (var_v, modelse) {
            (Some(vv), Some(m)) if m > 0.0 => Some((vv / (4.0 * n_v * m * m)).sqrt()),
            _ => None,
        };
        let relerror = match (empse, modelse, var_v) {
            (Some(e), Some(m), Some(vv)) if e > 0.0 && m > 0.0 => Estimate {
                est: Some(100.0 * (m / e - 1.0)),
                mcse: Some(
                    100.0 * (m / e) * (vv / (4.0 * n_v * m.powi(4)) + 1.0 / (2.0 * (n_d - 1) as f64)).sqrt(),
                ),
                n: n_d.min(self.var.n),
            },
            _ => Estimate::undefined(n_d.min(self.var.n)),
        };
        let becover = match mean_d {
            Some(c) if self.n_ci > 0 => proportion(self.n_containing(c), self.n_ci),
            _ => Estimate::undefined(self.n_ci),
        };
        ViewSummary {
            n_obs: self.n_obs,
            n_nonfinite: self.n_nonfinite,
            thetamean: Estimate { est: mean_d.map(|m| shift + m), mcse: se_of_mean, n: n_d },
            bias: with_truth(Estimate { est: mean_d, mcse: se_of_mean, n: n_d }),
            relbias,
            empse: Estimate { est: empse, mcse: empse.map(|e| e / (2.0 * (n_d - 1) as f64).sqrt()), n: n_d },
            mse: with_truth(Estimate {
                est: self.sq_dev.mean(),
                mcse: self.sq_dev.variance().map(|v| (v / n_d as f64).sqrt()),
                n: n_d,
            }),
            modelse: Estimate { est: modelse, mcse: modelse_mcse, n: self.var.n },
            relerror,
            cover: with_truth(proportion(self.n_covered, self.n_ci)),
            becover,
            power: proportion(self.n_reject, self.n_p),
        }
    }
}

/// A measure's value, its Monte Carlo SE and the number of replicates it used. `None` when not
/// defined (no truth, too few replicates, a zero denominator).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    pub est: Option<f64>,
    pub mcse: Option<f64>,
    pub n: u64,
}

impl Estimate {
    fn undefined(n: u64) -> Estimate {
        Estimate { est: None, mcse: None, n }
    }
}

/// Proportion k / n with binomial Monte Carlo SE sqrt(p (1 - p) / n).
pub fn proportion(k: u64, n: u64) -> Estimate {
    if n == 0 {
        return Estimate::undefined(0);
    }
    let p = k as f64 / n as f64;
    Estimate { est: Some(p), mcse: Some((p * (1.0 - p) / n as f64).sqrt()), n }
}

/// Every measure of one view (degenerate fits included or excluded).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ViewSummary {
    /// Observations in this view.
    pub n_obs: u64,
    /// Of which with a non-finite estimate.
    pub n_nonfinite: u64,
    pub thetamean: Estimate,
    pub bias: Estimate,
    pub relbias: Estimate,
    pub empse: Estimate,
    pub mse: Estimate,
    pub modelse: Estimate,
    pub relerror: Estimate,
    pub cover: Estimate,
    pub becover: Estimate,
    pub power: Estimate,
}

impl ViewSummary {
    pub fn get(&self, m: Measure) -> &Estimate {
        match m {
            Measure::ThetaMean => &self.thetamean,
            Measure::Bias => &self.bias,
            Measure::RelBias => &self.relbias,
            Measure::EmpSe => &self.empse,
            Measure::Mse => &self.mse,
            Measure::ModelSe => &self.modelse,
            Measure::RelError => &self.relerror,
            Measure::Cover => &self.cover,
            Measure::BeCover => &self.becover,
            Measure::Power => &self.power,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KindCount {
    pub kind: &'static str,
    pub n: u64,
}

/// Replicate counts of one pair, the same in both views.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairCounts {
    pub nsim: u64,
    pub n_missing: u64,
    pub n_degenerate: u64,
    pub degenerate_rate: Estimate,
    pub by_kind: Vec<KindCount>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairSummary {
    pub counts: PairCounts,
    /// Degenerate fits included.
    pub included: ViewSummary,
    /// Degenerate fits excluded.
    pub excluded: ViewSummary,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::DegenerateKind;

    #[test]
    fn degenerate_and_missing_enter_as_documented() {
        let mut acc = PairAccumulator::default();
        let ok = Observation::estimate(1.0).with_se(0.5).with_interval(0.0, 2.0).with_p_value(0.01);
        let bad = Observation::estimate(9.0).with_flag(DegenerateKind::MonotoneLikelihood);
        let inf = Observation::estimate(f64::INFINITY).with_interval(f64::NEG_INFINITY, f64::INFINITY);
        acc.push(Some(&ok), Some(1.0), 0.05);
        acc.push(Some(&bad), Some(1.0), 0.05);
        acc.push(None, Some(1.0), 0.05);
        acc.push(Some(&inf), Some(1.0), 0.05);
        let s = acc.summary(Some(1.0));
        assert_eq!((s.counts.nsim, s.counts.n_missing, s.counts.n_degenerate), (4, 1, 1));
        assert_eq!(s.counts.by_kind[1], KindCount { kind: "monotone_likelihood", n: 1 });
        assert_eq!((s.included.n_nonfinite, s.excluded.n_nonfinite), (1, 1));
        // included: estimates 1 and 9 -> bias 4; excluded: estimate 1 -> bias 0.
        assert_eq!(s.included.bias.est, Some(4.0));
        assert_eq!(s.included.bias.n, 2);
        assert_eq!(s.excluded.bias.est, Some(0.0));
        // intervals [0, 2] and (-inf, inf) both cover the truth 1; the mean of the finite
        // estimates (1 and 9) is 5, inside (-inf, inf) only.
        assert_eq!(s.included.cover.est, Some(1.0));
        assert_eq!(s.included.cover.n, 2);
        assert_eq!(s.included.becover.est, Some(0.5));
        assert_eq!(s.included.power.est, Some(1.0));
        assert_eq!(s.included.power.n, 1);
        assert_eq!(s.excluded.empse.est, None);
    }

    #[test]
    fn bias_eliminated_coverage_counts_at_the_mean() {
        // estimates 0, 2 (mean 1, truth 0); intervals [-0.5, 0.5] and [0.9, 3]: only the second
        // contains the mean 1; only the first contains the truth 0.
        let mut acc = PairAccumulator::default();
        acc.push(Some(&Observation::estimate(0.0).with_interval(-0.5, 0.5)), Some(0.0), 0.05);
        acc.push(Some(&Observation::estimate(2.0).with_interval(0.9, 3.0)), Some(0.0), 0.05);
        let s = acc.summary(Some(0.0)).included;
        assert_eq!(s.cover.est, Some(0.5));
        assert_eq!(s.becover.est, Some(0.5));
        let mut acc = PairAccumulator::default();
        acc.push(Some(&Observation::estimate(0.0).with_interval(-0.5, 0.5)), Some(0.0), 0.05);
        acc.push(Some(&Observation::estimate(2.0).with_interval(1.5, 3.0)), Some(0.0), 0.05);
        assert_eq!(acc.summary(Some(0.0)).included.becover.est, Some(0.0));
    }
}
