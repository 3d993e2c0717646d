//! Wilcoxon–Mann–Whitney rank-sum test, two-sided, as R's `wilcox.test(x, y)` (and `x ~ g`).
//!
//! ```text
//! W      = Σ_{i in x} rank_i - n_x (n_x + 1) / 2         (mid-ranks of the pooled sample)
//! exact  : P(W = w) = #{x-subsets of {1..N} with rank sum w + n_x(n_x+1)/2} / C(N, n_x)
//!          p = min(1, 2 P(W >= w)) if w > n_x n_y / 2, else min(1, 2 P(W <= w))
//! normal : z = (W - n_x n_y / 2 - sign(W - n_x n_y / 2) / 2) / σ
//!          σ² = n_x n_y / 12 (N + 1 - Σ_ties (t³ - t) / (N (N - 1))),   p = 2 Φ(-|z|)
//! ```
//! R's default (`exact = NULL, correct = TRUE`) uses the exact distribution when n_x < 50,
//! n_y < 50 and there are no ties, else the normal approximation with continuity correction.
//! Sources: R `stats:::wilcox.test.default`; Mann & Whitney (1947), Ann. Math. Stat. 18:50-60.
//! The exact counts come from the generating function Π_{i=1..n_x} (1 - q^{n_y+i}) / (1 - q^i)
//! (a Gaussian binomial coefficient), in exact integer arithmetic.
//!
//! As R, non-finite values are dropped first. statrs' `mannwhitneyu` is not used: its exact
//! p-values are wrong when the first sample is the smaller one.

use super::chisq::two_sided_normal;
use super::order::{for_each_tie_run, total_order_key};

/// Which p-value R's default call reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Exact null distribution of W (no ties, both groups below 50).
    Exact,
    /// Normal approximation with continuity correction and tie-corrected variance.
    NormalCorrected,
}

impl Method {
    /// R's `method` string for this test.
    pub fn r_name(self) -> &'static str {
        match self {
            Method::Exact => "Wilcoxon rank sum exact test",
            Method::NormalCorrected => "Wilcoxon rank sum test with continuity correction",
        }
    }
}

/// Why a rank-sum test has no (full) answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Degenerate {
    /// A group has no finite values (R stops with "not enough observations"). W and p are `None`.
    EmptyGroup,
    /// Every pooled value is equal: the normal approximation has σ = 0 (R gives NaN). W is defined
    /// (n_x n_y / 2); the normal p-value is `None`, and so is the default one when it is normal.
    AllEqual,
}

/// Two-sided Wilcoxon rank-sum test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankSumTest {
    pub n_x: usize,
    pub n_y: usize,
    /// The Mann–Whitney statistic W of the first sample.
    pub w: Option<f64>,
    /// R's default p-value (`wilcox.test(x, y)`), computed by `method_default`.
    pub p_default: Option<f64>,
    pub method_default: Method,
    /// Normal approximation with continuity correction (`exact = FALSE, correct = TRUE`).
    pub p_normal_cc: Option<f64>,
    /// The z of that approximation.
    pub z_normal_cc: Option<f64>,
    /// Some pooled values are tied.
    pub has_ties: bool,
    pub degenerate: Option<Degenerate>,
}

/// Largest group size (exclusive) for which R's default uses the exact distribution.
pub const EXACT_BELOW: usize = 50;

/// The test of `x` against `y` (R's `wilcox.test(x, y)`, two-sided, mu = 0).
pub fn rank_sum_test(x: &[f64], y: &[f64]) -> RankSumTest {
    // each sample's finite values sorted on its own (two short sorts of integer keys), then one
    // merge sweep over the tie runs of the pooled sample; the buffers are reused per thread
    SORTED.with_borrow_mut(|(xs, ys)| {
        sorted_keys(xs, x);
        sorted_keys(ys, y);
        test_sorted(xs, ys)
    })
}

