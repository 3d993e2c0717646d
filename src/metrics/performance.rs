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
//! - A degenerate observation (any [`Flags`](crate::metrics::Flags) set: non-convergence, monotone likelihood, empty group,
//!   no events, other) enters the `included` view with whatever numbers it carries, and is left out of
//!   the `excluded` view altogether. Counts per kind are kept; `degenerate_rate` = n_degenerate / nsim.
//! - Within a view, each field enters only the measures that use it, and only when valid: a finite
//!   estimate (thetamean, bias, relbias, empse, mse; otherwise counted in `n_nonfinite`), a finite
//!   SE >= 0 (modelse, relerror), an interval with lower <= upper, neither NaN, infinite ends allowed
//!   (cover, becover), a p-value in [0, 1] (power).
//!
//! Bias-eliminated coverage needs c = mean(t), known only at the end, while the accumulator must
//! stay flat in the number of replicates and mergeable. Two flat, deterministic tallies are kept
//! for each view, and the summary reads becover off the first that applies (`becover_method`):
//! ```text
//! exact   tables (offset, count) of the finite lower ends l_i - T and upper ends u_i - T, while
//!         each side has at most EXACT_ENDS_CAP = 256 distinct values (compacted whenever a side
//!         holds 384 entries; dropped for good, in block order, once a side exceeds the cap):
//!         #{l_i <= c <= u_i} = #{l_i <= c} - #{u_i < c}          (exactly as with every interval)
//! grid    centres g_j = origin + j h, j = 0..G-1, fixed before the run from a pilot (block 0:
//!         its replicates are simulated before any other block by every process, so every shard
//!         gets the same grid; it is recorded in run.json; the process that owes block 0
//!         accumulates it from the pilot, its grid set afterwards, `PairAccumulator::deferred`):
//!           origin + (G-1) h / 2 = pilot mean of d,   s = pilot IQR(d) / 1.349 (else sd(d), else
//!           median half-width / 1.96),   h = s / 40,   half-range max(2.5 s, 6 sd(d) / sqrt(n_pilot)),
//!           G <= 4001;
//!         exact integer counts N_j = #{l_i <= g_j <= u_i}, kept as a difference array (each
//!         interval adds 1 at its first centre, -1 after its last: O(1) per replicate);
//!         becover = (N_j + (x - j)(N_{j+1} - N_j)) / n,  x = (c - origin) / h,  j = floor(x)
//!         (linear interpolation between the two centres around c; undefined when c is outside)
//! ```
//! Accuracy of the grid. For intervals t_i +- z s_i with t ~ N(mu, sigma^2) and s_i ~ sigma,
//! C(c) = P(l <= c <= u) ~ Phi(z - (c - mu)/sigma) - Phi(-z - (c - mu)/sigma) has
//! |C''| <= 2 z phi(z) / sigma^2 = 0.229 / sigma^2 near its top, so linear interpolation between
//! exact counts at the centres is biased by at most |C''| h^2 / 8 = 0.0286 (h / sigma)^2 = 1.8e-5
//! at h = sigma / 40 (s estimates sigma): 12x below the MCSE of a 0.95 coverage at 10^6
//! replicates (2.2e-4), 120x below it at 10^4. Against the exact count of the same replicates at
//! c (the old definition), the grid value differs by at most the interval ends inside the cell
//! around c, a fraction (f_l + f_u) h = 2 phi(z) / 40 = 0.003 of the intervals, and typically by
//! about a quarter of the MCSE: that difference is Monte Carlo noise of the same kind as the MCSE
//! (both estimate C(mean) with the same precision), not a bias. The counts are exact integers, so
//! the result does not depend on blocks, threads or shards.
//! Discrete estimates are what linear interpolation handles badly (C jumps at an atom between two
//! centres: the error can reach the atom's mass); they are what the exact tables cover (a
//! Kaplan-Meier estimate at n <= 255 without censoring has at most 256 values). Past the cap, an
//! estimate with many atoms can be off by up to the mass of the atom nearest c (the exact tables
//! are gone by then): `becover_method` says "grid" so a reader knows which it got.
//!
//! Memory and block files: per view at most 2 x 384 (offset, count) pairs and G <= 4001 counts
//! (201 when the pilot is well behaved), whatever the number of replicates.

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
    /// Interval ends for bias-eliminated coverage, exactly (while small).
    pub ends: ExactEnds,
    /// The grid fixed by the pilot (`None`: exact tables only).
    pub grid: Option<BeGrid>,
    /// Difference array of N_j = #{intervals containing grid centre j}: N_j = sum of diff[..=j].
    pub grid_diff: Vec<i64>,
    /// Before the grid is known ([`PairAccumulator::deferred`]): the interval ends (offsets)
    /// that go into `grid_diff` once it is ([`PairAccumulator::set_grids`]).
    #[serde(skip)]
    pending: Option<Vec<(f64, f64)>>,
}

