//! The `tests` block: R's `survdiff(Surv(time, event) ~ group, rho = 0)` (`logrank`) and
//! `rho = 1` (`peto_peto_rho1`), field for field as `make_reference.R` writes them. `chisq` and `p`
//! are null where no test is possible; `degenerate` (survmc only) says why.

use crate::data::{Factor, SurvivalData};
use crate::estimators::logrank::{self, Degenerate, LogRank};
use serde_json::{Value, json};

/// Both tests of equal survival across the levels of `group` (the caller guarantees >= 2 levels
/// and one code per subject).
pub fn tests_block(data: &SurvivalData, group: &Factor) -> Value {
    let one = |rho: f64| {
        let r = logrank::test(data, group.codes(), group.n_levels(), rho);
        test_json(group.labels(), &r)
    };
    json!({ "logrank": one(0.0), "peto_peto_rho1": one(1.0) })
}

fn test_json(labels: &[String], r: &LogRank) -> Value {
    json!({
        "groups": labels,
        "n": r.n,
        "observed": r.observed,
        "expected": r.expected,
        "chisq": r.chisq,
        "df": r.df,
        "p": r.p,
        "degenerate": r.degenerate.map(|d| match d {
            Degenerate::EmptyGroup { group_idx } => format!("empty group {}", labels[group_idx]),
            Degenerate::NoEvents => "no events".to_string(),
            Degenerate::OneGroupAtRisk => "fewer than two groups at risk at an event".to_string(),
            Degenerate::SingularVariance => "singular variance matrix".to_string(),
            Degenerate::InvalidRho => "rho is not finite".to_string(),
        }),
    })
}