thread_local! {
    /// Scratch of `rank_sum_test`: the sorted keys of each sample.
    static SORTED: std::cell::RefCell<(Vec<i64>, Vec<i64>)> = const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// The keys of the finite values of `values`, ascending, into `keys`.
fn sorted_keys(keys: &mut Vec<i64>, values: &[f64]) {
    keys.clear();
    keys.extend(values.iter().filter(|v| v.is_finite()).map(|&v| total_order_key(v)));
    keys.sort_unstable();
}

/// The test on the sorted keys of the two samples' finite values.
fn test_sorted(xs: &[i64], ys: &[i64]) -> RankSumTest {
    let (n_x, n_y) = (xs.len(), ys.len());
    let mut out = RankSumTest {
        n_x,
        n_y,
        w: None,
        p_default: None,
        method_default: Method::NormalCorrected,
        p_normal_cc: None,
        z_normal_cc: None,
        has_ties: false,
        degenerate: None,
    };
    if n_x == 0 || n_y == 0 {
        out.degenerate = Some(Degenerate::EmptyGroup);
        return out;
    }
    let n = n_x + n_y;
    // mid-ranks: a run of t equal values at positions start..start+t gets rank start + (t + 1) / 2
    let mut rank_sum_x = 0.0;
    let mut tie_sum = 0.0; // Σ (t³ - t)
    let mut start = 0;
    for_each_tie_run(xs, ys, |_, in_x, in_y| {
        let t = (in_x + in_y) as f64;
        let mid_rank = start as f64 + (t + 1.0) / 2.0;
        rank_sum_x += in_x as f64 * mid_rank;
        tie_sum += t * t * t - t;
        start += in_x + in_y;
    });
    let (nx, ny, nf) = (n_x as f64, n_y as f64, n as f64);
    let w = rank_sum_x - nx * (nx + 1.0) / 2.0;
    out.w = Some(w);
    out.has_ties = tie_sum > 0.0;

    // normal approximation with continuity correction
    let centred = w - nx * ny / 2.0;
    let var = nx * ny / 12.0 * ((nf + 1.0) - tie_sum / (nf * (nf - 1.0)));
    if var > 0.0 {
        let z = (centred - 0.5 * sign(centred)) / var.sqrt();
        out.z_normal_cc = Some(z);
        out.p_normal_cc = Some(two_sided_normal(z));
    } else {
        out.degenerate = Some(Degenerate::AllEqual);
    }

    if n_x < EXACT_BELOW && n_y < EXACT_BELOW && !out.has_ties {
        out.method_default = Method::Exact;
        // without ties W is an integer
        out.p_default = Some(exact_two_sided(w.round() as usize, n_x, n_y));
    } else {
        out.method_default = Method::NormalCorrected;
        out.p_default = out.p_normal_cc;
    }
    out
}

/// R's sign(): -1, 0 or 1.
fn sign(v: f64) -> f64 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// Exact two-sided p of W = w for group sizes m, n, as R: `pwilcox(w - 1, m, n, lower = FALSE)`
/// when w > m n / 2, else `pwilcox(w, m, n)`; doubled and capped at 1.
fn exact_two_sided(w: usize, m: usize, n: usize) -> f64 {
    let w = w.min(m * n);
    // integer sums: the tail is exact whichever way it is summed
    let (tail, total) = CUMULATIVE.with_borrow_mut(|cache| {
        if cache.len() > CACHE_SIZES {
            cache.clear();
        }
        let cum = cache.entry((m, n)).or_insert_with(|| {
            let mut acc = 0u128;
            wilcox_counts(m, n)
                .into_iter()
                .map(|c| {
                    acc += c;
                    acc
                })
                .collect()
        });
        let total = cum[m * n];
        let tail = if 2 * w > m * n { total - if w == 0 { 0 } else { cum[w - 1] } } else { cum[w] };
        (tail, total)
    });
    (2.0 * (tail as f64 / total as f64)).min(1.0)
}

/// Most sample-size pairs whose distribution is kept per thread (at most 2,401 counts each).
const CACHE_SIZES: usize = 64;

thread_local! {
    /// Cumulative exact counts `Σ_{k <= w} #(W = k)` per (n_x, n_y): the distribution depends only on
    /// the sample sizes, and a simulation asks for the same few sizes again and again.
    static CUMULATIVE: std::cell::RefCell<std::collections::HashMap<(usize, usize), Vec<u128>>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// `counts[k]` = number of m-subsets of {1, .., m + n} whose rank sum minus m(m+1)/2 is k, for
/// k = 0..=m n: the coefficients of the Gaussian binomial [m + n choose m]_q, built as
/// Π_{i=1..m} (1 - q^{n+i}) / (1 - q^i). Each partial product is itself a Gaussian binomial, so all
/// values are nonnegative integers <= C(m + n, m) (< 2^100 for m, n < 50). For m + n beyond ~120
/// the counts would overflow: callers use it only below `EXACT_BELOW`.
pub fn wilcox_counts(m: usize, n: usize) -> Vec<u128> {
    let len = m * n + 1;
    let mut f = vec![0u128; len];
    f[0] = 1;
    // degree of the current polynomial: i n after i factors
    for i in 1..=m {
        let deg = i * n;
        // multiply by (1 - q^{n+i}): f[k] -= f[k - n - i], from the top down (wrapping: exact in
        // the end because the quotient below is a polynomial with nonnegative coefficients)
        for k in (n + i..=deg.min(len - 1)).rev() {
            f[k] = f[k].wrapping_sub(f[k - n - i]);
        }
        // divide by (1 - q^i): f[k] += f[k - i], from the bottom up
        for k in i..=deg.min(len - 1) {
            f[k] = f[k].wrapping_add(f[k - i]);
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn exact_distribution_for_2_and_3_by_enumeration() {
        // The 10 ways to choose the ranks of x (n_x = 2) among {1..5}, W = rank sum - 3:
        // {1,2}:0 {1,3}:1 {1,4}:2 {2,3}:2 {1,5}:3 {2,4}:3 {2,5}:4 {3,4}:4 {3,5}:5 {4,5}:6
        assert_eq!(wilcox_counts(2, 3), vec![1, 1, 2, 2, 2, 1, 1]);
        assert_eq!(wilcox_counts(3, 2), vec![1, 1, 2, 2, 2, 1, 1]);
        assert_eq!(wilcox_counts(0, 4), vec![1]);
        // C(98, 49) subsets in all for the largest exact case
        let c = wilcox_counts(49, 49);
        let total: u128 = c.iter().sum();
        assert_eq!(total, 25_477_612_258_980_856_902_730_428_600);
        assert_eq!(c[0], 1);
        assert_eq!(c[49 * 49], 1);
    }

    #[test]
    fn exact_p_by_hand() {
        // x = {1, 2}, y = {3, 4, 5}: ranks of x {1, 2}, W = 0; P(W <= 0) = 1/10, p = 0.2.
        let t = rank_sum_test(&[1.0, 2.0], &[3.0, 4.0, 5.0]);
        assert_eq!(t.w, Some(0.0));
        assert_eq!(t.method_default, Method::Exact);
        assert!((t.p_default.unwrap() - 0.2).abs() < 1e-15);
        // x = {2, 4}, y = {1, 3, 5}: ranks {2, 4}, W = 3 = m n / 2: P(W <= 3) = 6/10, p = min(1, 1.2)
        let t = rank_sum_test(&[2.0, 4.0], &[1.0, 3.0, 5.0]);
        assert_eq!((t.w, t.p_default), (Some(3.0), Some(1.0)));
        // x = {4, 5}: W = 6 > 3: P(W >= 6) = 1/10, p = 0.2
        let t = rank_sum_test(&[5.0, 4.0], &[1.0, 3.0, 2.0]);
        assert_eq!(t.w, Some(6.0));
        assert!((t.p_default.unwrap() - 0.2).abs() < 1e-15);
    }

    #[test]
    fn normal_with_ties_by_hand() {
        // x = {1, 2, 2}, y = {2, 3}: pooled sorted 1 2 2 2 3, mid-ranks 1, 3, 3, 3, 5.
        // rank sum x = 1 + 3 + 3 = 7, W = 7 - 6 = 1; ties: one run of 3 -> Σ(t³ - t) = 24.
        // σ² = 6/12 (6 - 24/20) = 2.4; z = (1 - 3 + 0.5)/√2.4 = -0.968245837; p = erfc(|z|/√2).
        let t = rank_sum_test(&[1.0, 2.0, 2.0], &[2.0, 3.0]);
        assert_eq!(t.w, Some(1.0));
        assert!(t.has_ties);
        assert_eq!(t.method_default, Method::NormalCorrected);
        let z = -1.5 / 2.4f64.sqrt();
        assert!((t.z_normal_cc.unwrap() - z).abs() < 1e-14);
        // 2 Φ(z) = erfc(|z|/√2) = 0.332922 (Python math.erfc(1.5 / math.sqrt(4.8)) = 0.3329216080655659)
        let p = 0.3329216080655659;
        assert!((t.p_default.unwrap() - p).abs() < 1e-13 * p, "{:?}", t.p_default);
        assert_eq!(t.p_normal_cc, t.p_default);
    }

    #[test]
    fn degenerate_inputs_are_flagged() {
        let t = rank_sum_test(&[], &[1.0, 2.0]);
        assert_eq!((t.w, t.p_default, t.degenerate), (None, None, Some(Degenerate::EmptyGroup)));
        let t = rank_sum_test(&[f64::NAN], &[1.0, 2.0]);
        assert_eq!(t.degenerate, Some(Degenerate::EmptyGroup));
        let t = rank_sum_test(&[2.0, 2.0], &[2.0]);
        assert_eq!((t.w, t.p_default, t.p_normal_cc), (Some(1.0), None, None));
        assert_eq!(t.degenerate, Some(Degenerate::AllEqual));
        // one value each, distinct: W in {0, 1} equally likely, p = 1
        let t = rank_sum_test(&[1.0], &[2.0]);
        assert_eq!((t.w, t.p_default, t.degenerate), (Some(0.0), Some(1.0), None));
    }

    #[test]
    fn large_groups_use_the_normal_approximation() {
        let x: Vec<f64> = (0..50).map(|i| i as f64).collect();
        let y: Vec<f64> = (0..10).map(|i| 100.0 + i as f64).collect();
        let t = rank_sum_test(&x, &y);
        assert_eq!(t.method_default, Method::NormalCorrected);
        assert_eq!(t.w, Some(0.0));
    }

    /// The rank sum and tie sum by one sort of the pooled tagged values (the former implementation):
    /// the merge of the separately sorted samples must give the same numbers, bit for bit.
    fn pooled_sort_sums(x: &[f64], y: &[f64]) -> (f64, f64) {
        let mut pooled: Vec<(f64, bool)> = x
            .iter()
            .filter(|v| v.is_finite())
            .map(|&v| (v, true))
            .chain(y.iter().filter(|v| v.is_finite()).map(|&v| (v, false)))
            .collect();
        pooled.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (mut rank_sum_x, mut tie_sum, mut start) = (0.0, 0.0, 0);
        while start < pooled.len() {
            let mut end = start + 1;
            while end < pooled.len() && pooled[end].0 == pooled[start].0 {
                end += 1;
            }
            let t = (end - start) as f64;
            let in_x = pooled[start..end].iter().filter(|p| p.1).count();
            rank_sum_x += in_x as f64 * (start as f64 + (t + 1.0) / 2.0);
            tie_sum += t * t * t - t;
            start = end;
        }
        (rank_sum_x, tie_sum)
    }

    #[test]
    fn signed_zeros_are_one_tie_and_non_finite_values_are_dropped() {
        // pooled 0, 0, 1 (the zeros tied, mid-rank 1.5), 2: x = {-0, 2} has ranks 1.5 + 4 = 5.5,
        // W = 5.5 - 3 = 2.5; one tie of 2 -> has_ties
        let t = rank_sum_test(&[-0.0, 2.0, f64::NAN], &[0.0, 1.0, f64::INFINITY]);
        assert_eq!((t.n_x, t.n_y, t.w, t.has_ties), (2, 2, Some(2.5), true));
    }

    proptest! {
        #[test]
        fn merged_runs_match_one_pooled_sort(
            x in proptest::collection::vec(-4i8..4, 0..30),
            y in proptest::collection::vec(-4i8..4, 0..30),
            scale in prop_oneof![Just(0.0), Just(-0.0), Just(0.37), Just(-1e300)],
        ) {
            let x: Vec<f64> = x.into_iter().map(|v| f64::from(v) * scale).collect();
            let y: Vec<f64> = y.into_iter().map(|v| f64::from(v) * scale).collect();
            let t = rank_sum_test(&x, &y);
            if t.degenerate != Some(Degenerate::EmptyGroup) {
                let (rank_sum_x, tie_sum) = pooled_sort_sums(&x, &y);
                let (nx, ny) = (x.len() as f64, y.len() as f64);
                let w = rank_sum_x - nx * (nx + 1.0) / 2.0;
                prop_assert_eq!(t.w.unwrap().to_bits(), w.to_bits());
                prop_assert_eq!(t.has_ties, tie_sum > 0.0);
                let nf = nx + ny;
                let var = nx * ny / 12.0 * ((nf + 1.0) - tie_sum / (nf * (nf - 1.0)));
                let centred = w - nx * ny / 2.0;
                let z = (var > 0.0).then(|| (centred - 0.5 * sign(centred)) / var.sqrt());
                prop_assert_eq!(t.z_normal_cc.map(f64::to_bits), z.map(f64::to_bits));
            }
        }
    }

    proptest! {
        #[test]
        fn swapping_groups_keeps_the_two_sided_p(
            x in proptest::collection::vec(0u8..30, 1..20),
            y in proptest::collection::vec(0u8..30, 1..20),
        ) {
            let x: Vec<f64> = x.into_iter().map(f64::from).collect();
            let y: Vec<f64> = y.into_iter().map(f64::from).collect();
            let a = rank_sum_test(&x, &y);
            let b = rank_sum_test(&y, &x);
            prop_assert_eq!(a.method_default, b.method_default);
            // W_x + W_y = n_x n_y
            prop_assert!((a.w.unwrap() + b.w.unwrap() - (x.len() * y.len()) as f64).abs() < 1e-9);
            for (p, q) in [(a.p_default, b.p_default), (a.p_normal_cc, b.p_normal_cc)] {
                prop_assert_eq!(p.is_some(), q.is_some());
                if let (Some(p), Some(q)) = (p, q) {
                    prop_assert!((0.0..=1.0).contains(&p));
                    prop_assert!((p - q).abs() <= 1e-12, "{} vs {}", p, q);
                }
            }
        }

        #[test]
        fn exact_counts_are_symmetric_and_sum_to_binomial(m in 0usize..20, n in 0usize..20) {
            let c = wilcox_counts(m, n);
            prop_assert_eq!(c.len(), m * n + 1);
            let rev: Vec<u128> = c.iter().rev().copied().collect();
            prop_assert_eq!(&c, &rev);
            let total: u128 = c.iter().sum();
            let binom = (1..=m as u128).fold(1u128, |acc, i| acc * (n as u128 + i) / i);
            prop_assert_eq!(total, binom);
        }
    }
}
