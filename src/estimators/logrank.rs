//! k-sample log-rank test and the Fleming–Harrington G-rho family, as R's `survdiff`.
//!
//! ```text
//! at each distinct event time t (pooled risk set n, deaths d; in group g: n_g, d_g):
//!   w(t)   = S(t-)^rho                    S = Kaplan–Meier of the pooled sample
//!   O_g    = Σ w d_g                      (weighted "observed", as R reports it)
//!   E_g    = Σ w d n_g / n
//!   V_gh   = Σ w^2 d (n - d) / (n (n - 1)) (n_g [g = h] - n_g n_h / n)    (times with n = 1 skipped)
//!   chisq  = (O - E)' V^- (O - E)          over groups with E_g > 0, first such group dropped
//!   df     = #{g : E_g > 0} - 1
//! ```
//! rho = 0 is the log-rank test (Mantel 1966; Peto & Peto 1972), rho = 1 the Peto–Peto /
//! Prentice–Wilcoxon-type test of Harrington & Fleming (1982), Biometrika 69:553-566. The rules are
//! R survival 3.5.3's `survdiff` and `src/survdiff2.c`; `df` is the one `print.survdiff` uses for its
//! p-value. R merges times that differ by less than ~1e-8 relative (`aeqSurv`); this module takes
//! times as given.

use crate::data::SurvivalData;
use nalgebra::{DMatrix, DVector};

/// Why no (or only a partial) test could be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Degenerate {
    /// A group has no subjects; the test (if any) is over the others, as R does once the empty
    /// level is dropped.
    EmptyGroup { group_idx: usize },
    /// No events at all: every expected count is 0, no test.
    NoEvents,
    /// Fewer than two groups have subjects at risk at an event time (R reports chisq = 0).
    OneGroupAtRisk,
    /// The variance matrix of the compared groups is singular (R's `solve` fails).
    SingularVariance,
    /// `rho` is not a finite number: no weights.
    InvalidRho,
}

/// Result of `test`; `chisq` and `p` are `None` when no test is possible (see `degenerate`).
#[derive(Debug, Clone, PartialEq)]
pub struct LogRank {
    pub rho: f64,
    /// Subjects per group.
    pub n: Vec<usize>,
    /// Weighted observed events per group (plain counts when rho = 0).
    pub observed: Vec<f64>,
    pub expected: Vec<f64>,
    /// Variance matrix of observed - expected, row-major `n_groups x n_groups`.
    pub var: Vec<f64>,
    pub chisq: Option<f64>,
    pub df: usize,
    pub p: Option<f64>,
    pub degenerate: Option<Degenerate>,
}

/// The G-rho test of equal survival in `n_groups` groups; `group[i] < n_groups` is subject i's group.
/// `group` comes from a `Factor` (`codes()`, `n_levels()`); a code `>= n_groups` or a length other
/// than `data.len()` is a caller bug and panics, as `SurvivalData::subset` does on a bad index.
pub fn test(data: &SurvivalData, group: &[usize], n_groups: usize, rho: f64) -> LogRank {
    assert_eq!(group.len(), data.len(), "one group code per subject");
    SCRATCH.with_borrow_mut(|scratch| test_in(data, group, n_groups, rho, scratch))
}

