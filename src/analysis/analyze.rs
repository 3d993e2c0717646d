//! `survmc analyze`: the reference battery applied to one CSV file.
//!
//! Kaplan–Meier (overall and by group), log-rank and Peto–Peto tests, Cox models (Efron and Breslow
//! ties, complete cases per model), ROC/Youden and maxstat on a marker, and the group comparisons. The
//! output has the blocks and field names of `../shared/reference/expected/*.json`, so a run can be
//! compared field by field with R's.
//!
//! Input is checked here, once, with errors that name the file, line, column or flag; the estimators
//! then receive validated values and never fail.

use crate::data::{DataError, Factor, SurvivalData};
use crate::estimators::cox::Ties;
use crate::input::{Dataset, InputError};
use crate::report::blocks;
use serde_json::{Map, Value, json};
use thiserror::Error;

/// The columns and options of one `analyze` run (the CLI flags, validated as names).
#[derive(Debug, Clone, Default)]
pub struct AnalyzeSpec {
    pub time: String,
    pub event: String,
    pub group: Option<String>,
    pub marker: Option<String>,
    /// One entry per `--cox` flag: the covariates of one model.
    pub cox: Vec<Vec<String>>,
    pub at: Vec<f64>,
    pub tau: Option<f64>,
    /// `--table ROW_COL,COL_COL`.
    pub table: Option<(String, String)>,
    /// `--compare VALUE_COL,GROUP_COL`.
    pub compare: Option<(String, String)>,
}

/// Why the requested analysis cannot be done on this file.
#[derive(Debug, Error)]
pub enum AnalyzeError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("{file}: {message}")]
    Unsuitable { file: String, message: String },
}

/// Runs every requested block and returns one JSON document.
pub fn analyze(ds: &Dataset, spec: &AnalyzeSpec) -> Result<Value, AnalyzeError> {
    let unsuitable = |message: String| AnalyzeError::Unsuitable { file: ds.name().to_string(), message };
    let surv = survival_columns(ds, spec)?;
    if surv.n_event() == 0 {
        return Err(unsuitable(format!(
            "column '{}' (--event) has no events (all {} rows are censored): there is nothing to estimate",
            spec.event,
            surv.len()
        )));
    }
    let mut out = Map::new();
    out.insert(
        "columns".into(),
        json!({"time": spec.time, "event": spec.event, "group": spec.group, "marker": spec.marker}),
    );
    out.insert("km".into(), blocks::km::km_block(&surv, &spec.at, spec.tau));

    if let Some(group_col) = &spec.group {
        let cells = ds.text(group_col, "--group")?;
        let rows: Vec<usize> = (0..cells.len()).filter(|&i| cells[i].is_some()).collect();
        let labels: Vec<&str> = rows.iter().map(|&i| cells[i].unwrap_or_default()).collect();
        let group = Factor::from_labels(&labels);
        if group.n_levels() < 2 {
            return Err(unsuitable(format!(
                "column '{group_col}' (--group) has only one value ({}); the log-rank test needs at least two groups",
                group.labels().first().map_or("none", |s| s.as_str())
            )));
        }
        let sub = surv.subset(&rows);
        let mut by_group = Map::new();
        for (level, label) in group.labels().iter().enumerate() {
            let idx: Vec<usize> = (0..sub.len()).filter(|&i| group.codes()[i] == level).collect();
            by_group.insert(label.clone(), blocks::km::km_block(&sub.subset(&idx), &spec.at, spec.tau));
        }
        out.insert("km_by_group".into(), Value::Object(by_group));
        out.insert("tests".into(), blocks::logrank::tests_block(&sub, &group));
    }

    if !spec.cox.is_empty() {
        let mut fits = Vec::new();
        for ties in [Ties::Efron, Ties::Breslow] {
            for covariates in &spec.cox {
                let (data, columns) = cox_design(ds, &surv, covariates)?;
                fits.push(blocks::cox::cox_block(&data, covariates, &columns, ties));
            }
        }
        out.insert("cox".into(), Value::Array(fits));
    }

    if let Some(marker_col) = &spec.marker {
        let marker = ds.numeric(marker_col, "--marker")?;
        let rows: Vec<usize> = (0..marker.len()).filter(|&i| marker[i].is_some()).collect();
        let x: Vec<f64> = rows.iter().filter_map(|&i| marker[i]).collect();
        let sub = surv.subset(&rows);
        if x.iter().all(|&v| v == x[0]) {
            return Err(unsuitable(format!(
                "column '{marker_col}' (--marker) has one value ({}) in every row: ROC and maxstat need a marker that varies",
                x[0]
            )));
        }
        if sub.n_event() == 0 || sub.n_event() == sub.len() {
            return Err(unsuitable(format!(
                "rows with column '{marker_col}' (--marker) present are all {}: ROC needs both events and non-events",
                if sub.n_event() == 0 { "censored" } else { "events" }
            )));
        }
        out.insert("roc".into(), blocks::roc::roc_block(&x, sub.event()));
        out.insert("maxstat".into(), blocks::maxstat::maxstat_block(&sub, &x));
    }

    let mut comparisons = Map::new();
    if let Some((a, b)) = &spec.table {
        let (fa, fb) = two_factors(ds, a, b, "--table")?;
        comparisons.insert("table_of".into(), json!([a, b]));
        comparisons.insert("contingency".into(), blocks::tables::contingency_block(&fa, &fb));
    }
    if let Some((value_col, group_col)) = &spec.compare {
        let x = ds.numeric(value_col, "--compare")?;
        let g = ds.text(group_col, "--compare")?;
        let rows: Vec<usize> = (0..x.len()).filter(|&i| x[i].is_some() && g[i].is_some()).collect();
        let values: Vec<f64> = rows.iter().filter_map(|&i| x[i]).collect();
        let labels: Vec<&str> = rows.iter().map(|&i| g[i].unwrap_or_default()).collect();
        let groups = Factor::from_labels(&labels);
        if groups.n_levels() != 2 {
            return Err(unsuitable(format!(
                "column '{group_col}' (--compare) has {} values ({}); the Mann–Whitney test compares exactly two groups",
                groups.n_levels(),
                groups.labels().join(", ")
            )));
        }
        comparisons.insert("values_of".into(), json!(value_col));
        comparisons.insert("groups_of".into(), json!(group_col));
        comparisons.insert("mann_whitney".into(), blocks::tables::mann_whitney_block(&values, &groups));
    }
    if !comparisons.is_empty() {
        out.insert("group_comparisons".into(), Value::Object(comparisons));
    }
    Ok(Value::Object(out))
}

