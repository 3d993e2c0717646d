//! The `survmc` command line: parse flags, call the library, print, map errors to exit codes.
//!
//! Exit codes: 0 success; 2 bad input (file, column, flag or scenario: the message says where);
//! 1 anything else (an I/O failure while writing results, say).

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod cli;

#[derive(Parser)]
#[command(
    name = "survmc",
    version,
    about = "Simulation and validation harness for small-sample survival studies"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Kaplan–Meier, log-rank, Cox, ROC, maxstat and group comparisons on a CSV file, as R computes them.
    Analyze(cli::analyze::AnalyzeArgs),
    /// Run a scenario's Monte Carlo study: performance of every method, with Monte Carlo SEs.
    Run(cli::run::RunArgs),
    /// Combine the output directories of shards into the output of the whole run.
    Merge(cli::run::MergeArgs),
    /// Print the true values of a scenario's estimands (JSON).
    Truth(cli::run::TruthArgs),
    /// Write the reliability report (report.md and SVG figures) of a finished or merged run.
    Report(cli::report::ReportArgs),
    /// Power, cut-off stability and CI width at larger sample sizes, beside the events formulas.
    Plan(cli::plan::PlanArgs),
    /// The synthetic cohort of one replicate of a run, regenerated alone (CSV).
    Replicate(cli::simulate::ReplicateArgs),
    /// K synthetic cohorts of a scenario in one long CSV file (`cohort` column first).
    Simulate(cli::simulate::SimulateArgs),
    /// Fit a scenario's free parameters to the paper's figures; write the calibration report.
    Calibrate(cli::calibrate::CalibrateArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Analyze(args) => cli::analyze::run(args),
        Command::Run(args) => cli::run::run(args),
        Command::Merge(args) => cli::run::merge(args),
        Command::Truth(args) => cli::run::truth(args),
        Command::Report(args) => cli::report::report(args),
        Command::Plan(args) => cli::plan::plan(args),
        Command::Replicate(args) => cli::simulate::replicate(args),
        Command::Simulate(args) => cli::simulate::run(args),
        Command::Calibrate(args) => cli::calibrate::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            if is_user_error(&err) { ExitCode::from(2) } else { ExitCode::FAILURE }
        }
    }
}

fn is_user_error(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.is::<cli::UsageError>()
            || e.is::<survmc::analysis::analyze::AnalyzeError>()
            || e.is::<survmc::input::InputError>()
            || e.is::<survmc::scenario::ScenarioError>()
            || e.downcast_ref::<survmc::engine::EngineError>().is_some_and(cli::run::is_user_error)
    })
}
