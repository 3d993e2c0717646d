//! Streaming mean and sum of squared deviations (Welford), mergeable (Chan et al.).
//!
//! ```text
//! push x:     n += 1;  d = x - mean;  mean += d / n;  m2 += d (x - mean)
//! merge a, b: n = na + nb;  d = mean_b - mean_a;
//!             mean = mean_a + d nb / n;  m2 = m2_a + m2_b + d^2 na nb / n
//! variance = m2 / (n - 1)
//! ```
//! Welford (1962) Technometrics 4:419; Chan, Golub & LeVeque (1979) "Updating formulae and a
//! pairwise algorithm for computing sample variances". No catastrophic cancellation (unlike
//! sum of squares minus n mean^2). Deterministic for a fixed order of pushes and merges.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Moments {
    pub n: u64,
    pub mean: f64,
    /// Sum of squared deviations from the mean.
    pub m2: f64,
}

impl Moments {
    pub fn push(&mut self, x: f64) {
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
    }

    /// Fold `other` (the later values) into `self`. Merging into an empty accumulator copies
    /// `other` bit for bit.
    pub fn merge(&mut self, other: &Moments) {
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *other;
            return;
        }
        let (na, nb) = (self.n as f64, other.n as f64);
        let n = na + nb;
        let d = other.mean - self.mean;
        self.mean += d * (nb / n);
        self.m2 += other.m2 + d * d * (na * nb / n);
        self.n += other.n;
    }

    /// Mean, if there is at least one value.
    pub fn mean(&self) -> Option<f64> {
        (self.n >= 1).then_some(self.mean)
    }

    /// Sample variance (denominator n - 1), if n >= 2.
    pub fn variance(&self) -> Option<f64> {
        (self.n >= 2).then(|| (self.m2 / (self.n - 1) as f64).max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_gives_mean_and_variance() {
        // 1, 2, 3, 4: mean 2.5, variance (2.25 + 0.25 + 0.25 + 2.25) / 3 = 5/3 (by hand).
        let mut m = Moments::default();
        for x in [1.0, 2.0, 3.0, 4.0] {
            m.push(x);
        }
        assert_eq!(m.mean(), Some(2.5));
        assert!((m.variance().unwrap() - 5.0 / 3.0).abs() < 1e-15);
    }

    #[test]
    fn merge_agrees_with_push_and_copies_into_empty() {
        let xs = [0.3, -1.2, 4.5, 2.25, 7.0, -0.5, 1.0];
        let mut all = Moments::default();
        xs.iter().for_each(|&x| all.push(x));
        let (mut a, mut b) = (Moments::default(), Moments::default());
        xs[..3].iter().for_each(|&x| a.push(x));
        xs[3..].iter().for_each(|&x| b.push(x));
        let mut empty = Moments::default();
        empty.merge(&a);
        assert_eq!(empty, a);
        a.merge(&b);
        assert_eq!(a.n, 7);
        assert!((a.mean - all.mean).abs() < 1e-14);
        assert!((a.m2 - all.m2).abs() < 1e-12);
        assert_eq!(Moments::default().variance(), None);
    }
}
