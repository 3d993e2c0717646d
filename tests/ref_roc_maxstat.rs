//! The `roc` and `maxstat` blocks against R (pROC 1.18.0, maxstat 0.7-25) on every reference case
//! in `../shared/reference` (made by `make_reference.R`).

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;
use survmc::data::SurvivalData;
use survmc::report::blocks::maxstat::maxstat_block;
use survmc::report::blocks::roc::roc_block;
use survmc::report::compare::{Tolerance, differences};

/// The standard of the reference README: 1e-8 relative, 1e-10 absolute, p-values below 1e-12 skipped.
const TOL: Tolerance = Tolerance { rel: 1e-8, abs: 1e-10, skip_below: 1e-12 };

/// One reference case, restricted to the rows where the marker is present.
struct Case {
    name: String,
    expected: Value,
    data: SurvivalData,
    marker: Vec<f64>,
}

fn load(expected_path: &Path) -> Case {
    let name = expected_path.file_stem().unwrap().to_string_lossy().into_owned();
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(expected_path).unwrap()).unwrap();
    let marker_col = expected["columns"]["marker"].as_str().expect("columns.marker").to_string();
    let csv_path = common::reference_dir().join("data").join(format!("{name}.csv"));
    let mut reader = csv::Reader::from_path(&csv_path).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col =
        |h: &str| headers.iter().position(|x| x == h).unwrap_or_else(|| panic!("{name}: no column {h}"));
    let (time_idx, event_idx, marker_idx) = (col("time"), col("event"), col(&marker_col));
    let (mut time, mut event, mut marker) = (Vec::new(), Vec::new(), Vec::new());
    for record in reader.records() {
        let record = record.unwrap();
        let x = record[marker_idx].trim();
        if x.is_empty() {
            continue; // missing marker: left out, as make_reference.R does
        }
        marker.push(x.parse::<f64>().unwrap());
        time.push(record[time_idx].trim().parse::<f64>().unwrap());
        event.push(record[event_idx].trim().parse::<f64>().unwrap() == 1.0);
    }
    Case { name, expected, data: SurvivalData::new(time, event).unwrap(), marker }
}

fn cases() -> Vec<Case> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(common::reference_dir().join("expected"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    paths.iter().map(|p| load(p)).collect()
}

fn check(block: &str, compute: impl Fn(&Case) -> Value) {
    let cases = cases();
    let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["aml", "lung", "ovarian", "ties_months", "veteran"]);
    let mut failures = Vec::new();
    for case in &cases {
        let expected = &case.expected[block];
        assert!(expected.is_object(), "{}: no {block} block", case.name);
        let actual = compute(case);
        for d in differences(expected, &actual, TOL, &[]) {
            failures.push(format!("{}.{block}{d}", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn roc_blocks_match_proc() {
    check("roc", |c| roc_block(&c.marker, c.data.event()));
}

#[test]
fn maxstat_blocks_match_maxstat() {
    check("maxstat", |c| maxstat_block(&c.data, &c.marker));
}

#[test]
fn lung_drops_the_rows_missing_the_marker() {
    // lung has one row without ph.karno among 228 (R's is.na(lung$ph.karno))
    let lung = cases().into_iter().find(|c| c.name == "lung").unwrap();
    assert_eq!(lung.data.len(), 227);
}
