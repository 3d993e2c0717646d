//! The reliability report (`report.md`): claim by claim, how far a study of this size can be
//! trusted, read from the `summary.json` of a run (and of its null companion run).
//!
//! Every number printed comes from those files; Monte Carlo SEs are shown as `± x`. Verdicts follow
//! fixed rules (stated in the report) so that they cannot be tuned:
//! - an effect is *reliable* when the power is at least 80%, *fragile* from 50% to 80%, and
//!   *unreliable* below 50%;
//! - an estimate's interval is *trustworthy* when its coverage is within 2.5 points of 95%;
//! - a reported absence of association is judged by the power Schoenfeld's formula gives against
//!   HR 2 with the simulated number of deaths: P = Phi(sqrt(D q (1 - q)) |log 2| - z_{0.975}).

use crate::analysis::power;
use crate::report::summary::{choice, choice_mean, choice_prop, est, pair, stat};
use crate::scenario::{Claim, ClaimKind};
use serde_json::Value;
use std::fmt::Write;

/// A figure of the report: its title and file name (relative to the report).
pub struct Figure {
    pub title: String,
    pub file: String,
}

/// The results a report is written from.
pub struct ReportInput<'a> {
    pub summary: &'a Value,
    pub manifest: &'a Value,
    pub null_summary: Option<&'a Value>,
    pub null_manifest: Option<&'a Value>,
    pub claims: &'a [Claim],
    pub figures: &'a [Figure],
}

/// The whole `report.md`.
pub fn render(r: &ReportInput) -> String {
    let mut md = String::new();
    let s = r.summary;
    let id = s["scenario"].as_str().unwrap_or("?");
    let _ = writeln!(md, "# How far can this study be trusted? Scenario `{id}`\n");
    let _ = writeln!(md, "{}\n", provenance(r.manifest));
    if let Some(m) = r.null_manifest {
        let _ = writeln!(md, "Null companion (no covariate has an effect): {}\n", provenance(m));
    }
    let deaths = choice_mean(s, "os_events");
    if let Some((d, se)) = deaths {
        let _ = writeln!(md, "On average a synthetic registry has {d:.1} ± {se:.2} deaths.\n");
    }

    if !r.claims.is_empty() {
        let _ = writeln!(md, "## The paper's claims, one by one\n");
        let _ = writeln!(
            md,
            "| Claim | What {} synthetic registries show | Under no effect | Verdict |\n|---|---|---|---|",
            s["replicates"]
        );
        for c in r.claims {
            let (shows, null, verdict) = assess(c, s, r.null_summary, deaths.map(|d| d.0));
            let _ = writeln!(md, "| {} | {} | {} | {} |", c.claim, shows, null, verdict);
        }
        let _ = writeln!(
            md,
            "\nRules: an effect is *reliable* when a study of this size detects it (p < {}) at least 80% of the \
             time, *fragile* from 50% to 80%, *unreliable* below 50%; an interval is *trustworthy* when it covers \
             the truth 92.5–97.5% of the time. A reported absence of association is judged by the power against \
             a hazard ratio of 2 (Schoenfeld's formula with the simulated number of deaths).\n",
            s["alpha"]
        );
    }

    screening_section(&mut md, s, r.null_summary);
    cut_section(&mut md, s, r.null_summary);
    km_section(&mut md, s);
    monotone_section(&mut md, s);

    if !r.figures.is_empty() {
        let _ = writeln!(md, "## Figures\n");
        for f in r.figures {
            let _ = writeln!(md, "### {}\n\n![{}]({})\n", f.title, f.title, f.file);
        }
    }
    let _ = writeln!(md, "## All estimands (degenerate fits included)\n");
    performance_table(&mut md, s);
    if let Some(n) = r.null_summary {
        let _ = writeln!(md, "\n## All estimands under the null scenario\n");
        performance_table(&mut md, n);
    }
    md
}

fn provenance(m: &Value) -> String {
    format!(
        "scenario `{}` (sha256 `{:.12}`), seed {}, survmc {}, {} replicates (`manifest.json`).",
        m["scenario"]["id"].as_str().unwrap_or("?"),
        m["scenario"]["sha256"].as_str().unwrap_or("?"),
        m["seed"],
        m["survmc_version"].as_str().unwrap_or("?"),
        m["replicates"]
    )
}

