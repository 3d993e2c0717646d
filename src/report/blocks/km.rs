//! The `km` block (and each `km_by_group` entry): R's `survfit(Surv(time, event) ~ 1)` with
//! conf.type log, log-log and plain, `summary(fit, rmean = "individual")$table`,
//! `summary(fit, rmean = tau)$table` and `summary(fit, times = at, extend = TRUE)`, field for field
//! as `make_reference.R` writes them. `null` where R gives NA.

use crate::data::SurvivalData;
use crate::estimators::km::{self, ConfType};
use serde_json::{Value, json};

/// The `km` block of `data`, with S(t) at `at` and the restricted mean to `tau` (its three fields
/// are null when `tau` is None).
pub fn km_block(data: &SurvivalData, at: &[f64], tau: Option<f64>) -> Value {
    let fit = km::fit(data);
    let log = fit.conf_ints(ConfType::Log);
    let loglog = fit.conf_ints(ConfType::LogLog);
    let plain = fit.conf_ints(ConfType::Plain);
    let median = fit.median(ConfType::Log);
    let last = fit.rmean_last();
    let to_tau = tau.and_then(|t| fit.rmean_to(t));
    let at_fit: Vec<km::SurvAt> = at.iter().map(|&t| fit.surv_at(t)).collect();
    json!({
        "time": fit.time,
        "n_risk": fit.n_risk,
        "n_event": fit.n_event,
        "n_censor": fit.n_censor,
        "surv": fit.surv,
        "se_surv": fit.se_surv,
        "lower_log": log.iter().map(|c| c.lower).collect::<Vec<_>>(),
        "upper_log": log.iter().map(|c| c.upper).collect::<Vec<_>>(),
        "lower_loglog": loglog.iter().map(|c| c.lower).collect::<Vec<_>>(),
        "upper_loglog": loglog.iter().map(|c| c.upper).collect::<Vec<_>>(),
        "lower_plain": plain.iter().map(|c| c.lower).collect::<Vec<_>>(),
        "upper_plain": plain.iter().map(|c| c.upper).collect::<Vec<_>>(),
        "median": median.median,
        "median_lower": median.lower,
        "median_upper": median.upper,
        "rmean_last": last.rmean,
        "rmean_last_se": last.se,
        "rmean_tau": tau,
        "rmean_at_tau": to_tau.map(|r| r.rmean),
        "rmean_at_tau_se": to_tau.map(|r| r.se),
        "at_times": at,
        "surv_at": at_fit.iter().map(|s| s.surv).collect::<Vec<_>>(),
        "se_surv_at": at_fit.iter().map(|s| s.se_surv).collect::<Vec<_>>(),
    })
}
