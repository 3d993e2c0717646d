//! Maximally selected log-rank statistic for a continuous marker, as R's maxstat 0.7-25 computes it.
//!
//! ```text
//! a_i    = delta_i - Σ_{j: t_j <= t_i} delta_j / (N - r_j + 1),   r_j = #{k: t_k <= t_j}
//!                                           (log-rank scores, exactRankTests::cscores.Surv)
//! S_m    = Σ of the scores of the m smallest markers       (group 1: marker <= cut)
//! E_m    = m/N Σ a,   V_m = m (N - m) / (N^2 (N - 1)) (N Σ a^2 - (Σ a)^2)
//! M      = max_m |S_m - E_m| / sqrt(V_m)    over the admissible m: each m is the number of
//!          markers <= a distinct value, max(1, floor(N minprop)) <= m <= floor(N maxprop)
//! cut    = the largest marker of group 1 at the first m attaining M
//!
//! Lau92: p = 4 phi(M)/M + phi(M) (M - 1/M) log(maxprop (1 - minprop) / ((1 - maxprop) minprop)),
//!        floored at 0; p = 1 when M < 1
//! Lau94: p = 2 (1 - Phi(M)) + Σ_k exp(-M^2/2)/pi (t_k - (M^2/4 - 1) t_k^3 / 6),
//!        t_k = sqrt(1 - m_k (N - m_{k+1}) / ((N - m_k) m_{k+1})) over consecutive admissible m
//! ```
//! Lausen & Schumacher (1992), Biometrics 48:73-85 (Lau92, a Brownian-bridge approximation);
//! Lausen, Sauerbrei & Schumacher (1994), Computational Statistics 483-496 (Lau94, an improved
//! Bonferroni bound). R: `maxstat.test(Surv(time, event) ~ marker, smethod = "LogRank",
//! pmethod = "Lau92" / "Lau94", minprop = 0.1, maxprop = 0.9)`.
//!
//! Neither p-value is clipped: Lau94 can exceed 1 for small M, as in R. With tied times the
//! scores follow exactRankTests exactly (its denominator counts subjects with a later time plus
//! one, not the risk set), so they need not sum to zero.

use crate::data::SurvivalData;
use thiserror::Error;

/// The proportions bounding group 1's size (maxstat's `minprop`, `maxprop`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MaxstatControl {
    pub minprop: f64,
    pub maxprop: f64,
}

impl MaxstatControl {
    /// maxstat's defaults: `minprop = 0.1`, `maxprop = 0.9`.
    pub fn r_defaults() -> MaxstatControl {
        MaxstatControl { minprop: 0.1, maxprop: 0.9 }
    }
}

/// Whether the statistic could be computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxstatStatus {
    Ok,
    /// Exactly one admissible cut: R computes it (Lau94 has no Bonferroni terms), but nothing
    /// was selected, so the p-values are not corrected for selection.
    SingleCut,
    /// No admissible cut (R stops with "no data between minprop, maxprop" or similar).
    NoCut,
    /// No events: every score is zero and the statistic is 0/0.
    NoEvents,
    /// All scores are equal (e.g. every subject has an event at one time): variance zero.
    ConstantScores,
}

/// The estimate; present unless the status is `NoCut`, `NoEvents` or `ConstantScores`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MaxstatEstimate {
    /// Group 1 is marker <= `cut_le`.
    pub cut_le: f64,
    /// The maximal standardized |statistic| M.
    pub statistic: f64,
    /// Group 1's size at the selected cut.
    pub n_le: usize,
    pub p_lau92: f64,
    pub p_lau94: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MaxstatFit {
    pub status: MaxstatStatus,
    pub n: usize,
    /// Number of admissible cut-points.
    pub n_cuts: usize,
    pub estimate: Option<MaxstatEstimate>,
}

