//! Steps 1, 2 and 6: strata, eras, characteristics and their missing values.
//!
//! ```text
//! binary:       x = 1{U < p}
//! categorical:  x = min{k : U < P(level <= k)}
//! continuous:   redraw Y until lower <= round(shift + Y, step) <= upper
//!               (Normal: rand_distr Normal; LogNormal: exp of a normal; Gamma: rand_distr Gamma,
//!               Marsaglia & Tsang 2000)
//! ```

use rand::{Rng, RngExt};
use rand_distr::{Distribution, Gamma, StandardNormal};

use super::{Cohort, Scratch};
use crate::scenario::{
    AllocationKind, ContinuousSampler, Law, Missing, Sampler, Scenario, Source, indicator,
};

/// Redraws allowed before a continuous draw is clamped into its bounds. Validation guarantees an
/// acceptance probability >= 1e-3, so reaching this has probability < (1 - 1e-3)^10000 < 1e-4.
const MAX_REDRAWS: usize = 10_000;

/// Step 1: stratum and era of every patient.
pub(super) fn draw_groups<R: Rng + ?Sized>(s: &Scenario, n: usize, rng: &mut R, c: &mut Cohort) {
    match &s.strata.kind {
        AllocationKind::Counts(_) => {
            let counts = s.strata.counts_for(n).unwrap_or_default();
            fill_sequential(&counts, &mut c.stratum);
        }
        AllocationKind::Probabilities(p) => {
            for x in c.stratum.iter_mut() {
                *x = draw_index(p, rng.random::<f64>());
            }
        }
    }
    match &s.eras.kind {
        AllocationKind::Counts(_) => {
            let counts = s.eras.counts_for(n).unwrap_or_default();
            fill_sequential(&counts, &mut c.era);
            shuffle(&mut c.era, rng);
        }
        AllocationKind::Probabilities(p) => {
            for x in c.era.iter_mut() {
                *x = draw_index(p, rng.random::<f64>());
            }
        }
    }
}

fn fill_sequential(counts: &[usize], out: &mut [usize]) {
    let mut i = 0;
    for (g, &k) in counts.iter().enumerate() {
        for x in out.iter_mut().skip(i).take(k) {
            *x = g;
        }
        i += k;
    }
}

/// Fisher–Yates shuffle.
fn shuffle<T, R: Rng + ?Sized>(v: &mut [T], rng: &mut R) {
    for i in (1..v.len()).rev() {
        let j = rng.random_range(0..=i);
        v.swap(i, j);
    }
}

/// The group whose cumulative probability first exceeds u (probabilities, not cumulative).
fn draw_index(p: &[f64], u: f64) -> usize {
    let mut acc = 0.0;
    for (k, &pk) in p.iter().enumerate() {
        acc += pk;
        if u < acc {
            return k;
        }
    }
    p.len() - 1
}

/// Step 2: every covariate (latent, complete values) and every derived indicator.
pub(super) fn draw_covariates<R: Rng + ?Sized>(s: &Scenario, rng: &mut R, c: &mut Cohort) {
    draw_covariates_with(s, rng, c, |_| false, |j, column, columns| std::mem::swap(&mut columns[j], column));
}

/// Step 2 with the storage left to the caller: column j is drawn into a buffer of the cohort's
/// length, then handed to `store(j, buffer, columns)`, which may take it by swapping (what the
/// buffer holds afterwards is overwritten); derived column j is not computed when `skip_derived(j)`.
/// The draws are those of `draw_covariates` whatever is stored; the gate of a covariate and the
/// source of a derived indicator are read from `columns`, so `store` must keep them there.
pub(super) fn draw_covariates_with<R: Rng + ?Sized>(
    s: &Scenario,
    rng: &mut R,
    c: &mut Cohort,
    skip_derived: impl Fn(usize) -> bool,
    mut store: impl FnMut(usize, &mut Vec<Option<f64>>, &mut [Vec<Option<f64>>]),
) {
    let Cohort { stratum, columns, gamma_laws, scratch, .. } = c;
    let column = &mut scratch.column;
    for ((j, cov), gammas) in s.covariates.iter().enumerate().zip(&gamma_laws.by_covariate) {
        let draw = |rng: &mut R, st: usize| Some(draw_with(&cov.samplers[st], gammas[st].as_ref(), rng));
        match cov.given {
            None => {
                for (x, &st) in column.iter_mut().zip(stratum.iter()) {
                    *x = draw(rng, st);
                }
            }
            Some(g) => {
                for ((x, &st), gate) in column.iter_mut().zip(stratum.iter()).zip(&columns[g]) {
                    *x = if *gate == Some(1.0) { draw(rng, st) } else { None };
                }
            }
        }
        store(j, column, columns);
    }
    let n_cov = s.covariates.len();
    for (d_idx, d) in s.derived.iter().enumerate() {
        let j = n_cov + d_idx;
        if skip_derived(j) {
            continue;
        }
        match d.source {
            Source::Stratum => {
                for (x, &st) in column.iter_mut().zip(stratum.iter()) {
                    *x = d.rule.apply(st as f64);
                }
            }
            Source::Column(k) => d.rule.apply_to(&columns[k], column),
        }
        store(j, column, columns);
    }
}

