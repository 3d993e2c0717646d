//! Log partial likelihood, score and information of the Cox model in one backward sweep over the
//! time-sorted data (R survival's `coxfit6_iter`).
//!
//! ```text
//! Breslow: l(b) = Σ_events [ x_i'b - log Σ_{j in R(t_i)} exp(x_j'b) ]
//! Efron, d deaths D(t) tied at t, k = 0..d-1:
//!   l(b) = Σ_t [ Σ_{i in D(t)} x_i'b - Σ_k log( Σ_{R(t) \ D(t)} r_j + (k+1)/d Σ_{D(t)} r_j ) ]
//! U = dl/db,  I = -d2l/db2 (weighted covariance of x in each (partial) risk set)
//! ```
//! The sweep runs from the largest time down, adding subjects to the risk set, so one pass costs
//! O(n p^2). Efron (1977) JASA 72:557; Breslow (1974) Biometrics 30:89.
//!
//! When the covariates take few distinct rows (binary and few-level columns), [`Tally`] counts the
//! subjects of each pattern joining the risk set before each death time once, and every later
//! evaluation adds count x term per pattern: the same sums in another order (equal to rounding),
//! with one exp per pattern instead of one per subject. [`Likelihood`] picks the tally when it
//! applies; Newton–Raphson and the profile intervals evaluate through it.

use super::Ties;
use smallvec::SmallVec;
use std::hint::select_unpredictable;

/// A vector of p numbers, held inline up to [`MAX_P`] (a small model's score, coefficients and
/// standard errors: no heap allocation per fit).
pub(crate) type Vector = SmallVec<[f64; MAX_P]>;
/// A p x p matrix (row-major), held inline up to [`MAX_P`] x [`MAX_P`].
pub(crate) type Matrix = SmallVec<[f64; MAX_P * MAX_P]>;

/// Scratch buffers for one model of `p` covariates, reused across iterations.
#[derive(Debug, Clone)]
pub(crate) struct Sweep {
    pub p: usize,
    /// score vector at the last evaluated beta
    pub u: Vector,
    /// information matrix at the last evaluated beta (row-major; lower triangle filled)
    pub imat: Matrix,
    a: Vec<f64>,
    a2: Vec<f64>,
    cmat: Vec<f64>,
    cmat2: Vec<f64>,
    /// exp(x_i'b) of the last `eval`, by sorted position
    pub risk: Vec<f64>,
}

/// exp of the last two distinct arguments: with a binary or few-level covariate most of a sweep's
/// exp(x'b) are repeats (the same argument gives the same result, so the bits do not change).
struct ExpMemo([(f64, f64); 2]);

impl Default for ExpMemo {
    fn default() -> ExpMemo {
        ExpMemo([(f64::NAN, f64::NAN); 2])
    }
}

impl ExpMemo {
    #[inline]
    fn exp(&mut self, z: f64) -> f64 {
        let m = &mut self.0;
        if z.to_bits() == m[0].0.to_bits() {
            m[0].1
        } else if z.to_bits() == m[1].0.to_bits() {
            m.swap(0, 1);
            m[0].1
        } else {
            let r = z.exp();
            m[1] = m[0];
            m[0] = (z, r);
            r
        }
    }
}

impl Sweep {
    pub fn new(p: usize) -> Sweep {
        Sweep {
            p,
            u: smallvec::smallvec![0.0; p],
            imat: smallvec::smallvec![0.0; p * p],
            // the subject sweep's sums for p > 1, sized at its first use (the one-covariate sweep
            // keeps them in registers and the tally in arrays)
            a: Vec::new(),
            a2: Vec::new(),
            cmat: Vec::new(),
            cmat2: Vec::new(),
            risk: Vec::new(),
        }
    }

    /// Evaluates the log partial likelihood at `beta`, filling `u` and `imat`.
    ///
    /// `x` holds the covariates row by row in ascending time order (`x[pos * p + k]`), `status`
    /// the events in that order, and `groups` the `(start, end)` positions of each distinct time,
    /// in ascending order. Subjects are visited from the last position backwards, as R does.
    pub fn eval(
        &mut self,
        x: &[f64],
        status: &[bool],
        groups: &[(usize, usize)],
        ties: Ties,
        beta: &[f64],
    ) -> f64 {
        // the same code with the number of covariates known to the compiler for the small models
        // a simulation fits by the million (the operations and their order do not change)
        match self.p {
            1 => self.eval_1(x, status, groups, ties, beta[0]),
            2 => self.eval_p::<2>(x, status, groups, ties, beta),
            3 => self.eval_p::<3>(x, status, groups, ties, beta),
            _ => self.eval_p::<0>(x, status, groups, ties, beta),
        }
    }

