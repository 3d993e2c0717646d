//! Fisher's exact test against a brute-force enumeration of every table with the observed margins
//! (independent of the network and the 2 x k search in `tables.rs`: cells are filled one by one
//! with the remaining row and column totals tracked, and each table's probability is taken alone).
//!
//! The counting rules are R's: a 2 x 2 table counts the tables with density `<= d_obs (1 + 1e-7)`
//! (`fisher.test`'s `relErr`); any other table those with `log P <= log P_obs + 3.45254e-7`
//! (FEXACT's `tol`). Empty rows and columns only force zero cells, so the enumeration needs no
//! special case for them.

use proptest::prelude::*;
use survmc::estimators::tables::{ContingencyTable, FisherStatus, fisher_exact};

/// Relative agreement asked of the p-values (both sum the same probabilities, in other orders).
const REL_TOL: f64 = 1e-12;

fn brute_force(n_rows: usize, n_cols: usize, counts: &[u64]) -> f64 {
    let cells: Vec<usize> = counts.iter().map(|&v| v as usize).collect();
    let row_sums: Vec<usize> =
        (0..n_rows).map(|i| cells[i * n_cols..(i + 1) * n_cols].iter().sum()).collect();
    let col_sums: Vec<usize> =
        (0..n_cols).map(|j| (0..n_rows).map(|i| cells[i * n_cols + j]).sum()).collect();
    let n: usize = row_sums.iter().sum();
    let mut lf = vec![0.0f64; n + 1];
    for k in 1..=n {
        lf[k] = lf[k - 1] + (k as f64).ln();
    }
    let konst: f64 = row_sums.iter().chain(&col_sums).map(|&v| lf[v]).sum::<f64>() - lf[n];
    let log_p = |x: &[usize]| konst - x.iter().map(|&v| lf[v]).sum::<f64>();
    let lp_obs = log_p(&cells);
    let is_2x2 = n_rows == 2 && n_cols == 2;
    let counts_as = |lp: f64| {
        if is_2x2 { lp.exp() <= lp_obs.exp() * (1.0 + 1e-7) } else { lp <= lp_obs + 3.45254e-7 }
    };
    let mut x = vec![0usize; n_rows * n_cols];
    let (mut rows, mut cols) = (row_sums.clone(), col_sums.clone());
    let (mut p, mut total) = (Sum::default(), Sum::default());
    fill(0, n_rows, n_cols, &mut rows, &mut cols, &mut x, &mut |t| {
        let lp = log_p(t);
        total.add(lp.exp());
        if counts_as(lp) {
            p.add(lp.exp());
        }
    });
    let (p, total) = (p.value(), total.value());
    // the probabilities sum to one (up to rounding): a check of the enumeration itself; dividing
    // by the sum removes the rounding error of `konst`, common to every table
    assert!((total - 1.0).abs() < 1e-10, "{counts:?}: total probability {total}");
    (p / total).min(1.0)
}

/// Neumaier's compensated sum (a plain sum of 10^5 terms can be off by 1e-12 relative).
#[derive(Default)]
struct Sum {
    sum: f64,
    compensation: f64,
}

impl Sum {
    fn add(&mut self, v: f64) {
        let t = self.sum + v;
        if self.sum.abs() >= v.abs() {
            self.compensation += (self.sum - t) + v;
        } else {
            self.compensation += (v - t) + self.sum;
        }
        self.sum = t;
    }

    fn value(&self) -> f64 {
        self.sum + self.compensation
    }
}

/// Fills cell `idx` (row-major) and the following ones; the last cell of a row or column is
/// determined by its margin.
fn fill(
    idx: usize,
    n_rows: usize,
    n_cols: usize,
    rows: &mut [usize],
    cols: &mut [usize],
    x: &mut [usize],
    visit: &mut dyn FnMut(&[usize]),
) {
    if idx == x.len() {
        if rows.iter().all(|&v| v == 0) && cols.iter().all(|&v| v == 0) {
            visit(x);
        }
        return;
    }
    let (i, j) = (idx / n_cols, idx % n_cols);
    let (lo, hi) = if j + 1 == n_cols || i + 1 == n_rows {
        let v = if j + 1 == n_cols { rows[i] } else { cols[j] };
        (v, v)
    } else {
        (0, rows[i].min(cols[j]))
    };
    for v in lo..=hi {
        if v > rows[i] || v > cols[j] {
            return;
        }
        x[idx] = v;
        rows[i] -= v;
        cols[j] -= v;
        fill(idx + 1, n_rows, n_cols, rows, cols, x, visit);
        rows[i] += v;
        cols[j] += v;
    }
}

fn check(n_rows: usize, n_cols: usize, counts: &[u64]) -> Result<(), String> {
    check_within(n_rows, n_cols, counts, REL_TOL)
}

