//! `survmc simulate`: K synthetic cohorts of a scenario in one long CSV file.
//!
//! Cohort k (1-based) is drawn from `engine::rng_for(seed, scenario id, k - 1)`, the stream of
//! engine replicate k - 1: a cohort seen in a Monte Carlo run can be regenerated and inspected.

use anyhow::{Context, Result};
use std::path::PathBuf;
use survmc::cohort::{Cohort, generate_into};
use survmc::engine::Streams;
use survmc::report::cohort_csv::CohortCsv;
use survmc::report::run_output::atomic_write;

use super::UsageError;

#[derive(clap::Args)]
pub struct SimulateArgs {
    /// Scenario file (TOML); its file stem is the scenario id that keys the random streams.
    scenario: PathBuf,
    /// Number of cohorts (rows of cohort k have `cohort` = k, 1..K).
    #[arg(long, default_value_t = 1)]
    cohorts: usize,
    /// Seed; default: the scenario's `seed`.
    #[arg(long)]
    seed: Option<u64>,
    /// Output CSV file, written atomically (a temporary file, then a rename).
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: SimulateArgs) -> Result<()> {
    if args.cohorts == 0 {
        return Err(UsageError("--cohorts must be at least 1".into()).into());
    }
    let scenario = survmc::scenario::load(&args.scenario)?;
    let seed = args.seed.unwrap_or(scenario.seed);
    let streams = Streams::new(seed, &scenario.id);
    let mut cohort = Cohort::new(&scenario);
    let mut csv = CohortCsv::new(&scenario)?;
    for k in 0..args.cohorts {
        let mut rng = streams.replicate(k as u64);
        generate_into(&scenario, &mut rng, &mut cohort);
        csv.push(k + 1, &cohort)?;
    }
    let bytes = csv.into_bytes()?;
    atomic_write(&args.out, &bytes).with_context(|| format!("cannot write {}", args.out.display()))?;
    eprintln!(
        "survmc: {} cohort(s) of {} patients of scenario {} (seed {seed}) -> {}",
        args.cohorts,
        scenario.n,
        scenario.id,
        args.out.display()
    );
    Ok(())
}

#[derive(clap::Args)]
pub struct ReplicateArgs {
    /// Scenario file (TOML) of the run.
    scenario: PathBuf,
    /// Replicate index (0-based, as in the engine's blocks and `replicates.csv`).
    #[arg(long)]
    rep: u64,
    /// Seed of the run; default: the scenario's `analysis.seed`, as `survmc run` uses.
    #[arg(long)]
    seed: Option<u64>,
    /// Output CSV file (one cohort; its `cohort` column holds rep + 1).
    #[arg(long)]
    out: PathBuf,
}

/// `survmc replicate`: the synthetic cohort of one replicate of a run, regenerated alone from its
/// own random stream, exactly as the run drew it.
pub fn replicate(args: ReplicateArgs) -> Result<()> {
    let scenario = survmc::scenario::load(&args.scenario)?;
    let seed = args.seed.unwrap_or(scenario.analysis.seed);
    let mut rng = Streams::new(seed, &scenario.id).replicate(args.rep);
    let mut cohort = Cohort::new(&scenario);
    generate_into(&scenario, &mut rng, &mut cohort);
    let mut csv = CohortCsv::new(&scenario)?;
    csv.push(args.rep as usize + 1, &cohort)?;
    atomic_write(&args.out, &csv.into_bytes()?)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    eprintln!(
        "survmc: replicate {} of scenario {} (seed {seed}) -> {}",
        args.rep,
        scenario.id,
        args.out.display()
    );
    Ok(())
}
