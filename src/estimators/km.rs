//! Kaplan–Meier product-limit estimator with Greenwood variance, its pointwise confidence intervals,
//! median and restricted mean, computed as R's `survfit` / `summary.survfit` / `survmean` do.
//!
//! ```text
//! S(t)            = Π_{t_i <= t} (1 - d_i / n_i)
//! std_err(t)      = sqrt( Σ_{t_i <= t} d_i / (n_i (n_i - d_i)) )      SE of -log S (R's std.err)
//! se_surv(t)      = S(t) * std_err(t)                                 Greenwood SE of S
//! log CI          = exp(log S ± z std_err), upper capped at 1
//! log-log CI      = exp(-exp(log(-log S) ∓ z std_err / log S))
//! plain CI        = S ± z se_surv, clipped to [0, 1]
//! rmean(τ)        = ∫_0^τ S(u) du
//! Var rmean(τ)    = Σ_{t_i <= τ} A_i^2 d_i / (n_i (n_i - d_i)),  A_i = ∫_{t_i}^τ S(u) du  (0 if n_i = d_i)
//! median          = first t with S(t) < 0.5 (+ sqrt(eps)); midpoint rule where S is flat at 0.5
//! ```
//! Kaplan & Meier (1958), JASA 53:457-481; Greenwood (1926). The rules are those of R survival 3.5.3:
//! `survfitKM` and `src/survfitkm.c` (estimate, `std.err`), `survfit_confint` (intervals),
//! `survmean` in `print.survfit.R` (median, its CI and the restricted mean), `summary.survfit` with
//! `times=, extend=TRUE` (values at chosen times) on the curve `survfit0` completes with time 0.
//!
//! Conventions: `ConfType::Log` is R survfit's default; `ConfType::LogLog` is the default of SAS
//! PROC LIFETEST, Stata `sts` and lifelines; `ConfType::Plain` is what SPSS reports. Where R gives NA
//! (an interval at S = 0, a log-log interval at S = 1, a median never reached) the value is `None`.
//! R merges times that differ by less than ~1e-8 relative (`aeqSurv`); this module takes times as
//! given.

use crate::data::SurvivalData;

/// `qnorm(0.975)` in R: the normal quantile of a two-sided 95% interval.
pub const Z_95: f64 = 1.959_963_984_540_054;

/// R's `sqrt(.Machine$double.eps)`: how close to 0.5 a survival value counts as "equal to 0.5" in
/// the median rule.
const MEDIAN_TOL: f64 = 1.490_116_119_384_765_6e-8;

/// Scale of a pointwise confidence interval for S(t).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfType {
    /// On log S (R's default, `conf.type = "log"`).
    Log,
    /// On log(-log S) (SAS, Stata, lifelines; R `conf.type = "log-log"`).
    LogLog,
    /// On S itself (SPSS; R `conf.type = "plain"`).
    Plain,
}

/// A 95% confidence interval; `None` where R gives NA.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ci {
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

/// The Kaplan–Meier step table: one row per distinct observed time (events and censorings), as
/// R's `survfit(Surv(time, event) ~ 1)`.
#[derive(Debug, Clone, PartialEq)]
pub struct KmFit {
    /// Number of subjects.
    pub n: usize,
    pub time: Vec<f64>,
    pub n_risk: Vec<usize>,
    pub n_event: Vec<usize>,
    pub n_censor: Vec<usize>,
    pub surv: Vec<f64>,
    /// R's `std.err`: SE of -log S(t); `+inf` once S has reached 0 (a risk set that all died).
    pub std_err: Vec<f64>,
    /// Greenwood SE of S(t) (`std.err * surv`); `None` where S = 0 (R: NaN).
    pub se_surv: Vec<Option<f64>>,
}

/// S(t) at a chosen time, as `summary(fit, times = t, extend = TRUE)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SurvAt {
    pub time: f64,
    pub surv: f64,
    /// SE of -log S (R's `std.err` of the fit); 0 before the first event.
    pub std_err: f64,
    /// Greenwood SE of S (what `summary.survfit` reports as `std.err`); `None` where S = 0.
    pub se_surv: Option<f64>,
}