/// (what the run shows, what the null run shows, verdict) for one claim.
fn assess(c: &Claim, s: &Value, null: Option<&Value>, deaths: Option<f64>) -> (String, String, String) {
    let method = c.method.as_deref().unwrap_or("");
    let missing = || ("not in this run".to_string(), "".to_string(), "—".to_string());
    match c.kind {
        ClaimKind::Estimate => {
            let Some(p) = pair(s, &c.estimand, method) else { return missing() };
            let truth = p["truth"].as_f64();
            let mean = stat(p, "included", "thetamean");
            let cover = stat(p, "included", "cover");
            let mut shows = String::new();
            if let Some(t) = truth {
                let _ = write!(shows, "truth {:.3}; ", t);
            }
            if let Some((m, se)) = mean {
                let _ = write!(shows, "mean estimate {:.3} ± {:.3}; ", m, se);
            }
            if let Some((e, _)) = stat(p, "included", "empse") {
                let _ = write!(shows, "estimates spread ± {:.3} (SD); ", e);
            }
            if let Some((cv, se)) = cover {
                let _ = write!(shows, "95% CI covers the truth {} ± {}", pct(cv), pct(se));
            }
            if let Some((few, _)) = choice_prop(s, &format!("{}_fewer_than_5_at_risk", c.estimand), "yes") {
                let _ = write!(shows, "; fewer than 5 patients at risk in {}", pct(few));
            }
            let verdict = match cover {
                Some((cv, _)) if (cv - 0.95).abs() <= 0.025 => {
                    "interval trustworthy; point estimate imprecise".to_string()
                }
                Some((cv, _)) => format!("interval not trustworthy (coverage {})", pct(cv)),
                None => "—".to_string(),
            };
            (shows, "".to_string(), verdict)
        }
        ClaimKind::Effect => {
            let Some(p) = pair(s, &c.estimand, method) else { return missing() };
            let power = stat(p, "included", "power");
            let mut shows = String::new();
            if let Some((pw, se)) = power {
                let _ = write!(shows, "power {} ± {}", pct(pw), pct(se));
            }
            if let (Some(t), Some((m, _))) = (p["truth"].as_f64(), stat(p, "included", "thetamean")) {
                let _ = write!(shows, "; true HR {:.2}, mean estimate HR {:.2}", t.exp(), m.exp());
            }
            let if_significant = pair(s, &c.estimand, &format!("{method}_if_significant"));
            if let Some((m, _)) = if_significant.and_then(|q| stat(q, "included", "thetamean")) {
                let _ = write!(shows, "; HR when significant {:.2} (winner's curse)", m.exp());
            }
            if let Some((cv, _)) = stat(p, "included", "cover") {
                let _ = write!(shows, "; CI coverage {}", pct(cv));
            }
            if let Some(paper) = c.paper {
                let _ = write!(shows, "; paper HR {:.2}", paper.exp());
            }
            let null_text = null
                .and_then(|n| pair(n, &c.estimand, method))
                .and_then(|q| stat(q, "included", "power"))
                .map_or(String::new(), |(a, se)| format!("type-I error {} ± {}", pct(a), pct(se)));
            let verdict = match power {
                Some((pw, _)) if pw >= 0.8 => "reliable".to_string(),
                Some((pw, _)) if pw >= 0.5 => {
                    format!("fragile: a same-size replication misses it {} of the time", pct(1.0 - pw))
                }
                Some((pw, _)) => format!("unreliable: detected only {} of the time", pct(pw)),
                None => "—".to_string(),
            };
            (shows, null_text, verdict)
        }
        ClaimKind::NoTrueEffect => {
            let Some(p) = pair(s, &c.estimand, method) else { return missing() };
            let rate = stat(p, "included", "power");
            let mut shows = rate.map_or(String::new(), |(a, se)| {
                format!("no true effect simulated; p < 0.05 in {} ± {} of registries", pct(a), pct(se))
            });
            difference_details(&mut shows, s, &c.estimand, p);
            let null_text = null
                .and_then(|n| pair(n, &c.estimand, method))
                .and_then(|q| stat(q, "included", "power"))
                .map_or(String::new(), |(a, se)| format!("p < 0.05 in {} ± {}", pct(a), pct(se)));
            let verdict = match rate {
                Some((a, _)) if a > 0.1 => {
                    format!("not evidence of benefit: selection alone produces it {} of the time", pct(a))
                }
                Some(_) => {
                    "a chance finding is plausible; the comparison is confounded by selection".to_string()
                }
                None => "—".to_string(),
            };
            (shows, null_text, verdict)
        }
        ClaimKind::NoAssociation => {
            let Some(p) = pair(s, &c.estimand, method) else { return missing() };
            let rate = stat(p, "included", "power");
            let formula_power = match (deaths, c.proportion) {
                (Some(d), Some(q)) => Some(power::schoenfeld_power(d, q, 2f64.ln(), 0.05)),
                _ => None,
            };
            let mut shows =
                rate.map_or(String::new(), |(a, se)| format!("rejected in {} ± {}", pct(a), pct(se)));
            if let Some(fp) = formula_power {
                let _ = write!(shows, "; power against HR 2: {}", pct(fp));
            }
            let verdict = match formula_power {
                Some(fp) if fp < 0.8 => format!(
                    "absence of evidence only: a true HR of 2 would be missed {} of the time",
                    pct(1.0 - fp)
                ),
                Some(_) => "a real HR of 2 would likely have been seen".to_string(),
                None => "—".to_string(),
            };
            (shows, String::new(), verdict)
        }
        ClaimKind::Cut => {
            let vs = format!("{}_vs_true_cut", c.estimand);
            let equal = choice_prop(s, &vs, "equal");
            let mode = choice_mode(s, &c.estimand);
            let mut shows = String::new();
            if let Some((e, se)) = equal {
                let _ = write!(shows, "the data-chosen cut equals the true one in {} ± {}", pct(e), pct(se));
            }
            if let Some((v, f)) = mode {
                let _ = write!(shows, "; most frequent cut \"> {v}\" ({})", pct(f));
            }
            let verdict = match equal {
                Some((e, _)) if e >= 0.8 => "stable".to_string(),
                Some((e, _)) => {
                    format!("unstable: a same-size study picks another cut {} of the time", pct(1.0 - e))
                }
                None => "—".to_string(),
            };
            (shows, String::new(), verdict)
        }
    }
}