/// Distinct finite interval ends kept exactly, per side and view.
pub const EXACT_ENDS_CAP: usize = 256;
/// Grid steps per pilot scale (h = s / 40).
pub const GRID_STEPS_PER_SCALE: f64 = 40.0;
/// The grid reaches at least this many pilot scales either side of the pilot mean.
pub const GRID_HALF_RANGE_SCALES: f64 = 2.5;
/// Most grid centres.
pub const GRID_MAX_CELLS: u32 = 4001;

/// Interval ends buffered before the exact tables are compacted (sorted, equal values merged).
pub const EXACT_ENDS_BUFFER: usize = EXACT_ENDS_CAP + EXACT_ENDS_CAP / 2;

/// Exact tables of interval ends (offsets from the truth) with their counts: appended as they
/// come and compacted (sorted, equal values merged) whenever a side holds more than
/// [`EXACT_ENDS_BUFFER`] entries; emptied for good (`overflow`) when a compaction leaves more
/// than [`EXACT_ENDS_CAP`] distinct values. So each side holds at most 384 entries, and costs
/// O(log) per push amortised. The order of entries is deterministic, their meaning is a multiset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExactEnds {
    pub overflow: bool,
    /// Finite lower ends with their counts.
    pub lower: Vec<(f64, u64)>,
    /// Finite upper ends with their counts.
    pub upper: Vec<(f64, u64)>,
    /// Lower ends at -infinity (always <= any centre).
    pub n_lower_neg_inf: u64,
    /// Upper ends at -infinity (always < any centre).
    pub n_upper_neg_inf: u64,
}

impl ExactEnds {
    fn push(&mut self, lo: f64, up: f64) {
        if self.overflow {
            return;
        }
        if lo == f64::NEG_INFINITY {
            self.n_lower_neg_inf += 1;
        } else if lo.is_finite() {
            self.lower.push((lo + 0.0, 1));
        }
        if up == f64::NEG_INFINITY {
            self.n_upper_neg_inf += 1;
        } else if up.is_finite() {
            self.upper.push((up + 0.0, 1));
        }
        self.maybe_compact();
    }

    fn merge(&mut self, other: &ExactEnds) {
        if self.overflow || other.overflow {
            *self = ExactEnds { overflow: true, ..ExactEnds::default() };
            return;
        }
        self.lower.extend_from_slice(&other.lower);
        self.upper.extend_from_slice(&other.upper);
        self.n_lower_neg_inf += other.n_lower_neg_inf;
        self.n_upper_neg_inf += other.n_upper_neg_inf;
        self.maybe_compact();
    }

    fn maybe_compact(&mut self) {
        if self.lower.len() > EXACT_ENDS_BUFFER || self.upper.len() > EXACT_ENDS_BUFFER {
            self.compact();
        }
    }

    fn compact(&mut self) {
        compact_table(&mut self.lower);
        compact_table(&mut self.upper);
        if self.lower.len() > EXACT_ENDS_CAP || self.upper.len() > EXACT_ENDS_CAP {
            *self = ExactEnds { overflow: true, ..ExactEnds::default() };
        }
    }

    /// Number of intervals containing the offset `c`.
    fn n_containing(&self, c: f64) -> u64 {
        let below: u64 =
            self.lower.iter().filter(|(l, _)| *l <= c).map(|(_, n)| n).sum::<u64>() + self.n_lower_neg_inf;
        let above: u64 =
            self.upper.iter().filter(|(u, _)| *u < c).map(|(_, n)| n).sum::<u64>() + self.n_upper_neg_inf;
        below.saturating_sub(above)
    }
}