    /// `eval` for one covariate: the operations of `eval_p` in the same order (so the same bits),
    /// with the sums held in registers instead of p-vectors.
    fn eval_1(
        &mut self,
        x: &[f64],
        status: &[bool],
        groups: &[(usize, usize)],
        ties: Ties,
        beta: f64,
    ) -> f64 {
        self.risk.resize(status.len(), 0.0);
        let (mut u, mut imat) = (0.0, 0.0);
        let (mut a, mut cmat) = (0.0, 0.0);
        let mut loglik = 0.0;
        let mut denom = 0.0;
        let mut memo = ExpMemo::default();
        for &(start, end) in groups.iter().rev() {
            let mut n_dead = 0usize;
            let (mut denom2, mut a2, mut cmat2) = (0.0, 0.0, 0.0);
            for pos in (start..end).rev() {
                let xi = x[pos];
                let zbeta = 0.0 + beta * xi;
                let risk = memo.exp(zbeta);
                self.risk[pos] = risk;
                if status[pos] {
                    n_dead += 1;
                    denom2 += risk;
                    loglik += zbeta;
                    u += xi;
                    a2 += risk * xi;
                    cmat2 += risk * xi * xi;
                } else {
                    denom += risk;
                    a += risk * xi;
                    cmat += risk * xi * xi;
                }
            }
            if n_dead == 0 {
                continue;
            }
            let dead_wt = n_dead as f64;
            if ties == Ties::Breslow || n_dead == 1 {
                denom += denom2;
                loglik -= dead_wt * denom.ln();
                a += a2;
                let mean = a / denom;
                u -= dead_wt * mean;
                cmat += cmat2;
                imat += dead_wt * (cmat - mean * a) / denom;
            } else {
                let d = dead_wt;
                for _ in 0..n_dead {
                    denom += denom2 / d;
                    loglik -= denom.ln();
                    a += a2 / d;
                    let mean = a / denom;
                    u -= mean;
                    cmat += cmat2 / d;
                    imat += (cmat - mean * a) / denom;
                }
            }
        }
        self.u[0] = u;
        self.imat[0] = imat;
        loglik
    }

    /// `eval` for `P` covariates (`P = 0`: any number, `self.p`).
    fn eval_p<const P: usize>(
        &mut self,
        x: &[f64],
        status: &[bool],
        groups: &[(usize, usize)],
        ties: Ties,
        beta: &[f64],
    ) -> f64 {
        let p = if P == 0 { self.p } else { P };
        let Sweep { u, imat, a, a2, cmat, cmat2, risk: risks, .. } = self;
        risks.resize(status.len(), 0.0);
        a.resize(p, 0.0);
        a2.resize(p, 0.0);
        cmat.resize(p * p, 0.0);
        cmat2.resize(p * p, 0.0);
        u.fill(0.0);
        imat.fill(0.0);
        a.fill(0.0);
        a2.fill(0.0);
        cmat.fill(0.0);
        cmat2.fill(0.0);
        let mut loglik = 0.0;
        let mut denom = 0.0;
        let mut memo = ExpMemo::default();
        // row i of a lower triangle, as a slice (what the compiler can see through)
        let row = |i: usize| i * p..i * p + i + 1;
        for &(start, end) in groups.iter().rev() {
            let mut n_dead = 0usize;
            let mut denom2 = 0.0;
            for pos in (start..end).rev() {
                let xi = &x[pos * p..(pos + 1) * p];
                let mut zbeta = 0.0;
                for k in 0..p {
                    zbeta += beta[k] * xi[k];
                }
                let risk = memo.exp(zbeta);
                risks[pos] = risk;
                // (risk x_i) x_j: the product of the subject-by-subject formula, in its order
                let (sum_a, sum_c) = if status[pos] {
                    n_dead += 1;
                    denom2 += risk;
                    loglik += zbeta;
                    for (ui, xk) in u.iter_mut().zip(xi) {
                        *ui += xk;
                    }
                    (&mut *a2, &mut *cmat2)
                } else {
                    denom += risk;
                    (&mut *a, &mut *cmat)
                };
                for i in 0..p {
                    let rxi = risk * xi[i];
                    sum_a[i] += rxi;
                    let r = row(i);
                    for (c, xj) in sum_c[r].iter_mut().zip(&xi[..=i]) {
                        *c += rxi * xj;
                    }
                }
            }
            if n_dead == 0 {
                continue;
            }
            let dead_wt = n_dead as f64;
            if ties == Ties::Breslow || n_dead == 1 {
                denom += denom2;
                loglik -= dead_wt * denom.ln();
                for (ai, a2i) in a.iter_mut().zip(a2.iter()) {
                    *ai += a2i;
                }
                for i in 0..p {
                    let mean = a[i] / denom;
                    u[i] -= dead_wt * mean;
                    let r = row(i);
                    for (((c, c2), im), aj) in
                        cmat[r.clone()].iter_mut().zip(&cmat2[r.clone()]).zip(&mut imat[r]).zip(&a[..=i])
                    {
                        *c += c2;
                        *im += dead_wt * (*c - mean * aj) / denom;
                    }
                }
            } else {
                // Efron: the tied deaths enter the risk set a fraction 1/d at a time
                let d = dead_wt;
                for _ in 0..n_dead {
                    denom += denom2 / d;
                    loglik -= denom.ln();
                    for (ai, a2i) in a.iter_mut().zip(a2.iter()) {
                        *ai += a2i / d;
                    }
                    for i in 0..p {
                        let mean = a[i] / denom;
                        u[i] -= mean;
                        let r = row(i);
                        for (((c, c2), im), aj) in
                            cmat[r.clone()].iter_mut().zip(&cmat2[r.clone()]).zip(&mut imat[r]).zip(&a[..=i])
                        {
                            *c += c2 / d;
                            *im += (*c - mean * aj) / denom;
                        }
                    }
                }
            }
            a2.fill(0.0);
            cmat2.fill(0.0);
        }
        // the lower triangle is what `ldl::factor` reads; mirror it for readers of the full matrix
        for i in 0..p {
            for j in 0..i {
                self.imat[j * p + i] = self.imat[i * p + j];
            }
        }
        loglik
    }
}