/// For a claim on a difference with a truth (an `rmst_diff`): each group's mean, the mean
/// difference against the truth, and the coverage of its interval.
fn difference_details(shows: &mut String, s: &Value, estimand: &str, p: &Value) {
    let Some(truth) = p["truth"].as_f64() else { return };
    let groups =
        (choice_mean(s, &format!("{estimand}_group1")), choice_mean(s, &format!("{estimand}_group2")));
    if let (Some((g1, _)), Some((g2, _))) = groups {
        let _ = write!(shows, "; mean restricted means {g1:.1} vs {g2:.1}");
    }
    if let Some((m, se)) = stat(p, "included", "thetamean") {
        let _ = write!(shows, "; mean difference {m:.2} ± {se:.2} (true {truth:.2})");
    }
    if let Some((cv, se)) = stat(p, "included", "cover") {
        let _ = write!(shows, "; its 95% CI covers the truth {} ± {}", pct(cv), pct(se));
    }
}

fn screening_section(md: &mut String, s: &Value, null: Option<&Value>) {
    let Some((k, k_se)) = choice_mean(s, "screening_n_false_positive") else { return };
    let _ = writeln!(md, "## Screening 35 characteristics at p < 0.05\n");
    let line = |md: &mut String, label: &str, v: &Value| {
        let any = choice_prop(v, "screening_any_false_positive", "yes");
        let ind = choice_prop(v, "screening_false_independent_factor", "yes");
        let n = choice_mean(v, "screening_n_false_positive");
        let _ = writeln!(
            md,
            "| {label} | {} | {} | {} |",
            n.map_or("—".into(), |(m, se)| format!("{m:.2} ± {se:.2}")),
            any.map_or("—".into(), |(p, se)| format!("{} ± {}", pct(p), pct(se))),
            ind.map_or("—".into(), |(p, se)| format!("{} ± {}", pct(p), pct(se)))
        );
    };
    let _ = writeln!(
        md,
        "| scenario | characteristics without a true effect selected (mean) | at least one | a false \"independent prognostic factor\" |\n|---|---|---|---|"
    );
    line(md, "as calibrated", s);
    if let Some(n) = null {
        line(md, "no effects", n);
    }
    let _ = writeln!(
        md,
        "\nA characteristic \"without a true effect\" has no conditional effect on survival; it may still be \
         associated with survival through the nodule strata (e.g. age differs between strata), which is why the \
         calibrated scenario selects more of them ({k:.2} ± {k_se:.2}) than the null one.\n"
    );
    for name in ["nodules_gt10", "ly23"] {
        if let Some((p, se)) = choice_prop(s, &format!("selected_{name}"), "yes") {
            let _ = writeln!(
                md,
                "- `{name}` is selected by the screening in {} ± {} of registries.",
                pct(p),
                pct(se)
            );
        }
    }
    md.push('\n');
}

