//! Synthetic cohorts drawn from a `Scenario` (the model is stated in `crate::scenario`).
//!
//! ```text
//! 1. stratum, era      fixed counts (era counts assigned by a random permutation) or probabilities
//! 2. covariates | s    in file order (a `given` gate is drawn first); derived indicators
//! 3. T = H0^{-1}(E / exp(eta)), E ~ Exp(1)        for OS and progression (inversion, Bender et al.
//!                      2005, Stat Med 24:1713); PFS = min(T_prog, T_os)
//! 4. treatment at progression (softmax of the options' linear predictors); time from
//!    progression to death multiplied by its time_ratio
//! 5. C | era; observed time = min(T, C), event = T <= C
//! 6. missing values: exact counts by a partial Fisher-Yates shuffle, or independent coin flips;
//!    a derived indicator is missing where its source is
//! ```
//! Generation allocates nothing once a `Cohort` has been sized: `generate_into` reuses its buffers.
//! The random stream is consumed in a fixed order, so a seed fixes the cohort bit for bit.
//!
//! Architecture invariant: only `cohort` (and the engine) draw random numbers; no IO here.

pub mod calibrate;
mod covariates;
mod outcomes;
mod truth;

use std::sync::Arc;

use rand::Rng;

use crate::data::SurvivalData;
use crate::scenario::{Layout, Scenario, Source};

pub use covariates::draw;
pub use outcomes::follow_up;
pub use truth::{MarginalTruth, RocTruth, Truth, TruthControl, TruthMethod, UnivariateCoxTruth, truth};

/// Draws one cohort of `scenario.n` patients.
pub fn generate<R: Rng + ?Sized>(scenario: &Scenario, rng: &mut R) -> Cohort {
    let mut cohort = Cohort::new(scenario);
    generate_into(scenario, rng, &mut cohort);
    cohort
}

/// Draws one cohort into `cohort`'s buffers (no allocation once sized). `cohort` must come from
/// `Cohort::new` on the same scenario.
pub fn generate_into<R: Rng + ?Sized>(scenario: &Scenario, rng: &mut R, cohort: &mut Cohort) {
    fill(scenario, scenario.n, true, rng, cohort);
}

/// Draws `n` patients from the scenario's population: fixed counts (strata, eras, missing counts)
/// are rescaled to `n` by largest remainder. With `missing = false` every value is observed (the
/// latent values, as the truth computations need).
pub fn generate_size<R: Rng + ?Sized>(scenario: &Scenario, n: usize, missing: bool, rng: &mut R) -> Cohort {
    let mut cohort = Cohort::new(scenario);
    fill(scenario, n, missing, rng, &mut cohort);
    cohort
}

/// `generate_size(scenario, n, false, rng)` holding only the characteristic columns `columns` and
/// those generation itself reads (effects on the outcomes, gates of `given` covariates, sources of
/// kept derived indicators); indices beyond the scenario's columns are ignored. Every value is
/// still drawn, in the same order, so the random stream, the outcomes and the kept columns are bit
/// for bit those of `generate_size`; the other columns stay empty (`column` gives an empty slice,
/// `row` None). For large-sample computations: a cohort holds each column as 16-byte
/// `Option<f64>`s, 1.6 MB per column at 10^5 patients, 105 MB for tsh2024's 66 columns (issue 6).
pub fn generate_size_keeping<R: Rng + ?Sized>(
    scenario: &Scenario,
    n: usize,
    columns: &[usize],
    rng: &mut R,
) -> Cohort {
    generate_kept(scenario, n, &kept_columns(scenario, columns, Keep::Column), rng).cohort
}

/// `generate_size_keeping` with the requested columns that generation does not read stored as
/// plain values (9 bytes a patient instead of 16): for `truth`'s batches of 10^5 patients.
fn generate_size_plain<R: Rng + ?Sized>(
    scenario: &Scenario,
    n: usize,
    columns: &[usize],
    rng: &mut R,
) -> LargeSample {
    generate_kept(scenario, n, &kept_columns(scenario, columns, Keep::Plain), rng)
}

/// A cohort from `generate_size_plain`: the columns generation reads in `cohort`, the other
/// requested ones as plain values beside it.
struct LargeSample {
    cohort: Cohort,
    /// Per column: values (anything where absent) and presence; both empty unless `Keep::Plain`.
    values: Vec<Vec<f64>>,
    present: Vec<Vec<bool>>,
}

