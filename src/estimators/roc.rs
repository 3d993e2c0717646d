//! Empirical ROC analysis of a continuous marker against a binary outcome, as R's pROC 1.18.0 does it.
//!
//! ```text
//! direction  "<" (controls < cases, positive when the marker is high)
//!               when median(controls) <= median(cases), else ">"          (pROC direction = "auto")
//! psi(x, y)  = 1 if case x beats control y, 1/2 if x == y, 0 otherwise
//!              (beats: x > y for "<", x < y for ">")
//! AUC        = theta = 1/(m n) Σ_i Σ_j psi(X_i, Y_j)                      (Mann–Whitney form)
//! V10_i      = 1/n Σ_j psi(X_i, Y_j),   V01_j = 1/m Σ_i psi(X_i, Y_j)     (DeLong placements)
//! Var(AUC)   = S10 / m + S01 / n,  S10 = Σ_i (V10_i - theta)^2 / (m - 1),
//!                                  S01 = Σ_j (V01_j - theta)^2 / (n - 1)
//! 95% CI     = theta ± qnorm(0.975) sqrt(Var), clipped to [0, 1]          (ci.auc, method = "delong")
//! Youden     = max over thresholds of se + sp; every tied maximum is reported
//! thresholds = -Inf, midpoints of consecutive distinct marker values, +Inf
//! ```
//! m cases (event), n controls. A threshold t classifies positive when marker >= t ("<") or
//! marker <= t (">"); as a rule on observed values, the cut is the largest distinct value below t:
//! "<" is positive when marker > cut, ">" when marker <= cut.
//!
//! Sources: DeLong, DeLong & Clarke-Pearson (1988), Biometrics 44:837-845; Sun & Xu (2014), IEEE
//! Signal Processing Letters 21:1389-1393 (the sorted single-pass placements); Youden (1950), Cancer
//! 3:32-35. R: `pROC::roc(direction = "auto")`, `var(roc, method = "delong")`,
//! `ci.auc(method = "delong")`, `coords(roc, "best", best.method = "youden")`.
//!
//! Order of the Youden optima follows pROC's curve, sorted by increasing specificity: increasing
//! threshold for "<", decreasing threshold for ">".
//!
//! pROC's automatic direction compares medians, not AUCs: it can give an AUC below 0.5 when the
//! medians and the bulk of the ranks disagree (see the unit test `auto_direction_can_give_auc_below_half`).

use crate::estimators::order::{for_each_tie_run, from_total_order_key, total_order_key};
use thiserror::Error;

/// Which side of a threshold counts as positive, in pROC's notation `controls DIR cases`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `"<"`: controls < cases; positive when the marker is at or above the threshold.
    Less,
    /// `">"`: controls > cases; positive when the marker is at or below the threshold.
    Greater,
}

impl Direction {
    /// pROC's spelling, `"<"` or `">"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Less => "<",
            Direction::Greater => ">",
        }
    }
}

/// Why the curve is degenerate (or that it is not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RocStatus {
    Ok,
    /// No subject with the event: pROC stops with "No case observation". Nothing is estimated.
    NoCases,
    /// No subject without the event: pROC stops with "No control observation". Nothing is estimated.
    NoControls,
    /// Every marker value is the same: AUC 0.5, DeLong SE 0, and the Youden optima are the two
    /// trivial thresholds -Inf and +Inf (what pROC reports too).
    ConstantMarker,
}

/// One Youden-optimal point of the ROC curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct YoudenPoint {
    /// pROC's threshold: the midpoint of two consecutive distinct values, or -Inf / +Inf.
    pub threshold: f64,
    /// The largest distinct observed value below `threshold` (-Inf when there is none).
    pub cut: f64,
    pub sensitivity: f64,
    pub specificity: f64,
}

/// The ROC analysis of one marker. `auc`, `auc_se` and `auc_ci` are `None` when they are undefined
/// (no cases or no controls; the SE and CI also need at least two of each).
#[derive(Debug, Clone, PartialEq)]
pub struct RocFit {
    pub status: RocStatus,
    pub n_case: usize,
    pub n_control: usize,
    /// The direction chosen by pROC's "auto" rule (`Less` when there are no cases or no controls).
    pub direction: Direction,
    pub auc: Option<f64>,
    /// DeLong standard error of the AUC.
    pub auc_se: Option<f64>,
    /// DeLong 95% confidence interval (lower, upper), clipped to [0, 1].
    pub auc_ci: Option<(f64, f64)>,
    /// Every Youden-optimal point, in pROC's order; empty when there are no cases or no controls.
    pub youden: Vec<YoudenPoint>,
}