/// The terms `w log(d)` an evaluation subtracts from the log likelihood, one per death time (or
/// per tied death, Efron), kept aside and then subtracted in a loop of their own: the same
/// subtractions in the same order (the same bits), with the `log` calls side by side, where the
/// processor overlaps them, instead of one per death time in a loop that waits for each.
struct LogTerms {
    w: [f64; LogTerms::CAP],
    d: [f64; LogTerms::CAP],
    len: usize,
}

impl Default for LogTerms {
    fn default() -> LogTerms {
        LogTerms { w: [0.0; LogTerms::CAP], d: [0.0; LogTerms::CAP], len: 0 }
    }
}

impl LogTerms {
    const CAP: usize = 32;

    /// Keeps `w log(d)` to be subtracted from `loglik` after the terms kept before it.
    #[inline]
    fn push(&mut self, loglik: &mut f64, w: f64, d: f64) {
        if self.len == LogTerms::CAP {
            self.flush(loglik);
        }
        self.w[self.len] = w;
        self.d[self.len] = d;
        self.len += 1;
    }

    /// Subtracts the terms kept, in order.
    fn flush(&mut self, loglik: &mut f64) {
        for (w, d) in self.w[..self.len].iter().zip(&self.d[..self.len]) {
            *loglik -= w * d.ln();
        }
        self.len = 0;
    }
}

/// Most distinct covariate rows, and most covariates, for which [`Tally`] groups the data.
const MAX_PATTERNS: usize = 8;
pub(crate) const MAX_P: usize = 4;
/// Covariates tallied side by side by [`Tally::build_units`].
pub(crate) const LANES: usize = 16;
/// The code of a missing value in [`Tally::build_units`].
pub(crate) const MISSING: u8 = 3;
/// Counts per death time while [`Tally::new`] finds the patterns.
const BLOCK: usize = 1 + 2 * MAX_PATTERNS;

/// The data of a sweep tallied by covariate pattern, for covariates that take few distinct rows
/// (binary and few-level columns: most of a simulation's models). Every risk-set sum of the
/// sweep is then a sum over patterns of (number of subjects with that pattern) x (its term):
///
/// ```text
/// Σ_{j in R} r_j x_j = Σ_q m_q(R) r_q x_q,    r_q = exp(x_q'b)
/// ```
/// so an evaluation costs one exp per pattern and O(P p^2) per death time instead of one exp and
/// O(p^2) per subject. The same sums as [`Sweep::eval`], added in another order: the results
/// agree with it to rounding.
#[derive(Debug, Clone)]
pub(crate) struct Tally {
    p: usize,
    n_patterns: usize,
    /// the distinct covariate rows, pattern by pattern (`patterns[q * p + k]`); NaN beyond them
    patterns: [f64; MAX_PATTERNS * MAX_P],
    /// deaths per pattern, over all times
    deaths: [f64; MAX_PATTERNS],
    /// Σ x over all deaths (the constant part of U)
    x_deaths: [f64; MAX_P],
    /// per death time, from the last to the first, `1 + 2 n_patterns` numbers: the number of
    /// deaths, then per pattern the subjects joining the risk set just before (censored at or
    /// after it, up to the next death time), then per pattern the deaths (whole numbers, held as
    /// the f64 every evaluation multiplies by)
    blocks: Vec<f64>,
}

impl Tally {
    /// Tallies data laid out as [`Sweep::eval`]'s arguments; `None` when there are more than 4
    /// covariates or their rows take more than a few distinct values (more than 8, or more than
    /// a quarter of the subjects), where the subject-by-subject sweep is as fast.
    pub fn new(x: &[f64], p: usize, status: &[bool], groups: &[(usize, usize)]) -> Option<Tally> {
        let n = status.len();
        if p == 0 || p > MAX_P || x.len() != n * p {
            return None;
        }
        Tally::build(p, groups, Tally::max_patterns(n), |pos, row| {
            row.copy_from_slice(&x[pos * p..(pos + 1) * p]);
            Some(status[pos])
        })
    }

    /// Most distinct rows for which `n` subjects are tallied: 8, and at most a quarter of them
    /// (beyond, the subject-by-subject sweep is as fast).
    pub fn max_patterns(n: usize) -> usize {
        MAX_PATTERNS.min(n / 4)
    }

