//! Calibration: the free parameters of `[calibration]` that make the mean of each summary over
//! K simulated cohorts match its target (the paper's figure), by Nelder–Mead on common random
//! numbers.
//!
//! ```text
//! cohort k (k = 0..K-1):  rng_k = engine::rng_for(seed, scenario id, k)      (the same for every trial)
//! statistic j of cohort k: s_jk   (KM S(t), restricted mean, events, follow-up; see `statistic`)
//! mean_j(theta) = (1/K) sum_k s_jk(theta)
//! loss(theta)   = sum_j ((mean_j(theta) - target_j) / tolerance_j)^2
//! y_i = ln theta_i, clamped to [ln lower_i, ln upper_i];   minimise loss over y by Nelder–Mead
//!                (Nelder & Mead 1965; coefficients 1, 2, 1/2, 1/2 as in Lagarias et al. 1998)
//! ```
//! Summaries, per cohort, as the paper reports them:
//! - `km_surv`: Kaplan–Meier S(t), the last step at or before t (`KmFit::surv_at`).
//! - `rmst` without tau: the mean restricted to the last observed time (`KmFit::rmean_last`, SPSS's
//!   "mean survival time"); with tau, `rmean_to(tau)`.
//! - `events`: the number of observed events.
//! - follow-up: the observed OS time of every patient (the paper's "observation period", which
//!   Table 1 summarises by mean and SD), so its median is the plain sample median of observed times,
//!   not the reverse-KM median of potential follow-up.
//!
//! Common random numbers: every trial redraws the same K streams, so the loss is a deterministic
//! function of theta and differences between trials are not swamped by Monte Carlo noise. The
//! coupling is not perfect: the generator draws the treatment at progression only for patients
//! who progress before death, so a parameter change that flips that order shifts the rest of that
//! cohort's stream. The loss is then piecewise smooth with small jumps, which Nelder–Mead tolerates.
//!
//! No IO here; progress is reported through a callback.

use crate::cohort::{Cohort, generate_into};
use crate::data::SurvivalData;
use crate::engine::Streams;
use crate::estimators::km;
use crate::scenario::{Calibration, Endpoint, Scenario, ScenarioError, Statistic};

/// How a calibration runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CalibrateControl {
    /// Cohorts per trial (K).
    pub cohorts: usize,
    pub seed: u64,
    /// Nelder–Mead stops after this many loss evaluations ...
    pub max_evals: usize,
    /// ... or when the losses of the simplex differ by less than this and its vertices by less
    /// than `x_tol` (in ln theta).
    pub f_tol: f64,
    pub x_tol: f64,
    /// Initial simplex step in ln theta (0.15: about 16%).
    pub step: f64,
}

impl CalibrateControl {
    /// The scenario's `[calibration]` cohorts and seed, 400 evaluations, tolerances 1e-6.
    pub fn from_scenario(c: &Calibration) -> Self {
        CalibrateControl {
            cohorts: c.cohorts,
            seed: c.seed,
            max_evals: 400,
            f_tol: 1e-6,
            x_tol: 1e-4,
            step: 0.15,
        }
    }
}

/// Why the optimiser stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Termination {
    Converged,
    MaxEvaluations,
    /// `[calibration]` lists no free parameter: the scenario was only evaluated.
    NoParameters,
}

/// A progress event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    pub evaluation: usize,
    pub max_evals: usize,
    pub loss: f64,
    pub best_loss: f64,
}

/// One free parameter before and after.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FittedParameter {
    pub name: String,
    pub start: f64,
    pub value: f64,
    pub lower: f64,
    pub upper: f64,
    /// The value sits on a bound (within 0.1% in ln theta): the optimum may lie outside.
    pub at_bound: bool,
}

