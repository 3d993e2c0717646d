//! Kaplan–Meier and log-rank blocks against R survival 3.5.3 on every reference case in
//! `../shared/reference` (see its README and make_reference.R): `km` on all rows, each
//! `km_by_group` entry on the rows of that group level, and `tests` (survdiff, rho = 0 and 1).

mod common;

use serde_json::Value;
use survmc::data::{Factor, SurvivalData};
use survmc::report::blocks::km::km_block;
use survmc::report::blocks::logrank::tests_block;
use survmc::report::compare::{Tolerance, differences};

const TOL: Tolerance = Tolerance { rel: 1e-8, abs: 1e-10, skip_below: 1e-12 };

/// One reference case: time, event and the group column (None where the cell is empty).
struct Case {
    name: String,
    expected: Value,
    time: Vec<f64>,
    event: Vec<bool>,
    group: Vec<Option<String>>,
}

fn load_cases() -> Vec<Case> {
    let mut names: Vec<String> = std::fs::read_dir(format!("{}/data", common::reference_dir().display()))
        .expect("reference data folder")
        .map(|e| e.expect("dir entry").file_name().to_string_lossy().into_owned())
        .filter_map(|f| f.strip_suffix(".csv").map(str::to_string))
        .collect();
    names.sort();
    names.into_iter().map(|name| load_case(&name)).collect()
}

fn load_case(name: &str) -> Case {
    let text = std::fs::read_to_string(format!("{}/expected/{name}.json", common::reference_dir().display()))
        .expect("expected json");
    let expected: Value = serde_json::from_str(&text).expect("valid json");
    let group_col = expected["columns"]["group"].as_str().expect("columns.group").to_string();
    let mut rdr = csv::Reader::from_path(format!("{}/data/{name}.csv", common::reference_dir().display()))
        .expect("csv");
    let headers = rdr.headers().expect("header").clone();
    let col =
        |h: &str| headers.iter().position(|x| x == h).unwrap_or_else(|| panic!("{name}: no column {h}"));
    let (ti, ei, gi) = (col("time"), col("event"), col(&group_col));
    let (mut time, mut event, mut group) = (Vec::new(), Vec::new(), Vec::new());
    for rec in rdr.records() {
        let rec = rec.expect("csv record");
        let (t, e) = (rec[ti].trim(), rec[ei].trim());
        assert!(!t.is_empty() && !e.is_empty(), "{name}: missing time or event");
        time.push(t.parse::<f64>().expect("numeric time"));
        event.push(e.parse::<f64>().expect("numeric event") == 1.0);
        let g = rec[gi].trim();
        group.push((!g.is_empty()).then(|| g.to_string()));
    }
    Case { name: name.to_string(), expected, time, event, group }
}

fn check(case: &str, what: &str, expected: &Value, actual: &Value) -> Vec<String> {
    assert!(expected.is_object(), "{case}: no {what} in the expected JSON");
    differences(expected, actual, TOL, &[]).into_iter().map(|d| format!("{case} {what}{d}")).collect()
}

#[test]
fn km_and_tests_match_r_on_every_reference_case() {
    let cases = load_cases();
    assert!(cases.len() >= 5, "expected at least five reference cases, found {}", cases.len());
    let mut failures = Vec::new();
    for c in &cases {
        let km_exp = &c.expected["km"];
        let at: Vec<f64> =
            km_exp["at_times"].as_array().expect("at_times").iter().map(|v| v.as_f64().unwrap()).collect();
        let tau = km_exp["rmean_tau"].as_f64();
        let all = SurvivalData::new(c.time.clone(), c.event.clone()).expect("valid data");
        failures.extend(check(&c.name, "km", km_exp, &km_block(&all, &at, tau)));

        // rows with a group value, as R's split() and survdiff's na.action keep them
        let rows: Vec<usize> = (0..c.group.len()).filter(|&i| c.group[i].is_some()).collect();
        let labels: Vec<&str> = rows.iter().map(|&i| c.group[i].as_deref().unwrap()).collect();
        let factor = Factor::from_labels(&labels);
        let sub = all.subset(&rows);

        let by_group = c.expected["km_by_group"].as_object().expect("km_by_group");
        let mut level_names: Vec<&String> = by_group.keys().collect();
        level_names.sort();
        let mut ours: Vec<&String> = factor.labels().iter().collect();
        ours.sort();
        assert_eq!(level_names, ours, "{}: group levels", c.name);
        for (lvl, label) in factor.labels().iter().enumerate() {
            let idx: Vec<usize> = (0..sub.len()).filter(|&i| factor.codes()[i] == lvl).collect();
            let got = km_block(&sub.subset(&idx), &at, tau);
            failures.extend(check(&c.name, &format!("km_by_group.{label}"), &by_group[label], &got));
        }

        failures.extend(check(&c.name, "tests", &c.expected["tests"], &tests_block(&sub, &factor)));
    }
    assert!(failures.is_empty(), "{} differences:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn tau_none_gives_null_rmean_tau_fields() {
    let d = SurvivalData::new(vec![1.0, 2.0, 3.0], vec![true, false, true]).unwrap();
    let b = km_block(&d, &[1.5], None);
    for f in ["rmean_tau", "rmean_at_tau", "rmean_at_tau_se"] {
        assert_eq!(b[f], Value::Null, "{f}");
    }
    assert!(b["rmean_last"].is_number());
}