#[derive(Debug, Clone, PartialEq, Error)]
pub enum MaxstatError {
    #[error("marker has {n_marker} values for {n_subject} subjects")]
    LengthMismatch { n_marker: usize, n_subject: usize },
    #[error("marker at row {row_idx} is {value}; expected a finite number")]
    NonFiniteMarker { row_idx: usize, value: f64 },
    #[error("minprop {minprop} and maxprop {maxprop}: need 0 <= minprop < maxprop <= 1")]
    BadProportions { minprop: f64, maxprop: f64 },
}

/// Reusable buffers for repeated fits; a fit allocates nothing once they have grown.
#[derive(Debug, Default, Clone)]
pub struct MaxstatWorkspace {
    idx: Vec<usize>,
    scores: Vec<f64>,
    /// (marker, score) sorted by marker
    by_marker: Vec<(f64, f64)>,
    cuts: Vec<usize>,
}

impl MaxstatWorkspace {
    pub fn new() -> MaxstatWorkspace {
        MaxstatWorkspace::default()
    }
}

/// The maximally selected log-rank statistic of `marker` (one value per subject of `data`).
pub fn fit(
    data: &SurvivalData,
    marker: &[f64],
    control: &MaxstatControl,
) -> Result<MaxstatFit, MaxstatError> {
    fit_with(&mut MaxstatWorkspace::new(), data, marker, control)
}

/// As [`fit`], reusing `ws`'s buffers.
pub fn fit_with(
    ws: &mut MaxstatWorkspace,
    data: &SurvivalData,
    marker: &[f64],
    control: &MaxstatControl,
) -> Result<MaxstatFit, MaxstatError> {
    let n = data.len();
    if marker.len() != n {
        return Err(MaxstatError::LengthMismatch { n_marker: marker.len(), n_subject: n });
    }
    if let Some((row_idx, &value)) = marker.iter().enumerate().find(|(_, x)| !x.is_finite()) {
        return Err(MaxstatError::NonFiniteMarker { row_idx, value });
    }
    let MaxstatControl { minprop, maxprop } = *control;
    if !(0.0 <= minprop && minprop < maxprop && maxprop <= 1.0) {
        return Err(MaxstatError::BadProportions { minprop, maxprop });
    }
    let mut out = MaxstatFit { status: MaxstatStatus::Ok, n, n_cuts: 0, estimate: None };

    logrank_scores(ws, data);
    ws.by_marker.clear();
    ws.by_marker.extend(marker.iter().copied().zip(ws.scores.iter().copied()));
    // stable, as R's order(): ties keep the subjects' order, which fixes the summation order
    ws.by_marker.sort_by(|a, b| a.0.total_cmp(&b.0));
    admissible_cuts(&ws.by_marker, minprop, maxprop, &mut ws.cuts);
    out.n_cuts = ws.cuts.len();

    if data.n_event() == 0 {
        out.status = MaxstatStatus::NoEvents;
        return Ok(out);
    }
    let first_score = ws.by_marker[0].1;
    if ws.by_marker.iter().all(|p| p.1 == first_score) {
        out.status = MaxstatStatus::ConstantScores;
        return Ok(out);
    }
    if ws.cuts.is_empty() {
        out.status = MaxstatStatus::NoCut;
        return Ok(out);
    }
    if ws.cuts.len() == 1 {
        out.status = MaxstatStatus::SingleCut;
    }

    let nf = n as f64;
    let sum: f64 = ws.by_marker.iter().map(|p| p.1).sum();
    let sum_sq: f64 = ws.by_marker.iter().map(|p| p.1 * p.1).sum();
    let spread = nf * sum_sq - sum * sum;
    let (mut best, mut best_m) = (f64::NEG_INFINITY, 0);
    let mut partial = 0.0;
    let mut taken = 0;
    for &m in &ws.cuts {
        while taken < m {
            partial += ws.by_marker[taken].1;
            taken += 1;
        }
        let mf = m as f64;
        let expect = mf / nf * sum;
        let var = mf * (nf - mf) / (nf * nf * (nf - 1.0)) * spread;
        let stat = ((partial - expect) / var.sqrt()).abs();
        // strictly greater: the first maximum wins, as R's min(which(Test == STATISTIC))
        if stat > best {
            best = stat;
            best_m = m;
        }
    }
    out.estimate = Some(MaxstatEstimate {
        cut_le: ws.by_marker[best_m - 1].0,
        statistic: best,
        n_le: best_m,
        p_lau92: p_lausen92(best, minprop, maxprop),
        p_lau94: p_lausen94(best, n, &ws.cuts),
    });
    Ok(out)
}

