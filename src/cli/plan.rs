//! `survmc plan`: power and stability of the study's claims at larger sample sizes, side by side
//! with Schoenfeld's, Freedman's and Hsieh–Lavori's formulas, and the n that reaches a target power.

use super::UsageError;
use anyhow::{Context, Result};
use serde_json::{Value, json};
use std::path::PathBuf;
use survmc::analysis::power::{self, solve_n};
use survmc::cohort::{self, TruthControl};
use survmc::engine::{self, RunConfig, ScenarioIdentity, rng_for};
use survmc::report::plots::{self, Series};
use survmc::report::run_output::atomic_write;
use survmc::report::summary::{choice_mean, choice_prop, est, pair};
use survmc::scenario::{self, Censoring, EstimandKind};
use survmc::study::ScenarioStudy;

#[derive(clap::Args)]
pub struct PlanArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// Sample sizes to simulate, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "53,100,200,400,800")]
    pub n: Vec<usize>,
    /// Replace the follow-up with administrative censoring at this many months after entry.
    #[arg(long)]
    pub followup: Option<f64>,
    /// Replicates per sample size.
    #[arg(long, default_value_t = 1000)]
    pub reps: u64,
    /// Target powers to solve n for, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "0.8,0.9")]
    pub target: Vec<f64>,
    #[arg(long)]
    pub seed: Option<u64>,
    /// Output directory; default: results/<scenario id>/plan.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue from what an interrupted plan already wrote.
    #[arg(long)]
    pub resume: bool,
}

pub fn plan(args: PlanArgs) -> Result<()> {
    let base = scenario::load(&args.scenario)?;
    // The scenario's limit on n (`n` <= 10^7 in scenario files): cohorts are held in memory whole.
    if args.n.is_empty() || args.n.iter().any(|&n| !(1..=10_000_000).contains(&n)) {
        return Err(UsageError("--n needs sample sizes in 1..=10000000, e.g. --n 53,100,200".into()).into());
    }
    if args.target.iter().any(|t| !(*t > 0.0 && *t < 1.0)) {
        return Err(UsageError("--target needs powers in (0, 1), e.g. --target 0.8,0.9".into()).into());
    }
    if args.followup.is_some_and(|f| !(f > 0.0 && f.is_finite())) {
        return Err(UsageError("--followup needs a positive number of months".into()).into());
    }
    let seed = args.seed.unwrap_or(base.analysis.seed);
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("results").join(&base.id).join("plan"));
    let doc = run_plan(&base, &args.n, args.reps, args.followup, &args.target, seed, &out, args.resume)?;
    super::print_stdout(&plan_markdown(&doc))
}