/// One target at the calibrated parameters.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TargetRow {
    /// Dotted path in targets.json.
    pub path: String,
    pub target: f64,
    /// Mean over the cohorts where the statistic is defined.
    pub mean: f64,
    /// Monte Carlo SE of `mean` (sd / sqrt(n_defined)).
    pub mc_se: f64,
    pub q025: f64,
    pub q975: f64,
    pub tolerance: f64,
    pub pass: bool,
    /// Passes, but |mean - target| + 3 MC SE > tolerance: another seed may fail it.
    pub marginal: bool,
    /// Cohorts where the statistic is defined (e.g. a stratum with no patient is not).
    pub n_defined: usize,
}

/// The result of `calibrate`.
#[derive(Debug, Clone)]
pub struct Calibrated {
    /// The scenario with the fitted parameters.
    pub scenario: Scenario,
    pub parameters: Vec<FittedParameter>,
    pub rows: Vec<TargetRow>,
    pub start_loss: f64,
    pub loss: f64,
    pub evaluations: usize,
    pub termination: Termination,
}

/// Per-cohort values of each target's statistic: `values[target_idx][cohort_idx]` (NaN where the
/// statistic is undefined in that cohort).
pub fn simulate_statistics(
    scenario: &Scenario,
    statistics: &[Statistic],
    seed: u64,
    cohorts: usize,
) -> Vec<Vec<f64>> {
    let streams = Streams::new(seed, &scenario.id);
    let mut cohort = Cohort::new(scenario);
    let mut cache = FitCache::default();
    let mut values = vec![Vec::with_capacity(cohorts); statistics.len()];
    for k in 0..cohorts {
        let mut rng = streams.replicate(k as u64);
        generate_into(scenario, &mut rng, &mut cohort);
        cache.clear();
        for (v, s) in values.iter_mut().zip(statistics) {
            v.push(statistic(s, &cohort, &mut cache));
        }
    }
    values
}

/// Summarises per-cohort values against targets (the rows of the calibration report).
pub fn target_rows(calibration: &Calibration, target_values: &[f64], values: &[Vec<f64>]) -> Vec<TargetRow> {
    calibration
        .targets
        .iter()
        .zip(target_values)
        .zip(values)
        .map(|((t, &target), v)| {
            let mut defined: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
            defined.sort_unstable_by(f64::total_cmp);
            let n = defined.len();
            let mean = if n > 0 { defined.iter().sum::<f64>() / n as f64 } else { f64::NAN };
            let var = if n > 1 {
                defined.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64
            } else {
                f64::NAN
            };
            TargetRow {
                path: t.path.clone(),
                target,
                mean,
                mc_se: (var / n as f64).sqrt(),
                q025: quantile_type7(&defined, 0.025),
                q975: quantile_type7(&defined, 0.975),
                tolerance: t.tolerance,
                pass: (mean - target).abs() <= t.tolerance,
                marginal: (mean - target).abs() <= t.tolerance
                    && (mean - target).abs() + 3.0 * (var / n as f64).sqrt() > t.tolerance,
                n_defined: n,
            }
        })
        .collect()
}