/// One draw from a stratum's sampler.
pub fn draw<R: Rng + ?Sized>(sampler: &Sampler, rng: &mut R) -> f64 {
    draw_with(sampler, gamma_law(sampler).as_ref(), rng)
}

/// The Gamma distribution of a sampler with a Gamma law (its Marsaglia–Tsang constants), if any.
fn gamma_law(sampler: &Sampler) -> Option<Gamma<f64>> {
    match sampler {
        Sampler::Continuous(ContinuousSampler { law: Law::Gamma { shape, scale }, .. }) => {
            Gamma::new(*shape, *scale).ok()
        }
        _ => None,
    }
}

/// The Gamma distributions of every covariate's samplers (`by_covariate[j][stratum]`), built once
/// per scenario (`Cohort::new`) instead of once per draw.
#[derive(Debug, Clone, Default)]
pub(super) struct GammaLaws {
    by_covariate: Vec<Vec<Option<Gamma<f64>>>>,
}

impl GammaLaws {
    pub(super) fn new(s: &Scenario) -> GammaLaws {
        GammaLaws {
            by_covariate: s.covariates.iter().map(|c| c.samplers.iter().map(gamma_law).collect()).collect(),
        }
    }
}

/// `draw` with the sampler's Gamma distribution given (`gamma_law(sampler)`).
#[inline(always)]
fn draw_with<R: Rng + ?Sized>(sampler: &Sampler, gamma: Option<&Gamma<f64>>, rng: &mut R) -> f64 {
    match sampler {
        // without a branch on the draw (which no predictor can learn)
        Sampler::Binary { p } => indicator(rng.random::<f64>() < *p),
        Sampler::Categorical { cumulative } => {
            let u = rng.random::<f64>();
            cumulative.iter().position(|&cp| u < cp).unwrap_or(cumulative.len() - 1) as f64
        }
        Sampler::Continuous(cs) => draw_continuous(cs, gamma, rng),
    }
}

#[inline]
fn draw_continuous<R: Rng + ?Sized>(cs: &ContinuousSampler, gamma: Option<&Gamma<f64>>, rng: &mut R) -> f64 {
    let mut x = f64::NAN;
    for _ in 0..MAX_REDRAWS {
        let y = match cs.law {
            Law::Normal { mean, sd } => {
                let z: f64 = StandardNormal.sample(rng);
                mean + sd * z
            }
            Law::LogNormal { meanlog, sdlog } => {
                let z: f64 = StandardNormal.sample(rng);
                (meanlog + sdlog * z).exp()
            }
            Law::Gamma { .. } => gamma.map_or(f64::NAN, |g| g.sample(rng)),
        };
        x = cs.shift + y;
        if let Some(h) = cs.round {
            x = (x / h).round() * h;
        }
        if x >= cs.lower && x <= cs.upper {
            return x;
        }
    }
    x.clamp(cs.lower, cs.upper)
}

/// Step 6: masks missing values (after the outcomes have been drawn from the latent values).
pub(super) fn apply_missing<R: Rng + ?Sized>(s: &Scenario, n: usize, rng: &mut R, c: &mut Cohort) {
    let Scratch { perm, rows, .. } = &mut c.scratch;
    // the identity, restored after each partial shuffle
    perm.clear();
    perm.extend(0..n);
    for (j, cov) in s.covariates.iter().enumerate() {
        rows.clear();
        match cov.missing {
            Missing::None => {}
            Missing::Count(k) => {
                // Scaled with n in large-sample runs; exact at the scenario's n.
                let k = if n == s.n { k } else { ((k as f64) * n as f64 / s.n as f64).round() as usize };
                let k = k.min(n);
                // Partial Fisher–Yates: perm[..k] is a uniform random k-subset.
                for i in 0..k {
                    let r = rng.random_range(i..n);
                    perm.swap(i, r);
                    rows.push(r);
                }
                mask(s, j, &perm[..k], &mut c.columns);
                // undone in reverse order: perm is the identity again
                for (i, &r) in rows.iter().enumerate().rev() {
                    perm.swap(i, r);
                }
            }
            Missing::Probability(q) => {
                rows.extend((0..n).filter(|_| rng.random::<f64>() < q));
                mask(s, j, rows, &mut c.columns);
            }
        }
    }
}

/// Sets covariate `j` of patients `rows` missing, and every indicator derived from it.
fn mask(s: &Scenario, j: usize, rows: &[usize], columns: &mut [Vec<Option<f64>>]) {
    let n_cov = s.covariates.len();
    let derived = s.derived.iter().enumerate().filter(|(_, d)| d.source == Source::Column(j));
    for column_idx in std::iter::once(j).chain(derived.map(|(d_idx, _)| n_cov + d_idx)) {
        for &i in rows {
            columns[column_idx][i] = None;
        }
    }
}