    /// Tallies the subjects at the positions of `groups` (the `(start, end)` of each distinct
    /// time, ascending) that `subject(pos, row)` admits: it writes the `p` covariates of position
    /// `pos` into `row` and returns whether the subject died, or `None` to leave it out (a left-out
    /// subject is as absent as if the positions had been renumbered without it). `None` when the
    /// rows take more than `max_patterns` distinct values.
    pub fn build(
        p: usize,
        groups: &[(usize, usize)],
        max_patterns: usize,
        mut subject: impl FnMut(usize, &mut [f64]) -> Option<bool>,
    ) -> Option<Tally> {
        let n = groups.last().map_or(0, |g| g.1);
        // counts are kept as u16
        if p == 0 || p > MAX_P || n > usize::from(u16::MAX) {
            return None;
        }
        let max_patterns = max_patterns.min(MAX_PATTERNS);
        let mut t = Tally {
            p,
            n_patterns: 0,
            patterns: [f64::NAN; MAX_PATTERNS * MAX_P],
            deaths: [0.0; MAX_PATTERNS],
            x_deaths: [0.0; MAX_P],
            blocks: Vec::new(),
        };
        // counted in BLOCK slots per death time while the patterns are found, then compacted
        let mut counts: Vec<u16> = Vec::with_capacity(BLOCK * groups.len());
        // one backward pass: each row's pattern found by a scan of the (at most 8) known ones,
        // counted as joining the risk set or dying; a block closes at each death time (subjects
        // censored after the last death time join the risk set of the next death)
        let mut current = [0u16; BLOCK];
        let mut buffer = [0.0; MAX_P];
        for &(start, end) in groups.iter().rev() {
            for pos in start..end {
                let row = &mut buffer[..p];
                let Some(died) = subject(pos, row) else { continue };
                let row = &*row;
                let found = if p == 1 {
                    // compared with all 8 slots without a branch (unused slots hold NaN, equal to
                    // nothing; binary values in random order defeat a branch predictor)
                    let q = (0..MAX_PATTERNS)
                        .rev()
                        .fold(MAX_PATTERNS, |q, k| select_unpredictable(t.patterns[k] == row[0], k, q));
                    (q < MAX_PATTERNS).then_some(q)
                } else {
                    t.patterns[..t.n_patterns * p].chunks_exact(p).position(|k| k == row)
                };
                let q = match found {
                    Some(q) => q,
                    None if t.n_patterns < max_patterns => {
                        t.patterns[t.n_patterns * p..(t.n_patterns + 1) * p].copy_from_slice(row);
                        t.n_patterns += 1;
                        t.n_patterns - 1
                    }
                    None => return None,
                };
                // without a branch on the status (it is what the data make unpredictable)
                let died = usize::from(died);
                current[0] += died as u16;
                current[1 + died * MAX_PATTERNS + q] += 1;
            }
            if current[0] > 0 {
                counts.extend_from_slice(&current);
                current = [0; BLOCK];
            }
        }
        Some(t.with_counts(&counts))
    }

    /// [`Tally::build`] for up to [`LANES`] single covariates at once, each with its values in
    /// {-1, 0, 1} (binary columns, which `coxph` does not centre), side by side in one backward
    /// pass. `codes[pos][lane]` is covariate `lane`'s value at position `pos` as a slot (0, 1, 2
    /// for -1, 0, 1) or [`MISSING`] (the subject is left out of that covariate's tally); lanes
    /// from `lanes` on are ignored. Returns each covariate's tally with its number of deaths;
    /// `None` when there are too many subjects for the counts (kept as u16).
    ///
    /// Each lane keeps, per slot, the subjects joining the risk set and dying, and the pass
    /// position where the slot was first met (the patterns' order in [`Tally::build`]): the same
    /// operations on every lane, without a branch on the data, which the compiler runs as vector
    /// instructions. The counts are copied at every time someone died; a lane's block is the
    /// copy at a time when one of its own subjects died, and its joiners carry over otherwise.
    pub fn build_units(
        groups: &[(usize, usize)],
        status: &[bool],
        codes: &[[u8; LANES]],
        lanes: usize,
    ) -> Option<Vec<(Tally, usize)>> {
        // u16::MAX marks a slot not met, so positions stay below it
        if groups.last().map_or(0, |g| g.1) >= usize::from(u16::MAX) {
            return None;
        }
        let mut joining = [[0u16; LANES]; 3];
        let mut dying = [[0u16; LANES]; 3];
        let mut first = [[u16::MAX; LANES]; 3];
        // joining (3 slots) then dying (3 slots), at each time someone died
        let mut copies: Vec<[[u16; LANES]; 6]> = Vec::new();
        let mut index = 0u16;
        for &(start, end) in groups.iter().rev() {
            let mut someone_died = false;
            for pos in start..end {
                let row = &codes[pos];
                someone_died |= status[pos];
                let died = u16::from(status[pos]).wrapping_neg();
                for (s, ((joining, dying), first)) in
                    joining.iter_mut().zip(&mut dying).zip(&mut first).enumerate()
                {
                    for lane in 0..LANES {
                        let hit = row[lane] == s as u8;
                        let one = u16::from(hit);
                        dying[lane] += one & died;
                        joining[lane] += one & !died;
                        first[lane] = first[lane].min(select_unpredictable(hit, index, u16::MAX));
                    }
                }
                index += 1;
            }
            if someone_died {
                copies.push([joining[0], joining[1], joining[2], dying[0], dying[1], dying[2]]);
                for lane in 0..LANES {
                    // a lane whose subjects died here closes its block: its joiners start again
                    let closes = dying[0][lane] + dying[1][lane] + dying[2][lane] > 0;
                    let keep = u16::from(!closes).wrapping_neg();
                    for s in 0..3 {
                        joining[s][lane] &= keep;
                        dying[s][lane] = 0;
                    }
                }
            }
        }
        Some((0..lanes.min(LANES)).map(|lane| Tally::unit_lane(&copies, &first, lane)).collect())
    }