/// Finds the free parameters; `target_values` are aligned with `calibration.targets` (see
/// `Calibration::target_values`). `progress` is called after every loss evaluation.
pub fn calibrate(
    scenario: &Scenario,
    target_values: &[f64],
    control: &CalibrateControl,
    progress: &mut dyn FnMut(Progress),
) -> Result<Calibrated, ScenarioError> {
    let calibration = scenario.calibration.clone().ok_or_else(|| ScenarioError::Invalid {
        file: scenario.id.clone().into(),
        key: "calibration".into(),
        found: "absent".into(),
        expected: "a [calibration] table with parameters and targets".into(),
    })?;
    let statistics: Vec<Statistic> = calibration.targets.iter().map(|t| t.statistic.clone()).collect();
    let params = &calibration.parameters;
    let lo: Vec<f64> = params.iter().map(|p| p.lower.ln()).collect();
    let hi: Vec<f64> = params.iter().map(|p| p.upper.ln()).collect();
    let start: Vec<f64> = params.iter().map(|p| scenario.parameter(&p.key)).collect();

    let mut trial = scenario.clone();
    let mut n_evals = 0usize;
    let mut best = f64::INFINITY;
    let mut loss_at = |y: &[f64]| -> Result<f64, ScenarioError> {
        for ((p, &yi), (&l, &h)) in params.iter().zip(y).zip(lo.iter().zip(&hi)) {
            trial.set_parameter(&p.key, yi.clamp(l, h).exp())?;
        }
        let values = simulate_statistics(&trial, &statistics, control.seed, control.cohorts);
        let loss = loss_of(&calibration, target_values, &values);
        n_evals += 1;
        best = best.min(loss);
        progress(Progress { evaluation: n_evals, max_evals: control.max_evals, loss, best_loss: best });
        Ok(loss)
    };

    let y0: Vec<f64> = start.iter().zip(lo.iter().zip(&hi)).map(|(s, (&l, &h))| s.ln().clamp(l, h)).collect();
    let start_loss = loss_at(&y0)?;
    let (y_best, termination) = if params.is_empty() {
        (y0, Termination::NoParameters)
    } else {
        nelder_mead(&mut loss_at, y0, start_loss, control)?
    };

    let mut fitted = scenario.clone();
    let mut parameters = Vec::with_capacity(params.len());
    for (i, p) in params.iter().enumerate() {
        // 4 significant digits: the value written to the file is the one the report evaluates
        let value = round_significant(y_best[i].clamp(lo[i], hi[i]).exp(), 4).clamp(p.lower, p.upper);
        let y = value.ln();
        fitted.set_parameter(&p.key, value)?;
        let width = (hi[i] - lo[i]).max(f64::MIN_POSITIVE);
        parameters.push(FittedParameter {
            name: p.name.clone(),
            start: start[i],
            value,
            lower: p.lower,
            upper: p.upper,
            at_bound: (y - lo[i]) / width < 1e-3 || (hi[i] - y) / width < 1e-3,
        });
    }
    let values = simulate_statistics(&fitted, &statistics, control.seed, control.cohorts);
    let loss = loss_of(&calibration, target_values, &values);
    let rows = target_rows(&calibration, target_values, &values);
    Ok(Calibrated { scenario: fitted, parameters, rows, start_loss, loss, evaluations: n_evals, termination })
}

/// sum_j ((mean_j - target_j) / tolerance_j)^2; an undefined mean counts as infinitely far.
fn loss_of(c: &Calibration, target_values: &[f64], values: &[Vec<f64>]) -> f64 {
    c.targets
        .iter()
        .zip(target_values)
        .zip(values)
        .map(|((t, &target), v)| {
            let (sum, n) = v.iter().filter(|x| x.is_finite()).fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
            if n == 0 { f64::INFINITY } else { ((sum / n as f64 - target) / t.tolerance).powi(2) }
        })
        .sum()
}

