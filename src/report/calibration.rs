//! The calibration report (`results/<scenario>/calibration.json` and `calibration.md`) and the
//! write-back of calibrated values into a scenario file (toml_edit: comments and layout kept).
//!
//! One row per target, named by its dotted path in targets.json: target, simulated mean (with its
//! Monte Carlo SE), 2.5% and 97.5% quantiles over cohorts, tolerance, pass/fail, and for a failure
//! a sentence saying why. Both files depend only on (scenario file, targets, seed, cohorts), never
//! on timing or thread count, so two runs give identical bytes.

use serde_json::{Value, json};

use crate::cohort::calibrate::{Calibrated, TargetRow};
use crate::scenario::{Endpoint, Statistic};

/// What the report is about besides the fit itself.
#[derive(Debug, Clone)]
pub struct ReportContext<'a> {
    pub scenario_id: &'a str,
    /// sha256 of the scenario file the report describes (as written back under `--write`).
    pub scenario_sha256: &'a str,
    pub seed: u64,
    pub cohorts: usize,
    /// Whether the values were written back into the scenario file.
    pub written_back: bool,
    /// Scenario-specific explanations of failures, by target path (see `explain`).
    pub reasons: &'a [(String, String)],
}

/// How the summaries are computed (stated in both files).
pub const DEFINITIONS: [&str; 5] = [
    "km_surv: Kaplan-Meier S(t) of each cohort (last step at or before t).",
    "rmst_last: Kaplan-Meier mean restricted to the cohort's last observed time (SPSS 'mean survival time', R rmean = 'individual').",
    "events: number of observed events in the cohort.",
    "followup: the observed OS time of every patient (the paper's 'observation period', summarised in Table 1 by mean and SD); median = plain sample median, not reverse Kaplan-Meier.",
    "mean: over cohorts; mc_se = sd / sqrt(K); q025/q975: R type-7 quantiles over cohorts; pass = |mean - target| <= tolerance.",
];

/// The JSON report.
pub fn to_json(fit: &Calibrated, ctx: &ReportContext) -> Value {
    let rows: Vec<Value> = fit
        .rows
        .iter()
        .map(|r| {
            json!({
                "path": r.path,
                "target": r.target,
                "mean": r.mean,
                "mc_se": r.mc_se,
                "q025": r.q025,
                "q975": r.q975,
                "tolerance": r.tolerance,
                "difference": r.mean - r.target,
                "pass": r.pass,
                "marginal": r.marginal,
                "n_defined": r.n_defined,
                "reason": if r.pass && !r.marginal { Value::Null } else { Value::String(reason(r, ctx)) },
            })
        })
        .collect();
    json!({
        "scenario": ctx.scenario_id,
        "scenario_sha256": ctx.scenario_sha256,
        "seed": ctx.seed,
        "cohorts": ctx.cohorts,
        "optimiser": {
            "method": "Nelder-Mead on ln(parameter), common random numbers, loss = sum ((mean - target) / tolerance)^2",
            "evaluations": fit.evaluations,
            "termination": fit.termination,
            "start_loss": fit.start_loss,
            "loss": fit.loss,
        },
        "parameters": fit.parameters,
        "written_back": ctx.written_back,
        "n_pass": fit.rows.iter().filter(|r| r.pass).count(),
        "n_fail": fit.rows.iter().filter(|r| !r.pass).count(),
        "targets": rows,
        "definitions": DEFINITIONS,
    })
}