    /// Lane `lane`'s tally and number of deaths, from [`Tally::build_units`]' copies of the counts
    /// and the pass positions where each slot was first met.
    fn unit_lane(copies: &[[[u16; LANES]; 6]], first: &[[u16; LANES]; 3], lane: usize) -> (Tally, usize) {
        // the slots met, in the order they were first met
        let mut slots = [0usize, 1, 2];
        slots.sort_by_key(|&s| first[s][lane]);
        let np = slots.iter().filter(|&&s| first[s][lane] < u16::MAX).count();
        let slots = &slots[..np];
        let mut t = Tally {
            p: 1,
            n_patterns: np,
            patterns: [f64::NAN; MAX_PATTERNS * MAX_P],
            deaths: [0.0; MAX_PATTERNS],
            x_deaths: [0.0; MAX_P],
            blocks: Vec::new(),
        };
        for (pattern, &slot) in t.patterns.iter_mut().zip(slots) {
            *pattern = slot as f64 - 1.0;
        }
        // every copy written as a block, kept (by advancing past it) when the lane's
        // subjects died then; at other copies the lane's deaths are all 0
        let stride = 1 + 2 * np;
        t.blocks.resize(stride * (copies.len() + 1), 0.0);
        let (mut len, mut deaths) = (0, [0usize; MAX_PATTERNS]);
        for copy in copies {
            let d = copy[3][lane] + copy[4][lane] + copy[5][lane];
            let block = &mut t.blocks[len..len + stride];
            block[0] = f64::from(d);
            for (q, &s) in slots.iter().enumerate() {
                block[1 + q] = f64::from(copy[s][lane]);
                block[1 + np + q] = f64::from(copy[3 + s][lane]);
                deaths[q] += usize::from(copy[3 + s][lane]);
            }
            len += stride * usize::from(d > 0);
        }
        t.blocks.truncate(len);
        let n_event = deaths.iter().sum();
        (t.with_deaths(deaths), n_event)
    }

    /// The tally with its blocks, deaths and Σ x over deaths from `counts`: [`BLOCK`] numbers per
    /// death time, its deaths and then pattern q's joiners at `1 + q` and deaths at
    /// `1 + MAX_PATTERNS + q` (the first `n_patterns` slots of each half).
    fn with_counts(mut self, counts: &[u16]) -> Tally {
        let np = self.n_patterns;
        self.blocks.reserve_exact(counts.len() / BLOCK * (1 + 2 * np));
        // deaths per pattern summed here rather than per subject (a sum in memory per subject
        // would chain one subject's addition to the next)
        let mut deaths = [0usize; MAX_PATTERNS];
        for block in counts.chunks_exact(BLOCK) {
            let (joining, dead) = block[1..].split_at(MAX_PATTERNS);
            self.blocks.push(f64::from(block[0]));
            self.blocks.extend(joining[..np].iter().map(|&c| f64::from(c)));
            self.blocks.extend(dead[..np].iter().map(|&c| f64::from(c)));
            for (total, &c) in deaths.iter_mut().zip(&dead[..np]) {
                *total += usize::from(c);
            }
        }
        self.with_deaths(deaths)
    }

    /// The tally with its deaths per pattern and Σ x over deaths.
    fn with_deaths(mut self, deaths: [usize; MAX_PATTERNS]) -> Tally {
        let (p, np) = (self.p, self.n_patterns);
        for (total, d) in self.deaths.iter_mut().zip(deaths) {
            *total = d as f64;
        }
        for q in 0..np {
            for k in 0..p {
                self.x_deaths[k] += self.deaths[q] * self.patterns[q * p + k];
            }
        }
        self
    }

    pub fn n_patterns(&self) -> usize {
        self.n_patterns
    }

    /// Whether covariate `k` takes more than one value among the tallied subjects.
    pub fn varies(&self, k: usize) -> bool {
        let p = self.p;
        (1..self.n_patterns).any(|q| self.patterns[q * p + k] != self.patterns[k])
    }

    /// [`Sweep::eval`] on the tallied data: the log partial likelihood at `beta`, filling
    /// `sweep.u` and `sweep.imat` (`sweep.risk` is not filled).
    pub fn eval(&self, sweep: &mut Sweep, ties: Ties, beta: &[f64]) -> f64 {
        // one binary covariate (two patterns) is what a screening fits by the million: the same
        // code with the number of patterns known to the compiler (the operations and their order
        // do not change)
        match (self.p, self.n_patterns) {
            (1, 2) => match (self.patterns[0], self.patterns[1]) {
                (0.0, 1.0) => self.eval_binary::<true>(sweep, ties, beta),
                (1.0, 0.0) => self.eval_binary::<false>(sweep, ties, beta),
                _ => self.eval_p::<1, 3, 2>(sweep, ties, beta),
            },
            (1, _) => self.eval_p::<1, 3, 0>(sweep, ties, beta),
            (2, _) => self.eval_p::<2, 6, 0>(sweep, ties, beta),
            (3, _) => self.eval_p::<3, 10, 0>(sweep, ties, beta),
            _ => self.eval_p::<4, 15, 0>(sweep, ties, beta),
        }
    }

