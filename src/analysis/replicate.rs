//! What one synthetic cohort is put through: the estimands of a scenario's `[analysis]`, the paper's
//! screening of univariate Cox models, and its Table 1 comparisons.
//!
//! ```text
//! plan(scenario, truth)                -> Plan: the engine's schema (estimand x method pairs, choices)
//! evaluate(plan, scenario, cohort, ws) -> one Replicate aligned with the schema
//! ```
//! Each estimand kind maps to fixed methods:
//! - `km_surv`: S(t) by Kaplan–Meier with Greenwood SE; one pair per `conf.type` (log, the R
//!   default; log-log, SAS/Stata; plain, SPSS). A choice records whether fewer than 5 patients were
//!   still at risk at t (the estimate then rests on a handful of patients).
//! - `rmst`: restricted mean (to tau, or to the last observed time) with R's SE and a Wald interval.
//! - `cox_hr`: log-HR by Cox (Efron ties, R's control) with Wald SE, interval and p; the same estimate
//!   kept only when significant (`cox_wald_if_significant`: the winner's curse); with
//!   `analysis.firth = "always"`, Firth's penalised Cox with profile-likelihood interval in every
//!   registry (`firth_profile`; by default Firth is fitted only where it is needed, when the Cox
//!   likelihood is monotone, as below); the same Cox estimate with the likelihood-ratio (profile
//!   likelihood) interval (`cox_lr_profile`), an infinite end flagged `MonotoneLikelihood` (the
//!   interval then reaches +-inf, and covers whatever lies on that side). When the Cox fit is
//!   monotone, the three intervals again, unflagged (`cox_wald_when_monotone`,
//!   `cox_lr_when_monotone`, `firth_when_monotone`: their coverage is the behaviour under monotone
//!   likelihood), and whether each is finite (choices `<name>_when_monotone_finite_<wald|lr|firth>`).
//!   Complete cases per model, as the paper did.
//! - `logrank`: chi-square and p of the log-rank test.
//! - `rmst_diff`: Kaplan–Meier restricted means to tau of two groups, their difference (group 1 minus
//!   group 2) with SE sqrt(se1^2 + se2^2), Wald interval and two-sided p (`km_wald`); each group's
//!   mean is also a numeric choice (`<name>_group1`, `<name>_group2`). Where tau is beyond a group's
//!   last observed time its curve is extended flat at its last value (`km::KmFit::rmean_to`, as R's
//!   `print(survfit, rmean = tau)`). An empty group is flagged `EmptyGroup` (estimate 0).
//! - `youden_cut`: ROC of the marker for death observed during follow-up (the paper's ROC): AUC with
//!   DeLong SE and CI; the apparent sensitivity and specificity at the chosen cut; the chosen cut.
//! - `maxstat`: the maximally selected log-rank statistic with a naive p (as if the cut were fixed in
//!   advance: 2 (1 - Phi(|z|))) and the Lausen–Schumacher corrected p-values.
//!
//! Degenerate fits are flagged (`DegenerateKind`), never dropped here: the metrics report every
//! measure with and without them.
//!
//! Truth: S(t) and RMST are the scenario's marginal values; an `rmst_diff` by treatment is 0 when no
//! treatment option changes survival (every `time_ratio` 1: the causal effect is nil), else undefined; the univariate Cox log-HR is the
//! large-sample limit of the univariate fit (not the conditional effect: Cox models are not
//! collapsible); an adjusted log-HR's truth is the conditional effect when the model contains every
//! covariate with an effect, and undefined otherwise.

use crate::cohort::{Cohort, Truth};
use crate::data::{Factor, SurvivalData};
use crate::engine::{ChoiceSpec, PairSpec, Replicate, Schema};
use crate::estimators::cox::{
    self, CoxCoefficients, CoxControl, CoxData, Design, Tallied, Termination, Ties,
};
use crate::estimators::km::{self, ConfType};
use crate::estimators::{chisq, logrank, mann_whitney, maxstat, roc, tables};
use crate::metrics::{Choice, ChoiceKind, DegenerateKind, Flags, HistogramSpec, Measure, Observation};
use crate::scenario::{ColumnKind, Endpoint, EstimandKind, FirthUse, GroupBy, Scenario};
use std::borrow::Cow;
use std::cell::OnceCell;

/// 97.5% quantile of the standard normal (R: `qnorm(0.975)`).
const Z_975: f64 = km::Z_95;
const NO_YES: [&str; 2] = ["no", "yes"];

/// The compiled analysis of a scenario: what to compute, and where each result goes in the schema.
#[derive(Debug, Clone)]
pub struct Plan {
    pub schema: Schema,
    items: Vec<Item>,
}

#[derive(Debug, Clone)]
enum Item {
    KmSurv {
        endpoint: Endpoint,
        at: f64,
        pairs: [usize; 3],
        few_at_risk: usize,
    },
    Rmst {
        endpoint: Endpoint,
        tau: Option<f64>,
        pair: usize,
    },
    CoxHr {
        endpoint: Endpoint,
        columns: Vec<usize>,
        wald: usize,
        if_significant: usize,
        firth: Option<usize>,
        lr_profile: usize,
        /// Wald, LR profile and Firth when the Cox fit is monotone (pairs), and whether each
        /// interval is finite then (categorical choices).
        when_monotone: [usize; 3],
        finite_when_monotone: [usize; 3],
        /// The Wald estimate's distribution (log-HR), for the report's histogram.
        estimate: usize,
    },
    RmstDiff {
        endpoint: Endpoint,
        by: GroupBy,
        groups: [usize; 2],
        tau: f64,
        pair: usize,
        /// Each group's restricted mean (numeric choices).
        group_rmst: [usize; 2],
    },
    Logrank {
        endpoint: Endpoint,
        by: GroupBy,
        pair: usize,
    },
    Youden {
        marker: usize,
        true_cut: Option<f64>,
        auc: usize,
        sens: usize,
        spec: usize,
        cut: usize,
        vs_truth: usize,
    },
    Maxstat {
        endpoint: Endpoint,
        marker: usize,
        naive: usize,
        lau92: usize,
        lau94: usize,
        cut: usize,
    },
    Screening(Box<ScreeningItem>),
    Table1 {
        tests: Vec<(usize, bool, usize)>,
    },
    /// Number of OS and PFS events in the cohort (what every power formula needs).
    Events {
        os: usize,
        pfs: usize,
    },
}

#[derive(Debug, Clone)]
struct ScreeningItem {
    columns: Vec<usize>,
    /// True conditional effect on OS is zero: a selection of this column is a false positive.
    null_effect: Vec<bool>,
    alpha: f64,
    univariate: Vec<usize>,
    selected: Vec<usize>,
    /// Multivariate estimate of each column with a true effect, when it was selected.
    multivariate: Vec<(usize, usize)>,
    n_selected: usize,
    n_false: usize,
    any_false: usize,
    false_independent: usize,
}

