//! Cox proportional hazards regression, matching R's `coxph` (survival 3.5.3) to rounding.
//!
//! ```text
//! h(t | x) = h0(t) exp(x'b)
//! b maximises the log partial likelihood l(b) (Efron or Breslow handling of tied deaths)
//! var(b)  = I(b)^{-1};  z = b / se;  p = P(chi2_1 > z^2);  HR CI = exp(b -/+ 1.959964 se)
//! LR = 2 (l(b) - l(0));  Wald = b' var^{-1} b;  score = U(0)' I(0)^{-1} U(0)
//! ```
//! Cox (1972) JRSS-B 34:187; Efron (1977) JASA 72:557; Therneau & Grambsch (2000), *Modeling
//! Survival Data*, ch. 3. The algorithm follows R's `coxph.fit` and `coxfit6`: covariates that are
//! not all in {-1, 0, 1} are centred and scaled (`nocenter = c(-1, 0, 1)`), Newton–Raphson from
//! b = 0 with step-halving (`newton`), an LDL' factorisation that treats pivots below
//! `toler_chol` as aliased columns (`ldl`), and R's test for a coefficient that may be infinite
//! (monotone likelihood): `|U var|_k > eps` and `> toler_inf |b_k|` at convergence.
//!
//! Use [`CoxData::new`] once per data set (it sorts, O(n log n)), then [`fit`] per model; each
//! Newton iteration is one O(n p^2) sweep.

mod concordance;
pub mod firth;
mod ldl;
mod likelihood;
mod newton;
pub mod profile;

use crate::data::SurvivalData;
use likelihood::{Likelihood, MAX_P, Tally, Vector};
use smallvec::SmallVec;
use thiserror::Error;

/// How tied death times enter the partial likelihood. `Efron` is R `coxph`'s default; `Breslow`
/// is SAS PHREG's and Stata's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ties {
    Efron,
    Breslow,
}

impl Ties {
    /// R's spelling of the method ("efron", "breslow").
    pub fn r_name(self) -> &'static str {
        match self {
            Ties::Efron => "efron",
            Ties::Breslow => "breslow",
        }
    }
}

/// Iteration control, as R's `coxph.control`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoxControl {
    /// convergence: relative change in the log partial likelihood
    pub eps: f64,
    /// pivots below `toler_chol * max diag` make a column aliased
    pub toler_chol: f64,
    /// maximum number of Newton–Raphson iterations
    pub iter_max: usize,
    /// relative tolerance of the "coefficient may be infinite" test
    pub toler_inf: f64,
}

impl CoxControl {
    /// R's defaults: eps 1e-9, toler.chol = .Machine$double.eps^0.75, iter.max 20,
    /// toler.inf = sqrt(eps).
    pub fn r_defaults() -> CoxControl {
        let eps = 1e-9_f64;
        CoxControl { eps, toler_chol: f64::EPSILON.powf(0.75), iter_max: 20, toler_inf: eps.sqrt() }
    }
}

/// How the iteration ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Termination {
    Converged,
    /// `iter_max` reached without convergence (R: "Ran out of iterations and did not converge")
    MaxIterations,
    /// converged, but at least one coefficient diverges (R: "Loglik converged before variable k;
    /// coefficient may be infinite."); see [`CoxFit::monotone`]
    MonotoneLikelihood,
}

/// Why a set of covariate columns cannot be fitted.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum CoxError {
    #[error("covariate {column_idx} has {len} values; the data have {n} subjects")]
    ColumnLength { column_idx: usize, len: usize, n: usize },
    #[error("covariate {column_idx} is not finite at row {row_idx}")]
    NotFinite { column_idx: usize, row_idx: usize },
}

/// Survival data sorted once for repeated Cox fits.
#[derive(Debug, Clone, PartialEq)]
pub struct CoxData {
    /// subject indices in ascending time (ties in data order, as R's `order(time)`)
    order: Vec<usize>,
    /// event indicator in that order
    status: Vec<bool>,
    /// `(start, end)` positions of each distinct time, ascending
    groups: Vec<(usize, usize)>,
    n_event: usize,
}

