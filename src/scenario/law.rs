//! Distribution functions of the covariate laws, for validation (truncation bounds) and exact truth.
//!
//! ```text
//! Normal:     F(y) = Phi((y - mean) / sd)
//! LogNormal:  F(y) = Phi((ln y - meanlog) / sdlog),  y > 0
//! Gamma:      F(y) = P(shape, y / scale)   (regularised lower incomplete gamma)
//! R = h * round((shift + Y) / h):  P(R <= x) = F(h (floor(x/h) + 1/2) - shift)
//!                                  P(R <  x) = F(h (ceil(x/h) - 1/2) - shift)
//! X = R | lower <= R <= upper:     P(X <= x) = (P(R <= min(x, upper)) - P(R < lower)) / acceptance
//! ```

use statrs::function::erf::erfc;
use statrs::function::gamma::gamma_lr;

use super::{ContinuousSampler, Law};

/// Slack for floating-point division when locating a value on the rounding grid.
const GRID_EPS: f64 = 1e-9;

impl Law {
    /// P(Y <= y).
    pub fn cdf(&self, y: f64) -> f64 {
        let phi = |z: f64| 0.5 * erfc(-z / std::f64::consts::SQRT_2);
        match *self {
            Law::Normal { mean, sd } => phi((y - mean) / sd),
            Law::LogNormal { meanlog, sdlog } => {
                if y <= 0.0 {
                    0.0
                } else {
                    phi((y.ln() - meanlog) / sdlog)
                }
            }
            Law::Gamma { shape, scale } => {
                if y <= 0.0 {
                    0.0
                } else {
                    gamma_lr(shape, y / scale)
                }
            }
        }
    }
}

impl ContinuousSampler {
    /// P(R <= x) before truncation.
    fn raw_le(&self, x: f64) -> f64 {
        if x == f64::INFINITY {
            return 1.0;
        }
        if x == f64::NEG_INFINITY {
            return 0.0;
        }
        match self.round {
            Some(h) => self.law.cdf(h * ((x / h + GRID_EPS).floor() + 0.5) - self.shift),
            None => self.law.cdf(x - self.shift),
        }
    }

    /// P(R < x) before truncation.
    fn raw_lt(&self, x: f64) -> f64 {
        if x == f64::INFINITY {
            return 1.0;
        }
        if x == f64::NEG_INFINITY {
            return 0.0;
        }
        match self.round {
            Some(h) => self.law.cdf(h * ((x / h - GRID_EPS).ceil() - 0.5) - self.shift),
            None => self.law.cdf(x - self.shift),
        }
    }

    /// Probability that one draw falls within [lower, upper] (the rest are redrawn).
    pub fn acceptance(&self) -> f64 {
        self.raw_le(self.upper) - self.raw_lt(self.lower)
    }

    /// P(X <= x) of the final (shifted, rounded, truncated) value.
    pub fn cdf(&self, x: f64) -> f64 {
        if x < self.lower {
            return 0.0;
        }
        let a = self.acceptance();
        ((self.raw_le(x.min(self.upper)) - self.raw_lt(self.lower)) / a).clamp(0.0, 1.0)
    }

    /// P(X < x) of the final value.
    pub fn cdf_below(&self, x: f64) -> f64 {
        if x <= self.lower {
            return 0.0;
        }
        if x > self.upper {
            return 1.0;
        }
        let a = self.acceptance();
        ((self.raw_lt(x) - self.raw_lt(self.lower)) / a).clamp(0.0, 1.0)
    }
}
