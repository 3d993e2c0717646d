//! Every reference case of `../shared/reference` (R 4.2.2; survival 3.5.3; pROC 1.18.0; maxstat 0.7-25;
//! made by `make_reference.R`) through `survmc analyze`, every field at 1e-8 relative (1e-10 absolute
//! near zero; p-values below 1e-12 are not compared, as the reference README allows).

mod common;

use serde_json::Value;
use std::path::Path;
use survmc::analysis::analyze::{AnalyzeSpec, analyze};
use survmc::input::Dataset;
use survmc::report::compare::{Tolerance, differences};

const TOL: Tolerance = Tolerance { rel: 1e-8, abs: 1e-10, skip_below: 1e-12 };

use common::{reference_dir, vendored_dir};

fn strings(v: &Value) -> Vec<String> {
    v.as_array().expect("array").iter().map(|s| s.as_str().expect("string").to_string()).collect()
}

/// The `analyze` flags that reproduce what `make_reference.R` asked R for.
fn spec_of(expected: &Value) -> AnalyzeSpec {
    let cols = &expected["columns"];
    let mut cox: Vec<Vec<String>> = Vec::new();
    for fit in expected["cox"].as_array().expect("cox list") {
        let covs = strings(&fit["covariates"]);
        if fit["ties"] == "efron" {
            cox.push(covs);
        }
    }
    let gc = &expected["group_comparisons"];
    let table = strings(&gc["table_of"]);
    AnalyzeSpec {
        time: cols["time"].as_str().unwrap().into(),
        event: cols["event"].as_str().unwrap().into(),
        group: cols["group"].as_str().map(Into::into),
        marker: cols["marker"].as_str().map(Into::into),
        cox,
        at: expected["km"]["at_times"].as_array().unwrap().iter().map(|t| t.as_f64().unwrap()).collect(),
        tau: expected["km"]["rmean_tau"].as_f64(),
        table: Some((table[0].clone(), table[1].clone())),
        compare: Some((gc["values_of"].as_str().unwrap().into(), gc["groups_of"].as_str().unwrap().into())),
    }
}

/// Runs one case and returns its differences from R.
fn check_case(case: &str) -> Vec<String> {
    let dir = reference_dir();
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("expected").join(format!("{case}.json"))).expect("expected json"),
    )
    .expect("valid json");
    let ds = Dataset::read(&dir.join("data").join(format!("{case}.csv"))).expect("reference csv");
    let actual = analyze(&ds, &spec_of(&expected)).expect("analysis runs");
    let mut diffs = differences(&expected, &actual, TOL, &["case", "note", "generated_by", "cox"]);
    let (Some(e_fits), Some(a_fits)) = (expected["cox"].as_array(), actual["cox"].as_array()) else {
        diffs.push(".cox: missing".into());
        return diffs;
    };
    if e_fits.len() != a_fits.len() {
        diffs.push(format!(".cox: {} fits expected, {} found", e_fits.len(), a_fits.len()));
        return diffs;
    }
    for (k, (e, a)) in e_fits.iter().zip(a_fits).enumerate() {
        diffs.extend(cox_differences(e, a).into_iter().map(|d| format!(".cox[{k}]{d}")));
    }
    diffs
}

/// A fit where R warned that a coefficient may be infinite has no finite truth to match: R's number is
/// where its iterations stopped. There survmc must flag `monotone_likelihood` and agree on what is
/// well defined (data counts, the null log-likelihood, the score test, the concordance).
fn cox_differences(e: &Value, a: &Value) -> Vec<String> {
    let r_warned = e["warnings"].as_array().is_some_and(|w| !w.is_empty());
    if !r_warned {
        let mut d = differences(e, a, TOL, &[]);
        if a["monotone_likelihood"] != Value::Bool(false) {
            d.push(".monotone_likelihood: expected false".into());
        }
        return d;
    }
    let mut d = Vec::new();
    if a["monotone_likelihood"] != Value::Bool(true) {
        d.push(format!(".monotone_likelihood: R warned {}, survmc did not flag it", e["warnings"]));
    }
    for key in [
        "covariates",
        "ties",
        "n",
        "n_event",
        "loglik_null",
        "score_chisq",
        "score_p",
        "concordance",
        "warnings",
    ] {
        d.extend(differences(&e[key], &a[key], TOL, &[]).into_iter().map(|x| format!(".{key}{x}")));
    }
    d
}

#[test]
fn every_reference_case_matches_r() {
    let mut cases: Vec<String> = std::fs::read_dir(reference_dir().join("expected"))
        .expect("../shared/reference/expected exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no reference case found in {}", reference_dir().display());
    let mut report = Vec::new();
    for case in &cases {
        let diffs = check_case(case);
        if !diffs.is_empty() {
            report.push(format!("{case}: {} differences\n  {}", diffs.len(), diffs.join("\n  ")));
        }
    }
    assert!(report.is_empty(), "differences from R:\n{}", report.join("\n"));
}

#[test]
fn vendored_copy_equals_shared_reference() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/reference");
    if !shared.join("expected").is_dir() {
        return; // a clone outside the workplace has only the copy
    }
    for sub in ["data", "expected"] {
        for entry in std::fs::read_dir(vendored_dir().join(sub)).unwrap() {
            let path = entry.unwrap().path();
            let original = shared.join(sub).join(path.file_name().unwrap());
            assert_eq!(
                std::fs::read(&path).unwrap(),
                std::fs::read(&original).unwrap_or_default(),
                "{} differs from {}",
                path.display(),
                original.display()
            );
        }
    }
}