thread_local! {
    /// The buffers of `test` (one set per thread).
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Reused buffers of `test`.
#[derive(Debug, Default)]
struct Scratch {
    /// One key per subject: the time's bits (times are >= 0, so their bits sort as they do, once
    /// -0 is made +0), then the group code and the event flag.
    keys: Vec<u128>,
    at_risk: Vec<f64>,
    deaths_g: Vec<f64>,
}

/// Subject's sort key: time bits in the high half, `group << 1 | event` in the low half.
fn key(time: f64, event: bool, group: usize) -> u128 {
    // + 0.0 turns -0 into +0 (the two are one time, as `==` has it)
    (u128::from((time + 0.0).to_bits()) << 64) | ((group as u128) << 1) | u128::from(event)
}

fn test_in(data: &SurvivalData, group: &[usize], k: usize, rho: f64, scratch: &mut Scratch) -> LogRank {
    // sort by time; the order within a time does not matter (a time's subjects are taken together)
    let Scratch { keys, at_risk, deaths_g } = scratch;
    keys.clear();
    keys.extend(data.time().iter().zip(data.event()).zip(group).map(|((&t, &e), &g)| key(t, e, g)));
    keys.sort_unstable();

    let mut n = vec![0usize; k];
    for &g in group {
        n[g] += 1;
    }
    let mut observed = vec![0.0; k];
    let mut expected = vec![0.0; k];
    let mut var = vec![0.0; k * k];
    at_risk.clear();
    at_risk.extend(n.iter().map(|&c| c as f64));
    deaths_g.clear();
    deaths_g.resize(k, 0.0);

    // two groups (the common case) get loops of constant length
    let sums = Sums { observed: &mut observed, expected: &mut expected, var: &mut var };
    if k == 2 {
        sweep(keys, 2, rho, at_risk, deaths_g, sums);
    } else {
        sweep(keys, k, rho, at_risk, deaths_g, sums);
    }

    let mut degenerate = n.iter().position(|&c| c == 0).map(|group_idx| Degenerate::EmptyGroup { group_idx });
    let (chisq, df) =
        if rho.is_finite() { chisq(&observed, &expected, &var, k) } else { (Err(Degenerate::InvalidRho), 0) };
    let chisq = match chisq {
        Ok(x) => Some(x),
        Err(why) => {
            degenerate = Some(why);
            None
        }
    };
    let p = chisq.and_then(|x| (df > 0).then(|| super::chisq::upper_tail(x, df)));
    LogRank { rho, n, observed, expected, var, chisq, df, p, degenerate }
}

/// What `sweep` accumulates: observed, expected (length k) and the variance (k x k).
struct Sums<'a> {
    observed: &'a mut [f64],
    expected: &'a mut [f64],
    var: &'a mut [f64],
}

/// The forward sweep over distinct times of the sorted `keys`; S(t-) of the pooled sample is the
/// weight. Inlined so that a constant `k` unrolls its loops.
#[inline(always)]
fn sweep(keys: &[u128], k: usize, rho: f64, at_risk: &mut [f64], deaths_g: &mut [f64], sums: Sums) {
    let Sums { observed, expected, var } = sums;
    let (at_risk, deaths_g) = (&mut at_risk[..k], &mut deaths_g[..k]);
    let (observed, expected, var) = (&mut observed[..k], &mut expected[..k], &mut var[..k * k]);
    let time_bits = |key: u128| (key >> 64) as u64;
    let group_of = |key: u128| (key as u64 >> 1) as usize;
    let is_event = |key: u128| key & 1 == 1;
    let n_total = keys.len();
    let mut km = 1.0_f64;
    let mut i = 0;
    while i < n_total {
        let t = time_bits(keys[i]);
        let n_risk = (n_total - i) as f64;
        let mut j = i;
        deaths_g.iter_mut().for_each(|d| *d = 0.0);
        while j < n_total && time_bits(keys[j]) == t {
            if is_event(keys[j]) {
                deaths_g[group_of(keys[j])] += 1.0;
            }
            j += 1;
        }
        let deaths: f64 = deaths_g.iter().sum();
        if deaths > 0.0 {
            let w = if rho == 0.0 { 1.0 } else { km.powf(rho) };
            for g in 0..k {
                observed[g] += w * deaths_g[g];
                expected[g] += w * deaths * at_risk[g] / n_risk;
            }
            if n_risk > 1.0 {
                let w2 = w * w;
                for g in 0..k {
                    let tmp = w2 * deaths * at_risk[g] * (n_risk - deaths) / (n_risk * (n_risk - 1.0));
                    var[g * k + g] += tmp;
                    for h in 0..k {
                        var[g * k + h] -= tmp * at_risk[h] / n_risk;
                    }
                }
            }
            km *= (n_risk - deaths) / n_risk;
        }
        for &key in &keys[i..j] {
            at_risk[group_of(key)] -= 1.0;
        }
        i = j;
    }
}