/// The Markdown report.
pub fn to_markdown(fit: &Calibrated, ctx: &ReportContext) -> String {
    let mut md = String::new();
    let n_fail = fit.rows.iter().filter(|r| !r.pass).count();
    md.push_str(&format!("# Calibration of `{}`\n\n", ctx.scenario_id));
    md.push_str(&format!(
        "{} cohorts, seed {}, scenario sha256 `{}`. Nelder–Mead on ln(parameter) with common random \
         numbers: {} loss evaluations ({:?}), loss {:.4} at the start, {:.4} at the end. \
         {} of {} targets pass.\n\n",
        ctx.cohorts,
        ctx.seed,
        &ctx.scenario_sha256[..ctx.scenario_sha256.len().min(16)],
        fit.evaluations,
        fit.termination,
        fit.start_loss,
        fit.loss,
        fit.rows.len() - n_fail,
        fit.rows.len()
    ));
    md.push_str(
        "## Parameters\n\n| parameter | start | calibrated | lower | upper |\n|---|---:|---:|---:|---:|\n",
    );
    for p in &fit.parameters {
        md.push_str(&format!(
            "| `{}` | {} | {}{} | {} | {} |\n",
            p.name,
            p.start,
            p.value,
            if p.at_bound { " (at bound)" } else { "" },
            p.lower,
            p.upper
        ));
    }
    md.push_str(if ctx.written_back {
        "\nWritten back into the scenario file.\n"
    } else {
        "\nNot written back (run with `--write`).\n"
    });
    md.push_str(
        "\n## Targets\n\n| target | paper | simulated mean (MC SE) | 2.5% | 97.5% | tolerance | |\n\
         |---|---:|---:|---:|---:|---:|---|\n",
    );
    for r in &fit.rows {
        md.push_str(&format!(
            "| `{}` | {} | {} ({}) | {} | {} | {} | {} |\n",
            r.path,
            r.target,
            fmt(r.mean, 4),
            fmt(r.mc_se, 2),
            fmt(r.q025, 3),
            fmt(r.q975, 3),
            r.tolerance,
            match (r.pass, r.marginal) {
                (true, false) => "pass",
                (true, true) => "pass (marginal)",
                _ => "**fail**",
            }
        ));
    }
    if fit.rows.iter().any(|r| !r.pass || r.marginal) {
        md.push_str("\n## Why targets fail or pass only marginally\n\n");
        for r in fit.rows.iter().filter(|r| !r.pass || r.marginal) {
            md.push_str(&format!("- `{}`: {}\n", r.path, reason(r, ctx)));
        }
    }
    md.push_str("\n## Definitions\n\n");
    for d in DEFINITIONS {
        md.push_str(&format!("- {d}\n"));
    }
    md
}

/// The sentence of a failing row: the numbers, then the scenario's explanation if one is given.
pub fn reason(r: &TargetRow, ctx: &ReportContext) -> String {
    let diff = r.mean - r.target;
    let mut s = format!(
        "the simulated mean {} is {} {} the paper's {} (tolerance {}, Monte Carlo SE {}), at the \
         compromise that minimises the weighted loss over all targets.",
        fmt(r.mean, 4),
        fmt(diff.abs(), 3),
        if diff > 0.0 { "above" } else { "below" },
        r.target,
        r.tolerance,
        fmt(r.mc_se, 2)
    );
    if let Some((_, why)) = ctx.reasons.iter().find(|(p, _)| *p == r.path) {
        s.push(' ');
        s.push_str(why);
    }
    s
}

fn fmt(x: f64, sig: usize) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    if x == 0.0 {
        return "0".into();
    }
    let digits = (sig as i32 - 1 - x.abs().log10().floor() as i32).max(0) as usize;
    format!("{x:.digits$}")
}

