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
pub(crate) fn total_order_key(v: f64) -> i64 {
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
    while i < a.len() || j < b.len() {
        let head = match (a.get(i), b.get(j)) {
            (Some(&ka), Some(&kb)) => ka.min(kb),
            (Some(&ka), None) => ka,
            (None, Some(&kb)) => kb,
            (None, None) => break,
        };
        let v = from_total_order_key(head);
        let (start_a, start_b) = (i, j);
        while i < a.len() && from_total_order_key(a[i]) == v {
            i += 1;
        }
        while j < b.len() && from_total_order_key(b[j]) == v {
            j += 1;
        }
        f(v, i - start_a, j - start_b);
    }
}