/// Nelder–Mead with the standard coefficients (reflection 1, expansion 2, contraction 1/2,
/// shrink 1/2); ties broken by vertex order, so the path is deterministic.
fn nelder_mead<F>(
    f: &mut F,
    y0: Vec<f64>,
    f0: f64,
    control: &CalibrateControl,
) -> Result<(Vec<f64>, Termination), ScenarioError>
where
    F: FnMut(&[f64]) -> Result<f64, ScenarioError>,
{
    let d = y0.len();
    let mut simplex: Vec<(Vec<f64>, f64)> = vec![(y0.clone(), f0)];
    for i in 0..d {
        let mut y = y0.clone();
        y[i] += control.step;
        let fy = f(&y)?;
        simplex.push((y, fy));
    }
    let mut evals = d + 1;
    loop {
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        let spread = simplex[d].1 - simplex[0].1;
        let size = simplex[1..]
            .iter()
            .flat_map(|(y, _)| y.iter().zip(&simplex[0].0).map(|(a, b)| (a - b).abs()))
            .fold(0.0, f64::max);
        if spread.abs() <= control.f_tol * (1.0 + simplex[0].1.abs()) && size <= control.x_tol {
            return Ok((simplex.swap_remove(0).0, Termination::Converged));
        }
        if evals >= control.max_evals {
            return Ok((simplex.swap_remove(0).0, Termination::MaxEvaluations));
        }
        let centroid: Vec<f64> =
            (0..d).map(|i| simplex[..d].iter().map(|(y, _)| y[i]).sum::<f64>() / d as f64).collect();
        let along = |t: f64| -> Vec<f64> {
            centroid.iter().zip(&simplex[d].0).map(|(c, w)| c + t * (c - w)).collect()
        };
        let yr = along(1.0);
        let fr = f(&yr)?;
        evals += 1;
        if fr < simplex[0].1 {
            let ye = along(2.0);
            let fe = f(&ye)?;
            evals += 1;
            simplex[d] = if fe < fr { (ye, fe) } else { (yr, fr) };
        } else if fr < simplex[d - 1].1 {
            simplex[d] = (yr, fr);
        } else {
            let (yc, fc) = if fr < simplex[d].1 {
                let yc = along(0.5);
                let fc = f(&yc)?;
                (yc, fc)
            } else {
                let yc = along(-0.5);
                let fc = f(&yc)?;
                (yc, fc)
            };
            evals += 1;
            if fc < fr.min(simplex[d].1) {
                simplex[d] = (yc, fc);
            } else {
                let best = simplex[0].0.clone();
                for v in simplex.iter_mut().skip(1) {
                    for (yi, bi) in v.0.iter_mut().zip(&best) {
                        *yi = bi + 0.5 * (*yi - bi);
                    }
                    v.1 = f(&v.0)?;
                    evals += 1;
                }
            }
        }
    }
}

/// Kaplan–Meier fits of one cohort, keyed by (endpoint, stratum), so that targets sharing a curve
/// fit it once.
#[derive(Default)]
struct FitCache {
    fits: Vec<((Endpoint, Option<usize>), km::KmFit)>,
}

impl FitCache {
    fn clear(&mut self) {
        self.fits.clear();
    }

    fn get(&mut self, cohort: &Cohort, endpoint: Endpoint, stratum: Option<usize>) -> Option<&km::KmFit> {
        let key = (endpoint, stratum);
        let pos = match self.fits.iter().position(|(k, _)| *k == key) {
            Some(p) => p,
            None => {
                let data = endpoint_data(cohort, endpoint, stratum)?;
                self.fits.push((key, km::fit(&data)));
                self.fits.len() - 1
            }
        };
        Some(&self.fits[pos].1)
    }
}

/// One cohort's value of a statistic (NaN if undefined, e.g. no patient in the stratum).
fn statistic(s: &Statistic, c: &Cohort, cache: &mut FitCache) -> f64 {
    match *s {
        Statistic::KmSurv { endpoint, at, stratum } => {
            cache.get(c, endpoint, stratum).map_or(f64::NAN, |f| f.surv_at(at).surv)
        }
        Statistic::Rmst { endpoint, tau, stratum } => {
            cache.get(c, endpoint, stratum).map_or(f64::NAN, |f| match tau {
                None => f.rmean_last().rmean,
                Some(tau) => f.rmean_to(tau).map_or(f64::NAN, |r| r.rmean),
            })
        }
        Statistic::Events { endpoint, stratum } => {
            endpoint_data(c, endpoint, stratum).map_or(f64::NAN, |d| d.n_event() as f64)
        }
        Statistic::FollowupMedian => median(c.os_time()),
        Statistic::FollowupMean { era } => {
            let (sum, n) = c
                .os_time()
                .iter()
                .zip(c.era())
                .filter(|(_, e)| era.is_none_or(|k| **e == k))
                .fold((0.0, 0usize), |(s, n), (t, _)| (s + t, n + 1));
            if n == 0 { f64::NAN } else { sum / n as f64 }
        }
        Statistic::FollowupMin => c.os_time().iter().copied().fold(f64::NAN, f64::min),
        Statistic::FollowupMax => c.os_time().iter().copied().fold(f64::NAN, f64::max),
    }
}

