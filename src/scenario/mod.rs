//! Scenarios: one TOML file per simulated study design, validated once into a typed `Scenario`.
//!
//! ```text
//! file  --toml+serde (deny_unknown_fields)-->  spec::ScenarioSpec  --validate-->  Scenario
//! id = file stem;  sha256 = digest of the file bytes (for run manifests)
//! ```
//! The model a scenario describes (see `scenarios/README.md` for the schema by example):
//!
//! ```text
//! stratum s            fixed counts (sum n) or probabilities (sum 1)
//! covariates | s       independent within stratum: binary, categorical, normal / lognormal / gamma
//!                      (fitted to mean, sd; shifted, rounded, truncated), optionally only `given`
//!                      a binary covariate; missing completely at random (exact count or probability)
//! derived indicators   x > c, x >= c, x < c, x <= c, level in {..}, from a covariate or the stratum
//! T_os   | x           PH:  H_os(t | x)   = H0_os(t) exp(b_os' x)      (exponential / Weibull / piecewise)
//! T_prog | x           PH:  H_prog(t | x) = H0_prog(t) exp(b_prog' x), independent of T_os given x
//! PFS = min(T_prog, T_os) <= OS = T_os  (death after progression when T_prog < T_os)
//! treatment at progression ~ multinomial logit(intercept + coef' x); time from progression to death
//!                      is multiplied by the option's time_ratio (1 = no effect, the default)
//! C | era              fixed / uniform / exponential / Weibull follow-up, optionally capped at `max`
//! observed: min(T, C) and the event indicator, for OS and PFS
//! ```
//! Missing values are an observation process: outcomes depend on the true (latent) values, and the
//! masks are applied to the output columns afterwards. A not-applicable value (a `given` covariate
//! whose gate is 0, or a derived indicator of an `na_levels` level) contributes 0 to linear predictors.
//!
//! Architecture invariant: this module knows the file format and nothing about random numbers.

mod law;
mod spec;
mod validate;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use thiserror::Error;

pub use spec::ScenarioSpec;

/// Loads and validates a scenario file. The id is the file stem.
pub fn load(path: impl AsRef<Path>) -> Result<Scenario, ScenarioError> {
    let path = path.as_ref();
    let bytes =
        std::fs::read(path).map_err(|source| ScenarioError::Io { file: path.to_path_buf(), source })?;
    let text = String::from_utf8(bytes.clone())
        .map_err(|e| ScenarioError::Parse { file: path.to_path_buf(), message: format!("not UTF-8: {e}") })?;
    let id = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let mut scenario = parse(path, &id, &text)?;
    scenario.sha256 = sha256_hex(&bytes);
    Ok(scenario)
}

/// Parses and validates scenario text; `file` only labels errors. `sha256` is that of `text`.
pub fn parse(file: &Path, id: &str, text: &str) -> Result<Scenario, ScenarioError> {
    let spec: ScenarioSpec = toml::from_str(text)
        .map_err(|e| ScenarioError::Parse { file: file.to_path_buf(), message: e.to_string() })?;
    let mut scenario = validate::validate(file, id, spec)?;
    scenario.sha256 = sha256_hex(text.as_bytes());
    Ok(scenario)
}

/// Hex sha256 of bytes (lower case).
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why a scenario file was rejected. Every variant names the file.
#[derive(Debug, Error)]
pub enum ScenarioError {
    #[error("{}: cannot read: {source}", file.display())]
    Io { file: PathBuf, source: std::io::Error },
    /// TOML syntax, wrong type, unknown key or missing key: toml's message carries line and column.
    #[error("{}: {message}", file.display())]
    Parse { file: PathBuf, message: String },
    /// A value outside its allowed range or inconsistent with the rest of the file.
    #[error("{}: `{key}` is {found}; expected {expected}", file.display())]
    Invalid { file: PathBuf, key: String, found: String, expected: String },
}