/// Simulates the study at each sample size of `ns` into `out/n<N>/` and writes `out/plan.json`,
/// `plan.md` and `power.svg`; returns the plan document.
#[allow(clippy::too_many_arguments)]
pub fn run_plan(
    base: &scenario::Scenario,
    ns: &[usize],
    reps: u64,
    followup: Option<f64>,
    targets: &[f64],
    seed: u64,
    out: &std::path::Path,
    resume: bool,
) -> Result<Value> {
    let mut ns = ns.to_vec();
    ns.sort_unstable();
    ns.dedup();

    // The claims followed across n: every univariate and adjusted cox_hr estimand of OS.
    let cox: Vec<String> = base
        .analysis
        .estimands
        .iter()
        .filter(|e| matches!(e.kind, EstimandKind::CoxHr { .. }))
        .map(|e| e.name.clone())
        .collect();
    // What the plan reads of each size's run, kept instead of the run's summary (memory stays flat
    // in the number of sizes): per Cox estimand its truth, power and model SE; deaths; the cut.
    struct AtN {
        n: usize,
        deaths: Option<(f64, f64)>,
        cut: Option<(f64, f64)>,
        cox: Vec<CoxAtN>,
    }
    struct CoxAtN {
        truth: Option<f64>,
        power: Option<(f64, f64)>,
        modelse: Option<(f64, f64)>,
    }
    let mut rows: Vec<AtN> = Vec::new();
    let mut first_scenario = None;
    for &n in &ns {
        let mut s = base.clone();
        s.n = n;
        if let Some(f) = followup {
            s.censoring.iter_mut().for_each(|c| *c = Censoring::Fixed { at: f });
        }
        let dir = out.join(format!("n{n}"));
        eprintln!("plan: n = {n} -> {}", dir.display());
        let identity = ScenarioIdentity { id: base.id.clone(), sha256: format!("{}+n{n}", base.sha256) };
        let study = ScenarioStudy::new(s, seed, &TruthControl { n_large: 200_000, ..TruthControl::issue3() });
        let mut config = RunConfig::new(identity, seed, reps, &dir);
        config.resume = resume || dir.join("summary.json").exists();
        let summary = engine::run(&study, &config)?.summary.context("a whole run has a summary")?;
        let summary = serde_json::to_value(&summary)?;
        let cox_at_n = cox
            .iter()
            .map(|name| {
                let p = pair(&summary, name, "cox_wald");
                CoxAtN {
                    truth: p.and_then(|p| p["truth"].as_f64()),
                    power: p.and_then(|p| est(&p["included"]["power"])),
                    modelse: p.and_then(|p| est(&p["excluded"]["modelse"])),
                }
            })
            .collect();
        rows.push(AtN {
            n,
            deaths: choice_mean(&summary, "os_events"),
            cut: choice_prop(&summary, &format!("youden_cut_{}_vs_true_cut", "n_liver_nodules"), "equal"),
            cox: cox_at_n,
        });
        first_scenario.get_or_insert(study.scenario);
    }

    // Formula inputs from the scenario: the group fraction and the truth of each Cox estimand.
    let Some(first) = first_scenario else { anyhow::bail!("no sample size to plan") };
    let mut claims = Vec::new();
    for (c_idx, name) in cox.iter().enumerate() {
        let Some(e) = first.analysis.estimands.iter().find(|e| &e.name == name) else { continue };
        let EstimandKind::CoxHr { covariate, adjust, .. } = &e.kind else { continue };
        let (q, rho2) = covariate_moments(&first, seed, *covariate, adjust);
        let mut points = Vec::new();
        let mut table = Vec::new();
        for row in &rows {
            let AtN { n, deaths, cut, .. } = *row;
            let CoxAtN { truth, power: pw, modelse: mse } = row.cox[c_idx];
            let (sch, fre, hl) = match (deaths, truth) {
                (Some((d, _)), Some(b)) => (
                    Some(power::schoenfeld_power(d, q, b, 0.05)),
                    Some(power::freedman_power(d, q, b.exp(), 0.05)),
                    Some(power::hsieh_lavori_power(d, q * (1.0 - q), rho2, b, 0.05)),
                ),
                _ => (None, None, None),
            };
            if let Some((p, se)) = pw {
                points.push((n as f64, p, se));
            }
            table.push(json!({
                "n": n, "deaths": deaths.map(|d| d.0), "power": pw.map(|p| p.0), "power_mcse": pw.map(|p| p.1),
                "ci_width_log_hr": mse.map(|m| 2.0 * 1.959963984540054 * m.0),
                "cut_equals_truth": cut.map(|c| c.0),
                "schoenfeld": sch, "freedman": fre, "hsieh_lavori": hl,
            }));
        }
        let solved: Vec<Value> = targets
            .iter()
            .map(|&t| {
                let sim = solve_n(&points, t);
                json!({"target_power": t, "n": sim.map(|s| s.0), "n_mcse": sim.map(|s| s.1)})
            })
            .collect();
        claims.push(json!({"estimand": name, "group_fraction": q, "rho2_with_adjusters": rho2,
                           "by_n": table, "n_for_target": solved}));
    }
    let doc = json!({"scenario": base.id, "seed": seed, "replicates_per_n": reps,
                     "followup": followup, "claims": claims});
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    atomic_write(&out.join("plan.json"), serde_json::to_string_pretty(&doc)?.as_bytes())?;
    atomic_write(&out.join("plan.md"), plan_markdown(&doc).as_bytes())?;
    let series: Vec<Series> = claims
        .iter()
        .map(|c| Series {
            label: c["estimand"].as_str().unwrap_or("").to_string(),
            points: c["by_n"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| Some((r["n"].as_f64()?, r["power"].as_f64()?, r["power_mcse"].as_f64()?)))
                .collect(),
        })
        .collect();
    match plots::power_curves(
        "Simulated power against sample size",
        &series,
        &[(0.8, "80%"), (0.9, "90%")],
        "patients (n)",
    ) {
        Ok(svg) => atomic_write(&out.join("power.svg"), svg.as_bytes())?,
        Err(e) => eprintln!("power figure left out: {e}"),
    }
    eprintln!("{}: plan.json, plan.md, power.svg", out.display());
    Ok(doc)
}

