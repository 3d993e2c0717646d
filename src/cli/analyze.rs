//! `survmc analyze`: the reference battery on a user's CSV file.

use super::UsageError;
use anyhow::Result;
use clap::ValueEnum;
use std::io::IsTerminal;
use std::path::PathBuf;
use survmc::analysis::analyze::{AnalyzeSpec, analyze};
use survmc::input::Dataset;

#[derive(clap::Args)]
pub struct AnalyzeArgs {
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

pub fn run(args: AnalyzeArgs) -> Result<()> {
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
        Format::Json => super::print_stdout(&serde_json::to_string_pretty(&value)?),
        Format::Table => super::print_stdout(survmc::report::table::render_analysis(&value).trim_end()),
    }
}

/// Each `--cox a,b` is one model.
fn cox_sets(flags: &[String]) -> Vec<Vec<String>> {
    flags.iter().map(|f| f.split(',').map(|c| c.trim().to_string()).collect()).collect()
}
