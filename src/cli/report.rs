//! `survmc report`: the reliability report (`report.md` and its SVG figures) of a finished run,
//! also written by `survmc run` at the end of a whole run.

use anyhow::{Context, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};
use survmc::cohort::{self, TruthControl};
use survmc::engine::rng_for;
use survmc::estimators::km;
use survmc::report::plots::{self, StepCurve};
use survmc::report::reliability::{self, Figure, ReportInput};
use survmc::report::run_output::atomic_write;
use survmc::scenario::{self, ClaimKind};
use survmc::study::ScenarioStudy;

#[derive(clap::Args)]
pub struct ReportArgs {
    /// Output directory of a whole (or merged) run.
    pub dir: PathBuf,
    /// The scenario file of that run (its claims and true values).
    #[arg(long)]
    pub scenario: PathBuf,
    /// Output directory of the null companion run, if any.
    #[arg(long)]
    pub null: Option<PathBuf>,
}

pub fn report(args: ReportArgs) -> Result<()> {
    let scenario = scenario::load(&args.scenario)?;
    let manifest = read_json(&args.dir.join("manifest.json"))?;
    let seed = manifest["seed"].as_u64().unwrap_or(scenario.analysis.seed);
    let study = ScenarioStudy::new(scenario, seed, &TruthControl::issue3());
    write_report(&args.dir, &study, seed, args.null.as_deref())
}

/// Writes `dir/report.md` and its figures from `dir/summary.json` (and the null run's).
pub fn write_report(dir: &Path, study: &ScenarioStudy, seed: u64, null_dir: Option<&Path>) -> Result<()> {
    let summary = read_json(&dir.join("summary.json"))?;
    let manifest = read_json(&dir.join("manifest.json"))?;
    let (null_summary, null_manifest) = match null_dir {
        Some(d) => (Some(read_json(&d.join("summary.json"))?), Some(read_json(&d.join("manifest.json"))?)),
        None => (None, None),
    };
    let mut figures = figures(dir, study, seed, &summary)?;
    let plan = dir.join("plan").join("plan.json");
    let plan = if plan.exists() { Some(read_json(&plan)?) } else { None };
    if plan.is_some() && dir.join("plan").join("power.svg").exists() {
        figures.push(Figure {
            title: "Power of the Cox claims against sample size".into(),
            file: "plan/power.svg".into(),
        });
    }
    let mut md = reliability::render(&ReportInput {
        summary: &summary,
        manifest: &manifest,
        null_summary: null_summary.as_ref(),
        null_manifest: null_manifest.as_ref(),
        claims: &study.scenario.report.claims,
        figures: &figures,
    });
    if let Some(plan) = &plan {
        md.push_str("\n## Planning a follow-up study\n\n");
        // the plan's own headings, one level down
        md.push_str(&super::plan::plan_markdown(plan).replace("\n## ", "\n### ").replacen("# ", "### ", 1));
    }
    let path = dir.join("report.md");
    atomic_write(&path, md.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("{}: the reliability report", path.display());
    Ok(())
}

fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))
}

/// The report's SVG figures, written next to it; a figure that cannot be drawn is left out.
fn figures(dir: &Path, study: &ScenarioStudy, seed: u64, summary: &Value) -> Result<Vec<Figure>> {
    let s = &study.scenario;
    let mut out = Vec::new();
    let mut save = |file: &str, title: &str, svg: Result<String, plots::PlotError>| -> Result<()> {
        match svg {
            Ok(svg) => {
                let path = dir.join(file);
                atomic_write(&path, svg.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
                out.push(Figure { title: title.to_string(), file: file.to_string() });
            }
            Err(e) => eprintln!("figure {file} left out: {e}"),
        }
        Ok(())
    };

    // KM curves of the first five synthetic registries (replicates 0-4 of the run) against the paper.
    let curves: Vec<StepCurve> = (0..5)
        .map(|rep| {
            let mut rng = rng_for(seed, &s.id, rep);
            let c = cohort::generate(s, &mut rng);
            let fit = km::fit(&c.os_data());
            StepCurve { label: "Synthetic registries (5)".into(), time: fit.time, surv: fit.surv }
        })
        .collect();
    let labels: Vec<(f64, f64, String)> = s
        .report
        .claims
        .iter()
        .filter(|c| c.kind == ClaimKind::Estimate)
        .filter_map(|c| {
            let t: f64 = c.estimand.strip_prefix("km_surv_os_")?.parse().ok()?;
            Some((t, c.paper?, format!("Paper: {:.1}% at {t} months", 100.0 * c.paper?)))
        })
        .collect();
    let refs: Vec<(f64, f64, &str)> = labels.iter().map(|(t, p, l)| (*t, *p, l.as_str())).collect();
    save(
        "km_os.svg",
        "Overall survival: typical synthetic registries and the paper",
        plots::km_curves(
            "Overall survival",
            &curves,
            &refs,
            "Months since first hepatectomy",
            "Overall survival",
        ),
    )?;

    // The data-chosen cut-off of each youden_cut estimand.
    for r in &study.truth.roc {
        let name = format!("youden_cut_{}", r.marker);
        let Some(bins) = histogram_bins(summary, &name) else { continue };
        let true_label = format!("True cut: > {}", r.youden_cut);
        let markers = [(r.youden_cut, true_label.as_str())];
        save(
            &format!("{name}.svg"),
            &format!("Cut-off chosen by Youden's index ({})", r.marker),
            plots::histogram(
                &format!("Data-chosen cut-off of {}", r.marker),
                &bins,
                &markers,
                "cut (positive: > cut)",
            ),
        )?;
    }

    // Distribution of each Cox estimate, on the hazard-ratio scale, with the truth and the paper.
    for p in summary["pairs"].as_array().into_iter().flatten().filter(|p| p["method"] == "cox_wald") {
        let estimand = p["estimand"].as_str().unwrap_or("");
        let (Some(truth), Some(bins)) =
            (p["truth"].as_f64(), histogram_bins(summary, &format!("{estimand}_log_hr")))
        else {
            continue;
        };
        let paper = s.report.claims.iter().find(|c| c.estimand == estimand).and_then(|c| c.paper);
        let hr_bins: Vec<(f64, f64, u64)> = bins.iter().map(|&(lo, hi, n)| (lo.exp(), hi.exp(), n)).collect();
        save(
            &format!("{estimand}.svg"),
            &format!("Hazard ratio estimates: {estimand}"),
            plots::distribution_with_truth(
                &format!("Cox estimates across registries: {estimand}"),
                &hr_bins,
                truth.exp(),
                paper.map(f64::exp),
                "hazard ratio (log scale)",
                true,
            ),
        )?;
    }
    Ok(out)
}

/// The histogram of a numeric choice as (lo, hi, count).
fn histogram_bins(summary: &Value, name: &str) -> Option<Vec<(f64, f64, u64)>> {
    let c = summary["choices"].as_array()?.iter().find(|c| c["name"] == name)?;
    let bins = c["histogram"]["bins"].as_array()?;
    Some(bins.iter().filter_map(|b| Some((b["lo"].as_f64()?, b["hi"].as_f64()?, b["n"].as_u64()?))).collect())
}
