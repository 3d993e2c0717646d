//! Right-censored survival data, validated once at the edge.
//!
//! ```text
//! (time_i, event_i), i = 1..n;  time_i finite and >= 0;  event_i in {0, 1}
//! ```
//! Estimators take `&SurvivalData` and never re-check these facts: the type is the proof.
//! Times of zero are allowed, as in R's `Surv()`; negative or non-finite times are not.

use thiserror::Error;

/// Why a pair of (time, event) vectors is not valid survival data.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum DataError {
    #[error("time and event have different lengths ({n_time} and {n_event})")]
    LengthMismatch { n_time: usize, n_event: usize },
    #[error("no subjects")]
    Empty,
    #[error("time at row {row_idx} is {value}; expected a finite number >= 0")]
    BadTime { row_idx: usize, value: f64 },
}

/// Follow-up times and event indicators of `n >= 1` subjects.
#[derive(Debug, Clone, PartialEq)]
pub struct SurvivalData {
    time: Vec<f64>,
    event: Vec<bool>,
}

impl SurvivalData {
    /// Validates lengths and times; `event[i]` is true for an event, false for censoring.
    pub fn new(time: Vec<f64>, event: Vec<bool>) -> Result<Self, DataError> {
        if time.len() != event.len() {
            return Err(DataError::LengthMismatch { n_time: time.len(), n_event: event.len() });
        }
        if time.is_empty() {
            return Err(DataError::Empty);
        }
        if let Some((row_idx, &value)) = time.iter().enumerate().find(|(_, t)| !(t.is_finite() && **t >= 0.0))
        {
            return Err(DataError::BadTime { row_idx, value });
        }
        Ok(SurvivalData { time, event })
    }

    /// Number of subjects (always >= 1).
    pub fn len(&self) -> usize {
        self.time.len()
    }

    /// Never true: kept for the `len`/`is_empty` convention.
    pub fn is_empty(&self) -> bool {
        self.time.is_empty()
    }

    pub fn time(&self) -> &[f64] {
        &self.time
    }

    pub fn event(&self) -> &[bool] {
        &self.event
    }

    /// Number of events.
    pub fn n_event(&self) -> usize {
        self.event.iter().filter(|&&e| e).count()
    }

    /// The subjects at `row_idx`, in that order. Panics only on an out-of-range index (a caller bug).
    pub fn subset(&self, row_idx: &[usize]) -> SurvivalData {
        SurvivalData {
            time: row_idx.iter().map(|&i| self.time[i]).collect(),
            event: row_idx.iter().map(|&i| self.event[i]).collect(),
        }
    }

    /// Indices that sort subjects by time, ascending; at tied times events come before censorings
    /// (the usual risk-set convention: a subject censored at t is still at risk at t).
    pub fn order(&self) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..self.len()).collect();
        idx.sort_by(|&a, &b| {
            self.time[a].total_cmp(&self.time[b]).then_with(|| self.event[b].cmp(&self.event[a]))
        });
        idx
    }
}

/// A categorical variable: `codes[i]` indexes `labels`. Levels are sorted as R's `factor()` sorts
/// them: numerically when every label is a number, otherwise as strings.
#[derive(Debug, Clone, PartialEq)]
pub struct Factor {
    labels: Vec<String>,
    codes: Vec<usize>,
}

impl Factor {
    /// Builds the factor of `values`, keeping each label as written (the first spelling seen).
    pub fn from_labels<S: AsRef<str>>(values: &[S]) -> Factor {
        let mut labels: Vec<String> = Vec::new();
        for v in values {
            if !labels.iter().any(|l| l == v.as_ref()) {
                labels.push(v.as_ref().to_string());
            }
        }
        // only finite numbers sort numerically ("nan" or "inf" labels make the factor textual)
        let numeric: Option<Vec<f64>> =
            labels.iter().map(|l| l.trim().parse::<f64>().ok().filter(|x| x.is_finite())).collect();
        match numeric {
            Some(x) => {
                let mut idx: Vec<usize> = (0..labels.len()).collect();
                idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
                // numerically equal spellings ("1" and "1.0") are one level, as in R
                let mut merged: Vec<(f64, String)> = Vec::new();
                for i in idx {
                    if merged.last().is_none_or(|(v, _)| *v != x[i]) {
                        merged.push((x[i], labels[i].clone()));
                    }
                }
                let codes = values
                    .iter()
                    .map(|v| {
                        let xv: f64 = v.as_ref().trim().parse().expect("numeric label");
                        merged.iter().position(|(m, _)| *m == xv).expect("level present")
                    })
                    .collect();
                Factor { labels: merged.into_iter().map(|(_, l)| l).collect(), codes }
            }
            None => {
                labels.sort();
                let codes = values
                    .iter()
                    .map(|v| labels.iter().position(|l| l == v.as_ref()).expect("level"))
                    .collect();
                Factor { labels, codes }
            }
        }
    }

    /// Level labels in sorted order.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The level index of each observation.
    pub fn codes(&self) -> &[usize] {
        &self.codes
    }

    pub fn n_levels(&self) -> usize {
        self.labels.len()
    }

    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_negative_and_nonfinite_times() {
        assert_eq!(
            SurvivalData::new(vec![1.0, -2.0], vec![true, false]),
            Err(DataError::BadTime { row_idx: 1, value: -2.0 })
        );
        assert!(SurvivalData::new(vec![f64::NAN], vec![true]).is_err());
        assert_eq!(SurvivalData::new(vec![], vec![]), Err(DataError::Empty));
        assert!(matches!(
            SurvivalData::new(vec![1.0], vec![true, false]),
            Err(DataError::LengthMismatch { .. })
        ));
    }

    #[test]
    fn order_puts_events_before_censorings_at_ties() {
        let d = SurvivalData::new(vec![3.0, 1.0, 3.0, 2.0], vec![false, true, true, false]).unwrap();
        assert_eq!(d.order(), vec![1, 3, 2, 0]);
    }

    #[test]
    fn factor_sorts_numbers_numerically_and_strings_lexically() {
        let f = Factor::from_labels(&["10", "9", "1.0", "1"]);
        assert_eq!(f.labels(), &["1.0", "9", "10"]);
        assert_eq!(f.codes(), &[2, 1, 0, 0]);
        let g = Factor::from_labels(&["b", "a", "b"]);
        assert_eq!(g.labels(), &["a", "b"]);
        assert_eq!(g.codes(), &[1, 0, 1]);
    }
}