/// Input that is not a marker with an outcome.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum RocError {
    #[error("marker and outcome have different lengths ({n_marker} and {n_outcome})")]
    LengthMismatch { n_marker: usize, n_outcome: usize },
    #[error("marker at row {row_idx} is {value}; expected a finite number")]
    NonFiniteMarker { row_idx: usize, value: f64 },
}

/// Reusable buffers, so that repeated fits (one per simulated replicate) allocate only the
/// result's list of Youden optima.
#[derive(Debug, Default, Clone)]
pub struct RocWorkspace {
    /// Markers of the controls and of the cases as `f64::total_cmp` keys, each sorted.
    controls: Vec<i64>,
    cases: Vec<i64>,
    /// (value, n_control, n_case) per distinct marker value, ascending.
    groups: Vec<(f64, usize, usize)>,
}

impl RocWorkspace {
    pub fn new() -> RocWorkspace {
        RocWorkspace::default()
    }
}

thread_local! {
    /// The buffers of `fit` and `fit_direction` (one set per thread).
    static WORKSPACE: std::cell::RefCell<RocWorkspace> = std::cell::RefCell::new(RocWorkspace::new());
}

/// 97.5% standard normal quantile, R 4.2.2 `qnorm(0.975)` printed with 16 significant digits.
const Z_975: f64 = 1.959963984540054;

/// ROC analysis of `marker` for the outcome `event` (true = case), direction chosen as pROC's "auto".
pub fn fit(marker: &[f64], event: &[bool]) -> Result<RocFit, RocError> {
    WORKSPACE.with_borrow_mut(|ws| fit_with(ws, marker, event))
}

/// As [`fit`], reusing `ws`'s buffers.
pub fn fit_with(ws: &mut RocWorkspace, marker: &[f64], event: &[bool]) -> Result<RocFit, RocError> {
    prepare(ws, marker, event)?;
    let direction = auto_direction(ws);
    Ok(analyse(ws, direction))
}

/// ROC analysis with a fixed direction (pROC's `direction = "<"` or `">"`).
pub fn fit_direction(marker: &[f64], event: &[bool], direction: Direction) -> Result<RocFit, RocError> {
    WORKSPACE.with_borrow_mut(|ws| {
        prepare(ws, marker, event)?;
        Ok(analyse(ws, direction))
    })
}

/// Validates, sorts the markers of each outcome (two short sorts of integer keys) and merges them
/// into tie groups.
fn prepare(ws: &mut RocWorkspace, marker: &[f64], event: &[bool]) -> Result<(), RocError> {
    if marker.len() != event.len() {
        return Err(RocError::LengthMismatch { n_marker: marker.len(), n_outcome: event.len() });
    }
    if let Some((row_idx, &value)) = marker.iter().enumerate().find(|(_, x)| !x.is_finite()) {
        return Err(RocError::NonFiniteMarker { row_idx, value });
    }
    ws.controls.clear();
    ws.cases.clear();
    for (&v, &e) in marker.iter().zip(event) {
        if e { &mut ws.cases } else { &mut ws.controls }.push(total_order_key(v));
    }
    ws.controls.sort_unstable();
    ws.cases.sort_unstable();
    ws.groups.clear();
    let groups = &mut ws.groups;
    for_each_tie_run(&ws.controls, &ws.cases, |value, c0, c1| groups.push((value, c0, c1)));
    Ok(())
}

/// pROC's "auto": "<" when median(controls) <= median(cases), else ">". `Less` when a group is empty.
fn auto_direction(ws: &RocWorkspace) -> Direction {
    if ws.cases.is_empty() || ws.controls.is_empty() {
        return Direction::Less;
    }
    if median_of(&ws.controls) <= median_of(&ws.cases) { Direction::Less } else { Direction::Greater }
}

/// Median of the sorted keys `sorted` (not empty). The midpoint of two values is computed as
/// a/2 + b/2, the correctly rounded mean, as R's long-double `mean` gives it.
fn median_of(sorted: &[i64]) -> f64 {
    let count = sorted.len();
    let hi = from_total_order_key(sorted[count / 2]);
    if count % 2 == 1 { hi } else { from_total_order_key(sorted[count / 2 - 1]) * 0.5 + hi * 0.5 }
}