impl ScenarioError {
    /// The dotted key of an `Invalid` error.
    pub fn key(&self) -> Option<&str> {
        match self {
            ScenarioError::Invalid { key, .. } => Some(key),
            _ => None,
        }
    }
}

/// A validated scenario. Characteristic columns are the covariates in file order, then the derived
/// indicators in file order; effects refer to them by column index.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub id: String,
    pub sha256: String,
    pub description: String,
    pub n: usize,
    /// Default seed of runs of this scenario (`seed`, else 1).
    pub seed: u64,
    pub strata: Allocation,
    pub covariates: Vec<Covariate>,
    pub derived: Vec<Derived>,
    /// Treatment eras; a file without `[[eras]]` has one era named "all" with `[censoring]`.
    pub eras: Allocation,
    /// Follow-up (potential censoring time) distribution of each era.
    pub censoring: Vec<Censoring>,
    pub os: Hazard,
    /// None: no progression process, PFS = OS.
    pub progression: Option<Hazard>,
    pub after_progression: Option<AfterProgression>,
    pub analysis: Analysis,
    pub calibration: Option<Calibration>,
    pub report: Report,
    pub(crate) layout: Arc<Layout>,
}

impl Scenario {
    /// Names of the characteristic columns (covariates then derived).
    pub fn column_names(&self) -> &[String] {
        &self.layout.columns
    }

    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.layout.columns.iter().position(|c| c == name)
    }

    pub fn column_kind(&self, column_idx: usize) -> &ColumnKind {
        &self.layout.kinds[column_idx]
    }

    pub fn n_columns(&self) -> usize {
        self.layout.columns.len()
    }

    /// Names of the after-progression treatment options (empty without `[after_progression]`).
    pub fn treatment_names(&self) -> &[String] {
        &self.layout.treatments
    }

    /// The log-HR of every characteristic column on OS (0 where no effect), in column order.
    pub fn os_log_hr(&self) -> Vec<f64> {
        self.os.log_hr_by_column(self.n_columns())
    }

    /// The log-HR of every characteristic column on progression (0 where none or no progression).
    pub fn progression_log_hr(&self) -> Vec<f64> {
        match &self.progression {
            Some(h) => h.log_hr_by_column(self.n_columns()),
            None => vec![0.0; self.n_columns()],
        }
    }

    /// Current value of a calibratable parameter.
    pub fn parameter(&self, key: &ParamKey) -> f64 {
        validate::get_parameter(self, key)
    }

    /// Sets a calibratable parameter; rejects values outside its valid range.
    pub fn set_parameter(&mut self, key: &ParamKey, value: f64) -> Result<(), ScenarioError> {
        validate::set_parameter(self, key, value)
    }

    /// Parses a dotted parameter key such as `outcomes.os.baseline.scale` or
    /// `eras.late.censoring.mean` (see `ParamKey`).
    pub fn param_key(&self, key: &str) -> Result<ParamKey, ScenarioError> {
        validate::param_key(self, Path::new(&self.id), key)
    }
}

/// Column names and labels shared (by `Arc`) between a scenario and its cohorts.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub columns: Vec<String>,
    pub kinds: Vec<ColumnKind>,
    pub strata: Vec<String>,
    pub eras: Vec<String>,
    pub treatments: Vec<String>,
}

/// How patients are split into named groups (strata or eras).
#[derive(Debug, Clone, PartialEq)]
pub struct Allocation {
    pub names: Vec<String>,
    pub kind: AllocationKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AllocationKind {
    /// Exactly these counts (summing to n) in every cohort.
    Counts(Vec<usize>),
    /// Each patient independently, with these probabilities (summing to 1).
    Probabilities(Vec<f64>),
}

impl Allocation {
    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The share of each group in the population: counts / n or the probabilities.
    pub fn weights(&self) -> Vec<f64> {
        match &self.kind {
            AllocationKind::Counts(c) => {
                let total: usize = c.iter().sum();
                c.iter().map(|&k| k as f64 / total as f64).collect()
            }
            AllocationKind::Probabilities(p) => p.clone(),
        }
    }

