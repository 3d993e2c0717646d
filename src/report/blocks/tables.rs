//! `group_comparisons.contingency` and `group_comparisons.mann_whitney` blocks, field for field
//! those of `make_reference.R`'s `tables_block` (R's `fisher.test`, `chisq.test` with and without
//! Yates' correction, `wilcox.test(x ~ g)` default and `exact = FALSE, correct = TRUE`).
//! `null` stands where R gives NA/NaN or stops; `notes` (not in R's output) says why.

use crate::data::Factor;
use crate::estimators::mann_whitney::{self, Degenerate};
use crate::estimators::tables::{
    ChiSquareDegenerate, ContingencyTable, FisherStatus, chisq_test, fisher_exact,
};
use serde_json::{Value, json};

/// R's `table(a, b)` with Fisher's and Pearson's tests. Factors of different lengths give a block
/// with only an `error` field.
pub fn contingency_block(a: &Factor, b: &Factor) -> Value {
    let table = match ContingencyTable::from_factors(a, b) {
        Ok(t) => t,
        Err(e) => return json!({ "error": e.to_string() }),
    };
    let fisher = fisher_exact(&table);
    let yates = chisq_test(&table, true);
    let plain = chisq_test(&table, false);
    let mut notes: Vec<&str> = Vec::new();
    match fisher.status {
        FisherStatus::Exact => {}
        FisherStatus::SingleTable => notes.push("only one table has these margins: Fisher p = 1"),
        FisherStatus::NotTwoWay => notes.push("fewer than two rows or columns: no test of association"),
        FisherStatus::TooLarge => notes.push("table too large for exact enumeration: no Fisher p"),
    }
    match plain.degenerate {
        None | Some(ChiSquareDegenerate::NotTwoWay) => {}
        Some(ChiSquareDegenerate::ZeroMargin) => notes.push("a zero row or column total: no chi-square"),
        Some(ChiSquareDegenerate::Empty) => notes.push("no observations"),
    }
    if plain.small_expected {
        notes.push("Chi-squared approximation may be incorrect (an expected count below 5)");
    }
    json!({
        "rows": table.row_labels(),
        "cols": table.col_labels(),
        "counts": table.rows(),
        "fisher_p": fisher.p,
        "fisher_status": format!("{:?}", fisher.status),
        "chisq_yates": yates.statistic,
        "chisq_yates_p": yates.p,
        "chisq_yates_applied": yates.yates_applied,
        "chisq": plain.statistic,
        "chisq_df": plain.df,
        "chisq_p": plain.p,
        "notes": notes,
    })
}

/// R's `wilcox.test(x ~ g)`: the first level of `g` is the first sample. `g` must have exactly two
/// levels (R stops otherwise: here every statistic is `null`, with a note).
pub fn mann_whitney_block(x: &[f64], g: &Factor) -> Value {
    let labels = g.labels();
    if x.len() != g.len() {
        return json!({ "error": format!("{} values but {} group codes", x.len(), g.len()) });
    }
    if labels.len() != 2 {
        return json!({
            "groups": labels,
            "w": null,
            "p_default": null,
            "method_default": null,
            "p_normal_cc": null,
            "notes": ["the grouping factor must have exactly 2 levels"],
        });
    }
    let mut first = Vec::new();
    let mut second = Vec::new();
    for (&v, &code) in x.iter().zip(g.codes()) {
        if code == 0 { first.push(v) } else { second.push(v) }
    }
    let t = mann_whitney::rank_sum_test(&first, &second);
    let mut notes: Vec<&str> = Vec::new();
    match t.degenerate {
        None => {}
        Some(Degenerate::EmptyGroup) => notes.push("a group has no finite values"),
        Some(Degenerate::AllEqual) => notes.push("all values are equal: no normal approximation"),
    }
    json!({
        "groups": labels,
        "n": [t.n_x, t.n_y],
        "w": t.w,
        "p_default": t.p_default,
        "method_default": t.method_default.r_name(),
        "p_normal_cc": t.p_normal_cc,
        "z_normal_cc": t.z_normal_cc,
        "ties": t.has_ties,
        "notes": notes,
    })
}
