//! True values of the estimands of a scenario, for the reliability study to compare against.
//!
//! ```text
//! S_os(t)  = sum_s w_s E[exp(-H0_os(t) e^{eta_os}) | s]
//! S_pfs(t) = sum_s w_s E[exp(-H0_os(t) e^{eta_os} - H0_prog(t) e^{eta_prog}) | s]
//! RMST(tau) = int_0^tau S(t) dt                       (composite Simpson, split at hazard kinks)
//! ```
//! Exact (`TruthMethod::Exact`) when every covariate with an effect has a finite distribution
//! within each stratum (binary, categorical, an indicator of a level set, a threshold of a
//! covariate whose law has a closed-form CDF, or of the stratum), no two effects share a source,
//! none is `given` another covariate, and no treatment has time_ratio != 1. Otherwise
//! (`TruthMethod::Simulation`) S(t) and RMST are means over `n_large` simulated patients without
//! censoring, in `n_batches` equal batches; the Monte Carlo error is sd(batch means)/sqrt(batches).
//!
//! Large-sample limits that have no formula are simulated the same way (batches of complete,
//! latent-valued patients with the scenario's follow-up; a batch holds only the columns read,
//! `generate_size_plain`):
//! - univariate Cox log-HR of a covariate: each batch solves the Cox score equation
//!   sum_events [x_i - S1(t_i)/S0(t_i)] = 0 by Newton's method; the limit is the batch mean.
//!   It differs from the conditional log-HR when other covariates act (non-collapsibility).
//! - AUC of a marker for "death observed during follow-up" (os_event = 1 vs 0, as the paper's ROC
//!   of 16 deaths and 37 others): AUC = P(M_D > M_N) + P(M_D = M_N)/2; Youden cut c maximises
//!   P(M_D > c) + P(M_N <= c) - 1 over observed values (positive: marker > c).

use rand::Rng;
use serde::Serialize;

use super::{Cohort, LargeSample, generate_size_plain};
use crate::scenario::{Endpoint, EstimandKind, Hazard, Rule, Sampler, Scenario, Source};

/// What `truth` computes and how much simulation it may use.
#[derive(Debug, Clone, PartialEq)]
pub struct TruthControl {
    /// Times of S(t).
    pub times: Vec<f64>,
    /// Restriction time of the RMST.
    pub tau: f64,
    /// Simulated patients for large-sample limits (>= 10^6 in the issue's definition).
    pub n_large: usize,
    /// Equal batches of `n_large` (their spread gives the Monte Carlo error).
    pub n_batches: usize,
}