/// Why each failing target fails, by path: what else in the model pins the statistic, with the
/// simulated values of the competing targets. Generic (by kind of statistic), so it stays true
/// for any scenario; the numbers say how far apart the figures are.
pub fn explain(fit: &Calibrated) -> Vec<(String, String)> {
    let Some(cal) = fit.scenario.calibration.as_ref() else {
        return Vec::new();
    };
    let value_of = |pred: &dyn Fn(&Statistic) -> bool| -> Vec<String> {
        cal.targets
            .iter()
            .zip(&fit.rows)
            .filter(|(t, _)| pred(&t.statistic))
            .map(|(t, r)| format!("{} {} (paper {})", t.path, fmt(r.mean, 3), r.target))
            .collect()
    };
    let followup = value_of(&|s| {
        matches!(
            s,
            Statistic::FollowupMedian
                | Statistic::FollowupMean { .. }
                | Statistic::FollowupMin
                | Statistic::FollowupMax
        )
    });
    cal.targets
        .iter()
        .zip(&fit.rows)
        .filter(|(_, r)| !r.pass || r.marginal)
        .map(|(t, _)| {
            let why = match &t.statistic {
                Statistic::KmSurv { endpoint, at, .. } if mixture_gap(fit, *endpoint, *at).is_some() => {
                    let (mix, overall, tol) = mixture_gap(fit, *endpoint, *at).unwrap_or_default();
                    format!(
                        "The paper's figures at t = {at} are mutually inconsistent: its stratum values, weighted by \
                         the stratum shares, give S({at}) = {} for the whole cohort, but it reports {overall} \
                         (tolerance {tol}); with follow-up independent of the stratum the pooled Kaplan-Meier \
                         estimates that mixture, so the overall and stratum targets cannot all be met centrally \
                         and the fit splits the difference.",
                        fmt(mix, 3)
                    )
                }
                Statistic::Events { endpoint, .. } => {
                    let ep = *endpoint;
                    let curve = value_of(&|s| match s {
                        Statistic::KmSurv { endpoint, stratum: None, .. } => *endpoint == ep,
                        _ => false,
                    });
                    format!(
                        "The expected count is the sum over patients of P(T <= C): with the survival curve \
                         held by {} it rises only with longer follow-up, which {} hold.",
                        join_or(&curve, "the survival targets"),
                        join_or(&followup, "the follow-up targets")
                    )
                }
                Statistic::KmSurv { endpoint, .. } | Statistic::Rmst { endpoint, .. } => {
                    let ep = *endpoint;
                    let others = value_of(&|s| match s {
                        Statistic::KmSurv { endpoint, .. } | Statistic::Rmst { endpoint, .. } => *endpoint == ep,
                        Statistic::Events { endpoint, .. } => *endpoint == ep,
                        _ => false,
                    });
                    format!(
                        "The baseline hazard's family may be too rigid for all the figures of this endpoint at once \
                         ({}); a piecewise-exponential baseline with a break near the failing time frees it.",
                        others.join("; ")
                    )
                }
                _ => format!(
                    "Follow-up is the observed OS time min(T, C), so it moves with the deaths as well as with \
                     the free censoring parameters, which cannot meet every follow-up figure at once ({}).",
                    followup.join("; ")
                ),
            };
            (t.path.clone(), why)
        })
        .collect()
}

/// For km_surv targets of one endpoint and time: the stratum targets weighted by the strata's
/// shares, the overall target and its tolerance, when every stratum has a target and the mixture
/// differs from the overall target by more than its tolerance.
fn mixture_gap(fit: &Calibrated, ep: Endpoint, time: f64) -> Option<(f64, f64, f64)> {
    let cal = fit.scenario.calibration.as_ref()?;
    let weights = fit.scenario.strata.weights();
    let mut by_stratum = vec![None; weights.len()];
    let mut overall = None;
    for (t, r) in cal.targets.iter().zip(&fit.rows) {
        if let Statistic::KmSurv { endpoint, at, stratum } = t.statistic
            && endpoint == ep
            && at == time
        {
            match stratum {
                Some(s) => by_stratum[s] = Some(r.target),
                None => overall = Some((r.target, t.tolerance)),
            }
        }
    }
    let (overall, tol) = overall?;
    let mix = weights.iter().zip(&by_stratum).map(|(w, s)| s.map(|s| w * s)).sum::<Option<f64>>()?;
    ((mix - overall).abs() > tol).then_some((mix, overall, tol))
}

fn join_or(v: &[String], empty: &str) -> String {
    if v.is_empty() { empty.to_string() } else { v.join("; ") }
}

/// Why a value could not be written back.
#[derive(Debug, thiserror::Error)]
pub enum WriteBackError {
    #[error("the scenario file is not valid TOML: {0}")]
    Parse(String),
    #[error("`{0}`: no such value in the scenario file")]
    Missing(String),
}

