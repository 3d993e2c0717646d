//! Symmetric LDL' factorisation with a singularity tolerance, as R survival's `cholesky2`,
//! `chsolve2` and `chinv2` (Therneau).
//!
//! ```text
//! A = F D F',  F unit lower triangular, D diagonal
//! pivot d_i < toler * max_j A_jj  (or not finite)  =>  d_i := 0, column i is "aliased"
//! ```
//! A zero pivot makes the solve return 0 in that position and the inverse a zero row and column,
//! which is how `coxph` drops aliased covariates. Matrices are row-major `p x p` slices; only the
//! lower triangle (and diagonal) is read by [`factor`].

/// Factors the symmetric matrix held in the lower triangle of `m` in place: `F` below the diagonal,
/// `D` on it. Returns the rank, negated when a pivot is clearly negative (not non-negative definite).
pub(crate) fn factor(m: &mut [f64], p: usize, toler: f64) -> i32 {
    let mut eps = 0.0_f64;
    for i in 0..p {
        if m[i * p + i] > eps {
            eps = m[i * p + i];
        }
    }
    if eps == 0.0 {
        // No positive diagonal (e.g. no events): everything is aliased.
        for i in 0..p {
            for j in 0..=i {
                m[i * p + j] = 0.0;
            }
        }
        return 0;
    }
    eps *= toler;
    let mut rank = 0;
    let mut nonneg = 1;
    for i in 0..p {
        let pivot = m[i * p + i];
        if !pivot.is_finite() || pivot < eps {
            m[i * p + i] = 0.0;
            if pivot < -8.0 * eps {
                nonneg = -1;
            }
        } else {
            rank += 1;
            for j in (i + 1)..p {
                let temp = m[j * p + i] / pivot;
                m[j * p + i] = temp;
                m[j * p + j] -= temp * temp * pivot;
                for k in (j + 1)..p {
                    m[k * p + j] -= temp * m[k * p + i];
                }
            }
        }
    }
    rank * nonneg
}

/// Solves `A x = y` in place given the factor from [`factor`]; aliased positions get 0.
pub(crate) fn solve(m: &[f64], p: usize, y: &mut [f64]) {
    for i in 0..p {
        let mut temp = y[i];
        for j in 0..i {
            temp -= y[j] * m[i * p + j];
        }
        y[i] = temp;
    }
    for i in (0..p).rev() {
        if m[i * p + i] == 0.0 {
            y[i] = 0.0;
        } else {
            let mut temp = y[i] / m[i * p + i];
            for j in (i + 1)..p {
                temp -= y[j] * m[j * p + i];
            }
            y[i] = temp;
        }
    }
}

/// Replaces the factor from [`factor`] by the (generalised) inverse of `A`, full and symmetric;
/// aliased rows and columns are 0.
pub(crate) fn invert(m: &mut [f64], p: usize) {
    // invert F (unit lower triangular) and D in place
    for i in 0..p {
        if m[i * p + i] > 0.0 {
            m[i * p + i] = 1.0 / m[i * p + i];
            for j in (i + 1)..p {
                m[j * p + i] = -m[j * p + i];
                for k in 0..i {
                    m[j * p + k] += m[j * p + i] * m[i * p + k];
                }
            }
        }
    }
    // F'^{-1} D^{-1} F^{-1} into the upper triangle
    for i in 0..p {
        if m[i * p + i] == 0.0 {
            for j in 0..i {
                m[j * p + i] = 0.0;
            }
            for j in i..p {
                m[i * p + j] = 0.0;
            }
        } else {
            for j in (i + 1)..p {
                let temp = m[j * p + i] * m[j * p + j];
                m[i * p + j] = temp;
                for k in i..j {
                    m[i * p + k] += temp * m[j * p + k];
                }
            }
        }
    }
    for i in 0..p {
        for j in 0..i {
            m[i * p + j] = m[j * p + i];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverts_and_solves_a_2x2() {
        // A = [[4, 2], [2, 3]]: det 8, inverse [[3, -2], [-2, 4]] / 8 (by hand)
        let mut m = vec![4.0, 2.0, 2.0, 3.0];
        assert_eq!(factor(&mut m, 2, 1e-12), 2);
        let mut y = vec![1.0, 1.0];
        solve(&m, 2, &mut y);
        assert!((y[0] - 0.125).abs() < 1e-15 && (y[1] - 0.25).abs() < 1e-15, "{y:?}");
        invert(&mut m, 2);
        let want = [0.375, -0.25, -0.25, 0.5];
        for (a, b) in m.iter().zip(want) {
            assert!((a - b).abs() < 1e-15, "{m:?}");
        }
    }

    #[test]
    fn aliased_column_gets_zero_row_and_column() {
        // second column = 2 * first: A = [[1, 2], [2, 4]] has rank 1
        let mut m = vec![1.0, 2.0, 2.0, 4.0];
        assert_eq!(factor(&mut m, 2, 1e-12), 1);
        let mut y = vec![1.0, 2.0];
        solve(&m, 2, &mut y);
        assert_eq!(y, vec![1.0, 0.0]);
        invert(&mut m, 2);
        assert_eq!(m, vec![1.0, 0.0, 0.0, 0.0]);
    }
}
