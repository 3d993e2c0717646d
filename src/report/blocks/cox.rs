//! JSON block of one Cox model, field for field an entry of `cox[]` in the reference JSON
//! (R: `coxph(Surv(time, event) ~ covariates, ties = ...)` and its `summary`), plus
//! `"monotone_likelihood"`. Numbers R reports as NA (aliased columns) or that overflow are `null`.

use crate::data::SurvivalData;
use crate::estimators::cox::{self, CoxControl, CoxData, Ties};
use serde_json::{Value, json};

/// The `cox[]` entry for the model of `data` on `columns` (named `names`; complete cases: the
/// caller drops rows missing any covariate). Invalid columns give an object with an `"error"`.
pub fn cox_block(data: &SurvivalData, names: &[String], columns: &[Vec<f64>], ties: Ties) -> Value {
    let prepared = CoxData::new(data);
    let fit = match cox::fit(&prepared, columns, ties, &CoxControl::r_defaults()) {
        Ok(fit) => fit,
        Err(e) => return json!({ "covariates": names, "ties": ties.r_name(), "error": e.to_string() }),
    };
    json!({
        "covariates": names,
        "ties": ties.r_name(),
        "n": fit.n,
        "n_event": fit.n_event,
        "coef": fit.coef,
        "se": fit.se,
        "z": fit.z,
        "p": fit.p,
        "hr": fit.hr,
        "hr_lower": fit.hr_lower,
        "hr_upper": fit.hr_upper,
        "var": fit.var,
        "loglik_null": fit.loglik_null,
        "loglik": fit.loglik,
        "lr_chisq": fit.lr_chisq,
        "lr_p": fit.lr_p,
        "wald_chisq": fit.wald_chisq,
        "wald_p": fit.wald_p,
        "score_chisq": fit.score_chisq,
        "score_p": fit.score_p,
        "concordance": fit.concordance,
        "iterations": fit.iterations,
        "warnings": fit.warnings,
        "monotone_likelihood": fit.monotone.iter().any(|&m| m),
    })
}
