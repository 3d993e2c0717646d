//! Harrell's concordance of the linear predictor, as `coxph` stores it in `fit$concordance`
//! (R survival's `concordancefit(y, lp, reverse = TRUE)`, time weight "n").
//!
//! ```text
//! comparable pair (i, j): i has an event at t_i and t_j > t_i, or t_j = t_i with j censored
//! concordant: lp_i > lp_j;  discordant: lp_i < lp_j;  tied.x: lp_i = lp_j
//! C = (concordant + tied.x / 2) / (concordant + discordant + tied.x)
//! ```
//! Pairs of events at the same time (tied.y) are not comparable. Harrell et al. (1982) JAMA 247:2543.

/// Concordance of `lp` with survival; `order` lists subjects in ascending time, and `groups` the
/// `(start, end)` positions in `order` of each distinct time. `None` when no pair is comparable.
pub(crate) fn concordance(
    lp: &[f64],
    order: &[usize],
    status_sorted: &[bool],
    groups: &[(usize, usize)],
) -> Option<f64> {
    let n = lp.len();
    // ranks of the distinct values of lp, 1-based for the Fenwick tree
    let mut by_lp: Vec<usize> = (0..n).collect();
    by_lp.sort_by(|&a, &b| lp[a].total_cmp(&lp[b]));
    let mut rank = vec![0usize; n];
    let mut n_rank = 0usize;
    for (k, &i) in by_lp.iter().enumerate() {
        if k == 0 || lp[i] != lp[by_lp[k - 1]] {
            n_rank += 1;
        }
        rank[i] = n_rank;
    }
    let mut tree = vec![0u64; n_rank + 1];
    let (mut concordant, mut discordant, mut tied) = (0u64, 0u64, 0u64);
    let mut n_in = 0u64;
    // walk times downwards: at each time, first add the censored (still at risk), then count the
    // events against everyone in the tree, then add the events
    for &(start, end) in groups.iter().rev() {
        for pos in start..end {
            if !status_sorted[pos] {
                fenwick_add(&mut tree, rank[order[pos]]);
                n_in += 1;
            }
        }
        for pos in start..end {
            if status_sorted[pos] {
                let r = rank[order[pos]];
                let below = fenwick_sum(&tree, r - 1);
                let at_or_below = fenwick_sum(&tree, r);
                concordant += below;
                tied += at_or_below - below;
                discordant += n_in - at_or_below;
            }
        }
        for pos in start..end {
            if status_sorted[pos] {
                fenwick_add(&mut tree, rank[order[pos]]);
                n_in += 1;
            }
        }
    }
    let n_pair = concordant + discordant + tied;
    if n_pair == 0 {
        return None;
    }
    Some((concordant as f64 + tied as f64 / 2.0) / n_pair as f64)
}

fn fenwick_add(tree: &mut [u64], mut i: usize) {
    while i < tree.len() {
        tree[i] += 1;
        i += i & i.wrapping_neg();
    }
}

fn fenwick_sum(tree: &[u64], mut i: usize) -> u64 {
    let mut s = 0;
    while i > 0 {
        s += tree[i];
        i -= i & i.wrapping_neg();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_pairs_by_hand() {
        // times 1 (event, lp 2), 2 (event, lp 1), 2 (censored, lp 3), 3 (event, lp 1)
        // comparable pairs of subject 0: with 1 (lp 2 > 1: conc), 2 (2 < 3: disc), 3 (2 > 1: conc)
        // subject 1 (t = 2): with 2 (censored at the same time: 1 < 3, disc), 3 (1 = 1: tied)
        // subject 3: none.  C = (2 + 0.5) / 5 = 0.5
        let lp = [2.0, 1.0, 3.0, 1.0];
        let order = [0, 1, 2, 3];
        let status = [true, true, false, true];
        let groups = [(0, 1), (1, 3), (3, 4)];
        assert_eq!(concordance(&lp, &order, &status, &groups), Some(0.5));
        assert_eq!(concordance(&lp, &order, &[false; 4], &groups), None);
    }
}