impl CoxData {
    pub fn new(data: &SurvivalData) -> CoxData {
        let time = data.time();
        let mut order: Vec<usize> = (0..data.len()).collect();
        order.sort_by(|&a, &b| time[a].total_cmp(&time[b])); // stable, as R's order()
        let status: Vec<bool> = order.iter().map(|&i| data.event()[i]).collect();
        let mut groups = Vec::new();
        let mut start = 0;
        for pos in 1..=order.len() {
            if pos == order.len() || time[order[pos]] != time[order[start]] {
                groups.push((start, pos));
                start = pos;
            }
        }
        CoxData { order, status, groups, n_event: data.n_event() }
    }

    /// The prepared data of `data.subset(keep)`, where `self` is `CoxData::new(data)` and `keep`
    /// lists rows of `data` in ascending order without repeats: the sorted order is filtered, not
    /// recomputed (a stable sort of the subset puts tied times in subset order, which is the full
    /// data's order when the rows are kept in ascending order), so the result equals
    /// `CoxData::new(&data.subset(keep))`, in O(n).
    pub fn restrict(&self, keep: &[usize]) -> CoxData {
        debug_assert!(keep.windows(2).all(|w| w[0] < w[1]), "rows ascending without repeats");
        let mut new_idx = vec![usize::MAX; self.order.len()];
        for (k, &row_idx) in keep.iter().enumerate() {
            new_idx[row_idx] = k;
        }
        self.restrict_mapped(&new_idx, keep.len())
    }

    /// [`CoxData::restrict`] given, for each row of the data, its index among the `n_kept` kept
    /// rows (`usize::MAX` for a dropped row; kept rows numbered in ascending order).
    pub fn restrict_mapped(&self, new_idx: &[usize], n_kept: usize) -> CoxData {
        debug_assert_eq!(new_idx.len(), self.order.len());
        let mut order = Vec::with_capacity(n_kept);
        let mut status = Vec::with_capacity(n_kept);
        let mut groups = Vec::with_capacity(self.groups.len());
        for &(start, end) in &self.groups {
            let group_start = order.len();
            for pos in start..end {
                let k = new_idx[self.order[pos]];
                if k != usize::MAX {
                    order.push(k);
                    status.push(self.status[pos]);
                }
            }
            if order.len() > group_start {
                groups.push((group_start, order.len()));
            }
        }
        let n_event = status.iter().filter(|&&e| e).count();
        CoxData { order, status, groups, n_event }
    }

    /// The complete cases of `p` covariates laid out for [`fit_design`]: `value(i, k)` is
    /// covariate k of subject i (indexed as the data `self` was made from), `None` when missing.
    /// Subjects keep their sorted order, so the design equals `restrict` of the complete cases
    /// with their covariates in time order.
    pub fn complete_design(
        &self,
        p: usize,
        value: impl Fn(usize, usize) -> Option<f64>,
        design: &mut Design,
    ) {
        let Design { x, status, groups, .. } = design;
        x.clear();
        status.clear();
        groups.clear();
        let mut n_event = 0;
        // each subject written at the next free row and kept by advancing the row count: no
        // branch on missingness, which the data make unpredictable
        x.resize(self.order.len() * p, 0.0);
        status.resize(self.order.len(), false);
        let mut kept = 0;
        for &(start, end) in &self.groups {
            let group_start = kept;
            for pos in start..end {
                let i = self.order[pos];
                let mut complete = true;
                for k in 0..p {
                    let v = value(i, k);
                    complete &= v.is_some();
                    x[kept * p + k] = v.unwrap_or(0.0);
                }
                status[kept] = self.status[pos];
                n_event += usize::from(complete & self.status[pos]);
                kept += usize::from(complete);
            }
            if kept > group_start {
                groups.push((group_start, kept));
            }
        }
        x.truncate(kept * p);
        status.truncate(kept);
        design.p = p;
        design.n_event = n_event;
    }