/// Builds the schema and the plan. `truth` supplies the true values.
pub fn plan(s: &Scenario, truth: &Truth) -> Plan {
    let names = s.column_names();
    let log_hr = s.os_log_hr();
    let no_effects = log_hr.iter().all(|&b| b == 0.0);
    let mut b = Builder { pairs: Vec::new(), choices: Vec::new() };
    let events_hist = Some(HistogramSpec { lo: -0.5, hi: s.n as f64 + 0.5, bins: s.n as u32 + 1 });
    let mut items = vec![Item::Events {
        os: b.numeric("os_events", events_hist),
        pfs: b.numeric("pfs_events", events_hist),
    }];
    for e in &s.analysis.estimands {
        let name = e.name.as_str();
        match &e.kind {
            EstimandKind::KmSurv { endpoint, at } => {
                let t = marginal_truth(truth, *endpoint)
                    .and_then(|m| m.times.iter().position(|x| (x - at).abs() < 1e-9).map(|i| m.surv[i]));
                let primary = vec![Measure::Bias, Measure::Cover];
                let pairs = [
                    b.pair(name, "km_log", t, primary.clone()),
                    b.pair(name, "km_loglog", t, primary.clone()),
                    b.pair(name, "km_plain", t, primary),
                ];
                let few_at_risk = b.categorical(&format!("{name}_fewer_than_5_at_risk"), &NO_YES);
                items.push(Item::KmSurv { endpoint: *endpoint, at: *at, pairs, few_at_risk });
            }
            EstimandKind::Rmst { endpoint, tau } => {
                let t = match (marginal_truth(truth, *endpoint), tau) {
                    (Some(m), Some(tau)) if (m.tau - tau).abs() < 1e-9 => Some(m.rmst),
                    _ => None,
                };
                let pair = b.pair(name, "km", t, vec![Measure::Bias, Measure::Cover]);
                items.push(Item::Rmst { endpoint: *endpoint, tau: *tau, pair });
            }
            EstimandKind::CoxHr { endpoint, covariate, adjust } => {
                let t = if *endpoint != Endpoint::Os {
                    None
                } else if no_effects {
                    Some(0.0)
                } else if adjust.is_empty() {
                    truth
                        .univariate_cox
                        .iter()
                        .find(|u| u.covariate == names[*covariate] && u.endpoint == "os")
                        .map(|u| u.log_hr)
                } else {
                    let in_model = |j: usize| j == *covariate || adjust.contains(&j);
                    let all_effects_in = (0..log_hr.len()).all(|j| log_hr[j] == 0.0 || in_model(j));
                    all_effects_in.then_some(log_hr[*covariate])
                };
                let mut columns = vec![*covariate];
                columns.extend(adjust);
                let wald = b.pair(name, "cox_wald", t, vec![Measure::Bias, Measure::Cover, Measure::Power]);
                let if_significant = b.pair(name, "cox_wald_if_significant", t, Vec::new());
                let firth = (s.analysis.firth == FirthUse::Always)
                    .then(|| b.pair(name, "firth_profile", t, vec![Measure::Bias, Measure::Cover]));
                let lr_profile = b.pair(name, "cox_lr_profile", t, vec![Measure::Bias, Measure::Cover]);
                let when_monotone = ["cox_wald_when_monotone", "cox_lr_when_monotone", "firth_when_monotone"]
                    .map(|m| b.pair(name, m, t, vec![Measure::Cover]));
                let finite_when_monotone = ["wald", "lr", "firth"]
                    .map(|m| b.categorical(&format!("{name}_when_monotone_finite_{m}"), &NO_YES));
                let estimate = b
                    .numeric(&format!("{name}_log_hr"), Some(HistogramSpec { lo: -4.0, hi: 6.0, bins: 100 }));
                items.push(Item::CoxHr {
                    endpoint: *endpoint,
                    columns,
                    wald,
                    if_significant,
                    firth,
                    lr_profile,
                    when_monotone,
                    finite_when_monotone,
                    estimate,
                });
            }
            EstimandKind::RmstDiff { endpoint, by, groups, tau } => {
                let no_effect = s
                    .after_progression
                    .as_ref()
                    .is_some_and(|a| a.options.iter().all(|o| o.time_ratio == 1.0));
                let t = (*by == GroupBy::Treatment && no_effect).then_some(0.0);
                let pair = b.pair(name, "km_wald", t, vec![Measure::Bias, Measure::Cover, Measure::Power]);
                let hist = Some(HistogramSpec { lo: 0.0, hi: *tau, bins: 60 });
                let group_rmst =
                    [b.numeric(&format!("{name}_group1"), hist), b.numeric(&format!("{name}_group2"), hist)];
                items.push(Item::RmstDiff {
                    endpoint: *endpoint,
                    by: *by,
                    groups: *groups,
                    tau: *tau,
                    pair,
                    group_rmst,
                });
            }
            EstimandKind::Logrank { endpoint, by } => {
                let pair = b.pair(name, "logrank", None, vec![Measure::Power]);
                items.push(Item::Logrank { endpoint: *endpoint, by: *by, pair });
            }
            EstimandKind::YoudenCut { marker } => {
                // The truth is computed for "positive when marker > cut". pROC's automatic direction
                // estimates the AUC of the better direction, max(AUC, 1 - AUC) in large samples;
                // when that is the reverse direction the true cut, sensitivity and specificity of
                // the "<" direction do not apply, and are left undefined.
                let rt_all = truth.roc.iter().find(|r| r.marker == names[*marker]);
                let rt = rt_all.filter(|r| r.auc >= 0.5);
                let true_auc = rt_all.map(|r| r.auc.max(1.0 - r.auc));
                let auc = b.pair(&format!("{name}_auc"), "roc_delong", true_auc, vec![Measure::Bias]);
                let sens =
                    b.pair(&format!("{name}_sensitivity"), "apparent", rt.map(|r| r.sensitivity), vec![]);
                let spec =
                    b.pair(&format!("{name}_specificity"), "apparent", rt.map(|r| r.specificity), vec![]);
                let cut = b.numeric(name, Some(cut_histogram(rt_all.map(|r| r.youden_cut))));
                let vs_truth = b.categorical(
                    &format!("{name}_vs_true_cut"),
                    &["below", "equal", "above", "reversed_direction", "none"],
                );
                items.push(Item::Youden {
                    marker: *marker,
                    true_cut: rt.map(|r| r.youden_cut),
                    auc,
                    sens,
                    spec,
                    cut,
                    vs_truth,
                });
            }
            EstimandKind::Maxstat { endpoint, marker } => {
                let naive = b.pair(name, "naive_fixed_cut", None, vec![Measure::Power]);
                let lau92 = b.pair(name, "lau92", None, vec![Measure::Power]);
                let lau94 = b.pair(name, "lau94", None, vec![Measure::Power]);
                let cut = b.numeric(&format!("{name}_cut"), Some(cut_histogram(None)));
                items.push(Item::Maxstat { endpoint: *endpoint, marker: *marker, naive, lau92, lau94, cut });
            }
        }
    }
    if let Some(sc) = &s.analysis.screening {
        let null_effect: Vec<bool> = sc.columns.iter().map(|&j| log_hr[j] == 0.0).collect();
        let truth_of = |_: usize| if no_effects { Some(0.0) } else { None };
        let univariate = sc
            .columns
            .iter()
            .map(|&j| {
                b.pair(&format!("univariate_{}", names[j]), "cox_wald", truth_of(j), vec![Measure::Power])
            })
            .collect();
        let selected =
            sc.columns.iter().map(|&j| b.categorical(&format!("selected_{}", names[j]), &NO_YES)).collect();
        let multivariate = sc
            .columns
            .iter()
            .filter(|&&j| log_hr[j] != 0.0)
            .map(|&j| {
                let pair = b.pair(
                    &format!("multivariate_{}", names[j]),
                    "cox_wald_if_selected",
                    Some(log_hr[j]),
                    Vec::new(),
                );
                (j, pair)
            })
            .collect();
        let k = sc.columns.len() as f64;
        let n_selected = b.numeric(
            "screening_n_selected",
            Some(HistogramSpec { lo: -0.5, hi: k + 0.5, bins: sc.columns.len() as u32 + 1 }),
        );
        let n_false = b.numeric(
            "screening_n_false_positive",
            Some(HistogramSpec { lo: -0.5, hi: k + 0.5, bins: sc.columns.len() as u32 + 1 }),
        );
        let any_false = b.categorical("screening_any_false_positive", &NO_YES);
        let false_independent = b.categorical("screening_false_independent_factor", &NO_YES);
        items.push(Item::Screening(Box::new(ScreeningItem {
            columns: sc.columns.clone(),
            null_effect,
            alpha: sc.alpha,
            univariate,
            selected,
            multivariate,
            n_selected,
            n_false,
            any_false,
            false_independent,
        })));
    }
    if s.analysis.table1 && s.strata.names.len() >= 2 {
        let mut tests = Vec::new();
        for c in &s.covariates {
            let Some(j) = s.column_index(&c.name) else { continue };
            let categorical = !matches!(s.column_kind(j), ColumnKind::Continuous);
            let method = if categorical { "fisher" } else { "mann_whitney" };
            tests.push((j, categorical, b.pair(&format!("table1_{}", c.name), method, None, Vec::new())));
        }
        items.push(Item::Table1 { tests });
    }
    Plan { schema: Schema { alpha: s.analysis.alpha, pairs: b.pairs, choices: b.choices }, items }
}

