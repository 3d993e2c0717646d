//! Human-readable text of an `analyze` result (the default on a terminal; `--format json` for tools).
//!
//! Reads the same JSON document that `--format json` prints, so both always say the same thing.

use serde_json::Value;
use std::fmt::Write;

/// A few screens of text: KM summary, tests, Cox coefficients, ROC, maxstat, group comparisons.
pub fn render_analysis(v: &Value) -> String {
    let mut out = String::new();
    if let Some(km) = v.get("km") {
        km_summary(&mut out, "All subjects", km);
    }
    if let Some(Value::Object(groups)) = v.get("km_by_group") {
        for (label, km) in groups {
            km_summary(&mut out, &format!("Group {label}"), km);
        }
    }
    if let Some(tests) = v.get("tests") {
        let _ = writeln!(out, "Tests between groups");
        for (key, title) in [("logrank", "log-rank"), ("peto_peto_rho1", "Peto–Peto (rho = 1)")] {
            if let Some(t) = tests.get(key) {
                let _ = writeln!(
                    out,
                    "  {title:<22} chisq = {}  df = {}  p = {}",
                    num(&t["chisq"]),
                    num(&t["df"]),
                    num(&t["p"])
                );
            }
        }
        out.push('\n');
    }
    if let Some(Value::Array(fits)) = v.get("cox") {
        for fit in fits {
            cox_summary(&mut out, fit);
        }
    }
    if let Some(roc) = v.get("roc") {
        let _ = writeln!(
            out,
            "ROC (outcome: event)\n  direction {}  AUC = {} (95% CI {} to {}, DeLong)",
            roc["direction"].as_str().unwrap_or("?"),
            num(&roc["auc"]),
            num(&roc["auc_lower_delong"]),
            num(&roc["auc_upper_delong"])
        );
        if let Some(Value::Array(th)) = roc.get("youden_threshold") {
            for (i, t) in th.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "  Youden threshold {}: sensitivity {}, specificity {}",
                    num(t),
                    num(&roc["youden_sensitivity"][i]),
                    num(&roc["youden_specificity"][i])
                );
            }
        }
        out.push('\n');
    }
    if let Some(m) = v.get("maxstat") {
        let _ = writeln!(
            out,
            "Maximally selected log-rank statistic\n  cut: marker <= {}  statistic = {}  p (Lau92) = {}  p (Lau94) = {}\n",
            num(&m["cut_le"]),
            num(&m["statistic"]),
            num(&m["p_lau92"]),
            num(&m["p_lau94"])
        );
    }
    if let Some(g) = v.get("group_comparisons") {
        if let Some(c) = g.get("contingency") {
            let _ = writeln!(
                out,
                "Contingency table\n  Fisher p = {}  chi-square = {} (df {}, p = {})  Yates p = {}",
                num(&c["fisher_p"]),
                num(&c["chisq"]),
                num(&c["chisq_df"]),
                num(&c["chisq_p"]),
                num(&c["chisq_yates_p"])
            );
        }
        if let Some(m) = g.get("mann_whitney") {
            let _ = writeln!(
                out,
                "Mann–Whitney\n  W = {}  p = {} ({})",
                num(&m["w"]),
                num(&m["p_default"]),
                m["method_default"].as_str().unwrap_or("")
            );
        }
    }
    out
}

fn km_summary(out: &mut String, title: &str, km: &Value) {
    let n = km["n_risk"].get(0).map(num).unwrap_or_default();
    let events: f64 = km["n_event"].as_array().map_or(0.0, |a| a.iter().filter_map(Value::as_f64).sum());
    let _ = writeln!(
        out,
        "{title}: n = {n}, events = {events}\n  median {} (95% CI {} to {})  restricted mean {} (SE {})",
        num(&km["median"]),
        num(&km["median_lower"]),
        num(&km["median_upper"]),
        num(&km["rmean_last"]),
        num(&km["rmean_last_se"])
    );
    if let Some(Value::Array(at)) = km.get("at_times") {
        for (i, t) in at.iter().enumerate() {
            let _ = writeln!(
                out,
                "  S({}) = {} (SE {})",
                num(t),
                num(&km["surv_at"][i]),
                num(&km["se_surv_at"][i])
            );
        }
    }
    out.push('\n');
}

fn cox_summary(out: &mut String, fit: &Value) {
    let names: Vec<&str> =
        fit["covariates"].as_array().map_or(Vec::new(), |a| a.iter().filter_map(Value::as_str).collect());
    let _ = writeln!(
        out,
        "Cox model ({} ties): n = {}, events = {}{}",
        fit["ties"].as_str().unwrap_or("?"),
        num(&fit["n"]),
        num(&fit["n_event"]),
        if fit["monotone_likelihood"] == Value::Bool(true) {
            "  [monotone likelihood: a coefficient diverges]"
        } else {
            ""
        }
    );
    for (i, name) in names.iter().enumerate() {
        let _ = writeln!(
            out,
            "  {name:<16} HR {} (95% CI {} to {})  p = {}",
            num(&fit["hr"][i]),
            num(&fit["hr_lower"][i]),
            num(&fit["hr_upper"][i]),
            num(&fit["p"][i])
        );
    }
    let _ = writeln!(
        out,
        "  likelihood ratio {} (p = {}), Wald {} (p = {}), score {} (p = {}), concordance {}\n",
        num(&fit["lr_chisq"]),
        num(&fit["lr_p"]),
        num(&fit["wald_chisq"]),
        num(&fit["wald_p"]),
        num(&fit["score_chisq"]),
        num(&fit["score_p"]),
        num(&fit["concordance"])
    );
}

/// A number with four significant digits, "NA" for null (as R prints it).
fn num(v: &Value) -> String {
    match v.as_f64() {
        Some(x) if x == x.trunc() && x.abs() < 1e9 => format!("{x:.0}"),
        Some(x) if x.abs() >= 1e-3 && x.abs() < 1e6 => {
            let digits = (3 - x.abs().log10().floor() as i32).max(0) as usize;
            format!("{x:.digits$}")
        }
        Some(x) => format!("{x:.3e}"),
        None => "NA".to_string(),
    }
}