fn analyse(ws: &RocWorkspace, direction: Direction) -> RocFit {
    let (n_case, n_control) = (ws.cases.len(), ws.controls.len());
    let groups = &ws.groups;
    let mut out = RocFit {
        status: RocStatus::Ok,
        n_case,
        n_control,
        direction,
        auc: None,
        auc_se: None,
        auc_ci: None,
        youden: Vec::new(),
    };
    if n_case == 0 {
        out.status = RocStatus::NoCases;
        return out;
    }
    if n_control == 0 {
        out.status = RocStatus::NoControls;
        return out;
    }
    if groups.len() == 1 {
        out.status = RocStatus::ConstantMarker;
    }
    let (theta, se) = delong(groups, direction, n_case, n_control);
    out.auc = Some(theta);
    out.auc_se = se;
    out.auc_ci = se.map(|s| ((theta - Z_975 * s).clamp(0.0, 1.0), (theta + Z_975 * s).clamp(0.0, 1.0)));
    out.youden = youden(groups, direction, n_case, n_control);
    out
}

/// AUC and its DeLong standard error (None with fewer than two cases or two controls).
/// Within a tie group of `c0` controls and `c1` cases, with `below0`/`below1` controls/cases
/// strictly below it, every case has the same placement and so does every control.
fn delong(groups: &[(f64, usize, usize)], direction: Direction, m: usize, n: usize) -> (f64, Option<f64>) {
    let (mf, nf) = (m as f64, n as f64);
    let placements = |below0: usize, below1: usize, c0: usize, c1: usize| -> (f64, f64) {
        let half0 = 0.5 * c0 as f64;
        let half1 = 0.5 * c1 as f64;
        match direction {
            Direction::Less => ((below0 as f64 + half0) / nf, ((m - below1 - c1) as f64 + half1) / mf),
            Direction::Greater => (((n - below0 - c0) as f64 + half0) / nf, (below1 as f64 + half1) / mf),
        }
    };
    // theta from the exact integer count of won pairs (ties count 1), one rounding only
    let mut twice_wins: u128 = 0;
    let mut below0 = 0;
    for &(_, c0, c1) in groups {
        let beaten = match direction {
            Direction::Less => 2 * below0 + c0,
            Direction::Greater => 2 * (n - below0 - c0) + c0,
        };
        twice_wins += c1 as u128 * beaten as u128;
        below0 += c0;
    }
    let theta = twice_wins as f64 / (2.0 * mf * nf);
    if m < 2 || n < 2 {
        return (theta, None);
    }
    let (mut ss_case, mut ss_control) = (0.0, 0.0);
    let (mut below0, mut below1) = (0, 0);
    for &(_, c0, c1) in groups {
        let (x_case, y_control) = placements(below0, below1, c0, c1);
        ss_case += c1 as f64 * (x_case - theta) * (x_case - theta);
        ss_control += c0 as f64 * (y_control - theta) * (y_control - theta);
        below0 += c0;
        below1 += c1;
    }
    let var = ss_case / (mf - 1.0) / mf + ss_control / (nf - 1.0) / nf;
    (theta, Some(var.sqrt()))
}

/// Every point maximising se + sp over pROC's thresholds, in pROC's order.
fn youden(groups: &[(f64, usize, usize)], direction: Direction, m: usize, n: usize) -> Vec<YoudenPoint> {
    let (mf, nf) = (m as f64, n as f64);
    // counts of true positives and true negatives at the threshold -Inf
    let (mut tp, mut tn) = match direction {
        Direction::Less => (m, 0),
        Direction::Greater => (0, n),
    };
    let mut best = f64::NEG_INFINITY;
    let mut points: Vec<YoudenPoint> = Vec::with_capacity(2);
    let mut consider = |threshold: f64, cut: f64, tp: usize, tn: usize| {
        let sensitivity = tp as f64 / mf;
        let specificity = tn as f64 / nf;
        let crit = sensitivity + specificity;
        if crit > best {
            best = crit;
            points.clear();
        }
        if crit == best {
            points.push(YoudenPoint { threshold, cut, sensitivity, specificity });
        }
    };
    consider(f64::NEG_INFINITY, f64::NEG_INFINITY, tp, tn);
    let mut groups = groups.iter().copied().peekable();
    let mut previous = f64::NEG_INFINITY;
    while let Some((value, c0, c1)) = groups.next() {
        match direction {
            Direction::Less => {
                tp -= c1;
                tn += c0;
            }
            Direction::Greater => {
                tp += c1;
                tn -= c0;
            }
        }
        let (threshold, cut) = match groups.peek() {
            None => (f64::INFINITY, value),
            Some(&(next, _, _)) => {
                let t = threshold_between(value, next, direction);
                (t, if value < t { value } else { previous })
            }
        };
        consider(threshold, cut, tp, tn);
        previous = value;
    }
    if direction == Direction::Greater {
        points.reverse();
    }
    points
}

