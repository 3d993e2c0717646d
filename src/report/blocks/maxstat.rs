//! The `maxstat` block: the maximally selected log-rank statistic of the marker, with its Lau92 and
//! Lau94 p-values, field for field as `make_reference.R`'s `maxstat_block` writes it (minprop 0.1,
//! maxprop 0.9). Undefined numbers (no events, no admissible cut) are `null`.

use crate::data::SurvivalData;
use crate::estimators::maxstat::{self, MaxstatControl};
use serde_json::{Value, json};

/// The block for `marker`, one value per subject of `data`. Callers pass only rows where the
/// marker is present.
pub fn maxstat_block(data: &SurvivalData, marker: &[f64]) -> Value {
    let control = MaxstatControl::r_defaults();
    let fit = match maxstat::fit(data, marker, &control) {
        Ok(fit) => fit,
        Err(err) => {
            return json!({ "minprop": control.minprop, "maxprop": control.maxprop, "error": err.to_string() });
        }
    };
    let est = fit.estimate;
    let field = |f: fn(&maxstat::MaxstatEstimate) -> f64| est.as_ref().map_or(Value::Null, |e| num(f(e)));
    json!({
        "minprop": control.minprop,
        "maxprop": control.maxprop,
        "cut_le": field(|e| e.cut_le),
        "statistic": field(|e| e.statistic),
        "p_lau92": field(|e| e.p_lau92),
        "p_lau94": field(|e| e.p_lau94),
    })
}

/// A finite number, or `null`.
fn num(x: f64) -> Value {
    if x.is_finite() { json!(x) } else { Value::Null }
}