    /// [`Tally::eval_p`] for one covariate taking the values 0 and 1 (pattern 0 is x = 0 when
    /// `ZERO_FIRST`): the same operations in the same order, less those that cannot change a sum.
    /// Pattern x = 0 has the terms (r, r x, r x^2) = (1, 0, 0) and pattern x = 1 has (r, r, r), so
    /// the sums of r x and r x^2 are equal, term for term, and adding count x 0 = +0 leaves a sum
    /// as it is (sums start at +0 and stay >= 0): one sum of r x is kept and count x 1 is the
    /// count. When r = exp(b) is not finite, `eval_p` handles it.
    fn eval_binary<const ZERO_FIRST: bool>(&self, s: &mut Sweep, ties: Ties, beta: &[f64]) -> f64 {
        let (q0, q1) = if ZERO_FIRST { (0, 1) } else { (1, 0) };
        // as eval_p: loglik starts with deaths_q x (x_q b) in pattern order; x_q b is +0 or b
        let zbeta = |q: usize| 0.0 + beta[0] * self.patterns[q];
        let mut loglik = 0.0;
        loglik += self.deaths[0] * zbeta(0);
        loglik += self.deaths[1] * zbeta(1);
        let r = zbeta(q1).exp();
        if !r.is_finite() {
            return self.eval_p::<1, 3, 2>(s, ties, beta);
        }
        let mut u = self.x_deaths[0];
        let mut imat = 0.0;
        // at_risk[0], at_risk[1] (= at_risk[2]) of eval_p
        let (mut risk, mut risk_x) = (0.0, 0.0);
        let mut logs = LogTerms::default();
        for block in self.blocks.chunks_exact(5) {
            let n_dead = block[0];
            let (joining, dead) = (&block[1..3], &block[3..5]);
            let (join_r, dead_r) = (joining[q1] * r, dead[q1] * r);
            // pattern order: the count of x = 0 (times 1) and count x r of x = 1
            let mut die = 0.0;
            if ZERO_FIRST {
                risk += joining[q0];
                die += dead[q0];
                risk += join_r;
                die += dead_r;
            } else {
                risk += join_r;
                die += dead_r;
                risk += joining[q0];
                die += dead[q0];
            }
            risk_x += join_r;
            // the deaths' sum of r x is dead_r alone (x = 0 adds +0)
            if ties == Ties::Breslow || n_dead == 1.0 {
                risk += die;
                risk_x += dead_r;
                let denom = risk;
                logs.push(&mut loglik, n_dead, denom);
                let mean = risk_x / denom;
                u -= n_dead * mean;
                imat += n_dead * (risk_x - mean * risk_x) / denom;
            } else {
                for _ in 0..n_dead as usize {
                    risk += die / n_dead;
                    risk_x += dead_r / n_dead;
                    let denom = risk;
                    logs.push(&mut loglik, 1.0, denom);
                    let mean = risk_x / denom;
                    u -= mean;
                    imat += (risk_x - mean * risk_x) / denom;
                }
            }
        }
        logs.flush(&mut loglik);
        s.u[0] = u;
        s.imat[0] = imat;
        loglik
    }

    /// `P` covariates; `M = 1 + P + P (P + 1) / 2` terms per pattern; `NP` patterns (0: any
    /// number, `self.n_patterns`).
    fn eval_p<const P: usize, const M: usize, const NP: usize>(
        &self,
        s: &mut Sweep,
        ties: Ties,
        beta: &[f64],
    ) -> f64 {
        let np = if NP == 0 { self.n_patterns } else { NP };
        // per pattern: [r, r x_1..r x_P, r x_i x_j (j <= i)], the terms every risk-set sum adds
        let mut terms = [[0.0; M]; MAX_PATTERNS];
        let mut loglik = 0.0;
        for (q, t) in terms.iter_mut().enumerate().take(np) {
            let xq = &self.patterns[q * P..(q + 1) * P];
            let mut zbeta = 0.0;
            for k in 0..P {
                zbeta += beta[k] * xq[k];
            }
            loglik += self.deaths[q] * zbeta;
            let r = zbeta.exp();
            t[0] = r;
            let mut c = 1 + P;
            for i in 0..P {
                t[1 + i] = r * xq[i];
                for j in 0..=i {
                    t[c] = r * xq[i] * xq[j];
                    c += 1;
                }
            }
        }
        let tri = |i: usize, j: usize| 1 + P + i * (i + 1) / 2 + j;
        let mut u = [0.0; P];
        u.copy_from_slice(&self.x_deaths[..P]);
        let mut imat = [[0.0; P]; P];
        let mut at_risk = [0.0; M];
        // With every term finite, a count of 0 adds 0 x term = +-0, which leaves a sum unchanged
        // (the sums start at +0 and never become -0): no branch on the counts, which the data
        // make unpredictable. Otherwise counts of 0 are skipped (0 x inf would be NaN where the
        // sweep adds nothing).
        let finite = terms[..np].iter().all(|t| t.iter().all(|v| v.is_finite()));
        let mut logs = LogTerms::default();
        for block in self.blocks.chunks_exact(1 + 2 * np) {
            let n_dead = block[0];
            let (joining, dead) = block[1..].split_at(np);
            let mut dying = [0.0; M];
            for q in 0..np {
                let (count_joining, count_dead) = (joining[q], dead[q]);
                if finite {
                    for ((risk, die), v) in at_risk.iter_mut().zip(dying.iter_mut()).zip(&terms[q]) {
                        *risk += count_joining * v;
                        *die += count_dead * v;
                    }
                    continue;
                }
                if count_joining > 0.0 {
                    for (acc, v) in at_risk.iter_mut().zip(&terms[q]) {
                        *acc += count_joining * v;
                    }
                }
                if count_dead > 0.0 {
                    for (acc, v) in dying.iter_mut().zip(&terms[q]) {
                        *acc += count_dead * v;
                    }
                }
            }
            if ties == Ties::Breslow || n_dead == 1.0 {
                for (acc, v) in at_risk.iter_mut().zip(&dying) {
                    *acc += v;
                }
                let denom = at_risk[0];
                logs.push(&mut loglik, n_dead, denom);
                for i in 0..P {
                    let mean = at_risk[1 + i] / denom;
                    u[i] -= n_dead * mean;
                    for j in 0..=i {
                        imat[i][j] += n_dead * (at_risk[tri(i, j)] - mean * at_risk[1 + j]) / denom;
                    }
                }
            } else {
                // Efron: the tied deaths enter the risk set a fraction 1/d at a time
                let d = n_dead;
                for _ in 0..n_dead as usize {
                    for (acc, v) in at_risk.iter_mut().zip(&dying) {
                        *acc += v / d;
                    }
                    let denom = at_risk[0];
                    // log(denom), as 1 x log(denom) is exactly
                    logs.push(&mut loglik, 1.0, denom);
                    for i in 0..P {
                        let mean = at_risk[1 + i] / denom;
                        u[i] -= mean;
                        for j in 0..=i {
                            imat[i][j] += (at_risk[tri(i, j)] - mean * at_risk[1 + j]) / denom;
                        }
                    }
                }
            }
        }
        logs.flush(&mut loglik);
        s.u.copy_from_slice(&u);
        for (i, row) in imat.iter().enumerate() {
            for (j, &v) in row.iter().enumerate().take(i + 1) {
                s.imat[i * P + j] = v;
                s.imat[j * P + i] = v;
            }
        }
        loglik
    }
}