/// Rewrites `text` (a scenario file) with each dotted parameter key set to its value, keeping
/// comments, order and the formatting of everything else. A key segment after an array of tables
/// is the `name` of an entry (`eras.late.censoring.shape`); after an array, an index (`rates.2`).
pub fn write_back(text: &str, values: &[(String, f64)]) -> Result<String, WriteBackError> {
    let mut doc: toml_edit::DocumentMut =
        text.parse().map_err(|e: toml_edit::TomlError| WriteBackError::Parse(e.to_string()))?;
    for (key, value) in values {
        let parts: Vec<&str> = key.split('.').collect();
        slot_in_item(doc.as_item_mut(), &parts)
            .and_then(|slot| set_number(slot, *value))
            .ok_or_else(|| WriteBackError::Missing(key.clone()))?;
    }
    Ok(doc.to_string())
}

fn slot_in_item<'a>(item: &'a mut toml_edit::Item, parts: &[&str]) -> Option<&'a mut toml_edit::Value> {
    use toml_edit::Item;
    match item {
        Item::Value(v) => slot_in_value(v, parts),
        Item::Table(t) => {
            let (first, rest) = parts.split_first()?;
            slot_in_item(t.get_mut(first)?, rest)
        }
        Item::ArrayOfTables(a) => {
            let (name, rest) = parts.split_first()?;
            let t = a.iter_mut().find(|t| t.get("name").and_then(|n| n.as_str()) == Some(*name))?;
            let (first, rest) = rest.split_first()?;
            slot_in_item(t.get_mut(first)?, rest)
        }
        Item::None => None,
    }
}

fn slot_in_value<'a>(v: &'a mut toml_edit::Value, parts: &[&str]) -> Option<&'a mut toml_edit::Value> {
    let Some((first, rest)) = parts.split_first() else {
        return Some(v);
    };
    match v {
        toml_edit::Value::InlineTable(t) => slot_in_value(t.get_mut(first)?, rest),
        toml_edit::Value::Array(a) => slot_in_value(a.get_mut(first.parse::<usize>().ok()?)?, rest),
        _ => None,
    }
}

/// Replaces a number, keeping the whitespace and comments around it.
fn set_number(v: &mut toml_edit::Value, x: f64) -> Option<()> {
    if !(v.is_float() || v.is_integer()) {
        return None;
    }
    let decor = v.decor().clone();
    *v = toml_edit::Value::from(x);
    *v.decor_mut() = decor;
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_back_keeps_comments_and_finds_named_entries() {
        let text = "# head\n[outcomes.os]\nbaseline = { dist = \"weibull\", shape = 2.3, scale = 81.0 } # os\n\n\
                    [[eras]]\nname = \"early\"\ncensoring = { dist = \"uniform\", min = 50.0, max = 72.0 }\n\n\
                    [[eras]]\nname = \"late\"\n# late era\ncensoring = { dist = \"weibull\", shape = 0.8, scale = 22 }\n\
                    [p]\nrates = [0.1, 0.2]\n";
        let out = write_back(
            text,
            &[
                ("outcomes.os.baseline.scale".into(), 70.5),
                ("eras.late.censoring.scale".into(), 30.25),
                ("p.rates.1".into(), 0.5),
            ],
        )
        .unwrap();
        assert!(out.contains("shape = 2.3, scale = 70.5 } # os"), "{out}");
        assert!(out.contains("min = 50.0, max = 72.0"), "{out}");
        assert!(
            out.contains("# late era\ncensoring = { dist = \"weibull\", shape = 0.8, scale = 30.25 }"),
            "{out}"
        );
        assert!(out.contains("rates = [0.1, 0.5]"), "{out}");
        assert!(out.starts_with("# head\n"));
        assert!(matches!(
            write_back(text, &[("eras.middle.censoring.min".into(), 1.0)]),
            Err(WriteBackError::Missing(_))
        ));
        assert!(matches!(
            write_back(text, &[("outcomes.os.baseline.dist".into(), 1.0)]),
            Err(WriteBackError::Missing(_))
        ));
    }
}
