//! Events and power of a two-group comparison of survival (or of one binary Cox covariate).
//!
//! ```text
//! Schoenfeld (1981, Biometrika 68:316):    D = (z_{1-a/2} + z_{1-b})^2 / (q (1-q) log(HR)^2)
//! Freedman (1982, Stat Med 1:121):         D = (z_{1-a/2} + z_{1-b})^2 (q HR + 1 - q)^2 / (q (1-q) (HR - 1)^2)
//! Hsieh & Lavori (2000, Control Clin Trials 21:552), a covariate adjusted for others:
//!                                          D = (z_{1-a/2} + z_{1-b})^2 / (s^2 log(HR)^2 (1 - rho^2))
//! ```
//! D is the number of events, q the fraction of patients in one group (s^2 = q (1 - q) for a binary
//! covariate) and rho the multiple correlation of the covariate with the others in the model. Each
//! formula is inverted for the power given D: power = Phi(sqrt(D * k) - z_{1-a/2}), k the factor
//! that multiplies D under the square root.

use statrs::distribution::{ContinuousCDF, Normal};

fn z(p: f64) -> f64 {
    Normal::standard().inverse_cdf(p)
}

fn phi(x: f64) -> f64 {
    Normal::standard().cdf(x)
}

/// Power of the log-rank / Wald test with `events` events, two-sided level `alpha`.
pub fn schoenfeld_power(events: f64, q: f64, log_hr: f64, alpha: f64) -> f64 {
    phi((events * q * (1.0 - q)).sqrt() * log_hr.abs() - z(1.0 - alpha / 2.0))
}

/// Events needed for `power` by Schoenfeld's formula.
pub fn schoenfeld_events(power: f64, q: f64, log_hr: f64, alpha: f64) -> f64 {
    (z(1.0 - alpha / 2.0) + z(power)).powi(2) / (q * (1.0 - q) * log_hr * log_hr)
}

/// Power by Freedman's formula.
pub fn freedman_power(events: f64, q: f64, hr: f64, alpha: f64) -> f64 {
    phi((events * q * (1.0 - q)).sqrt() * (hr - 1.0).abs() / (q * hr + 1.0 - q) - z(1.0 - alpha / 2.0))
}

/// Events needed for `power` by Freedman's formula.
pub fn freedman_events(power: f64, q: f64, hr: f64, alpha: f64) -> f64 {
    (z(1.0 - alpha / 2.0) + z(power)).powi(2) * (q * hr + 1.0 - q).powi(2)
        / (q * (1.0 - q) * (hr - 1.0).powi(2))
}

/// Power by Hsieh and Lavori's formula for a covariate of variance `var_x` whose squared multiple
/// correlation with the other covariates is `rho2`.
pub fn hsieh_lavori_power(events: f64, var_x: f64, rho2: f64, log_hr: f64, alpha: f64) -> f64 {
    phi((events * var_x * (1.0 - rho2)).sqrt() * log_hr.abs() - z(1.0 - alpha / 2.0))
}

/// Events needed for `power` by Hsieh and Lavori's formula.
pub fn hsieh_lavori_events(power: f64, var_x: f64, rho2: f64, log_hr: f64, alpha: f64) -> f64 {
    (z(1.0 - alpha / 2.0) + z(power)).powi(2) / (var_x * (1.0 - rho2) * log_hr * log_hr)
}

/// The smallest n at which a curve of simulated power reaches `target`, by linear interpolation
/// between the two grid points that bracket it, with its Monte Carlo SE by the delta method:
/// `points` are (n, power, mcse) in increasing n. None when the target is not bracketed.
pub fn solve_n(points: &[(f64, f64, f64)], target: f64) -> Option<(f64, f64)> {
    let k = points.windows(2).position(|w| w[0].1 < target && w[1].1 >= target)?;
    let ((n0, p0, s0), (n1, p1, s1)) = (points[k], points[k + 1]);
    let w = (target - p0) / (p1 - p0);
    let n = n0 + w * (n1 - n0);
    // n* = n0 + (target - p0)(n1 - n0)/(p1 - p0): partial derivatives in p0 and p1
    let dn_dp0 = (n1 - n0) * (target - p1) / (p1 - p0).powi(2);
    let dn_dp1 = -(n1 - n0) * (target - p0) / (p1 - p0).powi(2);
    Some((n, ((dn_dp0 * s0).powi(2) + (dn_dp1 * s1).powi(2)).sqrt()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn textbook_event_counts() {
        // HR 2, 1:1, 80% power, two-sided 5%: Schoenfeld 4 (1.95996 + 0.84162)^2 / log(2)^2 = 65.35
        // (the classical "66 events"); Freedman (1.95996 + 0.84162)^2 * 9 = 70.640 (the classical "71").
        let d = schoenfeld_events(0.8, 0.5, 2f64.ln(), 0.05);
        assert!((d - 65.345).abs() < 0.01, "{d}");
        let f = freedman_events(0.8, 0.5, 2.0, 0.05);
        assert!((f - 70.640).abs() < 0.001, "{f}");
        // each power formula inverts its events formula (to statrs' normal accuracy, ~1e-10)
        assert!((schoenfeld_power(d, 0.5, 2f64.ln(), 0.05) - 0.8).abs() < 1e-9);
        assert!((freedman_power(f, 0.5, 2.0, 0.05) - 0.8).abs() < 1e-9);
        // Hsieh-Lavori without correlation is Schoenfeld with s^2 = q (1 - q)
        let h = hsieh_lavori_events(0.8, 0.25, 0.0, 2f64.ln(), 0.05);
        assert!((h - d).abs() < 1e-9);
        assert!((hsieh_lavori_events(0.8, 0.25, 0.5, 2f64.ln(), 0.05) - 2.0 * d).abs() < 1e-9);
    }

    #[test]
    fn solving_n_interpolates_and_propagates_the_mcse() {
        let pts = [(50.0, 0.4, 0.01), (100.0, 0.7, 0.01), (200.0, 0.9, 0.01)];
        let (n, se) = solve_n(&pts, 0.8).unwrap();
        assert!((n - 150.0).abs() < 1e-9);
        // w = 0.5 between 100 and 200: dn/dp = 100 / 0.2 * 0.5 each -> 250 * 0.01 * sqrt(2)
        assert!((se - 250.0 * 0.01 * 2f64.sqrt()).abs() < 1e-9, "{se}");
        assert!(solve_n(&pts, 0.95).is_none());
    }
}