impl LargeSample {
    /// Characteristic `column_idx` of patient `row_idx`; None if missing, not applicable or not kept.
    fn value(&self, column_idx: usize, row_idx: usize) -> Option<f64> {
        let (j, i) = (column_idx, row_idx);
        match self.present[j].get(i) {
            Some(&p) => p.then(|| self.values[j][i]),
            None => self.cohort.columns[j].get(i).copied().flatten(),
        }
    }
}

/// Where `generate_kept` stores a characteristic column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keep {
    Drop,
    /// In the cohort, as `Option<f64>`.
    Column,
    /// In `LargeSample::values` / `present`.
    Plain,
}

/// How `generate_kept` stores each column when `columns` are asked for `as_asked` (generation's own
/// columns are always `Keep::Column`).
fn kept_columns(s: &Scenario, columns: &[usize], as_asked: Keep) -> Vec<Keep> {
    let mut keep = vec![Keep::Drop; s.n_columns()];
    for &j in columns {
        if let Some(k) = keep.get_mut(j) {
            *k = as_asked;
        }
    }
    let after = s.after_progression.iter().flat_map(|a| a.options.iter().flat_map(|o| &o.effects));
    let effects = s.os.effects.iter().chain(s.progression.iter().flat_map(|p| &p.effects)).chain(after);
    let gates = s.covariates.iter().filter_map(|c| c.given);
    for j in effects.map(|e| e.column_idx).chain(gates) {
        keep[j] = Keep::Column;
    }
    // A derived indicator's source precedes it: one backward pass closes chains.
    let n_cov = s.covariates.len();
    for (d_idx, d) in s.derived.iter().enumerate().rev() {
        if keep[n_cov + d_idx] != Keep::Drop
            && let Source::Column(k) = d.source
        {
            keep[k] = Keep::Column;
        }
    }
    keep
}

/// Sizes the stores `keep` asks for, then draws as `fill(.., missing = false, ..)` does.
fn generate_kept<R: Rng + ?Sized>(s: &Scenario, n: usize, keep: &[Keep], rng: &mut R) -> LargeSample {
    let mut c = Cohort::new(s);
    c.resize_rows(n);
    let mut values = vec![Vec::new(); keep.len()];
    let mut present = vec![Vec::new(); keep.len()];
    for (j, &k) in keep.iter().enumerate() {
        match k {
            Keep::Drop => {}
            Keep::Column => c.columns[j].resize(n, None),
            Keep::Plain => {
                values[j].resize(n, 0.0);
                present[j].resize(n, false);
            }
        }
    }
    covariates::draw_groups(s, n, rng, &mut c);
    let mut large = LargeSample { cohort: c, values, present };
    draw_kept_covariates(s, keep, rng, &mut large);
    outcomes::draw_outcomes(s, rng, &mut large.cohort);
    // Only generation reads the linear predictors.
    large.cohort.scratch = Scratch::default();
    large
}

/// `covariates::draw_covariates` storing only the kept columns (the same draws in the same order;
/// the test `kept_cohorts_are_generate_size_bit_for_bit` checks it). Gates and sources are
/// `Keep::Column`.
fn draw_kept_covariates<R: Rng + ?Sized>(s: &Scenario, keep: &[Keep], rng: &mut R, large: &mut LargeSample) {
    let LargeSample { cohort: c, values, present } = large;
    covariates::draw_covariates_with(
        s,
        rng,
        c,
        |j| keep[j] == Keep::Drop,
        |j, column, columns| match keep[j] {
            Keep::Drop => {}
            Keep::Column => std::mem::swap(&mut columns[j], column),
            Keep::Plain => {
                for ((v, p), x) in values[j].iter_mut().zip(present[j].iter_mut()).zip(column.iter()) {
                    *v = x.unwrap_or(0.0);
                    *p = x.is_some();
                }
            }
        },
    );
}

fn fill<R: Rng + ?Sized>(s: &Scenario, n: usize, missing: bool, rng: &mut R, c: &mut Cohort) {
    c.resize(n);
    covariates::draw_groups(s, n, rng, c);
    covariates::draw_covariates(s, rng, c);
    outcomes::draw_outcomes(s, rng, c);
    if missing {
        covariates::apply_missing(s, n, rng, c);
    }
}