fn cut_section(md: &mut String, s: &Value, null: Option<&Value>) {
    let Some(c) = s["choices"].as_array().and_then(|a| {
        a.iter().find(|c| {
            c["name"].as_str().is_some_and(|n| n.starts_with("youden_cut_") && !n.ends_with("_vs_true_cut"))
        })
    }) else {
        return;
    };
    let name = c["name"].as_str().unwrap_or("");
    let _ = writeln!(md, "## Cut-off stability (`{name}`)\n");
    let _ = writeln!(md, "| chosen cut (positive: marker > cut) | share of registries |\n|---|---|");
    if let Some(table) = c["table"].as_array() {
        for row in table.iter().filter(|r| r["proportion"]["est"].as_f64().unwrap_or(0.0) >= 0.02) {
            let (p, se) = est(&row["proportion"]).unwrap_or((0.0, 0.0));
            let _ = writeln!(md, "| > {} | {} ± {} |", row["value"], pct(p), pct(se));
        }
    }
    for (label, v) in [("as calibrated", Some(s)), ("no effects", null)] {
        let Some(v) = v else { continue };
        let maxstat = v["pairs"].as_array().map(|a| {
            a.iter()
                .filter(|p| p["estimand"].as_str().is_some_and(|e| e.starts_with("maxstat_")))
                .map(|p| {
                    let (r, se) = stat(p, "included", "power").unwrap_or((f64::NAN, 0.0));
                    format!("{} {} ± {}", p["method"].as_str().unwrap_or(""), pct(r), pct(se))
                })
                .collect::<Vec<_>>()
                .join(", ")
        });
        if let Some(m) = maxstat.filter(|m| !m.is_empty()) {
            let _ = writeln!(md, "\nRejection rate of the best cut of the nodule count ({label}): {m}.");
        }
    }
    all_cuts_table(md, s);
    let _ = writeln!(
        md,
        "\nTesting the best of many cut-points as if it had been chosen in advance (`naive_fixed_cut`) rejects far \
         more often than the Lausen–Schumacher corrections (`lau92`, `lau94`); under no effect its rate is the \
         type-I error of the paper's approach.\n"
    );
}

/// Every Youden cut-off of the run: how often the true cut is found, and the optimism of the
/// apparent sensitivity and specificity (measured at the chosen cut, on the same data) over the true
/// ones at the true cut.
fn all_cuts_table(md: &mut String, s: &Value) {
    let Some(pairs) = s["pairs"].as_array() else { return };
    let aucs: Vec<&Value> = pairs
        .iter()
        .filter(|p| {
            p["method"] == "roc_delong" && p["estimand"].as_str().is_some_and(|e| e.ends_with("_auc"))
        })
        .collect();
    if aucs.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "\nEvery data-chosen cut-off (death during follow-up as the outcome, as the paper's ROC):\n\n\
         | cut-off of | true AUC | mean AUC | chosen cut = true cut | apparent sensitivity (true) | apparent specificity (true) |\n|---|---|---|---|---|---|"
    );
    for a in aucs {
        let name = a["estimand"].as_str().unwrap_or("").trim_end_matches("_auc");
        let sens = pair(s, &format!("{name}_sensitivity"), "apparent");
        let spec = pair(s, &format!("{name}_specificity"), "apparent");
        let apparent = |p: Option<&Value>| {
            p.map_or("—".to_string(), |p| {
                format!(
                    "{} ({})",
                    stat(p, "included", "thetamean").map_or("—".into(), |(m, _)| pct(m)),
                    p["truth"].as_f64().map_or("—".into(), pct)
                )
            })
        };
        let _ =
            writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} |",
                name.trim_start_matches("youden_cut_"),
                a["truth"].as_f64().map_or("—".into(), |t| format!("{t:.3}")),
                fmt(stat(a, "included", "thetamean"), 3),
                choice_prop(s, &format!("{name}_vs_true_cut"), "equal")
                    .map_or("—".into(), |(p, se)| format!("{} ± {}", pct(p), pct(se))),
                apparent(sens),
                apparent(spec)
            );
    }
}