struct Builder {
    pairs: Vec<PairSpec>,
    choices: Vec<ChoiceSpec>,
}

impl Builder {
    fn pair(&mut self, estimand: &str, method: &str, truth: Option<f64>, primary: Vec<Measure>) -> usize {
        // a measure that needs the truth cannot be primary without one
        let primary = primary.into_iter().filter(|m| truth.is_some() || *m == Measure::Power).collect();
        self.pairs.push(PairSpec { estimand: estimand.into(), method: method.into(), truth, primary });
        self.pairs.len() - 1
    }

    fn categorical(&mut self, name: &str, labels: &[&str]) -> usize {
        let labels = labels.iter().map(|l| l.to_string()).collect();
        self.choices.push(ChoiceSpec { name: name.into(), kind: ChoiceKind::Categorical { labels } });
        self.choices.len() - 1
    }

    fn numeric(&mut self, name: &str, histogram: Option<HistogramSpec>) -> usize {
        self.choices.push(ChoiceSpec { name: name.into(), kind: ChoiceKind::Numeric { histogram } });
        self.choices.len() - 1
    }
}

/// Bins for a data-chosen cut-point: unit bins on [0, 60] for small whole-number cuts (counts such
/// as the number of nodules), otherwise 60 bins on [0, 3 x the true cut] (laboratory values,
/// minutes, millilitres).
fn cut_histogram(true_cut: Option<f64>) -> HistogramSpec {
    match true_cut {
        Some(c) if c.is_finite() && !(c.fract() == 0.0 && c.abs() <= 20.0) => {
            HistogramSpec { lo: 0.0, hi: 3.0 * c.abs().max(0.1), bins: 60 }
        }
        _ => HistogramSpec { lo: 0.0, hi: 60.0, bins: 60 },
    }
}

fn marginal_truth(truth: &Truth, endpoint: Endpoint) -> Option<&crate::cohort::MarginalTruth> {
    match endpoint {
        Endpoint::Os => Some(&truth.os),
        Endpoint::Pfs => Some(&truth.pfs),
        Endpoint::FromProgression => None,
    }
}