/// The log partial likelihood of one data set, tallied by pattern when that is faster: what
/// Newton–Raphson and the profile intervals evaluate.
pub(crate) struct Likelihood<'a> {
    x: &'a [f64],
    status: &'a [bool],
    groups: &'a [(usize, usize)],
    ties: Ties,
    tally: Option<Tally>,
}

impl<'a> Likelihood<'a> {
    pub fn new(
        x: &'a [f64],
        p: usize,
        status: &'a [bool],
        groups: &'a [(usize, usize)],
        ties: Ties,
    ) -> Likelihood<'a> {
        Likelihood { x, status, groups, ties, tally: Tally::new(x, p, status, groups) }
    }

    /// The likelihood of tallied data (its evaluations are the tally's).
    pub fn tallied(tally: Tally, ties: Ties) -> Likelihood<'static> {
        Likelihood { x: &[], status: &[], groups: &[], ties, tally: Some(tally) }
    }

    /// l(beta), filling `sweep.u` and `sweep.imat`.
    pub fn eval(&self, sweep: &mut Sweep, beta: &[f64]) -> f64 {
        match &self.tally {
            Some(t) => t.eval(sweep, self.ties, beta),
            None => sweep.eval(self.x, self.status, self.groups, self.ties, beta),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_subjects_closed_form() {
        // Subject 1 (x = 1) dies at t = 1, subject 2 (x = 0) is censored at t = 2.
        // l(b) = b - log(e^b + 1);  U = 1 - e^b/(e^b + 1);  I = e^b/(e^b + 1)^2.  At b = 0.5:
        let b = 0.5_f64;
        let x = [1.0, 0.0];
        let status = [true, false];
        let groups = [(0, 1), (1, 2)];
        let mut s = Sweep::new(1);
        let l = s.eval(&x, &status, &groups, Ties::Efron, &[b]);
        let e = b.exp();
        assert!((l - (b - (e + 1.0).ln())).abs() < 1e-15);
        assert!((s.u[0] - (1.0 - e / (e + 1.0))).abs() < 1e-15);
        assert!((s.imat[0] - e / (e + 1.0).powi(2)).abs() < 1e-15);
    }

    #[test]
    fn efron_and_breslow_for_two_tied_deaths() {
        // Three subjects at one time t = 1: two deaths (x = 1, x = 0), then one censored at t = 2
        // (x = 0). Risk scores r = (e^b, 1, 1).
        // Breslow: l = b - 2 log(e^b + 2).
        // Efron:   l = b - log(e^b + 2) - log((e^b + 1)/2 + 1).
        let b = 0.3_f64;
        let e = b.exp();
        let x = [1.0, 0.0, 0.0];
        let status = [true, true, false];
        let groups = [(0, 2), (2, 3)];
        let mut s = Sweep::new(1);
        let lb = s.eval(&x, &status, &groups, Ties::Breslow, &[b]);
        assert!((lb - (b - 2.0 * (e + 2.0).ln())).abs() < 1e-14);
        let le = s.eval(&x, &status, &groups, Ties::Efron, &[b]);
        assert!((le - (b - (e + 2.0).ln() - ((e + 1.0) / 2.0 + 1.0).ln())).abs() < 1e-14);
        // Efron score: 1 - e/(e+2) - (e/2)/((e+1)/2 + 1)
        let ue = 1.0 - e / (e + 2.0) - (e / 2.0) / ((e + 1.0) / 2.0 + 1.0);
        assert!((s.u[0] - ue).abs() < 1e-14);
    }

    /// Deterministic small data: times on a coarse grid (many ties), ~40% censored, covariates
    /// with `levels` values each.
    fn tied_data(n: usize, p: usize, levels: u64, seed: u64) -> (Vec<f64>, Vec<bool>, Vec<(usize, usize)>) {
        let mut state = seed;
        let mut next = move || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            state >> 33
        };
        let mut rows: Vec<(u64, bool, Vec<f64>)> = (0..n)
            .map(|_| {
                let t = next() % 12;
                let e = next() % 5 < 3;
                let x = (0..p).map(|_| (next() % levels) as f64 * 0.7 - 0.5).collect();
                (t, e, x)
            })
            .collect();
        rows.sort_by_key(|r| r.0);
        let mut groups = Vec::new();
        let mut start = 0;
        for pos in 1..=n {
            if pos == n || rows[pos].0 != rows[start].0 {
                groups.push((start, pos));
                start = pos;
            }
        }
        let x = rows.iter().flat_map(|r| r.2.clone()).collect();
        let status = rows.iter().map(|r| r.1).collect();
        (x, status, groups)
    }

    #[test]
    fn tally_agrees_with_the_subject_sweep() {
        // the same sums in another order: equal to rounding, for every p, both ties, any beta
        for (p, levels) in [(1, 2), (1, 4), (1, 8), (2, 2), (3, 2), (4, 1)] {
            for seed in 0..5 {
                let (x, status, groups) = tied_data(60, p, levels, seed);
                let tally = Tally::new(&x, p, &status, &groups).expect("few patterns");
                for ties in [Ties::Efron, Ties::Breslow] {
                    for scale in [0.0, 0.4, -1.3, 3.0] {
                        let beta: Vec<f64> = (0..p).map(|k| scale * (1.0 - 0.3 * k as f64)).collect();
                        let (mut a, mut b) = (Sweep::new(p), Sweep::new(p));
                        let la = a.eval(&x, &status, &groups, ties, &beta);
                        let lb = tally.eval(&mut b, ties, &beta);
                        let near = |u: f64, v: f64| (u - v).abs() <= 1e-12 * u.abs().max(v.abs()).max(1.0);
                        assert!(near(la, lb), "p {p} seed {seed} {ties:?} {scale}: {la} vs {lb}");
                        assert!(a.u.iter().zip(&b.u).all(|(u, v)| near(*u, *v)), "{:?} vs {:?}", a.u, b.u);
                        assert!(a.imat.iter().zip(&b.imat).all(|(u, v)| near(*u, *v)));
                    }
                }
            }
        }
    }

    #[test]
    fn tally_agrees_with_the_subject_sweep_when_exp_overflows() {
        // exp(x'b) = inf for some patterns: the tally's branch-free sums do not apply, and its
        // sums skip empty patterns as the sweep adds nothing for them
        for (p, levels) in [(1, 2), (1, 4), (2, 2)] {
            for seed in 0..5 {
                let (x, status, groups) = tied_data(60, p, levels, seed);
                let tally = Tally::new(&x, p, &status, &groups).expect("few patterns");
                for ties in [Ties::Efron, Ties::Breslow] {
                    for b in [800.0, -800.0] {
                        let beta = vec![b; p];
                        let (mut a, mut t) = (Sweep::new(p), Sweep::new(p));
                        let la = a.eval(&x, &status, &groups, ties, &beta);
                        let lt = tally.eval(&mut t, ties, &beta);
                        let same = |u: f64, v: f64| {
                            u.to_bits() == v.to_bits()
                                || (u.is_nan() && v.is_nan())
                                || (u - v).abs() <= 1e-12 * u.abs().max(v.abs()).max(1.0)
                        };
                        assert!(same(la, lt), "p {p} seed {seed} {ties:?} {b}: {la} vs {lt}");
                        assert!(a.u.iter().zip(&t.u).all(|(u, v)| same(*u, *v)), "{:?} vs {:?}", a.u, t.u);
                        assert!(a.imat.iter().zip(&t.imat).all(|(u, v)| same(*u, *v)));
                    }
                }
            }
        }
    }

    #[test]
    fn binary_evaluation_is_the_general_one_bit_for_bit() {
        // x in {0, 1}, patterns met in either order: eval_binary skips only additions of +0 and
        // the copy of a sum, so l, U and I keep their bits (also where exp(b) overflows)
        let mut orders = [false; 2];
        for seed in 0..40 {
            let (x, status, groups) = tied_data(50, 1, 2, seed);
            let x: Vec<f64> = x.iter().map(|&v| if v < 0.0 { 0.0 } else { 1.0 }).collect();
            let Some(tally) = Tally::new(&x, 1, &status, &groups) else { continue };
            if tally.n_patterns != 2 {
                continue;
            }
            orders[(tally.patterns[0] == 1.0) as usize] = true;
            for ties in [Ties::Efron, Ties::Breslow] {
                for b in [0.0, 0.4, -1.3, 3.0, 800.0, -800.0] {
                    let (mut s1, mut s2) = (Sweep::new(1), Sweep::new(1));
                    let l1 = tally.eval(&mut s1, ties, &[b]);
                    let l2 = tally.eval_p::<1, 3, 2>(&mut s2, ties, &[b]);
                    let same = |u: f64, v: f64| u.to_bits() == v.to_bits() || (u.is_nan() && v.is_nan());
                    assert!(same(l1, l2), "seed {seed} {ties:?} {b}: {l1} vs {l2}");
                    assert!(
                        same(s1.u[0], s2.u[0]) && same(s1.imat[0], s2.imat[0]),
                        "seed {seed} {ties:?} {b}"
                    );
                }
            }
        }
        assert_eq!(orders, [true, true], "both pattern orders met");
    }

    #[test]
    fn tally_declines_many_patterns() {
        let (x, status, groups) = tied_data(60, 1, 1000, 1);
        assert!(Tally::new(&x, 1, &status, &groups).is_none());
        // 5 patterns among 12 subjects: more than a quarter
        let (x, status, groups) = tied_data(12, 1, 5, 2);
        assert!(Tally::new(&x, 1, &status, &groups).is_none());
    }
}
