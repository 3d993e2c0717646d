//! `group_comparisons` of every reference case in `../shared/reference` (R 4.2.2, stats:
//! `fisher.test`, `chisq.test`, `wilcox.test`; made by `make_reference.R`), at 1e-8 relative
//! (1e-10 absolute; p-values below 1e-12 not compared).

mod common;

use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use survmc::data::Factor;
use survmc::report::blocks::tables::{contingency_block, mann_whitney_block};
use survmc::report::compare::{Tolerance, differences};

const TOL: Tolerance = Tolerance { rel: 1e-8, abs: 1e-10, skip_below: 1e-12 };

fn reference_dir() -> PathBuf {
    common::reference_dir()
}

/// Columns of a reference CSV by name; an empty cell is `None` (R's NA).
fn read_columns(path: &Path) -> HashMap<String, Vec<Option<String>>> {
    let mut reader = csv::Reader::from_path(path).expect("reference csv");
    let names: Vec<String> = reader.headers().expect("header").iter().map(str::to_string).collect();
    let mut cols: HashMap<String, Vec<Option<String>>> =
        names.iter().map(|n| (n.clone(), Vec::new())).collect();
    for record in reader.records() {
        let record = record.expect("csv record");
        for (name, cell) in names.iter().zip(record.iter()) {
            let cell = cell.trim();
            cols.get_mut(name).unwrap().push(if cell.is_empty() { None } else { Some(cell.to_string()) });
        }
    }
    cols
}

fn column<'a>(cols: &'a HashMap<String, Vec<Option<String>>>, name: &str) -> &'a [Option<String>] {
    cols.get(name).unwrap_or_else(|| panic!("column {name} missing"))
}

/// Differences between R's `group_comparisons` and ours for one case.
fn check_case(case: &str) -> Vec<String> {
    let dir = reference_dir();
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("expected").join(format!("{case}.json"))).expect("expected json"),
    )
    .expect("valid json");
    let gc = &expected["group_comparisons"];
    let cols = read_columns(&dir.join("data").join(format!("{case}.csv")));

    // table(a, b): rows missing either value are dropped
    let table_of: Vec<&str> =
        gc["table_of"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let (a, b) = (column(&cols, table_of[0]), column(&cols, table_of[1]));
    let (a, b): (Vec<&str>, Vec<&str>) =
        a.iter().zip(b).filter_map(|(x, y)| Some((x.as_deref()?, y.as_deref()?))).unzip();
    let contingency = contingency_block(&Factor::from_labels(&a), &Factor::from_labels(&b));

    // wilcox.test(values ~ groups): complete cases
    let x = column(&cols, gc["values_of"].as_str().unwrap());
    let g = column(&cols, gc["groups_of"].as_str().unwrap());
    let (x, g): (Vec<f64>, Vec<&str>) = x
        .iter()
        .zip(g)
        .filter_map(|(v, k)| Some((v.as_deref()?.parse::<f64>().expect("numeric value"), k.as_deref()?)))
        .unzip();
    let mann_whitney = mann_whitney_block(&x, &Factor::from_labels(&g));

    let mut diffs = differences(&gc["contingency"], &contingency, TOL, &[]);
    diffs.extend(differences(&gc["mann_whitney"], &mann_whitney, TOL, &[]));
    diffs.into_iter().map(|d| format!("{case}: {d}")).collect()
}

#[test]
fn every_reference_case_matches_r() {
    let mut cases: Vec<String> = std::fs::read_dir(reference_dir().join("expected"))
        .expect("reference dir")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    cases.sort();
    assert!(cases.len() >= 5, "expected at least the five visible cases, found {cases:?}");
    let diffs: Vec<String> = cases.iter().flat_map(|c| check_case(c)).collect();
    assert!(diffs.is_empty(), "{} differences:\n{}", diffs.len(), diffs.join("\n"));
}

#[test]
fn reference_blocks_report_what_r_reported() {
    // a sanity check that the comparison above is not vacuous: the aml case's fields are present
    let dir = reference_dir();
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected/aml.json")).unwrap()).unwrap();
    let c = &expected["group_comparisons"]["contingency"];
    for field in
        ["rows", "cols", "counts", "fisher_p", "chisq_yates", "chisq_yates_p", "chisq", "chisq_df", "chisq_p"]
    {
        assert!(!c[field].is_null(), "{field}");
    }
    let m = &expected["group_comparisons"]["mann_whitney"];
    for field in ["groups", "w", "p_default", "method_default", "p_normal_cc"] {
        assert!(!m[field].is_null(), "{field}");
    }
}

fn factor(labels: &[&str]) -> Factor {
    Factor::from_labels(labels)
}

#[test]
fn tea_tasting_block_by_hand() {
    // Fisher's tea tasting: truth x guess = [[3, 1], [1, 3]]; P(a = k) = C(4,k) C(4,4-k) / 70, so
    // p = (1 + 16 + 16 + 1) / 70 = 0.4857142857 (R's ?fisher.test example prints 0.4857).
    // Chi-square: E = 2 everywhere, X² = 4 (1/2) = 2; Yates: 4 (0.5)²/2 = 0.5.
    let truth = factor(&["milk", "milk", "milk", "milk", "tea", "tea", "tea", "tea"]);
    let guess = factor(&["milk", "milk", "milk", "tea", "milk", "tea", "tea", "tea"]);
    let block = contingency_block(&truth, &guess);
    assert_eq!(block["counts"], serde_json::json!([[3, 1], [1, 3]]));
    assert!((block["fisher_p"].as_f64().unwrap() - 34.0 / 70.0).abs() < 1e-14);
    assert!((block["chisq"].as_f64().unwrap() - 2.0).abs() < 1e-14);
    assert!((block["chisq_yates"].as_f64().unwrap() - 0.5).abs() < 1e-14);
    // transposing: the same tests
    let t = contingency_block(&guess, &truth);
    let diffs = differences(&block, &t, TOL, &["rows", "cols", "counts"]);
    assert!(diffs.is_empty(), "{diffs:?}");
}

#[test]
fn mann_whitney_block_by_hand() {
    // x = {1, 2} (group "a"), y = {3, 4, 5}: W = 0, exact P(W <= 0) = 1/C(5,2) = 0.1, p = 0.2.
    // Swapping the labels makes y the first sample: W = 6, P(W >= 6) = 0.1, p = 0.2.
    let x = [1.0, 2.0, 3.0, 4.0, 5.0];
    let b = mann_whitney_block(&x, &factor(&["a", "a", "b", "b", "b"]));
    assert_eq!(b["w"], 0.0);
    assert!((b["p_default"].as_f64().unwrap() - 0.2).abs() < 1e-15);
    assert_eq!(b["method_default"], "Wilcoxon rank sum exact test");
    let s = mann_whitney_block(&x, &factor(&["b", "b", "a", "a", "a"]));
    assert_eq!(s["w"], 6.0);
    assert_eq!(s["p_default"], b["p_default"]);
    // three groups: R stops; here nulls and a note
    let three = mann_whitney_block(&x, &factor(&["a", "b", "c", "a", "b"]));
    assert!(three["p_default"].is_null() && three["w"].is_null());
}