/// Analyses one cohort into `out` (cleared by the caller and sized by `plan.schema`).
pub fn evaluate(plan: &Plan, s: &Scenario, cohort: &Cohort, out: &mut Replicate) {
    let data = Endpoints::new(cohort);
    let control = CoxControl::r_defaults();
    // one Kaplan–Meier fit per endpoint, shared by its km_surv and rmst estimands
    let mut km_fits: [Option<km::KmFit>; 3] = [None, None, None];
    // the OS Cox fits of the estimands by their columns: the screening's models that are the same
    // (same columns in the same order, so the same numbers) are not fitted again
    let mut os_fits: Vec<(&[usize], CoxCoefficients)> = Vec::new();
    // buffers of the per-column work (ROC markers, Table 1), reused column after column
    let (mut x, mut rows, mut events) = (Vec::new(), Vec::new(), Vec::new());
    let (mut a, mut g0, mut g1, mut counts) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let fisher = tables::FisherControl::standard();
    for item in &plan.items {
        match item {
            Item::KmSurv { endpoint, at, pairs, few_at_risk } => {
                let Some(d) = data.get(*endpoint) else { continue };
                let fit = km_fits[*endpoint as usize].get_or_insert_with(|| km::fit(d));
                let sa = fit.surv_at(*at);
                for (conf, &pair) in [ConfType::Log, ConfType::LogLog, ConfType::Plain].iter().zip(pairs) {
                    let mut o = Observation::estimate(sa.surv);
                    if let Some(se) = sa.se_surv {
                        o = o.with_se(se);
                    }
                    let ci = sa.ci(*conf);
                    o = match (ci.lower, ci.upper) {
                        (Some(l), Some(u)) => o.with_interval(l, u),
                        // R gives no interval (S = 0, or S = 1 under log-log): a degenerate point
                        _ => o.with_interval(sa.surv, sa.surv).with_flag(DegenerateKind::Other),
                    };
                    out.observations[pair] = Some(o);
                }
                out.choices[*few_at_risk] = Choice::Category(u32::from(fit.n_risk_at(*at) < 5));
            }
            Item::Rmst { endpoint, tau, pair } => {
                let Some(d) = data.get(*endpoint) else { continue };
                let fit = km_fits[*endpoint as usize].get_or_insert_with(|| km::fit(d));
                let r = match tau {
                    Some(t) => fit.rmean_to(*t),
                    None => Some(fit.rmean_last()),
                };
                if let Some(r) = r {
                    out.observations[*pair] = Some(
                        Observation::estimate(r.rmean)
                            .with_se(r.se)
                            .with_interval(r.rmean - Z_975 * r.se, r.rmean + Z_975 * r.se),
                    );
                }
            }
            Item::CoxHr {
                endpoint,
                columns,
                wald,
                if_significant,
                firth,
                lr_profile,
                when_monotone,
                finite_when_monotone,
                estimate,
            } => {
                let Some(d) = data.get(*endpoint) else { continue };
                let rows = data.rows(*endpoint, d.len());
                let Some((cd, x)) = complete_cases(d, data.cox(*endpoint), &rows, cohort, columns) else {
                    continue;
                };
                let Ok(fit) = cox::fit_coefficients(&cd, &x, Ties::Efron, &control) else { continue };
                let monotone = fit.termination == Termination::MonotoneLikelihood;
                let firth_fit = (firth.is_some() || monotone).then(|| firth_observation(&cd, &x)).flatten();
                if let Some(slot) = firth {
                    out.observations[*slot] = firth_fit.map(|f| f.0);
                }
                let o = cox_observation(&fit, 0);
                if o.estimate.is_finite() {
                    out.choices[*estimate] = Choice::Value(o.estimate);
                }
                if o.p_value.is_some_and(|p| p < s.analysis.alpha) {
                    out.observations[*if_significant] = Some(o);
                }
                out.observations[*wald] = Some(o);
                let lr = lr_observation(&cd, &x, &fit);
                out.observations[*lr_profile] = Some(lr);
                if monotone {
                    let firth_ends = firth_fit.map(|f| Observation { lower: f.1[0], upper: f.1[1], ..f.0 });
                    for (k, obs) in [Some(o), Some(lr), firth_ends].into_iter().enumerate() {
                        let obs = obs.map(|o| Observation { flags: Flags::NONE, ..o });
                        let finite = obs.is_some_and(|o| {
                            o.lower.is_some_and(f64::is_finite) && o.upper.is_some_and(f64::is_finite)
                        });
                        out.observations[when_monotone[k]] = obs;
                        out.choices[finite_when_monotone[k]] = Choice::Category(u32::from(finite));
                    }
                }
                if *endpoint == Endpoint::Os {
                    os_fits.push((columns, fit));
                }
            }
            Item::RmstDiff { endpoint, by, groups, tau, pair, group_rmst } => {
                let (o, means) = rmst_diff_observation(&data, cohort, *endpoint, *by, *groups, *tau);
                out.observations[*pair] = Some(o);
                for (slot, m) in group_rmst.iter().zip(means) {
                    if let Some(m) = m.filter(|m| m.is_finite()) {
                        out.choices[*slot] = Choice::Value(m);
                    }
                }
            }
            Item::Logrank { endpoint, by, pair } => {
                out.observations[*pair] = logrank_observation(&data, cohort, *endpoint, *by);
            }
            Item::Youden { marker, true_cut, auc, sens, spec, cut, vs_truth } => {
                present_into(cohort.column(*marker), &mut x, &mut rows);
                events.clear();
                events.extend(rows.iter().map(|&i| cohort.os_event()[i]));
                let Ok(fit) = roc::fit(&x, &events) else { continue };
                let (Some(a), Some(se), Some((l, u))) = (fit.auc, fit.auc_se, fit.auc_ci) else {
                    out.choices[*vs_truth] = Choice::Category(4);
                    continue;
                };
                out.observations[*auc] = Some(Observation::estimate(a).with_se(se).with_interval(l, u));
                let Some(best) = fit.youden.first() else {
                    out.choices[*vs_truth] = Choice::Category(4);
                    continue;
                };
                out.observations[*sens] = Some(Observation::estimate(best.sensitivity));
                out.observations[*spec] = Some(Observation::estimate(best.specificity));
                if best.cut.is_finite() {
                    out.choices[*cut] = Choice::Value(best.cut);
                }
                let category = if fit.direction != roc::Direction::Less {
                    3
                } else {
                    match true_cut {
                        Some(t) if best.cut < *t => 0,
                        Some(t) if best.cut == *t => 1,
                        Some(_) => 2,
                        None => 4,
                    }
                };
                out.choices[*vs_truth] = Choice::Category(category);
            }
            Item::Maxstat { endpoint, marker, naive, lau92, lau94, cut } => {
                let Some(d) = data.get(*endpoint) else { continue };
                let cohort_rows = data.rows(*endpoint, d.len());
                let col = cohort.column(*marker);
                let keep = filtered(d.len(), (0..d.len()).filter(|&k| col[cohort_rows[k]].is_some()));
                let x = filtered(keep.len(), keep.iter().filter_map(|&k| col[cohort_rows[k]]));
                let sub = d.subset(&keep);
                let Ok(fit) = maxstat::fit(&sub, &x, &maxstat::MaxstatControl::r_defaults()) else {
                    continue;
                };
                let Some(e) = fit.estimate else { continue };
                let z = e.statistic.abs();
                let naive_p = chisq::two_sided_normal(z);
                out.observations[*naive] = Some(Observation::estimate(z).with_p_value(naive_p));
                out.observations[*lau92] = Some(Observation::estimate(z).with_p_value(e.p_lau92.min(1.0)));
                out.observations[*lau94] = Some(Observation::estimate(z).with_p_value(e.p_lau94.min(1.0)));
                out.choices[*cut] = Choice::Value(e.cut_le);
            }
            Item::Screening(sc) => screening(sc, &data, cohort, &control, &os_fits, out),
            Item::Events { os, pfs } => {
                out.choices[*os] = Choice::Value(data.os.n_event() as f64);
                out.choices[*pfs] = Choice::Value(data.pfs.n_event() as f64);
            }
            Item::Table1 { tests } => {
                let strata = cohort.stratum();
                for &(j, categorical, pair) in tests {
                    present_into(cohort.column(j), &mut x, &mut rows);
                    let p = if categorical {
                        a.clear();
                        a.extend(rows.iter().map(|&i| strata[i] as f64));
                        crosstab_into(&a, &x, &mut counts).and_then(|(n_rows, n_cols)| {
                            tables::fisher_exact_counts(n_rows, n_cols, &counts, &fisher).p
                        })
                    } else {
                        g0.clear();
                        g1.clear();
                        for (&i, &v) in rows.iter().zip(&x) {
                            if strata[i] == 0 { g0.push(v) } else { g1.push(v) }
                        }
                        mann_whitney::rank_sum_test(&g0, &g1).p_default
                    };
                    out.observations[pair] = p.map(|p| Observation::estimate(p).with_p_value(p));
                }
            }
        }
    }
}