/// pROC's threshold between consecutive distinct values a < b: (a + b) / 2, or a/2 + b/2 beyond
/// 1e100; when rounding puts the midpoint on a or b, it is moved to b for "<" and to a for ">"
/// (`roc.utils.thresholds`).
fn threshold_between(a: f64, b: f64, direction: Direction) -> f64 {
    let mut t = (a + b) / 2.0;
    if t.abs() > 1e100 {
        t = a / 2.0 + b / 2.0;
    }
    match direction {
        Direction::Less if t == a => b,
        Direction::Greater if t == b => a,
        _ => t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TOL: f64 = 1e-14;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= TOL * (1.0 + a.abs().max(b.abs()))
    }

    #[test]
    fn auc_counts_ties_as_half() {
        // cases {2, 3}, controls {1, 2}: pairs (2,1)=1 (2,2)=1/2 (3,1)=1 (3,2)=1 -> 3.5/4
        let r = fit(&[1.0, 2.0, 2.0, 3.0], &[false, false, true, true]).unwrap();
        assert_eq!(r.status, RocStatus::Ok);
        assert_eq!(r.direction, Direction::Less);
        assert!(close(r.auc.unwrap(), 0.875));
    }

    #[test]
    fn delong_variance_of_a_3_by_3_example() {
        // cases X = {2, 4, 6}, controls Y = {1, 3, 5}; direction "<" (median 3 <= 4).
        // V10 (per case) = fraction of controls below: 1/3, 2/3, 1;  theta = 2/3.
        // V01 (per control) = fraction of cases above: 1, 2/3, 1/3.
        // S10 = ((1/3-2/3)^2 + 0 + (1-2/3)^2) / 2 = (1/9 + 1/9)/2 = 1/9;  S01 = 1/9 likewise.
        // Var = S10/3 + S01/3 = 2/27;  SE = sqrt(2/27).
        let r = fit(&[2.0, 4.0, 6.0, 1.0, 3.0, 5.0], &[true, true, true, false, false, false]).unwrap();
        assert!(close(r.auc.unwrap(), 2.0 / 3.0));
        let se = (2.0f64 / 27.0).sqrt();
        assert!(close(r.auc_se.unwrap(), se));
        let (lo, hi) = r.auc_ci.unwrap();
        assert!(close(lo, 2.0 / 3.0 - Z_975 * se));
        // 2/3 + 1.96 * 0.272 > 1: clipped as pROC does
        assert_eq!(hi, 1.0);
    }

    #[test]
    fn youden_reports_every_tied_optimum() {
        // "<"; marker 1..4 with cases {2, 4}, controls {1, 3}.
        // thresholds: -Inf (se 1, sp 0), 1.5 (1, 1/2), 2.5 (1/2, 1/2), 3.5 (1/2, 1), +Inf (0, 1)
        // se + sp is 1.5 at 1.5 and at 3.5: both reported, in increasing threshold order.
        let r = fit(&[1.0, 2.0, 3.0, 4.0], &[false, true, false, true]).unwrap();
        assert_eq!(r.direction, Direction::Less);
        let expect = [
            YoudenPoint { threshold: 1.5, cut: 1.0, sensitivity: 1.0, specificity: 0.5 },
            YoudenPoint { threshold: 3.5, cut: 3.0, sensitivity: 0.5, specificity: 1.0 },
        ];
        assert_eq!(r.youden, expect);
    }

    #[test]
    fn youden_with_greater_direction_runs_from_high_to_low_thresholds() {
        // controls {3, 4} above cases {1, 2}, except case 3.5: median(controls) 3.5 > median(cases) 2 -> ">".
        // ">" positive when marker <= t. Thresholds 1.5: se 1/3 sp 1; 2.5: se 2/3 sp 1;
        // 3.25: se 2/3, sp 1/2; 3.75: se 1, sp 1/2. Best 5/3 at 2.5 only.
        let r = fit(&[1.0, 2.0, 3.5, 3.0, 4.0], &[true, true, true, false, false]).unwrap();
        assert_eq!(r.direction, Direction::Greater);
        assert_eq!(r.youden.len(), 1);
        let p = r.youden[0];
        assert_eq!((p.threshold, p.cut), (2.5, 2.0));
        assert!(close(p.sensitivity, 2.0 / 3.0) && p.specificity == 1.0);
        // AUC: pairs (case < control) 1<3,1<4,2<3,2<4,3.5<4 = 5 of 6
        assert!(close(r.auc.unwrap(), 5.0 / 6.0));
        // two tied optima with ">" come out in decreasing threshold order
        let r = fit(&[1.0, 2.0, 3.0, 4.0], &[true, false, true, false]).unwrap();
        assert_eq!(r.direction, Direction::Greater);
        let thresholds: Vec<f64> = r.youden.iter().map(|p| p.threshold).collect();
        assert_eq!(thresholds, vec![3.5, 1.5]);
    }

    #[test]
    fn threshold_ties_are_moved_as_proc_moves_them() {
        // consecutive doubles: the midpoint rounds onto one of them
        let a = 1.0f64;
        let b = f64::from_bits(a.to_bits() + 1);
        let t = (a + b) / 2.0;
        assert!(t == a || t == b);
        assert_eq!(threshold_between(a, b, Direction::Less), b);
        assert_eq!(threshold_between(a, b, Direction::Greater), a);
        assert_eq!(threshold_between(1e300, 1.5e300, Direction::Less), 1.25e300);
    }

    #[test]
    fn degenerate_inputs_are_flagged() {
        let r = fit(&[1.0, 2.0], &[false, false]).unwrap();
        assert_eq!(r.status, RocStatus::NoCases);
        assert_eq!((r.auc, r.auc_se, r.youden.len()), (None, None, 0));
        let r = fit(&[1.0, 2.0], &[true, true]).unwrap();
        assert_eq!(r.status, RocStatus::NoControls);
        let r = fit(&[], &[]).unwrap();
        assert_eq!(r.status, RocStatus::NoCases);
        // constant marker: AUC 1/2, SE 0, the two trivial thresholds tie at se + sp = 1
        let r = fit(&[5.0; 4], &[true, false, true, false]).unwrap();
        assert_eq!(r.status, RocStatus::ConstantMarker);
        assert_eq!((r.auc, r.auc_se, r.auc_ci), (Some(0.5), Some(0.0), Some((0.5, 0.5))));
        assert_eq!(r.youden.len(), 2);
        assert_eq!(r.youden[0].threshold, f64::NEG_INFINITY);
        assert_eq!(r.youden[1].threshold, f64::INFINITY);
        // one case: AUC defined, DeLong SE not (pROC gives NA)
        let r = fit(&[1.0, 2.0, 3.0], &[false, true, false]).unwrap();
        assert_eq!((r.auc, r.auc_se), (Some(0.5), None));
        assert_eq!(fit(&[1.0], &[true, false]), Err(RocError::LengthMismatch { n_marker: 1, n_outcome: 2 }));
        assert!(matches!(fit(&[f64::NAN], &[true]), Err(RocError::NonFiniteMarker { row_idx: 0, .. })));
    }

    #[test]
    fn auto_direction_can_give_auc_below_half() {
        // pROC's rule compares medians. controls {0, 0, 10}: median 0; cases {1, 1, -100}: median 1,
        // so "<"; yet cases beat controls in only 4 of 9 pairs (each 1 beats both 0s).
        let r = fit(&[0.0, 0.0, 10.0, 1.0, 1.0, -100.0], &[false, false, false, true, true, true]).unwrap();
        assert_eq!(r.direction, Direction::Less);
        assert!(close(r.auc.unwrap(), 4.0 / 9.0));
    }

    fn marker_and_outcome() -> impl Strategy<Value = (Vec<f64>, Vec<bool>)> {
        (2usize..40).prop_flat_map(|n| {
            // small integer markers give plenty of ties
            (proptest::collection::vec(-5i32..6, n), proptest::collection::vec(any::<bool>(), n))
                .prop_map(|(x, e)| (x.into_iter().map(f64::from).collect(), e))
        })
    }

    proptest! {
        // no regression files: this module owns no file outside src/
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn auc_is_a_probability_and_the_directions_are_complementary((x, e) in marker_and_outcome()) {
            let less = fit_direction(&x, &e, Direction::Less).unwrap();
            let greater = fit_direction(&x, &e, Direction::Greater).unwrap();
            if let (Some(a), Some(b)) = (less.auc, greater.auc) {
                prop_assert!((0.0..=1.0).contains(&a));
                prop_assert!((a + b - 1.0).abs() < 1e-12);
                prop_assert!(a.max(b) >= 0.5);
            }
            if let Some(se) = less.auc_se {
                prop_assert!(se.is_finite() && se >= 0.0);
                prop_assert!((se - greater.auc_se.unwrap()).abs() < 1e-12);
            }
        }

        #[test]
        fn auto_direction_gives_auc_at_least_half_for_shifted_cases(
            base in proptest::collection::vec(-5i32..6, 1..20),
            shift in -4i32..5,
        ) {
            // cases = controls shifted by `shift`: the medians differ by the shift, so "auto" picks
            // the side the cases are shifted to, and stochastic dominance gives AUC >= 1/2.
            let controls = base.iter().map(|&v| f64::from(v));
            let cases = base.iter().map(|&v| f64::from(v + shift));
            let x: Vec<f64> = controls.chain(cases).collect();
            let e: Vec<bool> = (0..x.len()).map(|i| i >= base.len()).collect();
            let r = fit(&x, &e).unwrap();
            prop_assert!(r.auc.unwrap() >= 0.5);
            let expect = if shift >= 0 { Direction::Less } else { Direction::Greater };
            prop_assert_eq!(r.direction, expect);
        }

        #[test]
        fn tie_groups_match_one_pooled_sort(
            (x, e) in marker_and_outcome(),
            zero in prop_oneof![Just(0.0), Just(-0.0)],
        ) {
            // the groups (hence every number computed from them) are those of one sort of the
            // (marker, event) pairs, ties by `==` (so -0 and +0 are one value), as before
            let x: Vec<f64> = x.iter().map(|&v| if v == 0.0 { zero } else { v }).collect();
            let mut ws = RocWorkspace::new();
            prepare(&mut ws, &x, &e).unwrap();
            let mut pooled: Vec<(f64, bool)> = x.iter().copied().zip(e.iter().copied()).collect();
            pooled.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut expected: Vec<(f64, usize, usize)> = Vec::new();
            for &(v, case) in &pooled {
                match expected.last_mut() {
                    Some(g) if g.0 == v => if case { g.2 += 1 } else { g.1 += 1 },
                    _ => expected.push((v, usize::from(!case), usize::from(case))),
                }
            }
            let bits = |g: &[(f64, usize, usize)]| -> Vec<(u64, usize, usize)> {
                g.iter().map(|&(v, a, b)| (v.to_bits(), a, b)).collect()
            };
            prop_assert_eq!(bits(&ws.groups), bits(&expected));
        }

        #[test]
        fn flipping_the_sign_flips_the_direction_and_keeps_the_auc((x, e) in marker_and_outcome()) {
            let r = fit(&x, &e).unwrap();
            let neg: Vec<f64> = x.iter().map(|v| -v).collect();
            let s = fit(&neg, &e).unwrap();
            let medians_differ = r.auc.is_some() && {
                let mut ws = RocWorkspace::new();
                prepare(&mut ws, &x, &e).unwrap();
                median_of(&ws.cases) != median_of(&ws.controls)
            };
            if medians_differ {
                prop_assert_ne!(r.direction, s.direction);
                prop_assert!((r.auc.unwrap() - s.auc.unwrap()).abs() < 1e-12);
                prop_assert!((r.auc_se.unwrap_or(0.0) - s.auc_se.unwrap_or(0.0)).abs() < 1e-12);
                // same points: t for x is -t for -x, in the same order
                prop_assert_eq!(r.youden.len(), s.youden.len());
                for (p, q) in r.youden.iter().zip(&s.youden) {
                    prop_assert_eq!(p.threshold, -q.threshold);
                    prop_assert_eq!((p.sensitivity, p.specificity), (q.sensitivity, q.specificity));
                }
            }
        }
    }
}