    /// Fixed counts rescaled to `n` patients by largest remainder (None for probabilities).
    pub fn counts_for(&self, n: usize) -> Option<Vec<usize>> {
        match &self.kind {
            AllocationKind::Counts(c) => Some(apportion(c, n)),
            AllocationKind::Probabilities(_) => None,
        }
    }

    pub fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|s| s == name)
    }
}

/// Largest-remainder apportionment of `n` in proportion to `counts` (identity when they sum to n).
pub(crate) fn apportion(counts: &[usize], n: usize) -> Vec<usize> {
    let total: usize = counts.iter().sum();
    if total == n || total == 0 {
        return counts.to_vec();
    }
    let exact: Vec<f64> = counts.iter().map(|&c| c as f64 * n as f64 / total as f64).collect();
    let mut out: Vec<usize> = exact.iter().map(|x| x.floor() as usize).collect();
    let mut rest = n - out.iter().sum::<usize>();
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())));
    for &i in order.iter().cycle() {
        if rest == 0 {
            break;
        }
        out[i] += 1;
        rest -= 1;
    }
    out
}

/// What a characteristic column holds. Binary: 0/1. Categorical: the level code 0..k-1 (labels in
/// `levels`). Derived indicators: 0/1.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnKind {
    Binary,
    Categorical { levels: Vec<String> },
    Continuous,
    Derived,
}

/// One drawn characteristic.
#[derive(Debug, Clone)]
pub struct Covariate {
    pub name: String,
    pub kind: ColumnKind,
    /// Column index of a binary covariate: drawn only where it is 1, otherwise not applicable.
    pub given: Option<usize>,
    pub missing: Missing,
    /// One sampler per stratum.
    pub samplers: Vec<Sampler>,
}

/// Missing completely at random, over the whole cohort.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Missing {
    None,
    /// Exactly this many patients (chosen uniformly; scaled with n in large-sample runs).
    Count(usize),
    /// Each patient independently.
    Probability(f64),
}

/// The distribution of a characteristic within one stratum.
#[derive(Debug, Clone)]
pub enum Sampler {
    Binary {
        p: f64,
    },
    /// `cumulative[k]` = P(level <= k); the last entry is 1.
    Categorical {
        cumulative: Vec<f64>,
    },
    Continuous(ContinuousSampler),
}

/// `X = clamp_by_redraw(round(shift + Y, step), lower, upper)`, Y from `law`.
#[derive(Debug, Clone)]
pub struct ContinuousSampler {
    pub law: Law,
    pub shift: f64,
    pub round: Option<f64>,
    pub lower: f64,
    pub upper: f64,
}

/// A continuous law, with parameters fitted to the mean and sd given in the file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Law {
    Normal {
        mean: f64,
        sd: f64,
    },
    /// log X ~ N(meanlog, sdlog^2): sdlog^2 = ln(1 + sd^2/mean^2), meanlog = ln(mean) - sdlog^2/2.
    LogNormal {
        meanlog: f64,
        sdlog: f64,
    },
    /// shape = mean^2/sd^2, scale = sd^2/mean.
    Gamma {
        shape: f64,
        scale: f64,
    },
}

/// An indicator computed from a covariate or the stratum.
#[derive(Debug, Clone)]
pub struct Derived {
    pub name: String,
    pub source: Source,
    pub rule: Rule,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Source {
    Column(usize),
    Stratum,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    Gt(f64),
    Ge(f64),
    Lt(f64),
    Le(f64),
    /// 1 for levels with `positive[code]`, empty for levels with `na[code]`, else 0.
    Levels {
        positive: Vec<bool>,
        na: Vec<bool>,
    },
}

impl Rule {
    /// The indicator for a source value (a level code for `Levels`).
    pub fn apply(&self, x: f64) -> Option<f64> {
        let b = match self {
            Rule::Gt(c) => x > *c,
            Rule::Ge(c) => x >= *c,
            Rule::Lt(c) => x < *c,
            Rule::Le(c) => x <= *c,
            Rule::Levels { positive, na } => {
                let code = x as usize;
                let b = Some(indicator(positive.get(code).copied().unwrap_or(false)));
                return std::hint::select_unpredictable(na.get(code).copied().unwrap_or(true), None, b);
            }
        };
        Some(indicator(b))
    }