fn screening(
    sc: &ScreeningItem,
    data: &Endpoints,
    cohort: &Cohort,
    control: &CoxControl,
    fitted: &[(&[usize], CoxCoefficients)],
    out: &mut Replicate,
) {
    let sorted = data.cox(Endpoint::Os);
    let mut design = Design::default();
    // a model the estimands fitted already (the same columns in the same order: the same numbers)
    let fitted_for =
        |columns: &[usize]| fitted.iter().find(|(c, _)| *c == columns).map(|(_, fit)| Cow::Borrowed(fit));
    // the univariate fits by position in `sc.columns`: the estimands' where they fitted the same
    // model, the others fitted below (their binary columns tallied together, in column order)
    let mut fits: Vec<Option<Cow<CoxCoefficients>>> = sc.columns.iter().map(|&j| fitted_for(&[j])).collect();
    let columns: Vec<&[Option<f64>]> =
        sc.columns.iter().zip(&fits).filter(|(_, f)| f.is_none()).map(|(&j, _)| cohort.column(j)).collect();
    let mut unit = sorted.unit_tallies(&columns).into_iter();
    // the positions selected
    let mut chosen_at = Vec::new();
    for (k, &j) in sc.columns.iter().enumerate() {
        if fits[k].is_none() {
            let tallied = unit.next().flatten();
            fits[k] = cox_complete_cases(sorted, cohort, &[j], tallied, control, &mut design).map(Cow::Owned);
        }
        let fit = &fits[k];
        let o = fit.as_ref().map(|f| cox_observation(f, 0));
        let significant = o.is_some_and(|o| o.p_value.is_some_and(|p| p < sc.alpha));
        out.observations[sc.univariate[k]] = o;
        out.choices[sc.selected[k]] = Choice::Category(u32::from(significant));
        if significant {
            chosen_at.push(k);
        }
    }
    let chosen: Vec<usize> = chosen_at.iter().map(|&k| sc.columns[k]).collect();
    let n_false =
        sc.columns.iter().zip(&sc.null_effect).filter(|(j, null)| **null && chosen.contains(j)).count();
    out.choices[sc.n_selected] = Choice::Value(chosen.len() as f64);
    out.choices[sc.n_false] = Choice::Value(n_false as f64);
    out.choices[sc.any_false] = Choice::Category(u32::from(n_false > 0));
    let mut false_independent = false;
    let multivariate = match chosen_at.as_slice() {
        [] => None,
        // one column selected: the multivariate model is its univariate one, fitted above
        &[k] => fits[k].take(),
        _ => fitted_for(&chosen).or_else(|| {
            let tallied = sorted.complete_tally(chosen.len(), |i, k| cohort.column(chosen[k])[i]);
            cox_complete_cases(sorted, cohort, &chosen, tallied, control, &mut design).map(Cow::Owned)
        }),
    };
    if let Some(fit) = multivariate {
        for (m, (&k, &j)) in chosen_at.iter().zip(&chosen).enumerate() {
            let o = cox_observation(&fit, m);
            if sc.null_effect[k] && o.p_value.is_some_and(|p| p < sc.alpha) {
                false_independent = true;
            }
            if let Some(&(_, pair)) = sc.multivariate.iter().find(|(c, _)| *c == j) {
                out.observations[pair] = Some(o);
            }
        }
    }
    out.choices[sc.false_independent] = Choice::Category(u32::from(false_independent));
}

/// The survival outcomes of one cohort.
struct Endpoints {
    /// OS and PFS subjects are the cohort's rows.
    os: SurvivalData,
    pfs: SurvivalData,
    /// Time from progression to death, among patients with an observed progression (None if none).
    from_progression: Option<(SurvivalData, Vec<usize>)>,
    /// Each endpoint's data sorted for Cox fits, once per cohort (index: `Endpoint as usize`).
    cox: [OnceCell<CoxData>; 3],
}

impl Endpoints {
    fn new(c: &Cohort) -> Endpoints {
        let rows = filtered(c.len(), (0..c.len()).filter(|&i| c.time_from_progression()[i].is_some()));
        let from_progression = if rows.is_empty() {
            None
        } else {
            let t = rows.iter().filter_map(|&i| c.time_from_progression()[i]).collect();
            let e = rows.iter().map(|&i| c.os_event()[i]).collect();
            SurvivalData::new(t, e).ok().map(|d| (d, rows))
        };
        Endpoints {
            os: c.os_data(),
            pfs: c.pfs_data(),
            from_progression,
            cox: [OnceCell::new(), OnceCell::new(), OnceCell::new()],
        }
    }

    /// Endpoint `e`'s data sorted for Cox fits (sorted on first use; `e` must have data).
    fn cox(&self, e: Endpoint) -> &CoxData {
        self.cox[e as usize].get_or_init(|| match self.get(e) {
            Some(d) => CoxData::new(d),
            None => CoxData::new(&self.os),
        })
    }

    fn get(&self, e: Endpoint) -> Option<&SurvivalData> {
        match e {
            Endpoint::Os => Some(&self.os),
            Endpoint::Pfs => Some(&self.pfs),
            Endpoint::FromProgression => self.from_progression.as_ref().map(|(d, _)| d),
        }
    }

    /// Cohort row of each subject of endpoint `e`'s data.
    fn rows(&self, e: Endpoint, n: usize) -> Vec<usize> {
        match (e, &self.from_progression) {
            (Endpoint::FromProgression, Some((_, rows))) => rows.clone(),
            _ => (0..n).collect(),
        }
    }
}

/// Cox fit on the complete cases of `columns`: `tallied` when they were tallied
/// ([`CoxData::complete_tally`]), else laid out in `design`; subject i of the data `sorted` was
/// made from is the cohort's row i (as for OS). None when no fit is possible (no rows, no events, a
/// constant column): those replicates are missing for that estimand.
fn cox_complete_cases(
    sorted: &CoxData,
    cohort: &Cohort,
    columns: &[usize],
    tallied: Option<Tallied>,
    control: &CoxControl,
    design: &mut Design,
) -> Option<CoxCoefficients> {
    if let Some(tallied) = tallied {
        return Some(cox::fit_tallied(tallied, Ties::Efron, control));
    }
    sorted.complete_design(columns.len(), |i, k| cohort.column(columns[k])[i], design);
    if design.is_empty() || design.n_event() == 0 || !(0..columns.len()).all(|k| design.varies(k)) {
        return None;
    }
    cox::fit_design(design, Ties::Efron, control).ok()
}