    /// The complete cases of `p` covariates that `coxph` does not centre (every complete value in
    /// {-1, 0, 1}: binary columns), tallied by pattern in one pass for [`fit_tallied`]; `value`
    /// as in [`CoxData::complete_design`]. `None` when a value would be centred, when the tally
    /// does not apply (see `likelihood::Tally`), or when there is nothing to fit (no complete
    /// case, no event, a constant covariate): [`CoxData::complete_design`] and [`fit_design`]
    /// then give the fit, or find that there is none.
    pub fn complete_tally(&self, p: usize, value: impl Fn(usize, usize) -> Option<f64>) -> Option<Tallied> {
        if p == 1 {
            let column: Vec<Option<f64>> = (0..self.order.len()).map(|i| value(i, 0)).collect();
            return self.unit_tallies(&[&column]).pop().flatten();
        }
        let (mut n, mut n_event, mut centred) = (0, 0, false);
        let tally = Tally::build(p, &self.groups, usize::MAX, |pos, row| {
            let i = self.order[pos];
            for (k, r) in row.iter_mut().enumerate() {
                let v = value(i, k)?;
                centred |= (v != 0.0) & (v != 1.0) & (v != -1.0);
                *r = v;
            }
            n += 1;
            n_event += usize::from(self.status[pos]);
            Some(self.status[pos])
        })?;
        if centred {
            return None;
        }
        Tallied::checked(p, tally, n, n_event)
    }

    /// [`CoxData::complete_tally`] of each column alone (`p = 1`; `columns[j][i]` is subject i's
    /// value): the same tallies, the columns with every value in {-1, 0, 1} tallied
    /// 16 at a time (`likelihood::LANES`) in one pass over the sorted data. `None` for a column
    /// where `complete_tally` gives `None`, and for every column from 65,535 subjects on (the
    /// counts are u16): [`CoxData::complete_design`] then fits it.
    pub fn unit_tallies(&self, columns: &[&[Option<f64>]]) -> Vec<Option<Tallied>> {
        let mut tallied = vec![None; columns.len()];
        // without a branch on whether a value is missing (which a branch predictor cannot learn),
        // stopping at the first chunk of 8 with a value outside (a continuous column)
        let in_unit = |v: &Option<f64>| {
            let x = v.unwrap_or(0.0);
            (x == 0.0) | (x == 1.0) | (x == -1.0)
        };
        let unit: Vec<usize> = (0..columns.len())
            .filter(|&j| columns[j].chunks(8).all(|c| c.iter().fold(true, |all, v| all & in_unit(v))))
            .collect();
        // lanes beyond the last chunk's columns keep codes of the chunk before, ignored
        let mut codes = vec![[likelihood::MISSING; likelihood::LANES]; self.order.len()];
        for chunk in unit.chunks(likelihood::LANES) {
            for (row, &i) in codes.iter_mut().zip(&self.order) {
                for (code, &j) in row.iter_mut().zip(chunk) {
                    *code = columns[j][i].map_or(likelihood::MISSING, |v| (v as i8 + 1) as u8);
                }
            }
            let Some(tallies) = Tally::build_units(&self.groups, &self.status, &codes, chunk.len()) else {
                break;
            };
            for (&j, (tally, n_event)) in chunk.iter().zip(tallies) {
                let n = columns[j].iter().map(|v| usize::from(v.is_some())).sum();
                tallied[j] = Tallied::checked(1, tally, n, n_event);
            }
        }
        tallied
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    pub fn n_event(&self) -> usize {
        self.n_event
    }
}

/// The complete cases of some covariates laid out for a fit: what [`CoxData::restrict`] and the
/// layout step of [`fit`] would produce, built by [`CoxData::complete_design`] in one pass over the
/// sorted data. Its buffers keep their capacity from fit to fit.
#[derive(Debug, Clone, Default)]
pub struct Design {
    /// the covariates row by row in ascending time order (`x[pos * p + k]`)
    x: Vec<f64>,
    p: usize,
    status: Vec<bool>,
    /// `(start, end)` positions of each distinct time, ascending
    groups: Vec<(usize, usize)>,
    n_event: usize,
}

impl Design {
    /// Number of complete cases.
    pub fn len(&self) -> usize {
        self.status.len()
    }

