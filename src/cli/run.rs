//! `survmc run`, `survmc merge` and `survmc truth`: a scenario's Monte Carlo study.

use super::UsageError;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use survmc::cohort::TruthControl;
use survmc::engine::{self, EngineError, RunConfig, RunOutcome, ScenarioIdentity, Shard, StopReason};
use survmc::scenario;
use survmc::study::ScenarioStudy;

#[derive(clap::Args)]
pub struct RunArgs {
    /// Scenario file (TOML); its file name is the scenario id.
    pub scenario: PathBuf,
    /// Replicates (the cap with --until-mcse); default: the scenario's `analysis.replicates`.
    #[arg(long)]
    pub reps: Option<u64>,
    /// Seed of the random streams; default: the scenario's `analysis.seed` (else `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads; default: all cores.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Output directory; default: results/<scenario id>.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run only slice k of N (blocks with block % N == k); combine slices with `survmc merge`.
    #[arg(long, value_name = "k/N")]
    pub shard: Option<String>,
    /// Stop at the first block at which every primary measure's Monte Carlo SE is below X.
    #[arg(long, value_name = "X")]
    pub until_mcse: Option<f64>,
    /// Continue a run from the blocks already written in the output directory.
    #[arg(long)]
    pub resume: bool,
    /// Also write one row per replicate (replicates.csv, choices.csv).
    #[arg(long)]
    pub keep_replicates: bool,
    /// Replicates per block (the unit of persistence, sharding and merging).
    #[arg(long, default_value_t = 2000, env = "SURVMC_BLOCK_SIZE")]
    pub block_size: u64,
}

pub fn run(args: RunArgs) -> Result<()> {
    let scenario = scenario::load(&args.scenario)?;
    let seed = args.seed.unwrap_or(scenario.analysis.seed);
    let reps = args.reps.unwrap_or(scenario.analysis.replicates as u64);
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("results").join(&scenario.id));
    let shard = match &args.shard {
        None => Shard::SINGLE,
        Some(s) => s.parse::<Shard>()?,
    };
    if args.until_mcse.is_some_and(|x| !(x > 0.0 && x.is_finite())) {
        return Err(UsageError("--until-mcse needs a positive number".into()).into());
    }
    let identity = ScenarioIdentity { id: scenario.id.clone(), sha256: scenario.sha256.clone() };
    eprintln!(
        "survmc {}: scenario {} (sha256 {:.12}), seed {seed}",
        env!("CARGO_PKG_VERSION"),
        scenario.id,
        scenario.sha256
    );
    eprintln!("computing the true values (large-sample simulation where no formula exists)...");
    let null_path = scenario.report.null_scenario.clone();
    let study = ScenarioStudy::new(scenario, seed, &TruthControl::issue3());
    let config = |identity: ScenarioIdentity, out: &Path| {
        let mut config = RunConfig::new(identity, seed, reps, out);
        config.block_size = args.block_size;
        config.threads = args.threads;
        config.shard = shard;
        config.until_mcse = args.until_mcse;
        config.resume = args.resume;
        config.keep_replicates = args.keep_replicates;
        config
    };
    let outcome = engine::run(&study, &config(identity, &out))?;
    describe(&outcome);
    if outcome.summary.is_none() {
        return Ok(()); // a shard: the report comes after `survmc merge` (`survmc report`)
    }
    // The null companion: same seed, replicates and options, next to the main output.
    let null_out = match null_path {
        None => None,
        Some(path) => {
            let null = scenario::load(&path)?;
            let null_out = out.parent().unwrap_or(Path::new(".")).join(&null.id);
            eprintln!("null companion {} -> {}", null.id, null_out.display());
            let identity = ScenarioIdentity { id: null.id.clone(), sha256: null.sha256.clone() };
            let null_study = ScenarioStudy::new(null, seed, &TruthControl::issue3());
            let mut c = config(identity, &null_out);
            // --until-mcse stopped the main run at some number of replicates: use exactly that many
            c.until_mcse = None;
            c.replicates = outcome.replicates;
            describe(&engine::run(&null_study, &c)?);
            Some(null_out)
        }
    };
    if !study.scenario.report.plan_n.is_empty() {
        let r = &study.scenario.report;
        let plan_reps = r.plan_replicates as u64;
        super::plan::run_plan(
            &study.scenario,
            &r.plan_n,
            plan_reps,
            None,
            &[0.8, 0.9],
            seed,
            &out.join("plan"),
            args.resume,
        )?;
    }
    // The reliability report for scenarios that ask for one (a `[report]` table); a plain run's
    // outputs stay exactly those of `survmc merge`.
    let r = &study.scenario.report;
    if r.null_scenario.is_some() || !r.claims.is_empty() || !r.plan_n.is_empty() {
        super::report::write_report(&out, &study, seed, null_out.as_deref())?;
    }
    Ok(())
}

#[derive(clap::Args)]
pub struct MergeArgs {
    /// Output directories of the shards (or of partial runs) of one run.
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Where to write the merged outputs.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn merge(args: MergeArgs) -> Result<()> {
    let outcome = engine::merge(&args.dirs, &args.out)?;
    describe(&outcome);
    Ok(())
}

#[derive(clap::Args)]
pub struct TruthArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// Seed of the large-sample simulation; default: the scenario's `analysis.seed`.
    #[arg(long)]
    pub seed: Option<u64>,
}

/// Prints the true values of a scenario's estimands as JSON.
pub fn truth(args: TruthArgs) -> Result<()> {
    let scenario = scenario::load(&args.scenario)?;
    let seed = args.seed.unwrap_or(scenario.analysis.seed);
    let study = ScenarioStudy::new(scenario, seed, &TruthControl::issue3());
    super::print_stdout(&serde_json::to_string_pretty(&study.truth).context("serialising the truth")?)
}

fn describe(o: &RunOutcome) {
    let what = match o.stop {
        StopReason::Completed => "completed".to_string(),
        StopReason::McseReached => {
            format!("every primary Monte Carlo SE below target after {} replicates", o.replicates)
        }
        StopReason::CapReached => {
            "the replicate cap was reached before the Monte Carlo SE target".to_string()
        }
        StopReason::ShardDone => {
            "shard done: merge the shards with `survmc merge` for the outputs".to_string()
        }
    };
    eprintln!(
        "{}: {} replicates in {} blocks ({} computed, {} reused): {what}",
        o.out_dir.display(),
        o.replicates,
        o.blocks_used,
        o.blocks_computed,
        o.blocks_reused
    );
}

/// Engine errors caused by what the user asked for (exit code 2), as opposed to I/O failures.
pub fn is_user_error(e: &EngineError) -> bool {
    !matches!(e, EngineError::Io { .. } | EngineError::Study { .. } | EngineError::ThreadPool(..))
}
