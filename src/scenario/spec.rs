//! The serde mirror of a scenario TOML file: every table and key a file may contain, nothing more
//! (`deny_unknown_fields`), with no interpretation. `validate` turns it into a typed `Scenario`.
//!
//! Integers that must be non-negative are read as `i64` so that a negative value reaches the
//! validator (which names the key and the allowed range) instead of failing inside serde.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    #[serde(default)]
    pub description: String,
    pub n: i64,
    pub seed: Option<i64>,
    #[serde(default)]
    pub strata: Vec<StratumSpec>,
    #[serde(default)]
    pub covariates: Vec<CovariateSpec>,
    #[serde(default)]
    pub derived: Vec<DerivedSpec>,
    #[serde(default)]
    pub eras: Vec<EraSpec>,
    pub censoring: Option<DistSpec>,
    pub outcomes: OutcomesSpec,
    pub after_progression: Option<AfterProgressionSpec>,
    pub analysis: Option<AnalysisSpec>,
    pub calibration: Option<CalibrationSpec>,
    pub report: Option<ReportSpec>,
}

/// `[report]`: what the reliability report compares, claim by claim.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSpec {
    /// A scenario without effects, run alongside for false-positive rates (path relative to this file).
    pub null_scenario: Option<String>,
    /// Sample sizes at which `survmc run` also simulates the study (its planning section).
    pub plan_n: Option<Vec<i64>>,
    pub plan_replicates: Option<i64>,
    #[serde(default)]
    pub claims: Vec<ClaimSpec>,
}

/// `[[report.claims]]`: one headline claim of the paper and the estimand that tests it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimSpec {
    pub claim: String,
    pub kind: String,
    pub estimand: String,
    pub method: Option<String>,
    /// The paper's figure, on the estimand's scale (log-HR for Cox estimands).
    pub paper: Option<f64>,
    /// For `kind = "no_association"`: the fraction of patients in the smaller group.
    pub proportion: Option<f64>,
}

/// `[[strata]]`: a named subgroup with a fixed count or a probability.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StratumSpec {
    pub name: String,
    pub count: Option<i64>,
    pub probability: Option<f64>,
}

/// `[[covariates]]`: one characteristic, drawn per stratum.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CovariateSpec {
    pub name: String,
    pub dist: String,
    /// Drawn only where this binary covariate is 1, otherwise not applicable (empty).
    pub given: Option<String>,
    pub missing_count: Option<i64>,
    pub missing_prob: Option<f64>,
    /// Categorical level names, in code order 0, 1, ...
    pub levels: Option<Vec<String>>,
    /// Added to every draw (before rounding and truncation).
    pub shift: Option<f64>,
    /// Round to a multiple of this step (1 for integer counts).
    pub round: Option<f64>,
    /// Truncation bounds (inclusive), applied after shift and rounding by redrawing.
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    /// The same parameters for every stratum ...
    pub params: Option<ParamSpec>,
    /// ... or one entry per stratum name.
    pub strata: Option<BTreeMap<String, ParamSpec>>,
}

/// Parameters of a covariate distribution in one stratum.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    pub p: Option<f64>,
    pub probs: Option<Vec<f64>>,
    pub counts: Option<Vec<f64>>,
    pub mean: Option<f64>,
    pub sd: Option<f64>,
    /// Per-stratum overrides of the covariate's continuous `dist`, `shift`, `lower` and `upper`.
    pub dist: Option<String>,
    pub shift: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

/// `[[derived]]`: an indicator computed from a covariate (or the stratum).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DerivedSpec {
    pub name: String,
    pub from: String,
    pub gt: Option<f64>,
    pub ge: Option<f64>,
    pub lt: Option<f64>,
    pub le: Option<f64>,
    pub levels: Option<Vec<String>>,
    pub na_levels: Option<Vec<String>>,
}

/// `[[eras]]`: a treatment era with its own follow-up (censoring) distribution.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EraSpec {
    pub name: String,
    pub count: Option<i64>,
    pub probability: Option<f64>,
    pub censoring: DistSpec,
}

/// A time distribution: a baseline hazard or a censoring time. Which keys apply depends on `dist`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistSpec {
    pub dist: String,
    pub rate: Option<f64>,
    pub mean: Option<f64>,
    pub median: Option<f64>,
    pub shape: Option<f64>,
    pub scale: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub at: Option<f64>,
    pub breaks: Option<Vec<f64>>,
    pub rates: Option<Vec<f64>>,
}

/// `[outcomes]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomesSpec {
    pub os: HazardSpec,
    pub progression: Option<HazardSpec>,
}

/// A proportional-hazards model: baseline and log-linear covariate effects.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HazardSpec {
    pub baseline: DistSpec,
    #[serde(default)]
    pub effects: Vec<EffectSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EffectSpec {
    pub covariate: String,
    pub hr: Option<f64>,
    pub log_hr: Option<f64>,
}

/// `[after_progression]`: treatment chosen at progression by a multinomial logit.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AfterProgressionSpec {
    pub options: Vec<OptionSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionSpec {
    pub name: String,
    #[serde(default)]
    pub intercept: f64,
    #[serde(default)]
    pub effects: Vec<CoefSpec>,
    pub time_ratio: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoefSpec {
    pub covariate: String,
    pub coef: f64,
}

/// `[analysis]`: what each replicate computes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalysisSpec {
    pub alpha: Option<f64>,
    pub replicates: Option<i64>,
    pub seed: Option<i64>,
    #[serde(default)]
    pub estimands: Vec<EstimandSpec>,
    /// The paper's screening: univariate Cox (OS) of each column, then a multivariate model of those
    /// with p < alpha.
    pub screening: Option<ScreeningSpec>,
    /// Table 1: compare every drawn characteristic between the strata (Fisher / Mann–Whitney).
    pub table1: Option<bool>,
    /// When Firth's penalised Cox is fitted: "when_monotone" (default) or "always".
    pub firth: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScreeningSpec {
    pub covariates: Vec<String>,
    pub alpha: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EstimandSpec {
    pub kind: String,
    pub name: Option<String>,
    pub endpoint: Option<String>,
    pub at: Option<f64>,
    pub tau: Option<f64>,
    pub covariate: Option<String>,
    pub adjust: Option<Vec<String>>,
    pub by: Option<String>,
    /// `rmst_diff`: the two levels of `by` compared (group 1 minus group 2).
    pub groups: Option<Vec<String>>,
    pub marker: Option<String>,
}

/// `[calibration]`: free parameters and the paper's targets.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrationSpec {
    pub cohorts: Option<i64>,
    pub seed: Option<i64>,
    #[serde(default)]
    pub parameters: Vec<ParameterSpec>,
    #[serde(default)]
    pub targets: Vec<TargetSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParameterSpec {
    pub key: String,
    pub lower: f64,
    pub upper: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    pub path: String,
    pub statistic: String,
    pub endpoint: Option<String>,
    pub at: Option<f64>,
    pub tau: Option<f64>,
    pub stratum: Option<String>,
    pub era: Option<String>,
    pub tolerance: f64,
}