/// The survival data of an endpoint, optionally within one stratum; None if no patient.
fn endpoint_data(c: &Cohort, endpoint: Endpoint, stratum: Option<usize>) -> Option<SurvivalData> {
    let keep = |i: usize| stratum.is_none_or(|s| c.stratum()[i] == s);
    let (time, event): (Vec<f64>, Vec<bool>) = match endpoint {
        Endpoint::Os => (0..c.len()).filter(|&i| keep(i)).map(|i| (c.os_time()[i], c.os_event()[i])).unzip(),
        Endpoint::Pfs => {
            (0..c.len()).filter(|&i| keep(i)).map(|i| (c.pfs_time()[i], c.pfs_event()[i])).unzip()
        }
        Endpoint::FromProgression => (0..c.len())
            .filter(|&i| keep(i))
            .filter_map(|i| c.time_from_progression()[i].map(|t| (t, c.os_event()[i])))
            .unzip(),
    };
    SurvivalData::new(time, event).ok()
}

/// `x` rounded to `digits` significant digits.
fn round_significant(x: f64, digits: i32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let k = digits - 1 - x.abs().log10().floor() as i32;
    let m = 10f64.powi(k.abs());
    if k >= 0 { (x * m).round() / m } else { (x / m).round() * m }
}

/// The sample median (mean of the two middle values for even n); NaN when empty.
fn median(x: &[f64]) -> f64 {
    let mut v = x.to_vec();
    v.sort_unstable_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => v[n / 2],
        _ => 0.5 * (v[n / 2 - 1] + v[n / 2]),
    }
}

/// R's default quantile (type 7) of sorted values; NaN when empty.
fn quantile_type7(sorted: &[f64], p: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        n => {
            let h = (n - 1) as f64 * p;
            let (lo, frac) = (h.floor() as usize, h - h.floor());
            let hi = (lo + 1).min(n - 1);
            sorted[lo] + frac * (sorted[hi] - sorted[lo])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_quantiles() {
        // By hand: median of 3, 1, 2 is 2; of 4, 1, 3, 2 is (2 + 3) / 2.
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
        assert_eq!(round_significant(81.23456, 4), 81.23);
        assert_eq!(round_significant(0.0123456, 4), 0.01235);
        assert_eq!(round_significant(123456.0, 4), 123500.0);
        // R: quantile(1:5, c(0.025, 0.975)) = 1.1, 4.9 (type 7: 1 + 4p).
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert!((quantile_type7(&x, 0.025) - 1.1).abs() < 1e-12);
        assert!((quantile_type7(&x, 0.975) - 4.9).abs() < 1e-12);
    }

    #[test]
    fn nelder_mead_finds_a_quadratic_minimum() {
        // f(y) = (y0 - 1)^2 + 10 (y1 + 2)^2 has its minimum 0 at (1, -2).
        let control =
            CalibrateControl { cohorts: 0, seed: 0, max_evals: 2000, f_tol: 1e-12, x_tol: 1e-8, step: 0.5 };
        let mut f = |y: &[f64]| -> Result<f64, ScenarioError> {
            Ok((y[0] - 1.0).powi(2) + 10.0 * (y[1] + 2.0).powi(2))
        };
        let f0 = f(&[0.0, 0.0]).unwrap();
        let (y, term) = nelder_mead(&mut f, vec![0.0, 0.0], f0, &control).unwrap();
        assert_eq!(term, Termination::Converged);
        assert!((y[0] - 1.0).abs() < 1e-4 && (y[1] + 2.0).abs() < 1e-4, "{y:?}");
    }
}