    /// [`Rule::apply`] to every present value of `values` (a missing value stays missing), into
    /// `out`: the rule matched once per column rather than once per value, and the comparisons
    /// made without a branch (their outcomes are what the data make unpredictable).
    pub fn apply_to(&self, values: &[Option<f64>], out: &mut [Option<f64>]) {
        fn each(values: &[Option<f64>], out: &mut [Option<f64>], f: impl Fn(f64) -> Option<f64>) {
            for (o, v) in out.iter_mut().zip(values) {
                *o = v.and_then(&f);
            }
        }
        match *self {
            Rule::Gt(c) => each(values, out, |x| Some(indicator(x > c))),
            Rule::Ge(c) => each(values, out, |x| Some(indicator(x >= c))),
            Rule::Lt(c) => each(values, out, |x| Some(indicator(x < c))),
            Rule::Le(c) => each(values, out, |x| Some(indicator(x <= c))),
            Rule::Levels { .. } => each(values, out, |x| self.apply(x)),
        }
    }
}

/// 1 or 0, chosen without a branch.
pub(crate) fn indicator(b: bool) -> f64 {
    std::hint::select_unpredictable(b, 1.0, 0.0)
}

/// A baseline cumulative hazard H0(t), invertible in closed form.
#[derive(Debug, Clone, PartialEq)]
pub enum Baseline {
    /// H0(t) = rate t.
    Exponential { rate: f64 },
    /// H0(t) = (t / scale)^shape.
    Weibull { shape: f64, scale: f64 },
    /// Constant `rates[k]` on `[breaks[k-1], breaks[k])`, `breaks[-1] = 0`, `breaks[K] = inf`.
    Piecewise { breaks: Vec<f64>, rates: Vec<f64> },
}

impl Baseline {
    pub fn cumhaz(&self, t: f64) -> f64 {
        match self {
            Baseline::Exponential { rate } => rate * t,
            Baseline::Weibull { shape, scale } => (t / scale).powf(*shape),
            Baseline::Piecewise { breaks, rates } => {
                let mut h = 0.0;
                let mut start = 0.0;
                for (k, &rate) in rates.iter().enumerate() {
                    let end = breaks.get(k).copied().unwrap_or(f64::INFINITY);
                    if t <= end {
                        return h + rate * (t - start);
                    }
                    h += rate * (end - start);
                    start = end;
                }
                h
            }
        }
    }

    /// The t with H0(t) = h (infinity if the hazard never reaches h).
    pub fn inverse_cumhaz(&self, h: f64) -> f64 {
        match self {
            Baseline::Exponential { rate } => h / rate,
            Baseline::Weibull { shape, scale } => scale * h.powf(1.0 / shape),
            Baseline::Piecewise { breaks, rates } => {
                let mut acc = 0.0;
                let mut start = 0.0;
                for (k, &rate) in rates.iter().enumerate() {
                    let end = breaks.get(k).copied().unwrap_or(f64::INFINITY);
                    let piece = rate * (end - start);
                    if acc + piece >= h {
                        return if rate > 0.0 { start + (h - acc) / rate } else { f64::INFINITY };
                    }
                    acc += piece;
                    start = end;
                }
                f64::INFINITY
            }
        }
    }

    /// Breakpoints where the hazard is not smooth (for numerical integration).
    pub fn kinks(&self) -> &[f64] {
        match self {
            Baseline::Piecewise { breaks, .. } => breaks,
            _ => &[],
        }
    }
}

/// A proportional-hazards model on one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Hazard {
    pub baseline: Baseline,
    pub effects: Vec<Effect>,
}