fn km_section(md: &mut String, s: &Value) {
    let Some(pairs) = s["pairs"].as_array() else { return };
    let km: Vec<&Value> = pairs
        .iter()
        .filter(|p| {
            p["estimand"].as_str().is_some_and(|e| e.starts_with("km_surv_") || e.starts_with("rmst_"))
        })
        .collect();
    if km.is_empty() {
        return;
    }
    let _ = writeln!(md, "## Kaplan–Meier estimates\n");
    let _ = writeln!(md, "| estimand | interval | truth | bias | coverage |\n|---|---|---|---|---|");
    for p in km {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            p["estimand"].as_str().unwrap_or(""),
            p["method"].as_str().unwrap_or(""),
            p["truth"].as_f64().map_or("—".into(), |t| format!("{t:.3}")),
            fmt(stat(p, "included", "bias"), 3),
            stat(p, "included", "cover").map_or("—".into(), |(c, se)| format!("{} ± {}", pct(c), pct(se)))
        );
    }
    md.push('\n');
}

fn monotone_section(md: &mut String, s: &Value) {
    let Some(pairs) = s["pairs"].as_array() else { return };
    let mut rows: Vec<(String, f64, u64)> = pairs
        .iter()
        .filter(|p| p["method"] == "cox_wald")
        .filter_map(|p| {
            let kinds = p["counts"]["by_kind"].as_array()?;
            let n = kinds.iter().find(|k| k["kind"] == "monotone_likelihood")?["n"].as_u64()?;
            let nsim = p["counts"]["nsim"].as_u64()?.max(1);
            (n > 0).then(|| (p["estimand"].as_str().unwrap_or("").to_string(), n as f64 / nsim as f64, nsim))
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    rows.sort_by(|a, b| b.1.total_cmp(&a.1));
    let _ = writeln!(md, "## Monotone likelihood (a Cox coefficient that diverges)\n");
    let _ = writeln!(md, "| Cox model | share of registries | \n|---|---|");
    for (e, r, n) in rows.iter().take(12) {
        let _ = writeln!(md, "| {e} | {} ± {} |", pct(*r), pct((r * (1.0 - r) / *n as f64).sqrt()));
    }
    let _ = writeln!(
        md,
        "\nThere the Wald interval is meaningless (the paper's \"HR 1.000 (0.001–444385)\"); Firth's penalised \
         likelihood (`firth_when_monotone`) stays finite. Measures \"degenerate fits excluded\" in `performance.csv` drop \
         these replicates.\n"
    );
    monotone_intervals_table(md, s);
}

/// Per Cox model: how often the likelihood is monotone and, in those registries, how often the Wald,
/// likelihood-ratio (profile) and Firth intervals cover the truth and are finite.
fn monotone_intervals_table(md: &mut String, s: &Value) {
    let Some(pairs) = s["pairs"].as_array() else { return };
    let models: Vec<&str> = pairs
        .iter()
        .filter(|p| p["method"] == "cox_lr_when_monotone")
        .filter_map(|p| p["estimand"].as_str())
        .collect();
    if models.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "Intervals when the likelihood is monotone (coverage of the truth; share of finite intervals):\n\n\
         | Cox model | monotone in | Wald | likelihood ratio | Firth |\n|---|---|---|---|---|"
    );
    for e in models {
        let share = pair(s, e, "cox_wald").and_then(|p| {
            let kinds = p["counts"]["by_kind"].as_array()?;
            let n =
                kinds.iter().find(|k| k["kind"] == "monotone_likelihood").and_then(|k| k["n"].as_u64())?;
            let nsim = p["counts"]["nsim"].as_u64()?.max(1);
            let r = n as f64 / nsim as f64;
            Some(format!("{} ± {}", pct(r), pct((r * (1.0 - r) / nsim as f64).sqrt())))
        });
        let cell = |method: &str, short: &str| {
            let cover = pair(s, e, method)
                .and_then(|p| stat(p, "included", "cover"))
                .map_or("—".to_string(), |(c, se)| format!("{} ± {}", pct(c), pct(se)));
            let finite = choice(s, &format!("{e}_when_monotone_finite_{short}")).and_then(|c| {
                let present = c["nsim"].as_u64()?.checked_sub(c["n_missing"].as_u64()?)?;
                let yes =
                    c["table"].as_array()?.iter().find(|r| r["value"] == "yes").and_then(|r| r["n"].as_u64());
                (present > 0).then(|| pct(yes.unwrap_or(0) as f64 / present as f64))
            });
            format!("{cover}; finite {}", finite.unwrap_or_else(|| "—".into()))
        };
        let _ = writeln!(
            md,
            "| {e} | {} | {} | {} | {} |",
            share.unwrap_or_else(|| "—".into()),
            cell("cox_wald_when_monotone", "wald"),
            cell("cox_lr_when_monotone", "lr"),
            cell("firth_when_monotone", "firth")
        );
    }
    let _ = writeln!(
        md,
        "\nThe likelihood-ratio interval (`cox_lr_profile`) is the set of log-HRs the data do not reject; under \
         monotone likelihood one of its ends is infinite, so it covers any truth on that side (these infinite ends \
         are its \"degenerate\" count). The Wald interval is finite but absurdly wide there.\n"
    );
}

fn performance_table(md: &mut String, s: &Value) {
    let _ = writeln!(
        md,
        "| estimand | method | truth | mean | bias | empirical SE | model SE | coverage | rejection rate | degenerate |\n|---|---|---|---|---|---|---|---|---|---|"
    );
    for p in s["pairs"].as_array().into_iter().flatten() {
        if p["estimand"].as_str().is_some_and(|e| e.starts_with("univariate_") || e.starts_with("table1_")) {
            continue;
        }
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            p["estimand"].as_str().unwrap_or(""),
            p["method"].as_str().unwrap_or(""),
            p["truth"].as_f64().map_or("—".into(), |t| format!("{t:.3}")),
            fmt(stat(p, "included", "thetamean"), 3),
            fmt(stat(p, "included", "bias"), 3),
            fmt(stat(p, "included", "empse"), 3),
            fmt(stat(p, "included", "modelse"), 3),
            stat(p, "included", "cover").map_or("—".into(), |(c, se)| format!("{} ± {}", pct(c), pct(se))),
            stat(p, "included", "power").map_or("—".into(), |(c, se)| format!("{} ± {}", pct(c), pct(se))),
            est(&p["counts"]["degenerate_rate"]).map_or("—".into(), |(c, _)| pct(c)),
        );
    }
    let _ = writeln!(md, "\nUnivariate screening models and Table 1 tests are in `performance.csv`.");
}

fn choice_mode(s: &Value, name: &str) -> Option<(String, f64)> {
    let c = choice(s, name)?;
    let best = c["table"]
        .as_array()?
        .iter()
        .max_by(|a, b| a["n"].as_u64().unwrap_or(0).cmp(&b["n"].as_u64().unwrap_or(0)))?;
    Some((best["value"].to_string(), est(&best["proportion"])?.0))
}

fn pct(x: f64) -> String {
    if x.is_finite() { format!("{:.1}%", 100.0 * x) } else { "—".into() }
}

fn fmt(v: Option<(f64, f64)>, digits: usize) -> String {
    v.map_or("—".into(), |(x, se)| format!("{x:.digits$} ± {se:.digits$}"))
}