/// Sort by value and merge equal values.
fn compact_table(table: &mut Vec<(f64, u64)>) {
    table.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    table.dedup_by(|later, kept| {
        if later.0 == kept.0 {
            kept.1 += later.1;
            true
        } else {
            false
        }
    });
}

/// Grid of candidate centres (offsets from the truth) for bias-eliminated coverage:
/// `origin + j * step`, j = 0..cells.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BeGrid {
    pub origin: f64,
    pub step: f64,
    pub cells: u32,
}

impl BeGrid {
    pub fn centre(self, j: u32) -> f64 {
        self.origin + j as f64 * self.step
    }

    /// The first j with centre(j) >= x (or > x when `strict`); `cells` when there is none.
    fn first_from(self, x: f64, strict: bool) -> u32 {
        let past = |j: u32| if strict { self.centre(j) > x } else { self.centre(j) >= x };
        if x.is_nan() {
            return self.cells;
        }
        // a first guess (the conversion saturates, NaN to 0), which the two walks below correct:
        // `past` is monotone in j, so they end at the same j from any start
        let mut j = (((x - self.origin) / self.step) as u32).min(self.cells);
        while j > 0 && past(j - 1) {
            j -= 1;
        }
        while j < self.cells && !past(j) {
            j += 1;
        }
        j
    }

    /// The grid a pilot fixes: `offsets` are its finite estimates minus the truth, `half_widths`
    /// its finite interval half-widths (both reordered). `None` when the pilot shows no spread.
    pub fn from_pilot(offsets: &mut [f64], half_widths: &mut [f64]) -> Option<BeGrid> {
        let n = offsets.len();
        if n < 2 {
            return None;
        }
        offsets.sort_unstable_by(f64::total_cmp);
        let mut m = Moments::default();
        for &d in offsets.iter() {
            m.push(d);
        }
        let (mean, sd) = (m.mean()?, m.variance()?.sqrt());
        let iqr_scale = (quantile7(offsets, 0.75) - quantile7(offsets, 0.25)) / 1.349;
        let scale = if iqr_scale > 0.0 {
            iqr_scale
        } else if sd > 0.0 {
            sd
        } else {
            half_widths.sort_unstable_by(f64::total_cmp);
            if half_widths.is_empty() { 0.0 } else { quantile7(half_widths, 0.5) / 1.959963984540054 }
        };
        if !(scale > 0.0 && scale.is_finite() && mean.is_finite()) {
            return None;
        }
        let step = scale / GRID_STEPS_PER_SCALE;
        // Half-range in steps: max(2.5 s, 6 sd / sqrt(n)) / h.
        let half_steps =
            (GRID_HALF_RANGE_SCALES * GRID_STEPS_PER_SCALE).max(6.0 * sd / (n as f64).sqrt() / step);
        let max_k = (GRID_MAX_CELLS - 1) / 2;
        let k = (half_steps.ceil().min(max_k as f64) as u32).max(1);
        let origin = mean - k as f64 * step;
        origin.is_finite().then_some(BeGrid { origin, step, cells: 2 * k + 1 })
    }
}

/// R's quantile(type = 7) of sorted, non-empty `x`.
fn quantile7(x: &[f64], q: f64) -> f64 {
    let h = (x.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(x.len() - 1);
    x[lo] + (h - lo as f64) * (x[hi] - x[lo])
}

/// The grids of one pair's two views, fixed by the pilot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct PairGrids {
    /// Every present observation.
    pub all: Option<BeGrid>,
    /// Observations without flags.
    pub clean: Option<BeGrid>,
}

/// What the pilot replicates say about one pair: enough to fix its [`PairGrids`].
#[derive(Debug, Clone, Default)]
pub struct PairPilot {
    all: (Vec<f64>, Vec<f64>),
    clean: (Vec<f64>, Vec<f64>),
}

