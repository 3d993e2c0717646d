//! The `survmc` command line: parse flags, call the library, print, map errors to exit codes.
//!
//! Exit codes: 0 success; 2 bad input (file, column, flag or scenario: the message says where);
//! 1 anything else (an I/O failure while writing results, say).

use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use survmc::analysis::analyze::{AnalyzeError, AnalyzeSpec, analyze};
use survmc::input::Dataset;

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
    Analyze(AnalyzeArgs),
}

#[derive(clap::Args)]
struct AnalyzeArgs {
    /// CSV file: one header row, one row per subject; an empty cell (or NA) is a missing value.
    #[arg(long)]
    data: PathBuf,
    /// Column of follow-up times (>= 0).
    #[arg(long)]
    time: String,
    /// Column of event indicators (1 = event, 0 = censored).
    #[arg(long)]
    event: String,
    /// Column that splits subjects into groups: KM by group, log-rank and Peto–Peto tests.
    #[arg(long)]
    group: Option<String>,
    /// Continuous marker for ROC/Youden (outcome: the event indicator) and maxstat.
    #[arg(long)]
    marker: Option<String>,
    /// Covariates of one Cox model, comma-separated; repeat the flag for several models.
    #[arg(long, value_name = "COL[,COL...]")]
    cox: Vec<String>,
    /// Times at which to report survival, comma-separated.
    #[arg(long, value_delimiter = ',')]
    at: Vec<f64>,
    /// Horizon of the restricted mean survival time.
    #[arg(long)]
    tau: Option<f64>,
    /// Contingency table of two columns: Fisher's exact and Pearson chi-square tests.
    #[arg(long, value_name = "ROW_COL,COL_COL")]
    table: Option<String>,
    /// Mann–Whitney test of a numeric column between the two groups of another.
    #[arg(long, value_name = "VALUE_COL,GROUP_COL")]
    compare: Option<String>,
    /// Analyse only the rows where COL equals VALUE (e.g. `cohort=3` in `survmc simulate` output).
    #[arg(long = "where", value_name = "COL=VALUE")]
    filter: Option<String>,
    /// Output format; `table` is the default on a terminal, `json` otherwise.
    #[arg(long, value_enum)]
    format: Option<Format>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Json,
    Table,
}

/// An error caused by what the user gave us: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct UsageError(String);

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Analyze(args) => run_analyze(args),
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
    err.chain().any(|e| e.is::<UsageError>() || e.is::<AnalyzeError>() || e.is::<survmc::input::InputError>())
}

fn run_analyze(args: AnalyzeArgs) -> Result<()> {
    let mut ds = Dataset::read(&args.data)?;
    if let Some(filter) = &args.filter {
        let (col, value) = filter.split_once('=').ok_or_else(|| {
            UsageError(format!("--where {filter}: expected COL=VALUE, e.g. --where cohort=1"))
        })?;
        ds = ds.filter_equal(col, value, "--where")?;
    }
    let pair = |flag: &str, v: &Option<String>| -> Result<Option<(String, String)>> {
        match v {
            None => Ok(None),
            Some(s) => match s.split_once(',') {
                Some((a, b)) if !a.is_empty() && !b.is_empty() && !b.contains(',') => {
                    Ok(Some((a.to_string(), b.to_string())))
                }
                _ => {
                    Err(UsageError(format!("{flag} {s}: expected two column names separated by a comma"))
                        .into())
                }
            },
        }
    };
    let spec = AnalyzeSpec {
        time: args.time,
        event: args.event,
        group: args.group,
        marker: args.marker,
        cox: cox_sets(&args.cox),
        at: args.at,
        tau: args.tau,
        table: pair("--table", &args.table)?,
        compare: pair("--compare", &args.compare)?,
    };
    if let Some(t) = spec.at.iter().chain(spec.tau.iter()).find(|t| !t.is_finite() || **t < 0.0) {
        return Err(UsageError(format!("--at/--tau: {t} is not a time >= 0")).into());
    }
    let value = analyze(&ds, &spec)?;
    let format =
        args.format.unwrap_or(if std::io::stdout().is_terminal() { Format::Table } else { Format::Json });
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&value)?),
        Format::Table => print!("{}", survmc::report::table::render_analysis(&value)),
    }
    Ok(())
}

/// Each `--cox a,b` is one model.
fn cox_sets(flags: &[String]) -> Vec<Vec<String>> {
    flags.iter().map(|f| f.split(',').map(|c| c.trim().to_string()).collect()).collect()
}