/// One synthetic cohort: outcomes (months), stratum, era, characteristics and what happened after
/// progression. Categorical characteristics hold level codes (labels from the scenario).
#[derive(Debug, Clone)]
pub struct Cohort {
    layout: Arc<Layout>,
    os_time: Vec<f64>,
    os_event: Vec<bool>,
    pfs_time: Vec<f64>,
    pfs_event: Vec<bool>,
    stratum: Vec<usize>,
    era: Vec<usize>,
    columns: Vec<Vec<Option<f64>>>,
    progression: Vec<bool>,
    treatment: Vec<Option<usize>>,
    time_from_progression: Vec<Option<f64>>,
    gamma_laws: covariates::GammaLaws,
    scratch: Scratch,
}

/// Per-patient work buffers, reused between cohorts.
#[derive(Debug, Clone, Default)]
struct Scratch {
    /// The characteristic being drawn (`covariates::draw_covariates_with`).
    column: Vec<Option<f64>>,
    /// The identity permutation between the partial shuffles of `covariates::apply_missing`.
    perm: Vec<usize>,
    /// Rows drawn by `covariates::apply_missing`.
    rows: Vec<usize>,
    eta_os: Vec<f64>,
    eta_prog: Vec<f64>,
    choice_eta: Vec<f64>,
}

/// The fixed columns that precede the characteristics in `Cohort::column_names`.
pub const LEADING_COLUMNS: [&str; 6] = ["os_time", "os_event", "pfs_time", "pfs_event", "stratum", "era"];
/// The fixed columns that follow the characteristics.
pub const TRAILING_COLUMNS: [&str; 3] =
    ["progression", "after_progression_treatment", "time_from_progression"];

impl Cohort {
    /// An empty cohort with the scenario's columns.
    pub fn new(s: &Scenario) -> Cohort {
        Cohort {
            layout: Arc::clone(&s.layout),
            os_time: Vec::new(),
            os_event: Vec::new(),
            pfs_time: Vec::new(),
            pfs_event: Vec::new(),
            stratum: Vec::new(),
            era: Vec::new(),
            columns: vec![Vec::new(); s.n_columns()],
            progression: Vec::new(),
            treatment: Vec::new(),
            time_from_progression: Vec::new(),
            gamma_laws: covariates::GammaLaws::new(s),
            scratch: Scratch::default(),
        }
    }

    fn resize(&mut self, n: usize) {
        self.resize_rows(n);
        for col in &mut self.columns {
            col.resize(n, None);
        }
    }

    /// Sizes every per-patient buffer that generation uses except the characteristic columns (the
    /// truth sizes only the columns it keeps) and those of the missing values (sized where used).
    fn resize_rows(&mut self, n: usize) {
        self.os_time.resize(n, 0.0);
        self.os_event.resize(n, false);
        self.pfs_time.resize(n, 0.0);
        self.pfs_event.resize(n, false);
        self.stratum.resize(n, 0);
        self.era.resize(n, 0);
        self.progression.resize(n, false);
        self.treatment.resize(n, None);
        self.time_from_progression.resize(n, None);
        self.scratch.column.resize(n, None);
        self.scratch.eta_os.resize(n, 0.0);
        self.scratch.eta_prog.resize(n, 0.0);
    }

    pub fn len(&self) -> usize {
        self.os_time.len()
    }

    pub fn is_empty(&self) -> bool {
        self.os_time.is_empty()
    }

    /// Observed overall survival time: min(death, follow-up), months.
    pub fn os_time(&self) -> &[f64] {
        &self.os_time
    }

    pub fn os_event(&self) -> &[bool] {
        &self.os_event
    }

    /// Observed progression-free survival time: min(progression, death, follow-up) <= os_time.
    pub fn pfs_time(&self) -> &[f64] {
        &self.pfs_time
    }

    /// Progression or death observed.
    pub fn pfs_event(&self) -> &[bool] {
        &self.pfs_event
    }

    /// Stratum index of each patient (names: `stratum_names`).
    pub fn stratum(&self) -> &[usize] {
        &self.stratum
    }

    /// Era index of each patient (names: `era_names`).
    pub fn era(&self) -> &[usize] {
        &self.era
    }

    /// Characteristic column `column_idx` (the scenario's column order); empty if
    /// `generate_size_keeping` did not keep it.
    pub fn column(&self, column_idx: usize) -> &[Option<f64>] {
        &self.columns[column_idx]
    }

