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

use super::Ties;

/// Scratch buffers for one model of `p` covariates, reused across iterations.
#[derive(Debug, Clone)]
pub(crate) struct Sweep {
    pub p: usize,
    /// score vector at the last evaluated beta
    pub u: Vec<f64>,
    /// information matrix at the last evaluated beta (row-major; lower triangle filled)
    pub imat: Vec<f64>,
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
            u: vec![0.0; p],
            imat: vec![0.0; p * p],
            a: vec![0.0; p],
            a2: vec![0.0; p],
            cmat: vec![0.0; p * p],
            cmat2: vec![0.0; p * p],
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
        self.risk.resize(status.len(), 0.0);
        self.u.fill(0.0);
        self.imat.fill(0.0);
        self.a.fill(0.0);
        self.a2.fill(0.0);
        self.cmat.fill(0.0);
        self.cmat2.fill(0.0);
        let mut loglik = 0.0;
        let mut denom = 0.0;
        let mut memo = ExpMemo::default();
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
                self.risk[pos] = risk;
                if status[pos] {
                    n_dead += 1;
                    denom2 += risk;
                    loglik += zbeta;
                    for i in 0..p {
                        self.u[i] += xi[i];
                        self.a2[i] += risk * xi[i];
                        for j in 0..=i {
                            self.cmat2[i * p + j] += risk * xi[i] * xi[j];
                        }
                    }
                } else {
                    denom += risk;
                    for i in 0..p {
                        self.a[i] += risk * xi[i];
                        for j in 0..=i {
                            self.cmat[i * p + j] += risk * xi[i] * xi[j];
                        }
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
                for i in 0..p {
                    self.a[i] += self.a2[i];
                    let mean = self.a[i] / denom;
                    self.u[i] -= dead_wt * mean;
                    for j in 0..=i {
                        self.cmat[i * p + j] += self.cmat2[i * p + j];
                        self.imat[i * p + j] += dead_wt * (self.cmat[i * p + j] - mean * self.a[j]) / denom;
                    }
                }
            } else {
                // Efron: the tied deaths enter the risk set a fraction 1/d at a time
                let d = dead_wt;
                for _ in 0..n_dead {
                    denom += denom2 / d;
                    loglik -= denom.ln();
                    for i in 0..p {
                        self.a[i] += self.a2[i] / d;
                        let mean = self.a[i] / denom;
                        self.u[i] -= mean;
                        for j in 0..=i {
                            self.cmat[i * p + j] += self.cmat2[i * p + j] / d;
                            self.imat[i * p + j] += (self.cmat[i * p + j] - mean * self.a[j]) / denom;
                        }
                    }
                }
            }
            self.a2.fill(0.0);
            self.cmat2.fill(0.0);
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
}