/// Median survival with its CI (R `survmean`, CI from the pointwise intervals of the chosen type).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Median {
    pub median: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

/// Restricted mean survival time up to `end` and its SE (R `survmean`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rmean {
    pub end: f64,
    pub rmean: f64,
    pub se: f64,
}

/// Fits the Kaplan–Meier curve: one sort, then one sweep. Allocates only the step table.
pub fn fit(data: &SurvivalData) -> KmFit {
    let mut obs: Vec<(f64, bool)> = data.time().iter().copied().zip(data.event().iter().copied()).collect();
    obs.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let n = obs.len();
    let n_time = 1 + obs.windows(2).filter(|w| w[0].0 != w[1].0).count();
    let mut fit = KmFit {
        n,
        time: Vec::with_capacity(n_time),
        n_risk: Vec::with_capacity(n_time),
        n_event: Vec::with_capacity(n_time),
        n_censor: Vec::with_capacity(n_time),
        surv: Vec::with_capacity(n_time),
        std_err: Vec::with_capacity(n_time),
        se_surv: Vec::with_capacity(n_time),
    };
    let (mut km, mut greenwood) = (1.0_f64, 0.0_f64);
    let mut i = 0;
    while i < n {
        let t = obs[i].0;
        let n_risk = n - i;
        let mut n_event = 0;
        let mut j = i;
        while j < n && obs[j].0 == t {
            n_event += usize::from(obs[j].1);
            j += 1;
        }
        if n_event > 0 {
            let (nr, d) = (n_risk as f64, n_event as f64);
            km *= (nr - d) / nr;
            // d / 0 = +inf when the whole risk set dies, as in survfitkm.c
            greenwood += d / (nr * (nr - d));
        }
        let std_err = greenwood.sqrt();
        fit.time.push(t);
        fit.n_risk.push(n_risk);
        fit.n_event.push(n_event);
        fit.n_censor.push(j - i - n_event);
        fit.surv.push(km);
        fit.std_err.push(std_err);
        fit.se_surv.push(finite(km * std_err));
        i = j;
    }
    fit
}

/// R's `survfit_confint` for one point: S = `surv`, SE of -log S = `std_err`, 95% level.
pub fn conf_int(surv: f64, std_err: f64, conf: ConfType) -> Ci {
    let (lower, upper) = match conf {
        ConfType::Log => {
            if surv == 0.0 {
                (f64::NAN, f64::NAN)
            } else {
                let se2 = Z_95 * std_err;
                ((surv.ln() - se2).exp(), (surv.ln() + se2).exp().min(1.0))
            }
        }
        ConfType::LogLog => {
            if surv == 0.0 || surv == 1.0 {
                (f64::NAN, f64::NAN)
            } else {
                let se2 = Z_95 * std_err / surv.ln();
                let loglog = (-surv.ln()).ln();
                ((-(loglog - se2).exp()).exp(), (-(loglog + se2).exp()).exp())
            }
        }
        ConfType::Plain => {
            let se2 = std_err * surv * Z_95;
            // R's pmax/pmin keep NaN (S = 0 with infinite std.err)
            let lower = if (surv - se2).is_nan() { f64::NAN } else { (surv - se2).max(0.0) };
            let upper = if (surv + se2).is_nan() { f64::NAN } else { (surv + se2).min(1.0) };
            (lower, upper)
        }
    };
    Ci { lower: finite(lower), upper: finite(upper) }
}

impl SurvAt {
    /// The 95% interval of type `conf` at this time (R's lower/upper of `summary(fit, times)`).
    pub fn ci(&self, conf: ConfType) -> Ci {
        conf_int(self.surv, self.std_err, conf)
    }
}

impl KmFit {
    /// Number of distinct times (rows of the step table).
    pub fn len(&self) -> usize {
        self.time.len()
    }

    /// Never true for a fit of valid data (at least one subject).
    pub fn is_empty(&self) -> bool {
        self.time.is_empty()
    }