/// R's survdiff: keep groups with expected > 0, drop the first of them, solve.
fn chisq(observed: &[f64], expected: &[f64], var: &[f64], k: usize) -> (Result<f64, Degenerate>, usize) {
    let n_kept = expected.iter().filter(|&&e| e > 0.0).count();
    if n_kept == 0 {
        return (Err(Degenerate::NoEvents), 0);
    }
    if n_kept < 2 {
        return (Err(Degenerate::OneGroupAtRisk), 0);
    }
    let df = n_kept - 1;
    let kept = || (0..k).filter(|&g| expected[g] > 0.0).skip(1);
    if df == 1 {
        let g = kept().next().unwrap_or(0);
        let v = var[g * k + g];
        if v <= 0.0 || !v.is_finite() {
            return (Err(Degenerate::SingularVariance), df);
        }
        let diff = observed[g] - expected[g];
        return (Ok(diff * diff / v), df);
    }
    let idx: Vec<usize> = kept().collect();
    let vv = DMatrix::from_fn(df, df, |r, c| var[idx[r] * k + idx[c]]);
    let diff = DVector::from_fn(df, |r, _| observed[idx[r]] - expected[idx[r]]);
    match vv.cholesky() {
        Some(ch) => {
            let x = ch.solve(&diff);
            (Ok(x.dot(&diff)), df)
        }
        None => (Err(Degenerate::SingularVariance), df),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(time: &[f64], event: &[u8]) -> SurvivalData {
        SurvivalData::new(time.to_vec(), event.iter().map(|&e| e == 1).collect()).unwrap()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn two_groups_by_hand() {
        // group 0: 1, 3; group 1: 2, 4 (all events).
        // hypergeometric variance d (n - d) n0 n1 / (n^2 (n - 1)) at each time:
        // t=1: n=4 (2,2), d=1 in g0: E0 += 2/4, V += 1*3*2*2 / (16*3) = 1/4
        // t=2: n=3 (1,2), d=1 in g1: E0 += 1/3, V += 1*2*1*2 / (9*2) = 2/9
        // t=3: n=2 (1,1), d=1 in g0: E0 += 1/2, V += 1*1*1*1 / (4*1) = 1/4
        // t=4: n=1: E0 += 0, no variance. O0 = 2, E0 = 4/3; chisq = (2/3)^2 / (1/4 + 2/9 + 1/4)
        let d = data(&[1.0, 3.0, 2.0, 4.0], &[1, 1, 1, 1]);
        let r = test(&d, &[0, 0, 1, 1], 2, 0.0);
        assert_eq!(r.n, vec![2, 2]);
        assert_eq!(r.observed, vec![2.0, 2.0]);
        assert!(close(r.expected[0], 4.0 / 3.0) && close(r.expected[1], 8.0 / 3.0));
        let v = 1.0 / 4.0 + 2.0 / 9.0 + 1.0 / 4.0;
        assert!(close(r.var[0], v) && close(r.var[1], -v));
        assert!(close(r.chisq.unwrap(), (2.0_f64 / 3.0).powi(2) / v));
        assert_eq!((r.df, r.degenerate), (1, None));
        // chisq = (4/9) / (13/18) = 8/13; p of a 1-df chi-square is erfc(sqrt(x/2)):
        // Python 3.11 math.erfc(math.sqrt(4/13)) = 0.4327675806677847
        assert!(close(r.chisq.unwrap(), 8.0 / 13.0));
        assert!((r.p.unwrap() - 0.432_767_580_667_784_7).abs() < 1e-13);
    }

    #[test]
    fn order_of_subjects_and_signed_zeros_change_nothing() {
        // the same subjects in reverse order, a time 0 written as -0 in one copy: every number
        // bit for bit the same (a time's subjects are taken together, whatever their order)
        let time = [0.0, 3.0, 1.0, 3.0, 2.0, 5.0, 1.0, 4.0, 3.0, 0.0];
        let event = [1, 1, 0, 1, 1, 0, 1, 1, 0, 1];
        let group = [0, 1, 2, 0, 1, 2, 0, 1, 2, 2];
        let rev =
            |v: &[f64]| -> Vec<f64> { v.iter().rev().map(|&t| if t == 0.0 { -0.0 } else { t }).collect() };
        let event_rev: Vec<u8> = event.iter().rev().copied().collect();
        let group_rev: Vec<usize> = group.iter().rev().copied().collect();
        for rho in [0.0, 1.0] {
            let a = test(&data(&time, &event), &group, 3, rho);
            let b = test(&data(&rev(&time), &event_rev), &group_rev, 3, rho);
            assert_eq!(format!("{a:?}"), format!("{b:?}"));
            assert_eq!(a.chisq.map(f64::to_bits), b.chisq.map(f64::to_bits));
            assert!(a.chisq.is_some() && a.df == 2);
        }
    }

    #[test]
    fn peto_weights_by_hand() {
        // same data, rho = 1: weights S(t-) = 1, 3/4, 1/2, 1/4
        // O0 = 1 + 1/2 = 3/2; E0 = 1/2 + 3/4 * 1/3 + 1/2 * 1/2 = 1
        // V = 1/4 + (9/16)(2/9) + (1/4)(1/4) = 7/16
        let d = data(&[1.0, 3.0, 2.0, 4.0], &[1, 1, 1, 1]);
        let r = test(&d, &[0, 0, 1, 1], 2, 1.0);
        assert!(close(r.observed[0], 1.5) && close(r.expected[0], 1.0));
        let v = 7.0 / 16.0;
        assert!(close(r.chisq.unwrap(), 0.25 / v));
    }

    #[test]
    fn degenerate_cases_are_flagged() {
        let d = data(&[1.0, 2.0, 3.0], &[0, 0, 0]);
        let r = test(&d, &[0, 1, 1], 2, 0.0);
        assert_eq!((r.chisq, r.p, r.degenerate), (None, None, Some(Degenerate::NoEvents)));
        let d = data(&[1.0, 2.0, 3.0], &[1, 0, 1]);
        let r = test(&d, &[0, 0, 0], 2, 0.0);
        assert_eq!(r.degenerate, Some(Degenerate::OneGroupAtRisk));
        assert_eq!(r.chisq, None);
        // empty middle group: the test is over the other two, and flagged
        let d = data(&[1.0, 3.0, 2.0, 4.0], &[1, 1, 1, 1]);
        let r = test(&d, &[0, 0, 2, 2], 3, 0.0);
        assert_eq!(r.degenerate, Some(Degenerate::EmptyGroup { group_idx: 1 }));
        let two = test(&d, &[0, 0, 1, 1], 2, 0.0);
        assert!(close(r.chisq.unwrap(), two.chisq.unwrap()));
        assert_eq!(r.df, 1);
        // both subjects die at once: d = n, so the variance term d (n - d) ... is 0
        let d = data(&[1.0, 1.0], &[1, 1]);
        let r = test(&d, &[0, 1], 2, 0.0);
        assert_eq!(r.degenerate, Some(Degenerate::SingularVariance));
        let r = test(&d, &[0, 1], 2, f64::NAN);
        assert_eq!((r.chisq, r.degenerate), (None, Some(Degenerate::InvalidRho)));
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn chisq_unchanged_when_labels_are_permuted(
                obs in proptest::collection::vec((1u8..15, any::<bool>(), 0usize..3), 4..50),
                perm_idx in 0usize..6,
                rho in prop_oneof![Just(0.0), Just(1.0)],
            ) {
                const PERMS: [[usize; 3]; 6] = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
                let perm = PERMS[perm_idx];
                let d = SurvivalData::new(
                    obs.iter().map(|o| f64::from(o.0)).collect(),
                    obs.iter().map(|o| o.1).collect(),
                ).unwrap();
                let g: Vec<usize> = obs.iter().map(|o| o.2).collect();
                let gp: Vec<usize> = g.iter().map(|&x| perm[x]).collect();
                let a = test(&d, &g, 3, rho);
                let b = test(&d, &gp, 3, rho);
                prop_assert_eq!(a.df, b.df);
                match (a.chisq, b.chisq) {
                    (Some(x), Some(y)) => prop_assert!((x - y).abs() <= 1e-9 * x.abs().max(1.0)),
                    (x, y) => prop_assert_eq!(x.is_some(), y.is_some()),
                }
                for (i, &pi) in perm.iter().enumerate() {
                    prop_assert!((a.expected[i] - b.expected[pi]).abs() <= 1e-12 * a.expected[i].max(1.0));
                }
            }
        }
    }
}
