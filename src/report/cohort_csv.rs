//! Simulated cohorts as one long CSV file (`survmc simulate`).
//!
//! ```text
//! cohort, os_time, os_event, pfs_time, pfs_event, stratum, era, <characteristics>, progression,
//! after_progression_treatment, time_from_progression
//! ```
//! `cohort` is 1..K. Columns after it are `Cohort::column_names()`. Numbers with at most 10
//! decimals, trailing zeros dropped (`66`, `21.2`, not `21.200000000000003`: the generator rounds
//! by floating-point arithmetic; times in months are exact to 1e-10); events, binary and derived characteristics 0/1; stratum, era,
//! categorical characteristics and the treatment at progression as the scenario's names and level
//! labels (so `survmc analyze --group stratum` shows `le10` / `gt10`); an empty cell is a missing or
//! not-applicable value.

use crate::cohort::{Cohort, LEADING_COLUMNS};
use crate::scenario::{ColumnKind, Scenario};

/// Accumulates cohorts into CSV bytes (header first).
pub struct CohortCsv {
    writer: csv::Writer<Vec<u8>>,
    /// Level labels of each characteristic column (None: written as a number).
    labels: Vec<Option<Vec<String>>>,
    row: Vec<Option<f64>>,
    cells: Vec<String>,
}

impl CohortCsv {
    /// A writer for cohorts of `scenario`, with the header row written.
    pub fn new(scenario: &Scenario) -> Result<Self, csv::Error> {
        let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
        let names = Cohort::new(scenario).column_names().iter().map(|s| s.to_string()).collect::<Vec<_>>();
        writer.write_record(std::iter::once("cohort").chain(names.iter().map(String::as_str)))?;
        let labels = (0..scenario.n_columns())
            .map(|j| match scenario.column_kind(j) {
                ColumnKind::Categorical { levels } => Some(levels.clone()),
                _ => None,
            })
            .collect();
        Ok(CohortCsv { writer, labels, row: Vec::new(), cells: Vec::new() })
    }

    /// Appends every patient of `cohort` with `cohort_no` (1-based) in the first column.
    pub fn push(&mut self, cohort_no: usize, cohort: &Cohort) -> Result<(), csv::Error> {
        let n_lead = LEADING_COLUMNS.len();
        let n_char = self.labels.len();
        for i in 0..cohort.len() {
            cohort.row(i, &mut self.row);
            self.cells.clear();
            self.cells.push(cohort_no.to_string());
            for (j, v) in self.row.iter().enumerate() {
                let names: Option<&[String]> = match j {
                    4 => Some(cohort.stratum_names()),
                    5 => Some(cohort.era_names()),
                    j if j >= n_lead && j < n_lead + n_char => self.labels[j - n_lead].as_deref(),
                    j if j == n_lead + n_char + 1 => Some(cohort.treatment_names()),
                    _ => None,
                };
                self.cells.push(match (v, names) {
                    (None, _) => String::new(),
                    (Some(x), Some(names)) => names.get(*x as usize).cloned().unwrap_or_else(|| number(*x)),
                    (Some(x), None) => number(*x),
                });
            }
            self.writer.write_record(&self.cells)?;
        }
        Ok(())
    }

    /// The CSV bytes.
    pub fn into_bytes(self) -> Result<Vec<u8>, std::io::Error> {
        self.writer.into_inner().map_err(|e| e.into_error())
    }
}

/// At most 10 decimals, trailing zeros and a trailing point dropped; "-0" written as "0".
fn number(x: f64) -> String {
    if !x.is_finite() {
        return crate::report::run_output::fmt_f64(x);
    }
    let s = format!("{x:.10}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.to_string() }
}

#[cfg(test)]
mod tests {
    use super::number;

    #[test]
    fn numbers_read_well() {
        assert_eq!(number(66.0), "66");
        assert_eq!(number(21.200000000000003), "21.2");
        assert_eq!(number(0.7000000000000001), "0.7");
        assert_eq!(number(6.912925026953852), "6.912925027");
        assert_eq!(number(-1e-12), "0");
        assert_eq!(number(1500.0), "1500");
    }
}