impl PairPilot {
    pub fn push(&mut self, obs: Option<&Observation>, truth: Option<f64>) {
        let Some(obs) = obs else { return };
        let shift = truth.unwrap_or(0.0);
        let add = |(d, w): &mut (Vec<f64>, Vec<f64>)| {
            if obs.estimate.is_finite() {
                d.push(obs.estimate - shift);
            }
            if let (Some(l), Some(u)) = (obs.lower, obs.upper)
                && l.is_finite()
                && u.is_finite()
                && l <= u
            {
                w.push((u - l) / 2.0);
            }
        };
        add(&mut self.all);
        if !obs.flags.is_degenerate() {
            add(&mut self.clean);
        }
    }

    pub fn grids(mut self) -> PairGrids {
        PairGrids {
            all: BeGrid::from_pilot(&mut self.all.0, &mut self.all.1),
            clean: BeGrid::from_pilot(&mut self.clean.0, &mut self.clean.1),
        }
    }
}

impl PairAccumulator {
    /// An empty accumulator whose bias-eliminated coverage uses `grids` past the exact tables.
    pub fn new(grids: PairGrids) -> Self {
        PairAccumulator {
            all: ViewAccumulator::new(grids.all),
            clean: ViewAccumulator::new(grids.clean),
            ..PairAccumulator::default()
        }
    }

    /// An empty accumulator whose grids are not known yet: its intervals are kept until
    /// [`PairAccumulator::set_grids`], after which it is what [`PairAccumulator::new`] with those
    /// grids would have accumulated. (The pilot block is accumulated while it fixes the grids.)
    pub fn deferred() -> Self {
        let view = || ViewAccumulator { pending: Some(Vec::new()), ..ViewAccumulator::default() };
        PairAccumulator { all: view(), clean: view(), ..PairAccumulator::default() }
    }