/// The fraction of patients with the (binary) covariate, and its squared multiple correlation with
/// the adjusting covariates, from 10^5 simulated patients (for the formulas only).
fn covariate_moments(s: &scenario::Scenario, seed: u64, covariate: usize, adjust: &[usize]) -> (f64, f64) {
    let mut rng = rng_for(seed, &format!("plan-moments:{}", s.id), 0);
    // only the columns read here are stored (the same draws and values as a whole cohort)
    let columns: Vec<usize> = std::iter::once(covariate).chain(adjust.iter().copied()).collect();
    let c = cohort::generate_size_keeping(s, 100_000, &columns, &mut rng);
    let x: Vec<f64> = c.column(covariate).iter().map(|v| v.unwrap_or(0.0)).collect();
    let q = x.iter().sum::<f64>() / x.len() as f64;
    // with one adjuster rho^2 is the squared correlation; with several, the largest one (a bound)
    let rho2 = adjust
        .iter()
        .map(|&j| {
            let y: Vec<f64> = c.column(j).iter().map(|v| v.unwrap_or(0.0)).collect();
            let (mx, my) = (q, y.iter().sum::<f64>() / y.len() as f64);
            let sxy: f64 = x.iter().zip(&y).map(|(a, b)| (a - mx) * (b - my)).sum();
            let sxx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
            let syy: f64 = y.iter().map(|b| (b - my).powi(2)).sum();
            if sxx > 0.0 && syy > 0.0 { sxy * sxy / (sxx * syy) } else { 0.0 }
        })
        .fold(0.0, f64::max);
    (q.clamp(1e-9, 1.0 - 1e-9), rho2)
}

pub fn plan_markdown(doc: &Value) -> String {
    use std::fmt::Write;
    let mut md = format!(
        "# Planning a follow-up study: scenario `{}`\n\n{} replicates per sample size, seed {}{}.\n\n",
        doc["scenario"].as_str().unwrap_or("?"),
        doc["replicates_per_n"],
        doc["seed"],
        doc["followup"].as_f64().map_or(String::new(), |f| format!(", follow-up fixed at {f} months"))
    );
    let f = |v: &Value, d: usize| v.as_f64().map_or("—".to_string(), |x| format!("{x:.d$}"));
    for c in doc["claims"].as_array().into_iter().flatten() {
        let _ = writeln!(md, "## `{}`\n", c["estimand"].as_str().unwrap_or(""));
        let _ = writeln!(
            md,
            "| n | deaths | simulated power | Schoenfeld | Freedman | Hsieh–Lavori | 95% CI width (log-HR, converged fits) | Youden cut = true cut |\n|---|---|---|---|---|---|---|---|"
        );
        for r in c["by_n"].as_array().into_iter().flatten() {
            let _ = writeln!(
                md,
                "| {} | {} | {} ± {} | {} | {} | {} | {} | {} |",
                r["n"],
                f(&r["deaths"], 1),
                f(&r["power"], 3),
                f(&r["power_mcse"], 3),
                f(&r["schoenfeld"], 3),
                f(&r["freedman"], 3),
                f(&r["hsieh_lavori"], 3),
                f(&r["ci_width_log_hr"], 2),
                f(&r["cut_equals_truth"], 3)
            );
        }
        for t in c["n_for_target"].as_array().into_iter().flatten() {
            let _ = writeln!(
                md,
                "\nPower {}: n = {} ± {} (interpolated between simulated sizes; ± its Monte Carlo SE).",
                t["target_power"],
                f(&t["n"], 0),
                f(&t["n_mcse"], 0)
            );
        }
        md.push('\n');
    }
    md
}
