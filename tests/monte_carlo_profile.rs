//! The coverage of the Cox likelihood-ratio (profile-likelihood) interval (`cox_lr_profile`) held
//! against R's own simulation of the same designs (tests/reference/cox_profile/make_montecarlo.R,
//! committed output montecarlo_profile.json, 20,000 replicates each): one binary covariate at
//! n = 50 (the design of tests/reference/montecarlo (c)), and at n = 12 where about 30% of the
//! fitted replicates have an infinite end (monotone likelihood). Each comparison allows 3 combined
//! Monte Carlo SEs.

use serde_json::Value;
use std::path::Path;
use survmc::engine::RunSummary;
use survmc::metrics::{DegenerateKind, Estimate};

mod support;
use support::run;

fn reference() -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/cox_profile/montecarlo_profile.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("montecarlo_profile.json")).expect("json")
}

fn est(e: &Estimate) -> (f64, f64) {
    (e.est.expect("defined"), e.mcse.expect("defined"))
}

/// |a - b| within 3 combined Monte Carlo SEs.
fn close(what: &str, a: (f64, f64), b: (f64, f64)) -> Option<String> {
    let tol = 3.0 * (a.1 * a.1 + b.1 * b.1).sqrt();
    ((a.0 - b.0).abs() > tol)
        .then(|| format!("{what}: survmc {:.4} (MCSE {:.4}), R {:.4} (MCSE {:.4})", a.0, a.1, b.0, b.1))
}

fn design(n: usize, p: f64, hr: f64, rate: f64) -> String {
    format!(
        "n = {n}\n[[covariates]]\nname = \"x\"\ndist = \"binary\"\nparams = {{ p = {p} }}\n\
         [censoring]\ndist = \"fixed\"\nat = 5.0\n\
         [outcomes.os]\nbaseline = {{ dist = \"exponential\", rate = {rate} }}\n\
         effects = [{{ covariate = \"x\", hr = {hr} }}]\n\
         [analysis]\n[[analysis.estimands]]\nkind = \"cox_hr\"\ncovariate = \"x\"\nname = \"b\"\n"
    )
}

#[test]
fn lr_profile_coverage_matches_r() {
    let r = reference();
    let mut report = Vec::new();
    for (key, n, p, hr, rate, seed) in [
        ("n50_loghr_minus0.5", 50, 0.5, (-0.5f64).exp(), 0.5, 17),
        ("n12_loghr_1", 12, 0.25, 1f64.exp(), 0.05, 19),
    ] {
        let summary = run(key, &design(n, p, hr, rate), 20_000, seed);
        let pair = summary.pairs.iter().find(|q| q.estimand == "b" && q.method == "cox_lr_profile").unwrap();
        let v = &pair.performance.included;
        let rr = &r[key];
        let rv = (rr["lr_coverage"].as_f64().unwrap(), rr["lr_coverage_mcse"].as_f64().unwrap());
        let cover = est(&v.cover);
        eprintln!("{key}: LR coverage survmc {cover:?}, R {rv:?}");
        report.extend(close(&format!("{key}: LR coverage"), cover, rv));
        // every fitted replicate has an interval (an infinite end included), and none is lost
        let fitted = rr["fitted"].as_f64().unwrap();
        let n_fit = (pair.performance.counts.nsim - pair.performance.counts.n_missing) as f64;
        assert_eq!(v.cover.n as f64, n_fit, "{key}: every fit has an interval");
        let share = n_fit / 20_000.0;
        let share_mcse = (share * (1.0 - share) / 20_000.0).sqrt();
        let r_share = fitted / 20_000.0;
        let r_share_mcse = (r_share * (1.0 - r_share) / 20_000.0).sqrt();
        report.extend(close(&format!("{key}: share fitted"), (share, share_mcse), (r_share, r_share_mcse)));
        // the share of intervals with an infinite end: the MonotoneLikelihood flag
        let monotone = pair
            .performance
            .counts
            .by_kind
            .iter()
            .find(|k| k.kind == DegenerateKind::MonotoneLikelihood.name());
        let m = monotone.map_or(0, |k| k.n) as f64 / n_fit;
        let r_inf =
            (rr["infinite_end_share"].as_f64().unwrap(), rr["infinite_end_share_mcse"].as_f64().unwrap());
        eprintln!("{key}: infinite ends survmc {m}, R {r_inf:?}");
        report.extend(close(&format!("{key}: infinite ends"), (m, (m * (1.0 - m) / n_fit).sqrt()), r_inf));
        if key == "n12_loghr_1" {
            check_report(&summary);
        }
    }
    assert!(report.is_empty(), "{}", report.join("\n"));
}

/// The report's monotone-likelihood table, from this run's summary: a row for the model with every
/// cell a number, nothing undefined printed.
fn check_report(summary: &RunSummary) {
    use survmc::report::reliability::{ReportInput, render};
    let s = serde_json::to_value(summary).unwrap();
    let manifest = serde_json::json!({});
    let md = render(&ReportInput {
        summary: &s,
        manifest: &manifest,
        null_summary: None,
        null_manifest: None,
        claims: &[],
        figures: &[],
    });
    let table = md.split("Intervals when the likelihood is monotone").nth(1).expect("the table");
    let row = table.lines().find(|l| l.starts_with("| b |")).expect("a row for the model");
    assert_eq!(row.matches("finite").count(), 3, "{row}");
    assert!(!row.contains('—') && !row.contains("NaN") && !row.contains("inf"), "{row}");
    assert!(!md.contains("NaN"), "{md}");
}