impl TruthControl {
    /// S(12), S(36), S(60), RMST(60); 10^6 patients in 10 batches (issue 3, "True estimands").
    pub fn issue3() -> TruthControl {
        TruthControl { times: vec![12.0, 36.0, 60.0], tau: 60.0, n_large: 1_000_000, n_batches: 10 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TruthMethod {
    Exact,
    Simulation,
}

/// Marginal survival of one endpoint (population or one stratum).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarginalTruth {
    pub times: Vec<f64>,
    pub surv: Vec<f64>,
    pub tau: f64,
    pub rmst: f64,
    /// Monte Carlo standard errors (zero when exact).
    pub surv_mc_se: Vec<f64>,
    pub rmst_mc_se: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnivariateCoxTruth {
    pub covariate: String,
    pub endpoint: String,
    pub log_hr: f64,
    pub hr: f64,
    pub log_hr_mc_se: f64,
    pub conditional_log_hr: f64,
    pub n_patients: usize,
    pub n_batches: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RocTruth {
    pub marker: String,
    pub outcome: String,
    pub auc: f64,
    pub auc_mc_se: f64,
    /// Youden cut of the pooled batches (positive: marker > cut) with its sensitivity/specificity.
    pub youden_cut: f64,
    pub sensitivity: f64,
    pub specificity: f64,
    /// Each batch's own cut (their spread shows how well determined the cut is).
    pub cut_by_batch: Vec<f64>,
    pub n_patients: usize,
}

/// Conditional effect of one characteristic column.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConditionalEffect {
    pub column: String,
    pub os_log_hr: f64,
    pub progression_log_hr: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StratumTruth {
    pub stratum: String,
    pub os: MarginalTruth,
    pub pfs: MarginalTruth,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Truth {
    pub scenario: String,
    pub method: TruthMethod,
    pub os: MarginalTruth,
    pub pfs: MarginalTruth,
    pub by_stratum: Vec<StratumTruth>,
    pub conditional: Vec<ConditionalEffect>,
    /// For every univariate `cox_hr` estimand of `[analysis]`.
    pub univariate_cox: Vec<UnivariateCoxTruth>,
    /// For every `youden_cut` estimand of `[analysis]`.
    pub roc: Vec<RocTruth>,
}

/// The true estimands of a scenario. Simulated parts use `rng` (give it a fixed seed).
pub fn truth<R: Rng + ?Sized>(s: &Scenario, control: &TruthControl, rng: &mut R) -> Truth {
    let n_batches = control.n_batches.max(2);
    let batch_n = (control.n_large / n_batches).max(100);
    let exact = exact_atoms(s);
    let method = if exact.is_some() { TruthMethod::Exact } else { TruthMethod::Simulation };

    let os_log_hr = s.os_log_hr();
    let prog_log_hr = s.progression_log_hr();
    let conditional = s
        .column_names()
        .iter()
        .enumerate()
        .map(|(j, name)| ConditionalEffect {
            column: name.clone(),
            os_log_hr: os_log_hr[j],
            progression_log_hr: prog_log_hr[j],
        })
        .collect();

    // Simulated batches: complete latent values, the scenario's follow-up.
    let cox_items: Vec<(usize, Endpoint)> = s
        .analysis
        .estimands
        .iter()
        .filter_map(|e| match &e.kind {
            EstimandKind::CoxHr { endpoint, covariate, adjust } if adjust.is_empty() => {
                Some((*covariate, *endpoint))
            }
            _ => None,
        })
        .collect();
    let roc_items: Vec<usize> = s
        .analysis
        .estimands
        .iter()
        .filter_map(|e| match &e.kind {
            EstimandKind::YoudenCut { marker } => Some(*marker),
            _ => None,
        })
        .collect();
    let need_sim = exact.is_none() || !cox_items.is_empty() || !roc_items.is_empty();
    // Batches hold only the columns these computations read (memory: issue 6).
    let read: Vec<usize> = cox_items.iter().map(|&(col, _)| col).chain(roc_items.iter().copied()).collect();
    let mut cox_batches = vec![Vec::new(); cox_items.len()];
    let mut roc_batches: Vec<Vec<Roc>> = vec![Vec::new(); roc_items.len()];
    let n_strata = s.strata.len();
    let mut sim_batches: Vec<(MarginalSums, MarginalSums)> = Vec::new();
    if need_sim {
        for _ in 0..n_batches {
            let batch = generate_size_plain(s, batch_n, &read, rng);
            for (k, &(col, ep)) in cox_items.iter().enumerate() {
                cox_batches[k].push(univariate_cox(&batch, col, ep));
            }
            for (k, &m) in roc_items.iter().enumerate() {
                roc_batches[k].push(roc(&batch, m));
            }
            if exact.is_none() {
                // Uncensored times from a second, censoring-free batch.
                let mut uncensored = s.clone();
                for c in &mut uncensored.censoring {
                    *c = crate::scenario::Censoring::None;
                }
                let batch = generate_size_plain(&uncensored, batch_n, &[], rng);
                sim_batches.push(marginal_sums(&batch.cohort, n_strata, control));
            }
        }
    }

    let (os, pfs, by_stratum) = match &exact {
        Some(atoms) => {
            let w = s.strata.weights();
            let all: Vec<Atom> = atoms
                .iter()
                .zip(&w)
                .flat_map(|(a, &ws)| a.iter().map(move |x| Atom { prob: x.prob * ws, ..*x }))
                .collect();
            let by = s
                .strata
                .names
                .iter()
                .zip(atoms)
                .map(|(name, a)| StratumTruth {
                    stratum: name.clone(),
                    os: exact_marginal(s, a, false, control),
                    pfs: exact_marginal(s, a, true, control),
                })
                .collect();
            (exact_marginal(s, &all, false, control), exact_marginal(s, &all, true, control), by)
        }
        None => {
            let os = batch_marginal(&sim_batches, |b| &b.0, None, control);
            let pfs = batch_marginal(&sim_batches, |b| &b.1, None, control);
            let by = (0..n_strata)
                .map(|k| StratumTruth {
                    stratum: s.strata.names[k].clone(),
                    os: batch_marginal(&sim_batches, |b| &b.0, Some(k), control),
                    pfs: batch_marginal(&sim_batches, |b| &b.1, Some(k), control),
                })
                .collect();
            (os, pfs, by)
        }
    };

    let univariate_cox = cox_items
        .iter()
        .zip(&cox_batches)
        .map(|(&(col, ep), b)| {
            let (mean, se) = mean_se(b);
            UnivariateCoxTruth {
                covariate: s.column_names()[col].clone(),
                endpoint: endpoint_name(ep).into(),
                log_hr: mean,
                hr: mean.exp(),
                log_hr_mc_se: se,
                conditional_log_hr: if ep == Endpoint::Os { os_log_hr[col] } else { f64::NAN },
                n_patients: batch_n * n_batches,
                n_batches,
            }
        })
        .collect();
    let roc = roc_items.iter().zip(&roc_batches).map(|(&m, b)| roc_truth(s, m, b, batch_n)).collect();

    Truth { scenario: s.id.clone(), method, os, pfs, by_stratum, conditional, univariate_cox, roc }
}

fn endpoint_name(e: Endpoint) -> &'static str {
    match e {
        Endpoint::Os => "os",
        Endpoint::Pfs => "pfs",
        Endpoint::FromProgression => "from_progression",
    }
}

fn mean_se(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let v = x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, (v / n).sqrt())
}

// ---------- exact marginal survival ----------

/// One point of the joint distribution of (eta_os, eta_prog) within a stratum.
#[derive(Debug, Clone, Copy)]
struct Atom {
    prob: f64,
    eta_os: f64,
    eta_prog: f64,
}

/// Per stratum, the finite distribution of the linear predictors; None if not exact.
fn exact_atoms(s: &Scenario) -> Option<Vec<Vec<Atom>>> {
    if s.after_progression.as_ref().is_some_and(|a| a.options.iter().any(|o| o.time_ratio != 1.0)) {
        return None;
    }
    let os_b = s.os_log_hr();
    let pr_b = s.progression_log_hr();
    let cols: Vec<usize> = (0..s.n_columns()).filter(|&j| os_b[j] != 0.0 || pr_b[j] != 0.0).collect();
    // Distinct sources (independence within stratum).
    let n_cov = s.covariates.len();
    let mut sources: Vec<Option<usize>> = Vec::new();
    for &j in &cols {
        let src = if j < n_cov {
            Some(j)
        } else {
            match s.derived[j - n_cov].source {
                Source::Column(k) => Some(k),
                Source::Stratum => None,
            }
        };
        if let Some(k) = src {
            if sources.contains(&Some(k)) || s.covariates[k].given.is_some() {
                return None;
            }
            sources.push(Some(k));
        }
    }
    let mut out = Vec::new();
    for st in 0..s.strata.len() {
        let mut atoms = vec![Atom { prob: 1.0, eta_os: 0.0, eta_prog: 0.0 }];
        for &j in &cols {
            let dist = column_distribution(s, j, st)?;
            let mut next = Vec::with_capacity(atoms.len() * dist.len());
            for a in &atoms {
                for &(v, p) in &dist {
                    if p > 0.0 {
                        next.push(Atom {
                            prob: a.prob * p,
                            eta_os: a.eta_os + os_b[j] * v,
                            eta_prog: a.eta_prog + pr_b[j] * v,
                        });
                    }
                }
            }
            atoms = next;
        }
        out.push(atoms);
    }
    Some(out)
}

/// Finite distribution (value, probability) of column j in stratum st; not applicable -> value 0.
fn column_distribution(s: &Scenario, j: usize, st: usize) -> Option<Vec<(f64, f64)>> {
    let n_cov = s.covariates.len();
    if j < n_cov {
        return match &s.covariates[j].samplers[st] {
            Sampler::Continuous(_) => None,
            other => Some(column_distribution_of_sampler(other)),
        };
    }
    let d = &s.derived[j - n_cov];
    match d.source {
        Source::Stratum => Some(vec![(d.rule.apply(st as f64).unwrap_or(0.0), 1.0)]),
        Source::Column(k) => match &s.covariates[k].samplers[st] {
            Sampler::Continuous(cs) => {
                let p1 = match d.rule {
                    Rule::Gt(c) => 1.0 - cs.cdf(c),
                    Rule::Ge(c) => 1.0 - cs.cdf_below(c),
                    Rule::Lt(c) => cs.cdf_below(c),
                    Rule::Le(c) => cs.cdf(c),
                    Rule::Levels { .. } => return None,
                };
                Some(vec![(0.0, 1.0 - p1), (1.0, p1)])
            }
            other => {
                let src = column_distribution_of_sampler(other);
                let mut acc = [0.0, 0.0];
                for (v, p) in src {
                    match d.rule.apply(v) {
                        Some(1.0) => acc[1] += p,
                        _ => acc[0] += p, // 0 or not applicable: contributes 0 either way
                    }
                }
                Some(vec![(0.0, acc[0]), (1.0, acc[1])])
            }
        },
    }
}

fn column_distribution_of_sampler(sm: &Sampler) -> Vec<(f64, f64)> {
    match sm {
        Sampler::Binary { p } => vec![(0.0, 1.0 - p), (1.0, *p)],
        Sampler::Categorical { cumulative } => {
            let mut prev = 0.0;
            cumulative
                .iter()
                .enumerate()
                .map(|(k, &c)| {
                    let p = c - prev;
                    prev = c;
                    (k as f64, p)
                })
                .collect()
        }
        Sampler::Continuous(_) => Vec::new(),
    }
}

fn exact_surv(s: &Scenario, atoms: &[Atom], pfs: bool, t: f64) -> f64 {
    let h_os = s.os.baseline.cumhaz(t);
    let h_pr = if pfs { s.progression.as_ref().map_or(0.0, |p: &Hazard| p.baseline.cumhaz(t)) } else { 0.0 };
    let total: f64 = atoms.iter().map(|a| a.prob).sum();
    atoms.iter().map(|a| a.prob * (-h_os * a.eta_os.exp() - h_pr * a.eta_prog.exp()).exp()).sum::<f64>()
        / total
}

/// Simpson intervals per smooth piece of the integrand.
const SIMPSON_INTERVALS: usize = 4000;

fn exact_marginal(s: &Scenario, atoms: &[Atom], pfs: bool, control: &TruthControl) -> MarginalTruth {
    let surv: Vec<f64> = control.times.iter().map(|&t| exact_surv(s, atoms, pfs, t)).collect();
    let mut knots: Vec<f64> = vec![0.0];
    let mut kinks: Vec<f64> = s.os.baseline.kinks().to_vec();
    if pfs && let Some(p) = &s.progression {
        kinks.extend_from_slice(p.baseline.kinks());
    }
    kinks.sort_by(f64::total_cmp);
    knots.extend(kinks.into_iter().filter(|&k| k > 0.0 && k < control.tau));
    knots.push(control.tau);
    let mut rmst = 0.0;
    for w in knots.windows(2) {
        let (a, b) = (w[0], w[1]);
        let h = (b - a) / SIMPSON_INTERVALS as f64;
        let mut acc = exact_surv(s, atoms, pfs, a) + exact_surv(s, atoms, pfs, b);
        for i in 1..SIMPSON_INTERVALS {
            let coef = if i % 2 == 1 { 4.0 } else { 2.0 };
            acc += coef * exact_surv(s, atoms, pfs, a + i as f64 * h);
        }
        rmst += acc * h / 3.0;
    }
    MarginalTruth {
        times: control.times.clone(),
        surv,
        tau: control.tau,
        rmst,
        surv_mc_se: vec![0.0; control.times.len()],
        rmst_mc_se: 0.0,
    }
}

// ---------- simulated marginal survival ----------

/// Per stratum (and pooled, last): counts of T > t per time, sum of min(T, tau), n.
#[derive(Debug, Clone)]
struct MarginalSums {
    above: Vec<Vec<f64>>,
    rmst_sum: Vec<f64>,
    n: Vec<f64>,
}

fn marginal_sums(c: &Cohort, n_strata: usize, control: &TruthControl) -> (MarginalSums, MarginalSums) {
    let mk = || MarginalSums {
        above: vec![vec![0.0; control.times.len()]; n_strata + 1],
        rmst_sum: vec![0.0; n_strata + 1],
        n: vec![0.0; n_strata + 1],
    };
    let (mut os, mut pfs) = (mk(), mk());
    for i in 0..c.len() {
        for (m, t) in [(&mut os, c.os_time[i]), (&mut pfs, c.pfs_time[i])] {
            for g in [c.stratum[i], n_strata] {
                for (k, &at) in control.times.iter().enumerate() {
                    if t > at {
                        m.above[g][k] += 1.0;
                    }
                }
                m.rmst_sum[g] += t.min(control.tau);
                m.n[g] += 1.0;
            }
        }
    }
    (os, pfs)
}

fn batch_marginal<F>(
    batches: &[(MarginalSums, MarginalSums)],
    pick: F,
    stratum: Option<usize>,
    control: &TruthControl,
) -> MarginalTruth
where
    F: Fn(&(MarginalSums, MarginalSums)) -> &MarginalSums,
{
    let g = |m: &MarginalSums| stratum.unwrap_or(m.n.len() - 1);
    let mut surv = Vec::new();
    let mut surv_se = Vec::new();
    for k in 0..control.times.len() {
        let v: Vec<f64> = batches
            .iter()
            .map(|b| {
                let m = pick(b);
                m.above[g(m)][k] / m.n[g(m)]
            })
            .collect();
        let (mean, se) = mean_se(&v);
        surv.push(mean);
        surv_se.push(se);
    }
    let v: Vec<f64> = batches
        .iter()
        .map(|b| {
            let m = pick(b);
            m.rmst_sum[g(m)] / m.n[g(m)]
        })
        .collect();
    let (rmst, rmst_se) = mean_se(&v);
    MarginalTruth {
        times: control.times.clone(),
        surv,
        tau: control.tau,
        rmst,
        surv_mc_se: surv_se,
        rmst_mc_se: rmst_se,
    }
}

// ---------- univariate Cox limit ----------

/// Newton–Raphson on the univariate Cox partial likelihood (Breslow; continuous times).
fn univariate_cox(b: &LargeSample, col: usize, ep: Endpoint) -> f64 {
    let c = &b.cohort;
    let mut rows: Vec<(f64, bool, f64)> = (0..c.len())
        .filter_map(|i| {
            let xi = b.value(col, i)?;
            match ep {
                Endpoint::Os => Some((c.os_time[i], c.os_event[i], xi)),
                Endpoint::Pfs => Some((c.pfs_time[i], c.pfs_event[i], xi)),
                Endpoint::FromProgression => c.time_from_progression[i].map(|t| (t, c.os_event[i], xi)),
            }
        })
        .collect();
    // Descending time; at tied times events come after censorings so that risk sets include them.
    rows.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut beta = 0.0;
    for _ in 0..50 {
        let (mut s0, mut s1, mut s2) = (0.0, 0.0, 0.0);
        let (mut u, mut info) = (0.0, 0.0);
        let mut idx = 0;
        while idx < rows.len() {
            // Add everyone tied at this time to the risk set, then score their events.
            let t = rows[idx].0;
            let start = idx;
            while idx < rows.len() && rows[idx].0 == t {
                let (_, _, xi) = rows[idx];
                let r = (beta * xi).exp();
                s0 += r;
                s1 += r * xi;
                s2 += r * xi * xi;
                idx += 1;
            }
            for &(_, ev, xi) in &rows[start..idx] {
                if ev {
                    let m = s1 / s0;
                    u += xi - m;
                    info += s2 / s0 - m * m;
                }
            }
        }
        if info.is_nan() || info <= 0.0 {
            return f64::NAN;
        }
        let step = u / info;
        beta += step.clamp(-5.0, 5.0);
        if step.abs() < 1e-12 {
            break;
        }
    }
    beta
}

// ---------- ROC ----------

/// Counts by distinct marker value (ascending): (value, deaths, others).
#[derive(Debug, Clone)]
struct Roc {
    groups: Vec<(f64, f64, f64)>,
}

fn roc(b: &LargeSample, marker: usize) -> Roc {
    let c = &b.cohort;
    let mut v: Vec<(f64, bool)> =
        (0..c.len()).filter_map(|i| b.value(marker, i).map(|x| (x, c.os_event[i]))).collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut groups: Vec<(f64, f64, f64)> = Vec::new();
    for (x, d) in v {
        match groups.last_mut() {
            Some(g) if g.0 == x => {
                if d {
                    g.1 += 1.0
                } else {
                    g.2 += 1.0
                }
            }
            _ => groups.push((x, f64::from(u8::from(d)), f64::from(u8::from(!d)))),
        }
    }
    // Kept for every batch and marker until the end: no spare capacity.
    groups.shrink_to_fit();
    Roc { groups }
}

impl Roc {
    fn auc(&self) -> f64 {
        let nd: f64 = self.groups.iter().map(|g| g.1).sum();
        let nn: f64 = self.groups.iter().map(|g| g.2).sum();
        let mut below_n = 0.0;
        let mut acc = 0.0;
        for &(_, d, o) in &self.groups {
            acc += d * below_n + 0.5 * d * o;
            below_n += o;
        }
        acc / (nd * nn)
    }

    /// (cut, sensitivity, specificity) maximising J; ties: the smallest cut.
    fn youden(&self) -> (f64, f64, f64) {
        let nd: f64 = self.groups.iter().map(|g| g.1).sum();
        let nn: f64 = self.groups.iter().map(|g| g.2).sum();
        let (mut d_le, mut n_le) = (0.0, 0.0);
        let mut best = (f64::NAN, 0.0, 0.0, f64::NEG_INFINITY);
        for &(x, d, o) in &self.groups {
            d_le += d;
            n_le += o;
            let (sens, spec) = ((nd - d_le) / nd, n_le / nn);
            if sens + spec - 1.0 > best.3 + 1e-12 {
                best = (x, sens, spec, sens + spec - 1.0);
            }
        }
        (best.0, best.1, best.2)
    }

    fn merge(rocs: &[Roc]) -> Roc {
        let mut all: Vec<(f64, f64, f64)> = rocs.iter().flat_map(|r| r.groups.iter().copied()).collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut groups: Vec<(f64, f64, f64)> = Vec::new();
        for g in all {
            match groups.last_mut() {
                Some(h) if h.0 == g.0 => {
                    h.1 += g.1;
                    h.2 += g.2;
                }
                _ => groups.push(g),
            }
        }
        Roc { groups }
    }
}

fn roc_truth(s: &Scenario, marker: usize, batches: &[Roc], batch_n: usize) -> RocTruth {
    let aucs: Vec<f64> = batches.iter().map(Roc::auc).collect();
    let (auc, auc_se) = mean_se(&aucs);
    let pooled = Roc::merge(batches);
    let (cut, sens, spec) = pooled.youden();
    RocTruth {
        marker: s.column_names()[marker].clone(),
        outcome: "death observed during follow-up (os_event)".into(),
        auc,
        auc_mc_se: auc_se,
        youden_cut: cut,
        sensitivity: sens,
        specificity: spec,
        cut_by_batch: batches.iter().map(|b| b.youden().0).collect(),
        n_patients: batch_n * batches.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_and_youden_by_hand() {
        // Deaths at markers 3, 5, 5; others at 1, 3, 5. Pairs (d, o) = 9: d=3 beats 1, ties 3 (1/2);
        // d=5 beats 1, 3, ties 5 (1/2), twice: (1.5 + 2.5 + 2.5) / 9 = 6.5 / 9.
        let r = Roc { groups: vec![(1.0, 0.0, 1.0), (3.0, 1.0, 1.0), (5.0, 2.0, 1.0)] };
        assert!((r.auc() - 6.5 / 9.0).abs() < 1e-15);
        // Cut > 1: sens 1, spec 1/3 (J 1/3); > 3: sens 2/3, spec 2/3 (J 1/3); > 5: J 0. Ties: smallest.
        let (cut, sens, spec) = r.youden();
        assert_eq!((cut, sens), (1.0, 1.0));
        assert!((spec - 1.0 / 3.0).abs() < 1e-15);
    }
}