/// Firth's penalised Cox (Breslow ties, as coxphf) on the first column: estimate, Wald SE, profile
/// penalised-likelihood interval and LR p. Flagged `Other` when a profile bound is not found. Also
/// the interval's ends with a bound beyond the search bracket as +-inf (None: not found).
fn firth_observation(cd: &CoxData, x: &[Vec<f64>]) -> Option<(Observation, [Option<f64>; 2])> {
    use cox::firth::{self, Bound, FirthControl, FirthTermination};
    let fit = firth::fit(cd, x, &FirthControl::coxphf_defaults()).ok()?;
    let end = |b: Bound, inf: f64| match b {
        Bound::Found(v) => Some(v),
        Bound::BeyondBracket => Some(inf),
        Bound::NotComputed | Bound::Failed => None,
    };
    let ends = match (end(fit.ci_lower[0], f64::NEG_INFINITY), end(fit.ci_upper[0], f64::INFINITY)) {
        (Some(l), Some(u)) => [Some(l), Some(u)],
        _ => [None, None],
    };
    let mut o = Observation::estimate(fit.coef[0]);
    if fit.se[0].is_finite() {
        o = o.with_se(fit.se[0]);
    }
    match (fit.ci_lower[0].value(), fit.ci_upper[0].value()) {
        (Some(l), Some(u)) => o = o.with_interval(l, u),
        _ => o = o.with_flag(DegenerateKind::Other),
    }
    if let Some(p) = fit.lr_test[0].p() {
        o = o.with_p_value(p);
    }
    let o = match fit.termination {
        FirthTermination::Converged => o,
        FirthTermination::MaxIterations => o.with_flag(DegenerateKind::NonConvergence),
        FirthTermination::Singular => o.with_flag(DegenerateKind::Other),
    };
    Some((o, ends))
}

/// The Cox estimate of the first column with its likelihood-ratio (profile-likelihood) interval
/// (Efron ties, as the fit): the fit's flags, plus `MonotoneLikelihood` when an end is infinite
/// (the interval then runs to +-inf) and `Other` when an end is not found (no interval).
fn lr_observation(cd: &CoxData, x: &[Vec<f64>], fit: &CoxCoefficients) -> Observation {
    use cox::profile::{self, Bound, ProfileControl};
    let wald = cox_observation(fit, 0);
    let o = Observation { flags: wald.flags, ..Observation::estimate(wald.estimate) };
    let Ok(ci) = profile::interval(cd, x, Ties::Efron, &fit.coef, 0, &ProfileControl::standard()) else {
        return o.with_flag(DegenerateKind::Other);
    };
    let o = match (ci.lower.end(false), ci.upper.end(true)) {
        (Some(l), Some(u)) => o.with_interval(l, u),
        _ => o.with_flag(DegenerateKind::Other),
    };
    if ci.lower == Bound::Infinite || ci.upper == Bound::Infinite {
        o.with_flag(DegenerateKind::MonotoneLikelihood)
    } else {
        o
    }
}

/// Kaplan–Meier restricted means to `tau` of the levels `groups` of `by` on `endpoint`, and their
/// difference (group 1 minus group 2) with SE sqrt(se1^2 + se2^2), Wald interval and two-sided p.
/// An empty group (or no data for the endpoint) gives estimate 0 flagged `EmptyGroup`; a zero SE
/// (no variance in either group) gives the point as its interval, no p, flagged `Other`.
fn rmst_diff_observation(
    data: &Endpoints,
    cohort: &Cohort,
    endpoint: Endpoint,
    by: GroupBy,
    groups: [usize; 2],
    tau: f64,
) -> (Observation, [Option<f64>; 2]) {
    let Some(d) = data.get(endpoint) else {
        return (Observation::estimate(0.0).with_flag(DegenerateKind::EmptyGroup), [None, None]);
    };
    let labels = group_labels(cohort, &data.rows(endpoint, d.len()), by);
    rmst_diff(d, &labels, groups, tau)
}

/// [`rmst_diff_observation`] on survival data `d` whose subject k is in group `labels[k]`.
fn rmst_diff(
    d: &SurvivalData,
    labels: &[Option<usize>],
    groups: [usize; 2],
    tau: f64,
) -> (Observation, [Option<f64>; 2]) {
    let empty = Observation::estimate(0.0).with_flag(DegenerateKind::EmptyGroup);
    let rmean = |g: usize| {
        let keep = filtered(labels.len(), (0..labels.len()).filter(|&k| labels[k] == Some(g)));
        if keep.is_empty() { None } else { km::fit(&d.subset(&keep)).rmean_to(tau) }
    };
    let (r1, r2) = (rmean(groups[0]), rmean(groups[1]));
    let means = [r1.map(|r| r.rmean), r2.map(|r| r.rmean)];
    let (Some(r1), Some(r2)) = (r1, r2) else { return (empty, means) };
    let diff = r1.rmean - r2.rmean;
    let se = r1.se.hypot(r2.se);
    let o = Observation::estimate(diff).with_se(se);
    if !(se > 0.0 && se.is_finite()) {
        return (o.with_interval(diff, diff).with_flag(DegenerateKind::Other), means);
    }
    let p = chisq::two_sided_normal(diff / se);
    (o.with_interval(diff - Z_975 * se, diff + Z_975 * se).with_p_value(p), means)
}

/// The group of each subject (`rows`: their cohort rows) by `by`; None where it is not defined
/// (no treatment after progression, a missing value).
fn group_labels(cohort: &Cohort, rows: &[usize], by: GroupBy) -> Vec<Option<usize>> {
    rows.iter()
        .map(|&i| match by {
            GroupBy::Stratum => Some(cohort.stratum()[i]),
            GroupBy::Treatment => cohort.treatment()[i],
            GroupBy::Column(j) => cohort.column(j)[i].map(|v| v as usize),
        })
        .collect()
}

