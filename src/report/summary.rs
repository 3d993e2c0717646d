//! Reading a run's `summary.json` (as written by the engine) for reports: one (estimand, method)
//! pair, a measure with its Monte Carlo SE, and the distribution of a choice.

use serde_json::Value;

/// The pair `estimand` / `method` of a summary.
pub fn pair<'a>(s: &'a Value, estimand: &str, method: &str) -> Option<&'a Value> {
    s["pairs"].as_array()?.iter().find(|p| p["estimand"] == estimand && p["method"] == method)
}

/// An `{est, mcse}` object as (estimate, MCSE); None when the estimate is undefined.
pub fn est(v: &Value) -> Option<(f64, f64)> {
    Some((v["est"].as_f64()?, v["mcse"].as_f64().unwrap_or(0.0)))
}

/// Measure `name` of a pair in `view` ("included" or "excluded" degenerate fits).
pub fn stat(p: &Value, view: &str, name: &str) -> Option<(f64, f64)> {
    est(&p[view][name])
}

/// The choice called `name`.
pub fn choice<'a>(s: &'a Value, name: &str) -> Option<&'a Value> {
    s["choices"].as_array()?.iter().find(|c| c["name"] == name)
}

/// The share of replicates whose choice `name` was `label` (0 when never chosen).
pub fn choice_prop(s: &Value, name: &str, label: &str) -> Option<(f64, f64)> {
    let c = choice(s, name)?;
    match c["table"].as_array()?.iter().find(|r| r["value"] == label) {
        Some(r) => est(&r["proportion"]),
        None => Some((0.0, 0.0)),
    }
}

/// The mean of a numeric choice.
pub fn choice_mean(s: &Value, name: &str) -> Option<(f64, f64)> {
    est(&choice(s, name)?["mean"])
}
