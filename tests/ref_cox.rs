//! Cox models against R: every `cox[]` entry of every case in ../shared/reference
//! (R 4.2.2, survival 3.5.3: `coxph(Surv(time, event) ~ covariates, ties = ...)`, default control;
//! rows missing a covariate of the model left out).

mod common;

use serde_json::Value;
use survmc::data::SurvivalData;
use survmc::estimators::cox::Ties;
use survmc::report::blocks::cox::cox_block;
use survmc::report::compare::{Tolerance, differences};

const CASES: [&str; 5] = ["aml", "lung", "ovarian", "ties_months", "veteran"];

/// The CSV as named columns; an empty cell is `None`.
fn read_csv(case: &str) -> Vec<(String, Vec<Option<f64>>)> {
    let mut rdr =
        csv::Reader::from_path(format!("{}/data/{case}.csv", common::reference_dir().display())).unwrap();
    let names: Vec<String> = rdr.headers().unwrap().iter().map(str::to_string).collect();
    let mut cols: Vec<Vec<Option<f64>>> = vec![Vec::new(); names.len()];
    for rec in rdr.records() {
        let rec = rec.unwrap();
        for (k, cell) in rec.iter().enumerate() {
            cols[k].push(if cell.trim().is_empty() { None } else { Some(cell.trim().parse().unwrap()) });
        }
    }
    names.into_iter().zip(cols).collect()
}

fn column<'a>(cols: &'a [(String, Vec<Option<f64>>)], name: &str) -> &'a [Option<f64>] {
    &cols.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no column {name}")).1
}

#[test]
fn cox_matches_r_on_every_reference_case() {
    let tol = Tolerance { rel: 1e-8, abs: 1e-10, skip_below: 1e-12 };
    let mut failures = Vec::new();
    let mut n_models = 0;
    for case in CASES {
        let cols = read_csv(case);
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(format!("{}/expected/{case}.json", common::reference_dir().display()))
                .unwrap(),
        )
        .unwrap();
        let models = expected["cox"].as_array().unwrap();
        assert!(!models.is_empty(), "{case}: no cox models");
        for want in models {
            let names: Vec<String> = want["covariates"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect();
            let ties = match want["ties"].as_str().unwrap() {
                "efron" => Ties::Efron,
                "breslow" => Ties::Breslow,
                other => panic!("unknown ties {other}"),
            };
            let time = column(&cols, "time");
            let event = column(&cols, "event");
            let keep: Vec<usize> = (0..time.len())
                .filter(|&i| {
                    time[i].is_some()
                        && event[i].is_some()
                        && names.iter().all(|n| column(&cols, n)[i].is_some())
                })
                .collect();
            let data = SurvivalData::new(
                keep.iter().map(|&i| time[i].unwrap()).collect(),
                keep.iter().map(|&i| event[i].unwrap() == 1.0).collect(),
            )
            .unwrap();
            let x: Vec<Vec<f64>> =
                names.iter().map(|n| keep.iter().map(|&i| column(&cols, n)[i].unwrap()).collect()).collect();
            let got = cox_block(&data, &names, &x, ties);
            assert_eq!(got["monotone_likelihood"], Value::Bool(false), "{case} {names:?}");
            for d in differences(want, &got, tol, &[]) {
                failures.push(format!("{case} {names:?} {}: {d}", ties_name(ties)));
            }
            n_models += 1;
        }
    }
    assert!(failures.is_empty(), "{} differences:\n{}", failures.len(), failures.join("\n"));
    assert!(n_models >= 20, "only {n_models} models checked");
}

fn ties_name(t: Ties) -> &'static str {
    t.r_name()
}