/// Lausen & Schumacher (1992) approximation, maxstat's `pLausen92` (1 for b < 1, floored at 0).
pub fn p_lausen92(b: f64, minprop: f64, maxprop: f64) -> f64 {
    if b < 1.0 {
        return 1.0;
    }
    let db = dnorm(b);
    let p =
        4.0 * db / b + db * (b - 1.0 / b) * ((maxprop * (1.0 - minprop)) / ((1.0 - maxprop) * minprop)).ln();
    p.max(0.0)
}

/// Lausen, Sauerbrei & Schumacher (1994) improved Bonferroni bound, maxstat's `pLausen94` with
/// the observed group-1 sizes `cuts` (increasing) among `n` subjects. Not clipped to 1.
pub fn p_lausen94(b: f64, n: usize, cuts: &[usize]) -> f64 {
    let nf = n as f64;
    let e = (-b * b / 2.0).exp();
    let d: f64 = cuts
        .windows(2)
        .map(|w| {
            let (m1, m2) = (w[0] as f64, w[1] as f64);
            let t = (1.0 - m1 * (nf - m2) / ((nf - m1) * m2)).sqrt();
            1.0 / std::f64::consts::PI * e * (t - (b * b / 4.0 - 1.0) * (t * t * t) / 6.0)
        })
        .sum();
    1.0 - (pnorm(b) - pnorm(-b)) + d
}

/// exactRankTests' log-rank scores into `ws.scores` (subject order), via one sort by time.
fn logrank_scores(ws: &mut MaxstatWorkspace, data: &SurvivalData) {
    let (time, event) = (data.time(), data.event());
    let n = time.len();
    ws.idx.clear();
    ws.idx.extend(0..n);
    ws.idx.sort_by(|&a, &b| time[a].total_cmp(&time[b]));
    ws.scores.clear();
    ws.scores.resize(n, 0.0);
    let mut cum = 0.0;
    let mut start = 0;
    while start < n {
        let t = time[ws.idx[start]];
        let mut end = start;
        while end < n && time[ws.idx[end]] == t {
            end += 1;
        }
        // r_j = end (number of times <= t); each event adds 1 / (n - r_j + 1)
        let denom = (n - end + 1) as f64;
        for &i in &ws.idx[start..end] {
            if event[i] {
                cum += 1.0 / denom;
            }
        }
        for &i in &ws.idx[start..end] {
            ws.scores[i] = f64::from(u8::from(event[i])) - cum;
        }
        start = end;
    }
}

/// maxstat's admissible group-1 sizes: for each distinct marker value, the number of markers
/// strictly below it (`which(!duplicated(x)) - 1`), kept when within
/// [max(1, floor(N minprop)), floor(N maxprop)]. With minprop = 0 and maxprop = 1 maxstat drops
/// the first and the last instead.
fn admissible_cuts(by_marker: &[(f64, f64)], minprop: f64, maxprop: f64, cuts: &mut Vec<usize>) {
    let n = by_marker.len();
    cuts.clear();
    let mut candidates =
        (0..n).filter(|&i| i == 0 || by_marker[i].0 != by_marker[i - 1].0).filter(|&m| m > 0).peekable();
    if minprop == 0.0 && maxprop == 1.0 {
        // all distinct values but the first (m = 0, already skipped) and the last
        while let Some(m) = candidates.next() {
            if candidates.peek().is_some() {
                cuts.push(m);
            }
        }
        return;
    }
    let nf = n as f64;
    let lo = ((nf * minprop).floor() as usize).max(1);
    let hi = (nf * maxprop).floor() as usize;
    cuts.extend(candidates.filter(|&m| lo <= m && m <= hi));
}