fn check_within(n_rows: usize, n_cols: usize, counts: &[u64], rel_tol: f64) -> Result<(), String> {
    let t = ContingencyTable::from_counts(n_rows, n_cols, counts.to_vec()).unwrap();
    let f = fisher_exact(&t);
    let p = f.p.ok_or_else(|| format!("{counts:?}: no p ({:?})", f.status))?;
    if f.status != FisherStatus::Exact && f.status != FisherStatus::SingleTable {
        return Err(format!("{counts:?}: status {:?}", f.status));
    }
    let b = brute_force(n_rows, n_cols, counts);
    if (p - b).abs() > rel_tol * b.max(1e-300) {
        return Err(format!("{n_rows}x{n_cols} {counts:?}: p {p:e}, brute force {b:e}"));
    }
    Ok(())
}

/// Every table of the shape with total at most `n_max` (cells enumerated as compositions).
fn every_table(n_rows: usize, n_cols: usize, n_max: usize) -> usize {
    let m = n_rows * n_cols;
    let mut counts = vec![0u64; m];
    let mut checked = 0;
    fn rec(
        idx: usize,
        left: usize,
        counts: &mut Vec<u64>,
        n_rows: usize,
        n_cols: usize,
        checked: &mut usize,
    ) {
        if idx == counts.len() {
            check(n_rows, n_cols, counts).unwrap();
            *checked += 1;
            return;
        }
        for v in 0..=left {
            counts[idx] = v as u64;
            rec(idx + 1, left - v, counts, n_rows, n_cols, checked);
        }
        counts[idx] = 0;
    }
    rec(0, n_max, &mut counts, n_rows, n_cols, &mut checked);
    checked
}

#[test]
fn every_small_2xk_table() {
    // C(n_max + m, m) tables each: 2 x 3 up to n = 12 (18564), 2 x 4 up to 9 (24310), 2 x 5 up to
    // 6 (8008)
    assert_eq!(every_table(2, 3, 12), 18564);
    assert_eq!(every_table(2, 4, 9), 24310);
    assert_eq!(every_table(2, 5, 6), 8008);
}

#[test]
fn every_small_2x2_and_3x3_table() {
    assert_eq!(every_table(2, 2, 20), 10626);
    assert_eq!(every_table(3, 3, 6), 5005);
}

/// 2 x k tables past n = 500, where `tables.rs` runs its large-n search (probabilities relative to
/// the observed table's, tails summed by hypergeometric ratios): near independence, skewed, and
/// with p far in the tail (down to ~1e-150, where the cached tail sums give way to direct ones).
/// That search differences log-factorials of a few thousand, so the agreement asked is 1e-10.
#[test]
fn large_2xk_tables_match_brute_force() {
    let cases: [(usize, &[u64]); 7] = [
        (3, &[170, 170, 170, 170, 170, 170]),
        (3, &[200, 150, 160, 140, 190, 180]),
        (3, &[300, 20, 10, 5, 150, 115]),
        (3, &[250, 1, 0, 0, 130, 130]),
        (3, &[3, 250, 8, 260, 2, 9]),
        (4, &[10, 12, 200, 40, 11, 9, 210, 38]),
        (5, &[20, 1, 150, 30, 60, 2, 25, 160, 40, 20]),
    ];
    for (k, counts) in cases {
        assert!(counts.iter().sum::<u64>() > 500);
        check_within(2, k, counts, 1e-10).unwrap();
    }
}

/// A 2 x k table of `n` patients: group sizes and column proportions drawn, as in Table 1.
fn cohort_table() -> impl Strategy<Value = (usize, Vec<u64>)> {
    (3usize..=5, 10usize..=53).prop_flat_map(|(k, n)| {
        (Just(k), proptest::collection::vec((0usize..2, 0usize..k), n)).prop_map(move |(k, draws)| {
            let mut counts = vec![0u64; 2 * k];
            for (g, j) in draws {
                counts[g * k + j] += 1;
            }
            (k, counts)
        })
    })
}

/// Skewed 2 x k tables (some with small p-values) and small r x c ones.
fn skewed_table() -> impl Strategy<Value = (usize, usize, Vec<u64>)> {
    (2usize..=3, 3usize..=4)
        .prop_flat_map(|(r, c)| (Just(r), Just(c), proptest::collection::vec(0u64..9, r * c)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn cohort_tables_match_brute_force((k, counts) in cohort_table()) {
        prop_assert!(check(2, k, &counts).is_ok(), "{}", check(2, k, &counts).unwrap_err());
    }

    #[test]
    fn skewed_tables_match_brute_force((r, c, counts) in skewed_table()) {
        prop_assert!(check(r, c, &counts).is_ok(), "{}", check(r, c, &counts).unwrap_err());
    }
}