/// The complete cases of `columns` as prepared Cox data and covariate columns; None when there are
/// no rows, no events or a constant column. `sorted` is `CoxData::new(d)`: the complete cases'
/// order is taken from it (no sort per model), and it is used as is when no row is dropped.
/// One pass over the subjects finds the complete cases, gathers their values, and notes whether
/// any of them died and whether each column varies.
fn complete_cases<'a>(
    d: &SurvivalData,
    sorted: &'a CoxData,
    cohort_rows: &[usize],
    cohort: &Cohort,
    columns: &[usize],
) -> Option<(Cow<'a, CoxData>, Vec<Vec<f64>>)> {
    let n = d.len();
    let cols: Vec<&[Option<f64>]> = columns.iter().map(|&j| cohort.column(j)).collect();
    let complete = |c: &&[Option<f64>]| cohort_rows.iter().all(|&i| c[i].is_some());
    if cols.iter().all(complete) {
        // every subject is a complete case (most models): the sorted data as they are
        let x: Vec<Vec<f64>> =
            cols.iter().map(|c| cohort_rows.iter().map(|&i| c[i].unwrap_or(0.0)).collect()).collect();
        let varies = |col: &Vec<f64>| col.iter().any(|&v| v != col[0]);
        return (n > 0 && sorted.n_event() > 0 && x.iter().all(varies)).then_some((Cow::Borrowed(sorted), x));
    }
    let mut x: Vec<Vec<f64>> = columns.iter().map(|_| Vec::with_capacity(n)).collect();
    let mut new_idx = vec![usize::MAX; n];
    let mut n_kept = 0;
    let mut any_event = false;
    for (k, (&i, &event)) in cohort_rows.iter().zip(d.event()).enumerate() {
        if cols.iter().all(|c| c[i].is_some()) {
            for (xc, c) in x.iter_mut().zip(&cols) {
                xc.push(c[i].unwrap_or(0.0));
            }
            new_idx[k] = n_kept;
            n_kept += 1;
            any_event |= event;
        }
    }
    if n_kept == 0 || !any_event || x.iter().any(|col| col.iter().all(|&v| v == col[0])) {
        return None;
    }
    let cd = if n_kept == n {
        Cow::Borrowed(sorted)
    } else {
        Cow::Owned(sorted.restrict_mapped(&new_idx, n_kept))
    };
    Some((cd, x))
}

/// Coefficient `k` of a Cox fit on the log-HR scale, Wald SE, interval and p, with its flags.
fn cox_observation(fit: &CoxCoefficients, k: usize) -> Observation {
    let (b, se) = (fit.coef[k], fit.se[k]);
    let mut o = Observation::estimate(b);
    if se.is_finite() {
        o = o.with_se(se).with_interval(b - Z_975 * se, b + Z_975 * se);
    }
    if fit.p[k].is_finite() {
        o = o.with_p_value(fit.p[k]);
    }
    match fit.termination {
        Termination::Converged if fit.aliased[k] => o.with_flag(DegenerateKind::Other),
        Termination::Converged => o,
        Termination::MaxIterations => o.with_flag(DegenerateKind::NonConvergence),
        Termination::MonotoneLikelihood => o.with_flag(DegenerateKind::MonotoneLikelihood),
    }
}

fn logrank_observation(
    data: &Endpoints,
    cohort: &Cohort,
    endpoint: Endpoint,
    by: GroupBy,
) -> Option<Observation> {
    let d = data.get(endpoint)?;
    let labels = group_labels(cohort, &data.rows(endpoint, d.len()), by);
    let keep = filtered(labels.len(), (0..labels.len()).filter(|&k| labels[k].is_some()));
    let sub = d.subset(&keep);
    let mut levels = filtered(keep.len(), keep.iter().filter_map(|&k| labels[k]));
    levels.sort_unstable();
    levels.dedup();
    let group: Vec<usize> =
        keep.iter().map(|&k| levels.binary_search(&labels[k].unwrap_or(0)).unwrap_or(0)).collect();
    if levels.len() < 2 {
        return Some(Observation::estimate(0.0).with_flag(DegenerateKind::EmptyGroup));
    }
    let t = logrank::test(&sub, &group, levels.len(), 0.0);
    match (t.chisq, t.p, &t.degenerate) {
        (Some(c), Some(p), None) => Some(Observation::estimate(c).with_p_value(p)),
        (c, p, deg) => {
            let kind = match deg {
                Some(logrank::Degenerate::NoEvents) => DegenerateKind::NoEvents,
                Some(logrank::Degenerate::EmptyGroup { .. }) => DegenerateKind::EmptyGroup,
                _ => DegenerateKind::Other,
            };
            let mut o = Observation::estimate(c.unwrap_or(0.0)).with_flag(kind);
            if let Some(p) = p {
                o = o.with_p_value(p);
            }
            Some(o)
        }
    }
}

/// R's `table(factor(a), factor(b))` of two numeric vectors (levels sorted numerically, numerically
/// equal values one level), row-major into `counts`, as (rows, columns); None if the lengths
/// differ. Labels are not built (the tests do not need them): the counts are those of
/// `ContingencyTable::from_factors` on `Factor::from_labels` of the values' decimal spellings,
/// which is the path taken when a value is not finite.
fn crosstab_into(a: &[f64], b: &[f64], counts: &mut Vec<u64>) -> Option<(usize, usize)> {
    if a.len() != b.len() {
        return None;
    }
    counts.clear();
    // level codes and stratum indices: small non-negative integers, counted in one pass in a
    // dense table (a row per code of `a` up to the largest seen, `SMALL_CODES` columns) whose
    // empty rows and columns (the values that do not occur) are then dropped; any other value
    // and the general path below counts afresh
    let code = |v: f64| {
        let k = v as i32; // (a cheaper conversion than to usize)
        (k as f64 == v && (0..SMALL_CODES).contains(&k)).then_some(k as usize)
    };
    let (mut rows, mut cols) = (0u64, 0u64);
    let stride = SMALL_CODES as usize;
    let dense = a.iter().zip(b).all(|(&u, &v)| {
        let (Some(i), Some(j)) = (code(u), code(v)) else { return false };
        if (i + 1) * stride > counts.len() {
            counts.resize((i + 1) * stride, 0);
        }
        counts[i * stride + j] += 1;
        rows |= 1 << i;
        cols |= 1 << j;
        true
    });
    if dense {
        // in place: a kept cell moves to an index no larger than its own
        let (n_a, n_b) = (64 - rows.leading_zeros() as usize, 64 - cols.leading_zeros() as usize);
        let mut kept = 0;
        for i in (0..n_a).filter(|i| (rows >> i) & 1 == 1) {
            for j in (0..n_b).filter(|j| (cols >> j) & 1 == 1) {
                counts[kept] = counts[i * stride + j];
                kept += 1;
            }
        }
        counts.truncate(kept);
        return Some((rows.count_ones() as usize, cols.count_ones() as usize));
    }
    counts.clear();
    if a.iter().chain(b).any(|v| !v.is_finite()) {
        let labels = |v: &[f64]| Factor::from_labels(&v.iter().map(|v| v.to_string()).collect::<Vec<_>>());
        let t = tables::ContingencyTable::from_factors(&labels(a), &labels(b)).ok()?;
        counts.extend(t.rows().concat());
        return Some((t.n_rows(), t.n_cols()));
    }
    // distinct values by a scan (a categorical column has few), then sorted; a column with many
    // values is sorted whole instead
    let levels = |v: &[f64]| {
        let mut l = Vec::with_capacity(8);
        for &x in v {
            if !l.contains(&x) {
                if l.len() == 32 {
                    l = v.to_vec();
                    l.sort_by(f64::total_cmp);
                    l.dedup_by(|x, y| x == y);
                    return l;
                }
                l.push(x);
            }
        }
        l.sort_by(f64::total_cmp);
        l
    };
    let (la, lb) = (levels(a), levels(b));
    let code = |l: &[f64], v: f64| l.iter().position(|m| *m == v).unwrap_or(0);
    counts.resize(la.len() * lb.len(), 0);
    for (&u, &v) in a.iter().zip(b) {
        counts[code(&la, u) * lb.len() + code(&lb, v)] += 1;
    }
    Some((la.len(), lb.len()))
}