/// Time and event columns: present in every row, time >= 0, event coded 0/1.
fn survival_columns(ds: &Dataset, spec: &AnalyzeSpec) -> Result<SurvivalData, AnalyzeError> {
    let time = ds.numeric(&spec.time, "--time")?;
    let event = ds.numeric(&spec.event, "--event")?;
    let mut t = Vec::with_capacity(time.len());
    let mut e = Vec::with_capacity(time.len());
    for i in 0..time.len() {
        let ti = time[i].ok_or_else(|| {
            ds.bad_value(
                i,
                &spec.time,
                "empty; every row needs a follow-up time (remove the row or fill it in)".into(),
            )
        })?;
        if ti < 0.0 {
            return Err(ds.bad_value(i, &spec.time, format!("{ti} is negative; times must be >= 0")).into());
        }
        let ei = event[i].ok_or_else(|| {
            ds.bad_value(
                i,
                &spec.event,
                "empty; every row needs an event indicator (1 = event, 0 = censored)".into(),
            )
        })?;
        if ei != 0.0 && ei != 1.0 {
            let hint = if ei == 2.0 {
                " (coded 1/2 as in R's lung data? recode as event = status - 1, so that 1 = event, 0 = censored)"
            } else {
                ""
            };
            return Err(ds
                .bad_value(
                    i,
                    &spec.event,
                    format!("{ei} is not 0 or 1; expected 1 = event, 0 = censored{hint}"),
                )
                .into());
        }
        t.push(ti);
        e.push(ei == 1.0);
    }
    SurvivalData::new(t, e).map_err(|err: DataError| AnalyzeError::Unsuitable {
        file: ds.name().to_string(),
        message: err.to_string(),
    })
}

/// The complete cases of one Cox model and its covariate columns; a covariate must vary.
fn cox_design(
    ds: &Dataset,
    surv: &SurvivalData,
    covariates: &[String],
) -> Result<(SurvivalData, Vec<Vec<f64>>), AnalyzeError> {
    let raw: Vec<Vec<Option<f64>>> =
        covariates.iter().map(|c| ds.numeric(c, "--cox")).collect::<Result<_, _>>()?;
    let rows: Vec<usize> = (0..surv.len()).filter(|&i| raw.iter().all(|col| col[i].is_some())).collect();
    let unsuitable = |message: String| AnalyzeError::Unsuitable { file: ds.name().to_string(), message };
    if rows.is_empty() {
        return Err(unsuitable(format!(
            "no row has every covariate of --cox {} present",
            covariates.join(",")
        )));
    }
    let data = surv.subset(&rows);
    if data.n_event() == 0 {
        return Err(unsuitable(format!(
            "the complete cases of --cox {} have no events: the Cox model cannot be fitted",
            covariates.join(",")
        )));
    }
    let columns: Vec<Vec<f64>> =
        raw.iter().map(|col| rows.iter().filter_map(|&i| col[i]).collect::<Vec<f64>>()).collect();
    for (name, col) in covariates.iter().zip(&columns) {
        if col.iter().all(|&v| v == col[0]) {
            return Err(unsuitable(format!(
                "covariate '{name}' (--cox) is constant ({}) in the rows used: its coefficient is not identifiable; drop it from the model",
                col[0]
            )));
        }
    }
    Ok((data, columns))
}

fn two_factors(ds: &Dataset, a: &str, b: &str, flag: &str) -> Result<(Factor, Factor), AnalyzeError> {
    let ca = ds.text(a, flag)?;
    let cb = ds.text(b, flag)?;
    let rows: Vec<usize> = (0..ca.len()).filter(|&i| ca[i].is_some() && cb[i].is_some()).collect();
    let la: Vec<&str> = rows.iter().map(|&i| ca[i].unwrap_or_default()).collect();
    let lb: Vec<&str> = rows.iter().map(|&i| cb[i].unwrap_or_default()).collect();
    Ok((Factor::from_labels(&la), Factor::from_labels(&lb)))
}
