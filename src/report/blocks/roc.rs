//! The `roc` block: pROC's ROC analysis of the marker against the event indicator, field for field
//! as `make_reference.R`'s `roc_block` writes it. Non-finite numbers (a Youden threshold of -Inf or
//! +Inf, a cut of -Inf) and undefined ones (no cases or no controls) are `null`, as jsonlite writes
//! R's NA.

use crate::estimators::roc::{self, RocStatus};
use serde_json::{Value, json};

/// The block for `marker` (complete values only) against `outcome` (true = event).
/// Callers pass only rows where the marker is present.
pub fn roc_block(marker: &[f64], outcome: &[bool]) -> Value {
    let fit = match roc::fit(marker, outcome) {
        Ok(fit) => fit,
        Err(err) => return json!({ "error": err.to_string() }),
    };
    let defined = !matches!(fit.status, RocStatus::NoCases | RocStatus::NoControls);
    let (lower, upper) = match fit.auc_ci {
        Some((l, u)) => (Some(l), Some(u)),
        None => (None, None),
    };
    let column =
        |f: fn(&roc::YoudenPoint) -> f64| -> Vec<Value> { fit.youden.iter().map(|p| num(f(p))).collect() };
    json!({
        "direction": if defined { json!(fit.direction.as_str()) } else { Value::Null },
        "auc": opt(fit.auc),
        "auc_se_delong": opt(fit.auc_se),
        "auc_lower_delong": opt(lower),
        "auc_upper_delong": opt(upper),
        "youden_threshold": column(|p| p.threshold),
        "youden_cut": column(|p| p.cut),
        "youden_sensitivity": column(|p| p.sensitivity),
        "youden_specificity": column(|p| p.specificity),
    })
}

/// A finite number, or `null`.
fn num(x: f64) -> Value {
    if x.is_finite() { json!(x) } else { Value::Null }
}

fn opt(x: Option<f64>) -> Value {
    x.map_or(Value::Null, num)
}
