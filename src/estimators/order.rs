//! Two samples' values in sorted order, as integer keys, and their runs of tied values: the
//! ranking step shared by the rank tests ([`super::mann_whitney`]) and the ROC curve
//! ([`super::roc`]).
//!
//! ```text
//! key(v) = bits(v) xor (sign(v) ? 0x7fff_ffff_ffff_ffff : 0)     (as f64::total_cmp orders)
//! ```
//! Sorting the keys of finite values sorts the values (integer sorts are cheaper than float
//! comparisons); -0 and +0 get two keys but are one value in the tie runs, as `==` has it.

/// `f64::total_cmp`'s key: integers in the same order as the floats (an involution).
pub(crate) const fn total_order_key(v: f64) -> i64 {
    let bits = v.to_bits() as i64;
    bits ^ ((((bits >> 63) as u64) >> 1) as i64)
}

/// The float whose `total_order_key` is `key`.
pub(crate) fn from_total_order_key(key: i64) -> f64 {
    f64::from_bits((key ^ ((((key >> 63) as u64) >> 1) as i64)) as u64)
}

/// Calls `f(value, count_a, count_b)` for each distinct value of the merged sorted keys `a` and
/// `b` (finite values; -0 and +0 are one value, as `==` has it), ascending.
pub(crate) fn for_each_tie_run(a: &[i64], b: &[i64], mut f: impl FnMut(f64, usize, usize)) {
    let (mut i, mut j) = (0, 0);
    loop {
        let head = match (a.get(i), b.get(j)) {
            (Some(&ka), Some(&kb)) => ka.min(kb),
            (Some(&ka), None) => ka,
            (None, Some(&kb)) => kb,
            (None, None) => break,
        };
        // the keys of the values equal to head's, compared as integers: head's own and, after
        // -0's, the next one (+0's)
        let last = if head == total_order_key(-0.0) { total_order_key(0.0) } else { head };
        let in_a = a[i..].iter().take_while(|&&k| k <= last).count();
        let in_b = b[j..].iter().take_while(|&&k| k <= last).count();
        (i, j) = (i + in_a, j + in_b);
        f(from_total_order_key(head), in_a, in_b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tie_runs_are_the_distinct_values_with_minus_zero_equal_to_zero() {
        // against the runs of the merged values compared as floats
        let a = [-2.5, -0.0, -0.0, 0.0, 1.0, 1.0, 3.0, f64::MAX];
        let b = [-3.0, -2.5, 0.0, 0.0, 2.0, 3.0, 3.0];
        let keys = |v: &[f64]| v.iter().map(|&v| total_order_key(v)).collect::<Vec<_>>();
        let mut runs = Vec::new();
        for_each_tie_run(&keys(&a), &keys(&b), |v, in_a, in_b| runs.push((v.to_bits(), in_a, in_b)));
        let mut expected = Vec::new();
        let mut merged: Vec<f64> = a.iter().chain(&b).copied().collect();
        merged.sort_by(f64::total_cmp);
        let mut k = 0;
        while k < merged.len() {
            let v = merged[k];
            let count = |s: &[f64]| s.iter().filter(|&&x| x == v).count();
            expected.push((v.to_bits(), count(&a), count(&b)));
            k += count(&merged);
        }
        assert_eq!(runs, expected);
        assert_eq!(runs[2], ((-0.0f64).to_bits(), 3, 2));
    }
}