impl Hazard {
    fn log_hr_by_column(&self, n_columns: usize) -> Vec<f64> {
        let mut out = vec![0.0; n_columns];
        for e in &self.effects {
            out[e.column_idx] += e.log_hr;
        }
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Effect {
    pub column_idx: usize,
    pub log_hr: f64,
}

/// Potential follow-up time C of one era; the observed time is min(T, C).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Censoring {
    /// No censoring.
    None,
    /// Administrative censoring at a fixed time.
    Fixed {
        at: f64,
    },
    Uniform {
        min: f64,
        max: f64,
    },
    /// Exponential with this mean, capped at `max` (infinity: no cap).
    Exponential {
        mean: f64,
        max: f64,
    },
    /// S(c) = exp(-(c/scale)^shape), capped at `max`.
    Weibull {
        shape: f64,
        scale: f64,
        max: f64,
    },
}

/// Treatment chosen at progression: P(option k) proportional to exp(intercept_k + coef_k' x).
#[derive(Debug, Clone, PartialEq)]
pub struct AfterProgression {
    pub options: Vec<TreatmentOption>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TreatmentOption {
    pub name: String,
    pub intercept: f64,
    pub effects: Vec<Effect>,
    /// Multiplies the time from progression to death (1: no effect).
    pub time_ratio: f64,
}

/// Which survival endpoint an estimand or statistic uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Os,
    Pfs,
    /// Time from progression to death among patients with an observed progression.
    FromProgression,
}

/// What replicates compute (`[analysis]`); the analysis layer implements each kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    pub alpha: f64,
    pub replicates: usize,
    pub seed: u64,
    pub estimands: Vec<Estimand>,
    pub screening: Option<Screening>,
    /// Compare every drawn characteristic between the strata, as Table 1 does.
    pub table1: bool,
    /// Which Cox models also get Firth's penalised fit with profile-likelihood intervals.
    pub firth: FirthUse,
}

/// When a `cox_hr` estimand also gets Firth's penalised Cox (Heinze & Schemper 2001).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirthUse {
    /// Only where the ordinary Cox likelihood is monotone (the remedy where it is needed): the
    /// `firth_when_monotone` pair; `firth_profile` is not computed.
    WhenMonotone,
    /// Every model: also the unconditional `firth_profile` pair (Firth against Cox in every
    /// registry; its profile intervals roughly double the cost of a replicate).
    Always,
}

/// The paper's variable selection: univariate Cox models of OS on each column, screened at
/// `alpha`, then one multivariate model of the selected columns (complete cases).
#[derive(Debug, Clone, PartialEq)]
pub struct Screening {
    pub columns: Vec<usize>,
    pub alpha: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Estimand {
    /// Given in the file, else generated from the kind (e.g. `km_surv_os_60`).
    pub name: String,
    pub kind: EstimandKind,
}

/// Grouping for a log-rank test: a characteristic column, the stratum, or the treatment at progression.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GroupBy {
    Column(usize),
    Stratum,
    Treatment,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EstimandKind {
    KmSurv {
        endpoint: Endpoint,
        at: f64,
    },
    /// Restricted mean survival up to `tau`; None: up to the last observed time (SPSS "mean").
    Rmst {
        endpoint: Endpoint,
        tau: Option<f64>,
    },
    CoxHr {
        endpoint: Endpoint,
        covariate: usize,
        adjust: Vec<usize>,
    },
    Logrank {
        endpoint: Endpoint,
        by: GroupBy,
    },
    /// Difference of the Kaplan–Meier restricted means to `tau` of two levels of `by`
    /// (`groups[0]` minus `groups[1]`). A level is the code the grouping takes in a cohort: the
    /// treatment option's index, the stratum's index, or the column's value (level code of a
    /// categorical column, 0/1 of a binary or derived one).
    RmstDiff {
        endpoint: Endpoint,
        by: GroupBy,
        groups: [usize; 2],
        tau: f64,
    },
    /// ROC of `marker` for death observed during follow-up (os_event), cut by Youden's J.
    YoudenCut {
        marker: usize,
    },
    Maxstat {
        endpoint: Endpoint,
        marker: usize,
    },
}

/// `[report]`: the companion null scenario and the paper's claims to assess.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    /// Resolved relative to the scenario file.
    pub null_scenario: Option<PathBuf>,
    /// Sample sizes of the planning section (empty: none) and replicates at each.
    pub plan_n: Vec<usize>,
    pub plan_replicates: usize,
    pub claims: Vec<Claim>,
}