    /// Pointwise intervals at every row of the step table (R's `fit$lower`, `fit$upper`).
    pub fn conf_ints(&self, conf: ConfType) -> Vec<Ci> {
        self.surv.iter().zip(&self.std_err).map(|(&s, &se)| conf_int(s, se, conf)).collect()
    }

    /// S(t) and its SE at `time`: the last step at or before `time`; 1 (SE 0) before the first
    /// observed time, the last value after the last one (`extend = TRUE`). Does not allocate.
    pub fn surv_at(&self, time: f64) -> SurvAt {
        let k = self.time.partition_point(|&t| t <= time);
        // survfit0 puts (0, S = 1, std.err = 0) in front unless the first time already is 0;
        // R looks up row max(1, k) of that curve
        let idx = match k {
            0 if self.time.first().is_none_or(|&t0| t0 != 0.0) => None,
            0 => Some(0),
            k => Some(k - 1),
        };
        match idx {
            None => SurvAt { time, surv: 1.0, std_err: 0.0, se_surv: Some(0.0) },
            Some(i) => {
                SurvAt { time, surv: self.surv[i], std_err: self.std_err[i], se_surv: self.se_surv[i] }
            }
        }
    }

    /// Number at risk at `time` (subjects with follow-up >= `time`), as `summary(fit, times)`.
    pub fn n_risk_at(&self, time: f64) -> usize {
        let idx = self.time.partition_point(|&t| t < time);
        self.n_risk.get(idx).copied().unwrap_or(0)
    }

    /// Median and its CI from the pointwise intervals of type `conf` (R `survmean`; the
    /// reference files use `ConfType::Log`, R's default). Does not allocate.
    pub fn median(&self, conf: ConfType) -> Median {
        let x = &self.time;
        let ci = |i: usize| conf_int(self.surv[i], self.std_err[i], conf);
        Median {
            median: first_below_half(x, |i| Some(self.surv[i])),
            lower: first_below_half(x, |i| ci(i).lower),
            upper: first_below_half(x, |i| ci(i).upper),
        }
    }

    /// Restricted mean up to the last observed time: R `rmean = "individual"`, SPSS's "mean
    /// survival time".
    pub fn rmean_last(&self) -> Rmean {
        let end = self.time.last().copied().unwrap_or(0.0);
        self.rmean_unchecked(end)
    }

    /// Restricted mean up to `tau` (R `rmean = tau`). `None` when `tau` is negative or not finite.
    /// R refuses a `tau` below the first observed time; here S = 1 there, so the mean is `tau`.
    pub fn rmean_to(&self, tau: f64) -> Option<Rmean> {
        (tau.is_finite() && tau >= 0.0).then(|| self.rmean_unchecked(tau))
    }

    /// One backward sweep over the steps at or before `end`. Does not allocate.
    fn rmean_unchecked(&self, end: f64) -> Rmean {
        let k = self.time.partition_point(|&t| t <= end);
        // area after t_i (A_i) accumulates from `end` backwards
        let mut area_after = 0.0;
        let mut var = 0.0;
        let mut upper = end;
        for i in (0..k).rev() {
            area_after += (upper - self.time[i]) * self.surv[i];
            upper = self.time[i];
            let (nr, d) = (self.n_risk[i] as f64, self.n_event[i] as f64);
            if nr - d != 0.0 {
                var += area_after * area_after * d / (nr * (nr - d));
            }
        }
        // from 0 to the first time S = 1
        let rmean = area_after + upper;
        Rmean { end, rmean, se: var.sqrt() }
    }
}