/// `crosstab_into` counts values 0, 1, .., `SMALL_CODES - 1` (bits of a u64) without sorting.
const SMALL_CODES: i32 = 64;

/// The present values of a column into `x` and their row indices into `rows` (both cleared first).
fn present_into(col: &[Option<f64>], x: &mut Vec<f64>, rows: &mut Vec<usize>) {
    x.clear();
    rows.clear();
    for (i, v) in col.iter().enumerate() {
        if let Some(v) = v {
            x.push(*v);
            rows.push(i);
        }
    }
}

/// `iter.collect()` into a vector allocated once for at most `max` items (a filtered collect
/// otherwise grows, and reallocates, from nothing: a dozen times per model at n = 53).
fn filtered<T>(max: usize, iter: impl Iterator<Item = T>) -> Vec<T> {
    let mut v = Vec::with_capacity(max);
    v.extend(iter);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn rmst_diff_by_hand() {
        // Group 0: times 1, 2+, 3, 4 (+ censored). KM: S = 3/4 from 1, 3/8 from 3, 0 from 4.
        //   RMST(5) = 1 + 2 (3/4) + 1 (3/8) + 1 (0) = 2.875.
        //   Var = A(1)^2 d/(n(n-d)) + A(3)^2 d/(n(n-d)) with A(t) = area from t to 5:
        //       = 1.875^2 / (4 * 3) + 0.375^2 / (2 * 1) = 0.29296875 + 0.0703125 = 0.36328125
        //   (the death at 4 empties the risk set: no term).
        // Group 2: times 2, 6+. S = 1/2 from 2. RMST(5) = 2 + 3 (1/2) = 3.5; Var = 1.5^2 / 2 = 1.125.
        // Subjects of group 1 and without a group are ignored.
        let d = SurvivalData::new(
            vec![1.0, 2.0, 3.0, 4.0, 2.0, 6.0, 0.5, 0.7],
            vec![true, false, true, true, true, false, true, true],
        )
        .unwrap();
        let labels = [Some(0), Some(0), Some(0), Some(0), Some(2), Some(2), Some(1), None];
        let (o, means) = rmst_diff(&d, &labels, [0, 2], 5.0);
        assert!(close(means[0].unwrap(), 2.875) && close(means[1].unwrap(), 3.5), "{means:?}");
        let se = (0.36328125f64 + 1.125).sqrt();
        assert!(close(o.estimate, -0.625) && close(o.se.unwrap(), se), "{o:?}");
        assert!(close(o.lower.unwrap(), -0.625 - Z_975 * se) && close(o.upper.unwrap(), -0.625 + Z_975 * se));
        // p = P(chi2_1 > (0.625 / se)^2)
        assert!(close(o.p_value.unwrap(), chisq::two_sided_normal(0.625 / se)));
        // R: 2 * pnorm(-0.625 / sqrt(1.48828125))
        assert!(close(o.p_value.unwrap(), 0.6084302053095105));
        assert!(!o.flags.is_degenerate());
        // tau = 8 beyond group 2's last time (6, censored): its curve stays at 1/2, RMST 2 + 6/2 = 5;
        // group 0 reached 0 at 4: still 2.875
        let (o, means) = rmst_diff(&d, &labels, [2, 0], 8.0);
        assert!(close(means[0].unwrap(), 5.0) && close(means[1].unwrap(), 2.875), "{means:?}");
        assert!(close(o.estimate, 2.125));
    }

    #[test]
    fn rmst_diff_empty_or_constant_groups_are_flagged_never_nan() {
        let d = SurvivalData::new(vec![1.0, 2.0, 3.0], vec![true, false, false]).unwrap();
        let (o, means) = rmst_diff(&d, &[Some(0), Some(0), None], [0, 1], 5.0);
        assert!(o.flags.contains(DegenerateKind::EmptyGroup) && o.estimate == 0.0, "{o:?}");
        assert!(means[0].is_some() && means[1].is_none());
        // no deaths before tau in either group: both RMSTs are tau, SE 0
        let (o, _) = rmst_diff(&d, &[Some(1), Some(0), Some(1)], [0, 1], 0.5);
        assert!(o.flags.contains(DegenerateKind::Other) && o.estimate == 0.0 && o.p_value.is_none(), "{o:?}");
        assert_eq!((o.lower, o.upper), (Some(0.0), Some(0.0)));
    }

    #[test]
    fn crosstab_counts_as_r_table_of_factors() {
        // table(factor(a), factor(b)): levels sorted numerically; checked against the factor path
        // (text labels) for few levels, codes that skip values, more than 32 levels (as codes
        // below 64 and as larger values), -0 equal to 0, and non-integer values
        let cases: Vec<(Vec<f64>, Vec<f64>)> = vec![
            (vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.0], vec![2.0, 0.0, 1.0, 2.0, 0.0, 0.0]),
            (vec![0.0, 5.0, 2.0, 5.0, 63.0], vec![3.0, 1.0, 1.0, 3.0, 3.0]),
            ((0..100).map(|i| (i % 2) as f64).collect(), (0..100).map(|i| ((i * 7) % 41) as f64).collect()),
            ((0..100).map(|i| (i % 3) as f64).collect(), (0..100).map(|i| ((i * 7) % 90) as f64).collect()),
            (vec![0.0, 1.0, 1.0, 0.0], vec![-0.0, 0.0, 3.0, 3.0]),
            (vec![0.0, 1.0, 1.0, 0.0], vec![-0.0, 0.0, 3.5, 3.5]),
        ];
        let mut counts = Vec::new();
        for (a, b) in cases {
            let (n_rows, n_cols) = crosstab_into(&a, &b, &mut counts).unwrap();
            let labels = |v: &[f64]| {
                // R's factor of numbers: levels in numeric order, -0 printed as 0
                Factor::from_labels(&v.iter().map(|v| format!("{:08.2}", v.abs())).collect::<Vec<_>>())
            };
            let r = tables::ContingencyTable::from_factors(&labels(&a), &labels(&b)).unwrap();
            assert_eq!((n_rows, n_cols), (r.n_rows(), r.n_cols()));
            assert_eq!(counts, r.rows().concat());
        }
    }
}