    pub fn column_by_name(&self, name: &str) -> Option<&[Option<f64>]> {
        self.layout.columns.iter().position(|c| c == name).map(|i| self.columns[i].as_slice())
    }

    /// Progression observed (before death and before the end of follow-up).
    pub fn progression(&self) -> &[bool] {
        &self.progression
    }

    /// Treatment chosen at an observed progression (index into `treatment_names`).
    pub fn treatment(&self) -> &[Option<usize>] {
        &self.treatment
    }

    /// os_time - progression time, for patients with an observed progression (event: os_event).
    pub fn time_from_progression(&self) -> &[Option<f64>] {
        &self.time_from_progression
    }

    pub fn characteristic_names(&self) -> &[String] {
        &self.layout.columns
    }

    pub fn stratum_names(&self) -> &[String] {
        &self.layout.strata
    }

    pub fn era_names(&self) -> &[String] {
        &self.layout.eras
    }

    pub fn treatment_names(&self) -> &[String] {
        &self.layout.treatments
    }

    /// Overall survival as validated survival data.
    pub fn os_data(&self) -> SurvivalData {
        SurvivalData::new(self.os_time.clone(), self.os_event.clone())
            .expect("generated times are finite and >= 0 and n >= 1")
    }

    /// Progression-free survival as validated survival data.
    pub fn pfs_data(&self) -> SurvivalData {
        SurvivalData::new(self.pfs_time.clone(), self.pfs_event.clone())
            .expect("generated times are finite and >= 0 and n >= 1")
    }

    /// Names of the values `row` writes: `LEADING_COLUMNS`, the characteristics,
    /// `TRAILING_COLUMNS`. Events are 0/1; stratum, era and treatment are indices.
    pub fn column_names(&self) -> Vec<&str> {
        LEADING_COLUMNS
            .iter()
            .copied()
            .chain(self.layout.columns.iter().map(String::as_str))
            .chain(TRAILING_COLUMNS.iter().copied())
            .collect()
    }

    /// Writes patient `row_idx`'s values in `column_names` order into `out` (cleared first);
    /// None is a missing or not-applicable value.
    pub fn row(&self, row_idx: usize, out: &mut Vec<Option<f64>>) {
        let b = |x: bool| Some(if x { 1.0 } else { 0.0 });
        let i = row_idx;
        out.clear();
        out.extend([
            Some(self.os_time[i]),
            b(self.os_event[i]),
            Some(self.pfs_time[i]),
            b(self.pfs_event[i]),
            Some(self.stratum[i] as f64),
            Some(self.era[i] as f64),
        ]);
        out.extend(self.columns.iter().map(|c| c.get(i).copied().flatten()));
        out.extend([
            b(self.progression[i]),
            self.treatment[i].map(|k| k as f64),
            self.time_from_progression[i],
        ]);
    }