    /// Fixes the grids of a [`PairAccumulator::deferred`] accumulator.
    pub fn set_grids(&mut self, grids: PairGrids) {
        self.all.set_grid(grids.all);
        self.clean.set_grid(grids.clean);
    }

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
    fn new(grid: Option<BeGrid>) -> Self {
        let grid_diff = grid.map_or_else(Vec::new, |g| vec![0; g.cells as usize]);
        ViewAccumulator { grid, grid_diff, ..ViewAccumulator::default() }
    }

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
            self.ends.push(lo, up);
            match &mut self.pending {
                Some(pending) => pending.push((lo, up)),
                None => self.grid_push(lo, up),
            }
        }
        if let Some(p) = obs.p_value.filter(|p| (0.0..=1.0).contains(p)) {
            self.n_p += 1;
            if p <= alpha {
                self.n_reject += 1;
            }
        }
    }

    /// Counts the interval [lo, up] (offsets) in the grid, if there is one.
    fn grid_push(&mut self, lo: f64, up: f64) {
        if let Some(g) = self.grid {
            // Centres j with lo <= g_j <= up: [first >= lo, first > up).
            let (a, b) = (g.first_from(lo, false), g.first_from(up, true));
            if a < b {
                self.grid_diff[a as usize] += 1;
                if let Some(x) = self.grid_diff.get_mut(b as usize) {
                    *x -= 1;
                }
            }
        }
    }

    /// Fixes the grid of a deferred view and counts the intervals pushed so far in it (counts:
    /// the order in which they are added changes nothing).
    fn set_grid(&mut self, grid: Option<BeGrid>) {
        let pending = self.pending.take().unwrap_or_default();
        self.grid = grid;
        self.grid_diff = grid.map_or_else(Vec::new, |g| vec![0; g.cells as usize]);
        for (lo, up) in pending {
            self.grid_push(lo, up);
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
        self.ends.merge(&other.ends);
        if self.grid == other.grid {
            for (a, b) in self.grid_diff.iter_mut().zip(&other.grid_diff) {
                *a += b;
            }
        } else {
            // Accumulators of one run share their grids; anything else loses the grid.
            self.grid = None;
            self.grid_diff = Vec::new();
        }
    }

    /// Bias-eliminated coverage at the offset `c`, and how it was read.
    fn becover(&self, c: Option<f64>) -> (Estimate, &'static str) {
        let (Some(c), true) = (c, self.n_ci > 0) else {
            return (Estimate::undefined(self.n_ci), "undefined");
        };
        if !self.ends.overflow {
            return (proportion(self.ends.n_containing(c), self.n_ci), "exact");
        }
        let Some(g) = self.grid.filter(|g| g.cells >= 2 && self.grid_diff.len() == g.cells as usize) else {
            return (Estimate::undefined(self.n_ci), "undefined");
        };
        let x = (c - g.origin) / g.step;
        let last = (g.cells - 1) as f64;
        if !(x >= 0.0 && x <= last) {
            return (Estimate::undefined(self.n_ci), "outside_grid");
        }
        let j = (x.floor() as usize).min(g.cells as usize - 2);
        let n_j = self.grid_diff[..=j].iter().sum::<i64>() as f64;
        let n_next = n_j + self.grid_diff[j + 1] as f64;
        let k = n_j + (x - j as f64) * (n_next - n_j);
        let p = (k / self.n_ci as f64).clamp(0.0, 1.0);
        let est =
            Estimate { est: Some(p), mcse: Some((p * (1.0 - p) / self.n_ci as f64).sqrt()), n: self.n_ci };
        (est, "grid")
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
        let (becover, becover_method) = self.becover(mean_d);
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
            becover_method,
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
    /// How becover was read: "exact", "grid" (interpolated; see the module header),
    /// "outside_grid" or "undefined" (then `becover` is undefined).
    pub becover_method: &'static str,
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

    /// Deterministic Normal-looking sample: estimates mu + sigma q_i at stratified normal quantiles
    /// (in a scrambled order), SEs varying +-20% around sigma, 95% Wald intervals.
    fn wald_sample(n: usize, mu: f64, sigma: f64) -> Vec<Observation> {
        use statrs::distribution::{ContinuousCDF, Normal};
        let z = Normal::standard();
        (0..n)
            .map(|i| {
                let k = (i * 7919) % n; // 7919 is prime, n is not a multiple of it
                let t = mu + sigma * z.inverse_cdf((k as f64 + 0.5) / n as f64);
                let se = sigma * (0.8 + 0.4 * ((i * 104729) % 1000) as f64 / 1000.0);
                Observation::estimate(t).with_interval(t - 1.96 * se, t + 1.96 * se)
            })
            .collect()
    }

    fn grid_of(obs: &[Observation], truth: f64) -> PairGrids {
        let mut pilot = PairPilot::default();
        for o in obs {
            pilot.push(Some(o), Some(truth));
        }
        pilot.grids()
    }

    #[test]
    fn the_pilot_fixes_a_grid_around_its_mean_at_a_fortieth_of_its_spread() {
        // Offsets 0..=99 (truth 0): mean 49.5, IQR = 74.25 - 24.75 = 49.5 (type 7), scale
        // 49.5 / 1.349; h = scale / 40; half-range max(2.5 scale, 6 sd / 10) = 2.5 scale -> k = 100.
        let obs: Vec<Observation> = (0..100).map(|i| Observation::estimate(i as f64)).collect();
        let g = grid_of(&obs, 0.0).all.unwrap();
        let h = 49.5 / 1.349 / 40.0;
        assert!((g.step - h).abs() < 1e-12 * h);
        assert_eq!(g.cells, 201);
        assert!((g.centre(100) - 49.5).abs() < 1e-9);
        // No spread and no intervals: no grid. One value: no grid.
        let flat: Vec<Observation> = (0..5).map(|_| Observation::estimate(1.0)).collect();
        assert_eq!(grid_of(&flat, 0.0).all, None);
        assert_eq!(grid_of(&obs[..1], 0.0).all, None);
        // No spread, intervals of half-width z_0.975: scale 1.
        let z = 1.959963984540054;
        let fixed: Vec<Observation> =
            (0..5).map(|_| Observation::estimate(1.0).with_interval(1.0 - z, 1.0 + z)).collect();
        assert!((grid_of(&fixed, 0.0).all.unwrap().step - 1.0 / 40.0).abs() < 1e-12);
        // Degenerate fits enter only the `all` grid.
        let bad: Vec<Observation> =
            (0..5).map(|i| Observation::estimate(i as f64).with_flag(DegenerateKind::Other)).collect();
        let g = grid_of(&bad, 0.0);
        assert!(g.all.is_some() && g.clean.is_none());
    }

    #[test]
    fn grid_becover_is_within_the_ends_of_one_cell_of_the_exact_count() {
        // 40 000 intervals (far past the exact tables' cap), bias 0.3 sigma. The exact value is
        // counted here directly. Between the two centres around c, the interpolated value lies
        // between N_j and N_{j+1}, and the exact count differs from N_j by at most the interval
        // ends inside that cell, so |grid - exact| <= (ends in the cell) / n; with h = sigma / 40
        // that is about 2 x 0.058 x n / 40 ends (density of ends near c: phi(1.96) / sigma), i.e.
        // <= 0.003 + noise. The smooth (population) interpolation error is only 1.8e-5.
        let (truth, sigma, n) = (1.0, 0.5, 40_000);
        let obs = wald_sample(n, truth + 0.15, sigma);
        let grids = grid_of(&obs[..500], truth);
        let mut acc = PairAccumulator::new(grids);
        for o in &obs {
            acc.push(Some(o), Some(truth), 0.05);
        }
        assert!(acc.all.ends.overflow && acc.all.ends.lower.is_empty());
        let s = acc.summary(Some(truth)).included;
        assert_eq!(s.becover_method, "grid");
        let mean = obs.iter().map(|o| o.estimate).sum::<f64>() / n as f64;
        let exact = obs.iter().filter(|o| o.lower.unwrap() <= mean && mean <= o.upper.unwrap()).count();
        let g = grids.all.unwrap();
        let j = ((mean - truth - g.origin) / g.step).floor() as u32;
        let (lo, hi) = (truth + g.centre(j), truth + g.centre(j + 1));
        let in_cell = obs
            .iter()
            .flat_map(|o| [o.lower.unwrap(), o.upper.unwrap()])
            .filter(|&e| lo <= e && e <= hi)
            .count();
        let got = s.becover.est.unwrap();
        let exact = exact as f64 / n as f64;
        assert!(
            (got - exact).abs() <= in_cell as f64 / n as f64,
            "{got} vs {exact}, {in_cell} ends in the cell"
        );
        assert!((got - exact).abs() < 0.005, "{got} vs {exact}");
        assert!(in_cell < 400, "{in_cell}");
        // Order of pushes and merges does not change a bit: blocks of 300 merged in order.
        let mut merged = PairAccumulator::new(grids);
        for chunk in obs.chunks(300) {
            let mut b = PairAccumulator::new(grids);
            for o in chunk {
                b.push(Some(o), Some(truth), 0.05);
            }
            merged.merge(&b);
        }
        assert_eq!(merged.all.grid_diff, acc.all.grid_diff);
        assert_eq!(merged.summary(Some(truth)).included.becover, s.becover);
    }

    #[test]
    fn a_deferred_accumulator_given_its_grids_equals_one_built_with_them() {
        // What the engine does with the pilot block: accumulate before the grids are known,
        // then fix them. Intervals past the exact tables' cap, some degenerate, some missing.
        let (truth, sigma) = (1.0, 0.5);
        let obs: Vec<Observation> = wald_sample(1_000, truth + 0.1, sigma)
            .into_iter()
            .enumerate()
            .map(|(i, o)| if i % 7 == 0 { o.with_flag(DegenerateKind::Other) } else { o })
            .collect();
        let grids = grid_of(&obs, truth);
        assert!(grids.all.is_some() && grids.clean.is_some());
        let (mut built, mut deferred) = (PairAccumulator::new(grids), PairAccumulator::deferred());
        for (i, o) in obs.iter().enumerate() {
            let o = (i % 11 != 0).then_some(o);
            built.push(o, Some(truth), 0.05);
            deferred.push(o, Some(truth), 0.05);
        }
        assert!(built.all.ends.overflow, "past the exact tables: the grid is what counts");
        deferred.set_grids(grids);
        assert_eq!(deferred, built);
        assert!(deferred.all.grid_diff.iter().any(|&d| d != 0));
    }

    #[test]
    fn exact_tables_stay_below_the_cap_and_give_way_to_the_grid() {
        // A discrete estimate with 11 values (like a Kaplan-Meier estimate at n = 10) stays exact
        // over 10 000 replicates: as exact as the old per-replicate ends.
        let obs: Vec<Observation> = (0..10_000)
            .map(|i| {
                let t = ((i * 37) % 11) as f64 / 10.0;
                Observation::estimate(t).with_interval(t - 0.25, t + 0.25)
            })
            .collect();
        let mut acc = PairAccumulator::new(grid_of(&obs[..500], 0.5));
        for o in &obs {
            acc.push(Some(o), Some(0.5), 0.05);
        }
        acc.all.ends.compact();
        assert_eq!(acc.all.ends.lower.len(), 11);
        let s = acc.summary(Some(0.5)).included;
        assert_eq!(s.becover_method, "exact");
        let mean = s.thetamean.est.unwrap();
        let exact = obs.iter().filter(|o| o.lower.unwrap() <= mean && mean <= o.upper.unwrap()).count();
        assert_eq!(s.becover.est, Some(exact as f64 / 1e4));
        // Merging two tables past the cap drops them for good.
        let mut a = ExactEnds::default();
        let mut b = ExactEnds::default();
        for i in 0..EXACT_ENDS_CAP {
            a.push(i as f64, i as f64 + 0.5);
            b.push(-(i as f64) - 1.0, 0.0);
        }
        a.compact();
        b.compact();
        assert!(!a.overflow && !b.overflow);
        // 512 distinct lower ends: compacted on the merge (past the 384-entry buffer), over the cap.
        a.merge(&b);
        assert!(a.overflow && a.lower.is_empty());
        a.merge(&ExactEnds::default());
        assert!(a.overflow);
        // Without a grid, past the cap, becover is undefined and says so. (Up to 384 distinct
        // ends stay exact until a compaction; the 385th triggers one.)
        let mut acc = PairAccumulator::default();
        for i in 0..=EXACT_ENDS_BUFFER {
            acc.push(
                Some(&Observation::estimate(i as f64).with_interval(i as f64 - 1.0, i as f64 + 1.0)),
                None,
                0.05,
            );
        }
        let s = acc.summary(None).included;
        assert_eq!((s.becover.est, s.becover_method), (None, "undefined"));
    }

    #[test]
    fn a_mean_outside_the_grid_is_reported_as_such() {
        let obs = wald_sample(1000, 0.0, 1.0);
        let grids = grid_of(&obs[..500], 0.0);
        let mut acc = PairAccumulator::new(grids);
        for o in &obs {
            acc.push(Some(o), Some(0.0), 0.05);
        }
        // Far estimates drag the mean out of the pilot's grid (about +-2.5 sd).
        for _ in 0..1000 {
            acc.push(Some(&Observation::estimate(20.0).with_interval(19.0, 21.0)), Some(0.0), 0.05);
        }
        let s = acc.summary(Some(0.0)).included;
        assert_eq!((s.becover.est, s.becover_method), (None, "outside_grid"));
    }

    proptest::proptest! {
        /// The first centre at or past x is the one a scan of every centre finds, wherever x is
        /// (inside, outside, on a centre, infinite, NaN).
        #[test]
        fn first_from_is_a_scan_of_the_centres(
            origin in -50.0f64..50.0,
            step in 1e-3f64..10.0,
            cells in 1u32..300,
            at in -0.2f64..1.2,
            on_centre in proptest::bool::ANY,
            special in 0u8..8,
        ) {
            let g = BeGrid { origin, step, cells };
            let span = step * f64::from(cells);
            let x = match special {
                0 => f64::NAN,
                1 => f64::INFINITY,
                2 => f64::NEG_INFINITY,
                _ if on_centre => g.centre(((at.clamp(0.0, 1.0) * f64::from(cells)) as u32).min(cells - 1)),
                _ => origin + at * span,
            };
            for strict in [false, true] {
                let scan = (0..cells)
                    .find(|&j| if strict { g.centre(j) > x } else { g.centre(j) >= x })
                    .unwrap_or(cells);
                proptest::prop_assert_eq!(g.first_from(x, strict), scan);
            }
        }
    }
}