    pub fn is_empty(&self) -> bool {
        self.status.is_empty()
    }

    pub fn n_event(&self) -> usize {
        self.n_event
    }

    /// Whether covariate `k` takes more than one value among the complete cases.
    pub fn varies(&self, k: usize) -> bool {
        let p = self.p;
        let mut values = self.x.iter().skip(k).step_by(p.max(1));
        values.next().is_some_and(|&first| values.any(|&v| v != first))
    }
}

/// Complete cases of covariates in {-1, 0, 1} tallied by pattern, from
/// [`CoxData::complete_tally`].
#[derive(Debug, Clone)]
pub struct Tallied {
    p: usize,
    tally: Tally,
}

impl Tallied {
    /// The tally of `n` complete cases with `n_event` deaths, when it applies (few enough
    /// patterns) and there is something to fit (an event, no constant covariate).
    fn checked(p: usize, tally: Tally, n: usize, n_event: usize) -> Option<Tallied> {
        let applies = tally.n_patterns() <= Tally::max_patterns(n);
        (applies && n_event > 0 && (0..p).all(|k| tally.varies(k))).then_some(Tallied { p, tally })
    }
}

/// A fitted Cox model, with what R's `summary(coxph(...))` prints.
#[derive(Debug, Clone, PartialEq)]
pub struct CoxFit {
    pub coef: Vec<f64>,
    /// variance matrix of `coef` (inverse information), p x p, rows
    pub var: Vec<Vec<f64>>,
    pub se: Vec<f64>,
    pub z: Vec<f64>,
    /// two-sided Wald p-value of each coefficient
    pub p: Vec<f64>,
    /// hazard ratio exp(coef) with its 95% Wald interval
    pub hr: Vec<f64>,
    pub hr_lower: Vec<f64>,
    pub hr_upper: Vec<f64>,
    pub loglik_null: f64,
    pub loglik: f64,
    /// degrees of freedom of the global tests: the number of non-aliased coefficients
    pub df: usize,
    pub lr_chisq: f64,
    pub lr_p: f64,
    /// Wald statistic rounded to 2 decimals, as `summary.coxph` prints it
    pub wald_chisq: f64,
    /// Wald statistic before rounding (`fit$wald.test`); `wald_p` is computed from it
    pub wald_chisq_unrounded: f64,
    pub wald_p: f64,
    pub score_chisq: f64,
    pub score_p: f64,
    /// Harrell's C of the linear predictor (`fit$concordance["concordance"]`); `None` when no
    /// pair is comparable
    pub concordance: Option<f64>,
    /// R's `fit$iter` (`iter_max + 1` when the iteration ran out)
    pub iterations: usize,
    pub n: usize,
    pub n_event: usize,
    pub termination: Termination,
    /// per coefficient: R's "may be infinite" test fired (the partial likelihood is monotone in it)
    pub monotone: Vec<bool>,
    /// per coefficient: the column is aliased (R reports NA); its coef, se, z, p and HR are NaN
    /// and its row and column of `var` are 0
    pub aliased: Vec<bool>,
    /// R's warnings, worded as R words them
    pub warnings: Vec<String>,
}

/// 97.5% standard normal quantile, R's `qnorm(0.975)`.
const Z975: f64 = 1.959963984540054;

/// Validates the columns, centres and scales them as `coxph` does, and runs Newton–Raphson: the
/// fitted state shared by [`fit`] and [`fit_coefficients`], with the columns' means.
fn solve<C: AsRef<[f64]>>(
    data: &CoxData,
    columns: &[C],
    ties: Ties,
    control: &CoxControl,
) -> Result<(newton::Newton, Vec<f64>), CoxError> {
    check_columns(columns, data.len())?;
    let (x, means, scale) = standardize(data, columns);
    let nr = newton::newton(&x, &scale, &data.status, &data.groups, ties, control);
    Ok((nr, means))
}

/// Every column has length n and finite values (the errors of [`fit`], [`firth::fit`] and
/// [`profile::interval`]).
pub(crate) fn check_columns<C: AsRef<[f64]>>(columns: &[C], n: usize) -> Result<(), CoxError> {
    for (column_idx, c) in columns.iter().enumerate() {
        let c = c.as_ref();
        if c.len() != n {
            return Err(CoxError::ColumnLength { column_idx, len: c.len(), n });
        }
        if let Some(row_idx) = c.iter().position(|v| !v.is_finite()) {
            return Err(CoxError::NotFinite { column_idx, row_idx });
        }
    }
    Ok(())
}

/// The covariates sorted by `data`'s order, row by row (`x[pos * p + k]`), each column not all in
/// {-1, 0, 1} centred and scaled as R's `coxph.fit` (`nocenter = c(-1, 0, 1)`): returns x, the
/// means and the scale factors (1 for an untouched column).
pub(crate) fn standardize<C: AsRef<[f64]>>(data: &CoxData, columns: &[C]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let n = data.len();
    let p = columns.len();
    let mut x = vec![0.0; n * p];
    for (k, c) in columns.iter().enumerate() {
        let c = c.as_ref();
        for (pos, &i) in data.order.iter().enumerate() {
            x[pos * p + k] = c[i];
        }
    }
    let (means, scale) = centre_and_scale(&mut x, p);
    (x, means, scale)
}

/// Centres and scales in place each column of `x` (n rows of p, any row order) whose values are
/// not all in {-1, 0, 1}, summing in row order as `coxph.fit` does: returns the means and the
/// scale factors (0 and 1 for an untouched column).
fn centre_and_scale(x: &mut [f64], p: usize) -> (Vec<f64>, Vec<f64>) {
    let n = x.len().checked_div(p).unwrap_or(0);
    let mut means = vec![0.0; p];
    let mut scale = vec![1.0; p];
    for k in 0..p {
        // without a branch per value (0s and 1s in random order defeat the branch predictor)
        let mut untouched = true;
        for pos in 0..n {
            let v = x[pos * p + k];
            untouched &= (v == 0.0) | (v == 1.0) | (v == -1.0);
        }
        if untouched {
            continue;
        }
        // R's order of operations (a plain sum), unless values near f64::MAX overflow it: then a
        // running mean and a deviation sum taken relative to the largest deviation.
        let mut mean = 0.0;
        for pos in 0..n {
            mean += x[pos * p + k];
        }
        mean /= n as f64;
        if !mean.is_finite() {
            mean = 0.0;
            for pos in 0..n {
                mean += (x[pos * p + k] - mean) / (pos + 1) as f64;
            }
        }
        let mut abs_dev = 0.0;
        let mut max_dev: f64 = 0.0;
        for pos in 0..n {
            x[pos * p + k] -= mean;
            abs_dev += x[pos * p + k].abs();
            max_dev = max_dev.max(x[pos * p + k].abs());
        }
        let s = if abs_dev.is_finite() && abs_dev > 0.0 {
            n as f64 / abs_dev
        } else if max_dev.is_finite() && max_dev > 0.0 {
            let relative: f64 = (0..n).map(|pos| x[pos * p + k].abs() / max_dev).sum();
            (n as f64 / relative) / max_dev
        } else {
            1.0
        };
        for pos in 0..n {
            x[pos * p + k] *= s;
        }
        means[k] = mean;
        scale[k] = s;
    }
    (means, scale)
}

/// Fits the Cox model of `data` (prepared by [`CoxData::new`]) on covariate `columns`, each of
/// length n, complete cases.
pub fn fit<C: AsRef<[f64]>>(
    data: &CoxData,
    columns: &[C],
    ties: Ties,
    control: &CoxControl,
) -> Result<CoxFit, CoxError> {
    let (nr, means) = solve(data, columns, ties, control)?;
    let (n, p) = (data.len(), columns.len());

    let offset: f64 = nr.beta.iter().zip(&means).map(|(b, m)| b * m).sum();
    let lp: Vec<f64> = (0..n)
        .map(|i| {
            let mut s = 0.0;
            for (k, c) in columns.iter().enumerate() {
                s += c.as_ref()[i] * nr.beta[k];
            }
            s - offset
        })
        .collect();
    let concordance = concordance::concordance(&lp, &data.order, &data.status, &data.groups);

    let Assessment { aliased, monotone, termination, infs } = assess(&nr, p, control);
    let mut warnings = Vec::new();
    if control.iter_max > 1 {
        if !nr.converged {
            warnings.push("Ran out of iterations and did not converge".to_string());
            let max_lp = lp.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if max_lp > 500.0 || infs.iter().any(|v| !v.is_finite()) {
                warnings.push("one or more coefficients may be infinite".to_string());
            }
        } else if monotone.iter().any(|&m| m) {
            let which: Vec<String> = (0..p).filter(|&k| monotone[k]).map(|k| (k + 1).to_string()).collect();
            // R's exact words: `paste("Loglik converged before variable ", vars, "; ...")`
            // joins with spaces, hence the doubled space and the space before ';'.
            warnings.push(format!(
                "Loglik converged before variable  {} ; coefficient may be infinite. ",
                which.join(",")
            ));
        }
    }
    let Wald { coef, se, z, p: pval } = wald(&nr, &aliased);
    let hr: Vec<f64> = coef.iter().map(|b| b.exp()).collect();
    let hr_lower: Vec<f64> = coef.iter().zip(&se).map(|(b, s)| (b - Z975 * s).exp()).collect();
    let hr_upper: Vec<f64> = coef.iter().zip(&se).map(|(b, s)| (b + Z975 * s).exp()).collect();

    let kept: Vec<usize> = (0..p).filter(|&k| !aliased[k]).collect();
    let df = kept.len();
    let lr_chisq = -2.0 * (nr.loglik_null - nr.loglik);
    let wald = wald_test(&nr.var, p, &nr.beta, &kept, control.toler_chol);

    Ok(CoxFit {
        var: (0..p).map(|i| nr.var[i * p..(i + 1) * p].to_vec()).collect(),
        coef,
        se,
        z,
        p: pval,
        hr,
        hr_lower,
        hr_upper,
        loglik_null: nr.loglik_null,
        loglik: nr.loglik,
        df,
        lr_chisq,
        lr_p: chisq_sf(lr_chisq, df),
        wald_chisq: round_r(wald, 2),
        wald_chisq_unrounded: wald,
        wald_p: chisq_sf(wald, df),
        score_chisq: nr.score_test,
        score_p: chisq_sf(nr.score_test, df),
        concordance,
        iterations: nr.iterations,
        n,
        n_event: data.n_event,
        termination,
        monotone,
        aliased,
        warnings,
    })
}

/// `coxph.wtest`: b' var^{-1} b over the non-aliased coefficients, via the LDL' factor of var.
/// The coefficients of a Cox fit with their Wald statistics: what a simulation that only looks at
/// estimates, standard errors and p-values needs, without the fit's other statistics (likelihood
/// ratio, score and global Wald tests, concordance, hazard ratios, warnings). Every number is the
/// one [`fit`] reports.
#[derive(Debug, Clone, PartialEq)]
pub struct CoxCoefficients {
    /// log hazard ratios (NaN for an aliased column)
    pub coef: Coefs<f64>,
    /// Wald standard errors sqrt(diag var) (NaN for an aliased column)
    pub se: Coefs<f64>,
    /// two-sided Wald p-values P(chi2_1 > (coef / se)^2)
    pub p: Coefs<f64>,
    pub termination: Termination,
    pub aliased: Coefs<bool>,
}

/// One value per coefficient, held inline for models of up to 4 covariates (the screens fit
/// thousands of them per second: no heap allocation for their results); a slice by `Deref`.
pub type Coefs<T> = SmallVec<[T; MAX_P]>;

/// [`fit`]'s `coef`, `se`, `p`, `termination` and `aliased`, computed the same way, skipping the
/// rest (about a fifth of a small fit's cost).
pub fn fit_coefficients<C: AsRef<[f64]>>(
    data: &CoxData,
    columns: &[C],
    ties: Ties,
    control: &CoxControl,
) -> Result<CoxCoefficients, CoxError> {
    let (nr, _) = solve(data, columns, ties, control)?;
    Ok(coefficients(nr, columns.len(), control))
}

/// The [`CoxCoefficients`] of a Newton–Raphson run on `p` covariates: [`assess`] and [`wald`]'s
/// numbers, computed the same way, without the vectors `fit` alone needs.
fn coefficients(nr: newton::Newton, p: usize, control: &CoxControl) -> CoxCoefficients {
    let termination = termination(&nr, p, control);
    let aliased: Coefs<bool> = (0..p).map(|k| is_aliased(&nr, p, k)).collect();
    let (coef, se) = coef_se(nr.beta, &nr.var, &aliased);
    let pval = coef.iter().zip(&se).map(|(b, s)| wald_p(b / s)).collect();
    CoxCoefficients { coef, se, p: pval, termination, aliased }
}

/// [`fit_coefficients`] on a laid-out design (the same numbers as `fit_coefficients` on the
/// restricted data and columns). The covariates are centred and scaled in place: `design` is
/// spent and must be laid out again before another fit.
pub fn fit_design(
    design: &mut Design,
    ties: Ties,
    control: &CoxControl,
) -> Result<CoxCoefficients, CoxError> {
    let p = design.p;
    if let Some(pos) = design.x.iter().position(|v| !v.is_finite()) {
        return Err(CoxError::NotFinite { column_idx: pos % p.max(1), row_idx: pos / p.max(1) });
    }
    let (_, scale) = centre_and_scale(&mut design.x, p);
    let nr = newton::newton(&design.x, &scale, &design.status, &design.groups, ties, control);
    Ok(coefficients(nr, p, control))
}

/// [`fit_design`] on tallied complete cases: the same numbers as laying them out with
/// [`CoxData::complete_design`] and fitting that, without the layout, the centring step (which
/// leaves {-1, 0, 1} columns as they are) and a second pass to tally them.
pub fn fit_tallied(design: Tallied, ties: Ties, control: &CoxControl) -> CoxCoefficients {
    let p = design.p;
    // uncentred, unscaled columns (a tally has at most MAX_P)
    let nr = newton::newton_on(&Likelihood::tallied(design.tally, ties), &[1.0; MAX_P][..p], control);
    coefficients(nr, p, control)
}

/// Aliased columns, R's monotone-likelihood test and the termination of a Newton–Raphson run.
struct Assessment {
    aliased: Vec<bool>,
    monotone: Vec<bool>,
    termination: Termination,
    /// |U var|_k, R's `infs`
    infs: Vec<f64>,
}

fn assess(nr: &newton::Newton, p: usize, control: &CoxControl) -> Assessment {
    let aliased: Vec<bool> = (0..p).map(|k| is_aliased(nr, p, k)).collect();
    let infs: Vec<f64> = (0..p).map(|k| inf(nr, p, k)).collect();
    let tested = control.iter_max > 1 && nr.converged;
    let monotone: Vec<bool> = (0..p).map(|k| tested && is_monotone(nr, k, infs[k], control)).collect();
    Assessment { aliased, monotone, termination: termination(nr, p, control), infs }
}

/// Coefficient k is aliased (R reports NA): the information is singular and its pivot was 0.
fn is_aliased(nr: &newton::Newton, p: usize, k: usize) -> bool {
    nr.rank_flag < p as i32 && nr.var[k * p + k] == 0.0
}

/// |U var|_k, R's `infs[k]`.
fn inf(nr: &newton::Newton, p: usize, k: usize) -> f64 {
    (0..p).map(|i| nr.u[i] * nr.var[i * p + k]).sum::<f64>().abs()
}

/// R's test that coefficient k may be infinite (the likelihood is monotone in it), at convergence.
fn is_monotone(nr: &newton::Newton, k: usize, inf: f64, control: &CoxControl) -> bool {
    !nr.u[k].is_finite() || (inf > control.eps && inf > control.toler_inf * nr.beta[k].abs())
}

/// How the Newton–Raphson run ended, with R's monotone-likelihood test.
fn termination(nr: &newton::Newton, p: usize, control: &CoxControl) -> Termination {
    if !nr.converged {
        Termination::MaxIterations
    } else if control.iter_max > 1 && (0..p).any(|k| is_monotone(nr, k, inf(nr, p, k), control)) {
        Termination::MonotoneLikelihood
    } else {
        Termination::Converged
    }
}

/// Per-coefficient Wald statistics (NaN for aliased columns).
struct Wald {
    coef: Vec<f64>,
    se: Vec<f64>,
    z: Vec<f64>,
    p: Vec<f64>,
}

fn wald(nr: &newton::Newton, aliased: &[bool]) -> Wald {
    let (coef, se) = coef_se(nr.beta.clone(), &nr.var, aliased);
    let (coef, se) = (coef.into_vec(), se.into_vec());
    let z: Vec<f64> = coef.iter().zip(&se).map(|(b, s)| b / s).collect();
    let pval: Vec<f64> = z.iter().map(|&z| wald_p(z)).collect();
    Wald { coef, se, z, p: pval }
}

/// The coefficients `beta` and their SEs from the variance matrix `var` (p x p, row-major), NaN
/// for the aliased ones (R's NA).
fn coef_se(mut beta: Vector, var: &[f64], aliased: &[bool]) -> (Vector, Vector) {
    let p = beta.len();
    let mut se = Vector::with_capacity(p);
    for (k, (b, &a)) in beta.iter_mut().zip(aliased).enumerate() {
        if a {
            *b = f64::NAN;
        }
        se.push(if a { f64::NAN } else { var[k * p + k].sqrt() });
    }
    (beta, se)
}

/// Two-sided p-value of a Wald z, P(chi2_1 > z^2), as `summary.coxph`.
fn wald_p(z: f64) -> f64 {
    chisq_sf(z * z, 1)
}

fn wald_test(var: &[f64], p: usize, beta: &[f64], kept: &[usize], toler_chol: f64) -> f64 {
    let q = kept.len();
    let mut v = vec![0.0; q * q];
    for (a, &i) in kept.iter().enumerate() {
        for (b, &j) in kept.iter().enumerate() {
            v[a * q + b] = var[i * p + j];
        }
    }
    let b: Vec<f64> = kept.iter().map(|&k| beta[k]).collect();
    let mut sol = b.clone();
    ldl::factor(&mut v, q, toler_chol);
    ldl::solve(&v, q, &mut sol);
    b.iter().zip(&sol).map(|(b, s)| b * s).sum()
}

/// Upper tail of the chi-square distribution (R's `pchisq(x, df, lower.tail = FALSE)`); with
/// df = 0 (every coefficient aliased) there is no test and the p-value is 1.
pub(crate) fn chisq_sf(x: f64, df: usize) -> f64 {
    match df {
        0 if x.is_nan() => f64::NAN,
        0 => 1.0,
        _ => super::chisq::upper_tail(x, df),
    }
}

/// R's `round(x, digits)` (R >= 4.0): the nearer of the two candidates on the 10^-digits grid,
/// ties to the even last digit.
pub(crate) fn round_r(x: f64, digits: i32) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let m = 10f64.powi(digits);
    let lo = (x * m).floor();
    let hi = (x * m).ceil();
    let (xl, xh) = (lo / m, hi / m);
    let (dl, dh) = ((x - xl).abs(), (xh - x).abs());
    if dl < dh {
        xl
    } else if dh < dl {
        xh
    } else if lo % 2.0 == 0.0 {
        xl
    } else {
        xh
    }
}

#[cfg(test)]
mod tests;