    /// Every row, in `column_names` order.
    pub fn rows(&self) -> impl Iterator<Item = Vec<Option<f64>>> + '_ {
        (0..self.len()).map(|i| {
            let mut v = Vec::with_capacity(self.columns.len() + 9);
            self.row(i, &mut v);
            v
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(id: &str) -> Scenario {
        crate::scenario::load(format!("{}/scenarios/{id}.toml", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    const SHIPPED: [&str; 4] = ["textbook_exponential", "textbook_weibull", "tsh2024", "tsh2024_null"];

    #[test]
    fn kept_cohorts_are_generate_size_bit_for_bit() {
        use rand::rngs::ChaCha8Rng;
        use rand::{RngExt, SeedableRng};
        let bits = |v: &[Option<f64>]| v.iter().map(|x| x.map(f64::to_bits)).collect::<Vec<_>>();
        let t = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for id in SHIPPED {
            let s = scenario(id);
            let everything: Vec<usize> = (0..s.n_columns()).collect();
            // An index beyond the columns is ignored.
            let read = [0, s.n_columns() - 1, s.n_columns() + 5];
            for columns in [&[][..], &read, &everything] {
                let mut r = [0, 1, 2].map(|_| ChaCha8Rng::seed_from_u64(7));
                let full = generate_size(&s, 3000, false, &mut r[0]);
                let kept = generate_size_keeping(&s, 3000, columns, &mut r[1]);
                let plain = generate_size_plain(&s, 3000, columns, &mut r[2]);
                // The same stream was consumed: the next draws agree.
                let next = r.map(|mut r| r.random::<u64>());
                assert!(next[1] == next[0] && next[2] == next[0], "{id}");
                for c in [&kept, &plain.cohort] {
                    assert_eq!(t(&full.os_time), t(&c.os_time), "{id}");
                    assert_eq!(t(&full.pfs_time), t(&c.pfs_time), "{id}");
                    assert_eq!(full.os_event, c.os_event, "{id}");
                    assert_eq!(full.pfs_event, c.pfs_event, "{id}");
                    assert_eq!(full.stratum, c.stratum, "{id}");
                    assert_eq!(full.era, c.era, "{id}");
                    assert_eq!(full.progression, c.progression, "{id}");
                    assert_eq!(full.treatment, c.treatment, "{id}");
                    assert_eq!(bits(&full.time_from_progression), bits(&c.time_from_progression), "{id}");
                }
                let (mut row_full, mut row_kept) = (Vec::new(), Vec::new());
                full.row(1234, &mut row_full);
                kept.row(1234, &mut row_kept);
                assert_eq!(row_full.len(), row_kept.len());
                let keep = kept_columns(&s, columns, Keep::Column);
                let keep_plain = kept_columns(&s, columns, Keep::Plain);
                for j in 0..s.n_columns() {
                    let asked = columns.contains(&j);
                    // Kept: asked for or read by generation; stored in the cohort unless plain.
                    assert_eq!(keep[j] == Keep::Drop, keep_plain[j] == Keep::Drop, "{id} column {j}");
                    assert!(!asked || keep[j] == Keep::Column, "{id} column {j}");
                    assert!(keep_plain[j] != Keep::Plain || asked, "{id} column {j}");
                    let at = LEADING_COLUMNS.len() + j;
                    if keep[j] == Keep::Drop {
                        assert_eq!(kept.columns[j].capacity(), 0, "{id} column {j}");
                        assert_eq!(row_kept[at], None, "{id} column {j}");
                    } else {
                        assert_eq!(bits(full.column(j)), bits(kept.column(j)), "{id} column {j}");
                        assert_eq!(row_kept[at], row_full[at], "{id} column {j}");
                    }
                    let (in_cohort, in_values) =
                        (plain.cohort.columns[j].capacity(), plain.values[j].capacity());
                    match keep_plain[j] {
                        Keep::Drop => assert_eq!((in_cohort, in_values), (0, 0), "{id} column {j}"),
                        Keep::Column => assert_eq!(in_values, 0, "{id} column {j}"),
                        Keep::Plain => assert_eq!(in_cohort, 0, "{id} column {j}"),
                    }
                    if keep_plain[j] != Keep::Drop {
                        let values: Vec<_> = (0..3000).map(|i| plain.value(j, i)).collect();
                        assert_eq!(bits(full.column(j)), bits(&values), "{id} column {j}");
                    }
                }
            }
        }
    }

    #[test]
    fn tsh2024_truth_batches_keep_19_of_66_columns_14_of_them_plain() {
        // 15 ROC markers and the Cox covariates nodules_gt10 and ly23 are read. In the cohort:
        // what generation reads, the OS effects nodules_gt10 and ly23, their sources n_liver_nodules
        // (also an effect on treatment at progression) and lymphatic_invasion, and the gate
        // preoperative_chemotherapy; plain: the 14 other markers.
        let s = scenario("tsh2024");
        let read: Vec<usize> = s
            .analysis
            .estimands
            .iter()
            .filter_map(|e| match &e.kind {
                crate::scenario::EstimandKind::CoxHr { covariate, adjust, .. } if adjust.is_empty() => {
                    Some(*covariate)
                }
                crate::scenario::EstimandKind::YoudenCut { marker } => Some(*marker),
                _ => None,
            })
            .collect();
        let keep = kept_columns(&s, &read, Keep::Plain);
        let count = |k| keep.iter().filter(|&&x| x == k).count();
        assert_eq!((count(Keep::Column), count(Keep::Plain), keep.len()), (5, 14, 66));
        for name in
            ["n_liver_nodules", "lymphatic_invasion", "preoperative_chemotherapy", "nodules_gt10", "ly23"]
        {
            assert_eq!(keep[s.column_index(name).unwrap()], Keep::Column, "{name}");
        }
        assert_eq!(keep[s.column_index("bmi").unwrap()], Keep::Plain);
    }
}
