//! `survmc calibrate`: fit a scenario's `[calibration]` parameters to the paper's figures, print
//! or write back the values, and write `results/<scenario>/calibration.{json,md}`.

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use survmc::cohort::calibrate::{CalibrateControl, Progress, calibrate};
use survmc::report::calibration::{ReportContext, to_json, to_markdown, write_back};
use survmc::report::run_output::atomic_write;

use super::UsageError;

#[derive(clap::Args)]
pub struct CalibrateArgs {
    /// Scenario file (TOML) with a `[calibration]` table.
    scenario: PathBuf,
    /// Cohorts per trial; default: `[calibration] cohorts`.
    #[arg(long)]
    cohorts: Option<usize>,
    /// Seed of the cohorts' streams; default: `[calibration] seed`.
    #[arg(long)]
    seed: Option<u64>,
    /// Write the calibrated values back into the scenario file (comments kept).
    #[arg(long)]
    write: bool,
    /// The paper's figures (targets are dotted paths into this file).
    #[arg(long, default_value = "scenarios/paper/targets.json")]
    targets: PathBuf,
    /// Report directory; default: results/<scenario id>.
    #[arg(long)]
    out_dir: Option<PathBuf>,
    /// Cap on loss evaluations (each simulates all cohorts).
    #[arg(long, default_value_t = 400)]
    max_evals: usize,
}

pub fn run(args: CalibrateArgs) -> Result<()> {
    let started = Instant::now();
    let text = std::fs::read_to_string(&args.scenario)
        .map_err(|source| survmc::scenario::ScenarioError::Io { file: args.scenario.clone(), source })?;
    let scenario = survmc::scenario::load(&args.scenario)?;
    let cal = scenario.calibration.as_ref().ok_or_else(|| {
        UsageError(format!("{}: no [calibration] table: nothing to calibrate", args.scenario.display()))
    })?;
    let targets_text = std::fs::read_to_string(&args.targets)
        .map_err(|e| UsageError(format!("{}: cannot read the targets: {e}", args.targets.display())))?;
    let targets: serde_json::Value = serde_json::from_str(&targets_text)
        .map_err(|e| UsageError(format!("{}: not JSON: {e}", args.targets.display())))?;
    let target_values = cal.target_values(&targets)?;
    let mut control = CalibrateControl::from_scenario(cal);
    if let Some(k) = args.cohorts {
        control.cohorts = k;
    }
    if let Some(s) = args.seed {
        control.seed = s;
    }
    control.max_evals = args.max_evals;
    if control.cohorts == 0 {
        return Err(UsageError("--cohorts must be at least 1".into()).into());
    }

    // The report directory before the (long) fit: an unwritable place fails at once.
    let dir = args.out_dir.clone().unwrap_or_else(|| PathBuf::from("results").join(&scenario.id));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;

    let fit = {
        let mut report = progress_reporter(control.max_evals);
        calibrate(&scenario, &target_values, &control, &mut *report)?
    };
    let seconds = started.elapsed().as_secs_f64();

    let values: Vec<(String, f64)> = fit.parameters.iter().map(|p| (p.name.clone(), p.value)).collect();
    // The report names the file it describes: the written one under --write.
    let mut sha256 = scenario.sha256.clone();
    if args.write && !values.is_empty() {
        let new_text = write_back(&text, &values).with_context(|| format!("{}", args.scenario.display()))?;
        atomic_write(&args.scenario, new_text.as_bytes())
            .with_context(|| format!("cannot write {}", args.scenario.display()))?;
        sha256 = survmc::scenario::sha256_hex(new_text.as_bytes());
    }
    let reasons = survmc::report::calibration::explain(&fit);
    let ctx = ReportContext {
        scenario_id: &scenario.id,
        scenario_sha256: &sha256,
        seed: control.seed,
        cohorts: control.cohorts,
        written_back: args.write,
        reasons: &reasons,
    };
    let json = serde_json::to_string_pretty(&to_json(&fit, &ctx))? + "\n";
    atomic_write(&dir.join("calibration.json"), json.as_bytes())
        .with_context(|| format!("cannot write {}", dir.join("calibration.json").display()))?;
    atomic_write(&dir.join("calibration.md"), to_markdown(&fit, &ctx).as_bytes())
        .with_context(|| format!("cannot write {}", dir.join("calibration.md").display()))?;

    println!(
        "{}",
        if args.write { "calibrated (written back):" } else { "calibrated (not written; use --write):" }
    );
    for p in &fit.parameters {
        println!(
            "  {} = {}   (start {}{})",
            p.name,
            p.value,
            p.start,
            if p.at_bound { ", AT BOUND" } else { "" }
        );
    }
    let n_fail = fit.rows.iter().filter(|r| !r.pass).count();
    for r in &fit.rows {
        println!(
            "  {:<52} target {:>8}  mean {:>9.4}  tol {:>5}  {}",
            r.path,
            r.target,
            r.mean,
            r.tolerance,
            if r.pass { "pass" } else { "FAIL" }
        );
    }
    eprintln!(
        "survmc: {} evaluations of {} cohorts in {seconds:.1} s ({:?}); {} of {} targets pass; report in {}",
        fit.evaluations,
        control.cohorts,
        fit.termination,
        fit.rows.len() - n_fail,
        fit.rows.len(),
        dir.display()
    );
    Ok(())
}

/// An indicatif bar on a terminal, a plain line every 5 s otherwise.
fn progress_reporter(max_evals: usize) -> Box<dyn FnMut(Progress)> {
    if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(max_evals as u64).with_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} evaluations  elapsed {elapsed}  {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Box::new(move |p: Progress| {
            bar.set_position(p.evaluation as u64);
            bar.set_message(format!("loss {:.4}", p.best_loss));
        })
    } else {
        let start = Instant::now();
        let mut last = start;
        Box::new(move |p: Progress| {
            if last.elapsed() >= Duration::from_secs(5) || p.evaluation == 1 {
                last = Instant::now();
                eprintln!(
                    "survmc: evaluation {} (cap {}), best loss {:.4}, elapsed {:.0} s",
                    p.evaluation,
                    p.max_evals,
                    p.best_loss,
                    start.elapsed().as_secs_f64()
                );
            }
        })
    }
}