/// How a claim is assessed: `Estimate` (bias and coverage of a point estimate), `Effect` (power of
/// the test under the scenario, type-I error under the null scenario), `NoAssociation` (a reported
/// absence of effect: the power that study had), `Cut` (how often the data-chosen cut-point equals
/// the true one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimKind {
    Estimate,
    Effect,
    NoAssociation,
    Cut,
    /// A difference that has no true effect behind it in any scenario (e.g. a treatment chosen by
    /// prognosis): every rejection is a false positive produced by selection.
    NoTrueEffect,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    pub claim: String,
    pub kind: ClaimKind,
    pub estimand: String,
    pub method: Option<String>,
    pub paper: Option<f64>,
    pub proportion: Option<f64>,
}

/// `[calibration]`: what `survmc calibrate` may change and what it must match.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    pub cohorts: usize,
    pub seed: u64,
    pub parameters: Vec<FreeParameter>,
    pub targets: Vec<Target>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FreeParameter {
    /// The dotted key as written in the file.
    pub name: String,
    pub key: ParamKey,
    pub lower: f64,
    pub upper: f64,
}

/// A calibratable parameter: a baseline or censoring parameter, by name (`rate`, `shape`, `scale`,
/// `mean`, `min`, `max`, `at`, `rates.<k>`).
#[derive(Debug, Clone, PartialEq)]
pub enum ParamKey {
    OsBaseline(String),
    ProgressionBaseline(String),
    Censoring { era_idx: usize, param: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Dotted path into targets.json, e.g. `overall_survival.km_surv.60`.
    pub path: String,
    pub statistic: Statistic,
    pub tolerance: f64,
}

/// A summary of one simulated cohort that a target is compared with (mean over cohorts).
#[derive(Debug, Clone, PartialEq)]
pub enum Statistic {
    KmSurv {
        endpoint: Endpoint,
        at: f64,
        stratum: Option<usize>,
    },
    /// tau None: restricted to the last observed time, as the paper's "mean estimated survival".
    Rmst {
        endpoint: Endpoint,
        tau: Option<f64>,
        stratum: Option<usize>,
    },
    Events {
        endpoint: Endpoint,
        stratum: Option<usize>,
    },
    /// Follow-up = observed OS time of every patient.
    FollowupMedian,
    FollowupMean {
        era: Option<usize>,
    },
    FollowupMin,
    FollowupMax,
}

impl Calibration {
    /// Looks up every target's value in a targets.json document; errors name the missing path.
    pub fn target_values(&self, targets: &serde_json::Value) -> Result<Vec<f64>, ScenarioError> {
        self.targets
            .iter()
            .map(|t| {
                let mut v = targets;
                for part in t.path.split('.') {
                    v = v.get(part).ok_or_else(|| ScenarioError::Invalid {
                        file: PathBuf::from("targets.json"),
                        key: t.path.clone(),
                        found: "absent".into(),
                        expected: "a number at this path".into(),
                    })?;
                }
                v.as_f64().ok_or_else(|| ScenarioError::Invalid {
                    file: PathBuf::from("targets.json"),
                    key: t.path.clone(),
                    found: v.to_string(),
                    expected: "a number".into(),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_applied_to_a_column_is_the_rule_applied_to_each_value() {
        let values: Vec<Option<f64>> =
            [Some(0.0), Some(2.0), None, Some(3.5), Some(-1.0), Some(1.0), Some(7.0), Some(f64::NAN)].into();
        let rules = [
            Rule::Gt(2.0),
            Rule::Ge(2.0),
            Rule::Lt(2.0),
            Rule::Le(2.0),
            Rule::Levels { positive: vec![false, true, true], na: vec![false, false, true] },
        ];
        for rule in &rules {
            let mut out = vec![Some(9.0); values.len()];
            rule.apply_to(&values, &mut out);
            let each: Vec<Option<f64>> = values.iter().map(|v| v.and_then(|x| rule.apply(x))).collect();
            let bits = |v: &[Option<f64>]| v.iter().map(|x| x.map(f64::to_bits)).collect::<Vec<_>>();
            assert_eq!(bits(&out), bits(&each), "{rule:?}");
        }
        // by hand: > 2 is 1 only for 3.5 and 7; level 2 is empty, levels beyond the table too
        let mut out = vec![None; values.len()];
        rules[0].apply_to(&values, &mut out);
        assert_eq!(out, [Some(0.0), Some(0.0), None, Some(1.0), Some(0.0), Some(0.0), Some(1.0), Some(0.0)]);
        rules[4].apply_to(&[Some(0.0), Some(1.0), Some(2.0), Some(5.0)], &mut out[..4]);
        assert_eq!(out[..4], [Some(0.0), Some(1.0), None, None]);
    }

    #[test]
    fn apportion_keeps_totals() {
        // 36/17 scaled to 1000: 679.2 and 320.8 -> 679 + 321 by largest remainder.
        assert_eq!(apportion(&[36, 17], 1000), vec![679, 321]);
        assert_eq!(apportion(&[36, 17], 53), vec![36, 17]);
        assert_eq!(apportion(&[1, 1, 1], 10).iter().sum::<usize>(), 10);
    }

    #[test]
    fn cumulative_hazards_invert() {
        // Piecewise: rate 0.05 on [0, 12), 0.02 after: H(20) = 0.6 + 0.16 = 0.76 (by hand).
        let pw = Baseline::Piecewise { breaks: vec![12.0], rates: vec![0.05, 0.02] };
        assert!((pw.cumhaz(20.0) - 0.76).abs() < 1e-12);
        for b in [pw, Baseline::Weibull { shape: 1.5, scale: 20.0 }, Baseline::Exponential { rate: 0.1 }] {
            for t in [0.5, 5.0, 12.0, 40.0] {
                assert!((b.inverse_cumhaz(b.cumhaz(t)) - t).abs() < 1e-9, "{b:?} at {t}");
            }
        }
    }

    #[test]
    fn rounded_truncated_cdf() {
        // round(N(6, 2)) on 1..=10: P(X <= 10) = 1, P(X < 1) = 0, P(X <= 5) = F(5.5) - F(0.5) over
        // F(10.5) - F(0.5), with F the N(6, 2) CDF.
        let cs = ContinuousSampler {
            law: Law::Normal { mean: 6.0, sd: 2.0 },
            shift: 0.0,
            round: Some(1.0),
            lower: 1.0,
            upper: 10.0,
        };
        let f = |x: f64| cs.law.cdf(x);
        assert_eq!(cs.cdf(10.0), 1.0);
        assert_eq!(cs.cdf_below(1.0), 0.0);
        let expect = (f(5.5) - f(0.5)) / (f(10.5) - f(0.5));
        assert!((cs.cdf(5.0) - expect).abs() < 1e-12);
        assert!((cs.cdf_below(6.0) - expect).abs() < 1e-12);
    }

    #[test]
    fn level_rule() {
        let r =
            Rule::Levels { positive: vec![false, false, true, true], na: vec![false, true, false, false] };
        assert_eq!(r.apply(0.0), Some(0.0));
        assert_eq!(r.apply(1.0), None);
        assert_eq!(r.apply(3.0), Some(1.0));
    }
}