/// R's `minmin`: the x of the first y below 0.5 (within sqrt(eps)), skipping NA; where that y is
/// 0.5 and the curve later drops below it, the midpoint of the two times.
fn first_below_half(x: &[f64], y: impl Fn(usize) -> Option<f64>) -> Option<f64> {
    let kept = |i: usize| y(i).filter(|&v| v < 0.5 + MEDIAN_TOL);
    let first = (0..x.len()).find(|&i| kept(i).is_some())?;
    let y1 = kept(first)?;
    if (y1 - 0.5).abs() < MEDIAN_TOL
        && let Some(next) = (first + 1..x.len()).find(|&i| kept(i).is_some_and(|v| v < y1))
    {
        return Some((x[first] + x[next]) / 2.0);
    }
    Some(x[first])
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(time: &[f64], event: &[u8]) -> SurvivalData {
        SurvivalData::new(time.to_vec(), event.iter().map(|&e| e == 1).collect()).unwrap()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn step_table_and_greenwood_by_hand() {
        // times 1, 2+, 3, 3, 4: at t=1 n=5 d=1 -> S = 4/5, sum d/(n(n-d)) = 1/20;
        // t=2 censored; t=3 n=3 d=2 -> S = 4/5 * 1/3 = 4/15, sum += 2/3; t=4 n=1 d=1 -> S = 0, sum = inf
        let f = fit(&data(&[3.0, 1.0, 4.0, 2.0, 3.0], &[1, 1, 1, 0, 1]));
        assert_eq!(f.time, vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(f.n_risk, vec![5, 4, 3, 1]);
        assert_eq!(f.n_event, vec![1, 0, 2, 1]);
        assert_eq!(f.n_censor, vec![0, 1, 0, 0]);
        assert!(close(f.surv[0], 0.8) && close(f.surv[2], 4.0 / 15.0) && f.surv[3] == 0.0);
        assert!(close(f.std_err[0], 0.05_f64.sqrt()));
        assert!(close(f.std_err[2], (0.05_f64 + 2.0 / 3.0).sqrt()));
        assert!(close(f.se_surv[2].unwrap(), 4.0 / 15.0 * (0.05_f64 + 2.0 / 3.0).sqrt()));
        assert_eq!(f.std_err[3], f64::INFINITY);
        assert_eq!(f.se_surv[3], None);
        // R gives NA for every interval at S = 0
        for conf in [ConfType::Log, ConfType::LogLog, ConfType::Plain] {
            assert_eq!(f.conf_ints(conf)[3], Ci { lower: None, upper: None });
        }
    }

    #[test]
    fn intervals_by_hand() {
        // S = 0.8, std.err = 0.1: the formulas of the module doc written out; log-log rewritten as
        // S^(1/θ), S^θ with θ = exp(z std.err / log S) (Kalbfleisch & Prentice form)
        let (s, se) = (0.8_f64, 0.1_f64);
        let log = conf_int(s, se, ConfType::Log);
        assert!(close(log.lower.unwrap(), s * (-Z_95 * se).exp()));
        assert!(close(log.upper.unwrap(), (s * (Z_95 * se).exp()).min(1.0)));
        let plain = conf_int(s, se, ConfType::Plain);
        assert!(close(plain.lower.unwrap(), s - Z_95 * s * se));
        assert!(close(plain.upper.unwrap(), s + Z_95 * s * se));
        // log-log: S^exp(±z se / log S)
        let ll = conf_int(s, se, ConfType::LogLog);
        let theta = (Z_95 * se / s.ln()).exp();
        assert!(close(ll.lower.unwrap(), s.powf(1.0 / theta)));
        assert!(close(ll.upper.unwrap(), s.powf(theta)));
        // S = 1 before any event: log gives [1, 1], log-log NA (R: xx = NA when p == 1)
        assert_eq!(conf_int(1.0, 0.0, ConfType::Log), Ci { lower: Some(1.0), upper: Some(1.0) });
        assert_eq!(conf_int(1.0, 0.0, ConfType::LogLog), Ci { lower: None, upper: None });
        assert_eq!(conf_int(1.0, 0.0, ConfType::Plain), Ci { lower: Some(1.0), upper: Some(1.0) });
    }

    #[test]
    fn median_midpoint_when_flat_at_half() {
        // 1..4 all events: S = .75, .5, .25, 0; S is exactly 0.5 on [2, 3): median (2 + 3) / 2
        let f = fit(&data(&[1.0, 2.0, 3.0, 4.0], &[1, 1, 1, 1]));
        assert_eq!(f.median(ConfType::Log).median, Some(2.5));
        // 1, 2, 3+: S = 2/3, 1/3, 1/3: first below 0.5 is t = 2
        let g = fit(&data(&[1.0, 2.0, 3.0], &[1, 1, 0]));
        assert_eq!(g.median(ConfType::Log).median, Some(2.0));
        // never below 0.5: None
        let h = fit(&data(&[1.0, 2.0, 3.0, 4.0], &[1, 0, 0, 0]));
        assert_eq!(h.median(ConfType::Log).median, None);
    }

    #[test]
    fn rmean_by_hand() {
        // 1, 2+, 3, 3, 4 (see above): S = 1 on [0,1), .8 on [1,3), 4/15 on [3,4), 0 after.
        // rmean(4) = 1 + 2*.8 + 4/15 = 2.8666..; A(t=3) = 4/15, A(t=1) = 1.6 + 4/15 = 28/15;
        // var = (28/15)^2 * 1/20 + (4/15)^2 * 2/3 (t=4: n = d, term 0)
        let f = fit(&data(&[3.0, 1.0, 4.0, 2.0, 3.0], &[1, 1, 1, 0, 1]));
        let r = f.rmean_last();
        assert!(close(r.rmean, 1.0 + 1.6 + 4.0 / 15.0));
        let var = (28.0_f64 / 15.0).powi(2) / 20.0 + (4.0_f64 / 15.0).powi(2) * 2.0 / 3.0;
        assert!(close(r.se, var.sqrt()));
        // tau = 2: 1 + .8; A(t=1) = .8, var = .64 / 20
        let r2 = f.rmean_to(2.0).unwrap();
        assert!(close(r2.rmean, 1.8) && close(r2.se, (0.64_f64 / 20.0).sqrt()));
        // tau before the first time: S = 1 throughout
        assert_eq!(f.rmean_to(0.5).map(|r| (r.rmean, r.se)), Some((0.5, 0.0)));
        assert_eq!(f.rmean_to(-1.0), None);
        assert_eq!(f.rmean_to(f64::NAN), None);
    }

    #[test]
    fn lookups_at_times() {
        let f = fit(&data(&[3.0, 1.0, 4.0, 2.0, 3.0], &[1, 1, 1, 0, 1]));
        assert_eq!(f.surv_at(0.5), SurvAt { time: 0.5, surv: 1.0, std_err: 0.0, se_surv: Some(0.0) });
        assert_eq!(f.surv_at(2.5).surv, f.surv[1]);
        assert_eq!(f.surv_at(3.0).surv, f.surv[2]);
        assert_eq!(f.surv_at(99.0).se_surv, None);
        assert_eq!(f.surv_at(2.5).ci(ConfType::Log), f.conf_ints(ConfType::Log)[1]);
        assert_eq!((f.n_risk_at(0.0), f.n_risk_at(2.0), f.n_risk_at(3.5), f.n_risk_at(5.0)), (5, 4, 1, 0));
        // a time-0 event: R's curve starts at the data's own time-0 row
        let g = fit(&data(&[0.0, 1.0], &[1, 0]));
        assert_eq!(g.surv_at(0.0).surv, 0.5);
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn km_is_non_increasing_within_unit_interval(
                obs in proptest::collection::vec((0u8..20, any::<bool>()), 1..60)
            ) {
                let d = SurvivalData::new(
                    obs.iter().map(|o| f64::from(o.0)).collect(),
                    obs.iter().map(|o| o.1).collect(),
                ).unwrap();
                let f = fit(&d);
                let mut prev = 1.0;
                for &s in &f.surv {
                    prop_assert!((0.0..=1.0).contains(&s));
                    prop_assert!(s <= prev);
                    prev = s;
                }
                prop_assert_eq!(f.n_event.iter().sum::<usize>() + f.n_censor.iter().sum::<usize>(), d.len());
                let r = f.rmean_last();
                prop_assert!(r.rmean.is_finite() && r.se.is_finite());
            }
        }
    }
}