/// Standard normal density.
fn dnorm(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Standard normal distribution function, via statrs' erfc (accurate in both tails).
fn pnorm(x: f64) -> f64 {
    0.5 * statrs::function::erf::erfc(-x / std::f64::consts::SQRT_2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(time: &[f64], event: &[bool]) -> SurvivalData {
        SurvivalData::new(time.to_vec(), event.to_vec()).unwrap()
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
    }

    #[test]
    fn logrank_scores_by_hand() {
        // times 1, 2, 3, 4 with events 1, 0, 1, 1 (no ties): cumulative hazard increments
        // 1/4 at t=1, 0 at 2, 1/2 at 3, 1/1 at 4. Scores: 1 - 1/4, 0 - 1/4, 1 - 3/4, 1 - 7/4.
        let d = data(&[3.0, 1.0, 4.0, 2.0], &[true, true, true, false]);
        let mut ws = MaxstatWorkspace::new();
        logrank_scores(&mut ws, &d);
        assert_eq!(ws.scores, vec![0.25, 0.75, -0.75, -0.25]);
        // tied times (exactRankTests' rule): two events at t=1 among 3 -> each 1/(3 - 2 + 1) = 1/2,
        // so the cumulative sum is 1 at t=1; the censored one at t=2 adds nothing.
        let d = data(&[1.0, 1.0, 2.0], &[true, true, false]);
        logrank_scores(&mut ws, &d);
        assert_eq!(ws.scores, vec![0.0, 0.0, -1.0]);
    }

    #[test]
    fn statistic_by_hand() {
        // N = 4, scores (by marker order) 3/4, -1/4, 1/4, -3/4 from times 1, 2, 3, 4 all with
        // events except time 2... use the data of logrank_scores_by_hand with marker = time.
        // Sorted by marker: 0.75, -0.25, 0.25, -0.75. Sum 0, Σa^2 = 1.25.
        // minprop 0.25, maxprop 0.75: m in [1, 3].
        // V_m = m (4 - m) / (16 * 3) * (4 * 1.25) = m (4 - m) * 5/48.
        // m=1: S = 0.75, V = 15/48 -> 0.75 / sqrt(0.3125) = 1.3416...
        // m=2: S = 0.5, V = 20/48 -> 0.5 / sqrt(0.41667) = 0.7746...
        // m=3: S = 0.75, V = 15/48 -> 1.3416 (tie; the first, m = 1, wins)
        let d = data(&[3.0, 1.0, 4.0, 2.0], &[true, true, true, false]);
        let marker = [3.0, 1.0, 4.0, 2.0];
        let f = fit(&d, &marker, &MaxstatControl { minprop: 0.25, maxprop: 0.75 }).unwrap();
        assert_eq!(f.status, MaxstatStatus::Ok);
        assert_eq!(f.n_cuts, 3);
        let e = f.estimate.unwrap();
        assert!(close(e.statistic, 0.75 / 0.3125f64.sqrt(), 1e-14));
        assert_eq!((e.cut_le, e.n_le), (1.0, 1));
        // Lau94 with cuts 1, 2, 3 of N = 4: t = sqrt(1 - 1*2/(3*2)) = sqrt(2/3) for (1,2),
        // and sqrt(1 - 2*1/(2*3)) = sqrt(2/3) for (2,3).
        let b = e.statistic;
        let t = (2.0f64 / 3.0).sqrt();
        let term = (-b * b / 2.0).exp() / std::f64::consts::PI * (t - (b * b / 4.0 - 1.0) * t.powi(3) / 6.0);
        let expect94 = 1.0 - (pnorm(b) - pnorm(-b)) + 2.0 * term;
        assert!(close(e.p_lau94, expect94, 1e-14));
    }

    #[test]
    fn lausen92_matches_its_formula_and_floors() {
        // b < 1 gives 1 (maxstat's correction)
        assert_eq!(p_lausen92(0.5, 0.1, 0.9), 1.0);
        // b = 2: phi(2) = 0.05399096651318806; log(0.81/0.01) = log(81)
        let db = 0.053_990_966_513_188_06;
        let expect = 4.0 * db / 2.0 + db * 1.5 * 81f64.ln();
        assert!(close(p_lausen92(2.0, 0.1, 0.9), expect, 1e-14));
        // a huge statistic gives a tiny positive p; never negative
        assert!(p_lausen92(40.0, 0.1, 0.9) >= 0.0);
    }

    #[test]
    fn lausen94_with_one_cut_is_the_two_sided_normal_p() {
        // No consecutive pairs: p = 1 - (Phi(b) - Phi(-b)); at b = qnorm(0.975) = 1.959963984540054
        // (R 4.2.2) that is 0.05. Tolerance 1e-9: statrs 0.19.1's erfc is off by ~5e-11 relative here.
        assert!(close(p_lausen94(1.959963984540054, 20, &[10]), 0.05, 1e-9));
    }

    #[test]
    fn admissible_cuts_follow_maxstat() {
        // markers 1 1 2 3 3 3 4 5 5 6 (N = 10): distinct values start at 0, 2, 3, 6, 7, 9.
        let x = [1.0, 1.0, 2.0, 3.0, 3.0, 3.0, 4.0, 5.0, 5.0, 6.0];
        let by: Vec<(f64, f64)> = x.iter().map(|&v| (v, 0.0)).collect();
        let mut cuts = Vec::new();
        admissible_cuts(&by, 0.1, 0.9, &mut cuts);
        // floor(10 * 0.1) = 1 and floor(10 * 0.9) = 9
        assert_eq!(cuts, vec![2, 3, 6, 7, 9]);
        admissible_cuts(&by, 0.3, 0.65, &mut cuts);
        assert_eq!(cuts, vec![3, 6]);
        admissible_cuts(&by, 0.0, 1.0, &mut cuts);
        assert_eq!(cuts, vec![2, 3, 6, 7]);
    }

    #[test]
    fn degenerate_inputs_are_flagged() {
        let d = data(&[1.0, 2.0, 3.0, 4.0], &[false; 4]);
        let f = fit(&d, &[1.0, 2.0, 3.0, 4.0], &MaxstatControl::r_defaults()).unwrap();
        assert_eq!((f.status, f.estimate), (MaxstatStatus::NoEvents, None));
        // all events at one time: every score is 1 - N
        let d = data(&[2.0; 4], &[true; 4]);
        let f = fit(&d, &[1.0, 2.0, 3.0, 4.0], &MaxstatControl::r_defaults()).unwrap();
        assert_eq!(f.status, MaxstatStatus::ConstantScores);
        // one marker value: no cut
        let d = data(&[1.0, 2.0, 3.0, 4.0], &[true; 4]);
        let f = fit(&d, &[7.0; 4], &MaxstatControl::r_defaults()).unwrap();
        assert_eq!((f.status, f.n_cuts), (MaxstatStatus::NoCut, 0));
        // two marker values: one cut, computed but flagged
        let f = fit(&d, &[1.0, 1.0, 2.0, 2.0], &MaxstatControl::r_defaults()).unwrap();
        assert_eq!(f.status, MaxstatStatus::SingleCut);
        assert!(f.estimate.unwrap().statistic.is_finite());
        assert_eq!(
            fit(&d, &[1.0], &MaxstatControl::r_defaults()),
            Err(MaxstatError::LengthMismatch { n_marker: 1, n_subject: 4 })
        );
        assert!(fit(&d, &[1.0, f64::NAN, 2.0, 3.0], &MaxstatControl::r_defaults()).is_err());
        assert!(fit(&d, &[1.0, 2.0, 3.0, 4.0], &MaxstatControl { minprop: 0.6, maxprop: 0.4 }).is_err());
    }
}
