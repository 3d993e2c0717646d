//! Profile-likelihood (likelihood-ratio) intervals of Cox coefficients against R: every case in
//! tests/reference/cox_profile/*.json, made by tests/reference/cox_profile/make_reference.R
//! (R 4.2.2, survival 3.5.3: `coxph` with an `offset(c * x)` term for the profile, `uniroot` to
//! 1e-12 for the ends). The data are inline in each JSON. Tolerance 1e-8 relative, 1e-10 absolute.

use serde_json::{Value, json};
use survmc::data::SurvivalData;
use survmc::estimators::cox::profile::{self, Bound, ProfileControl};
use survmc::estimators::cox::{self, CoxControl, CoxData, Termination, Ties};
use survmc::report::compare::{Tolerance, differences};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/reference/cox_profile");
const CASES: [&str; 6] = [
    "ovarian_age",
    "ties_months_x_efron",
    "aml_maintained_breslow",
    "ovarian_age_rx",
    "separation_x",
    "separation_x_z",
];
const FIELDS: [&str; 6] = ["coef", "loglik", "pl_lower", "pl_upper", "lower_infinite", "upper_infinite"];

/// A JSON value as an array (jsonlite writes a length-1 vector as a scalar).
fn array(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    }
}

struct Case {
    expected: Value,
    data: CoxData,
    columns: Vec<Vec<f64>>,
    ties: Ties,
}

fn load(case: &str) -> Case {
    let text = std::fs::read_to_string(format!("{DIR}/{case}.json")).unwrap();
    let expected: Value = serde_json::from_str(&text).unwrap();
    let nums = |v: &Value| -> Vec<f64> { array(v).iter().map(|x| x.as_f64().unwrap()).collect() };
    let time = nums(&expected["time"]);
    let event: Vec<bool> = nums(&expected["event"]).iter().map(|&e| e == 1.0).collect();
    let rows: Vec<Vec<f64>> = array(&expected["x"]).iter().map(nums).collect();
    let p = array(&expected["covariates"]).len();
    let columns: Vec<Vec<f64>> = (0..p).map(|k| rows.iter().map(|r| r[k]).collect()).collect();
    let ties = match expected["ties"].as_str().unwrap() {
        "efron" => Ties::Efron,
        "breslow" => Ties::Breslow,
        other => panic!("{case}: ties {other}"),
    };
    let data = CoxData::new(&SurvivalData::new(time, event).unwrap());
    Case { expected, data, columns, ties }
}

/// Our fit and intervals, shaped as the reference.
fn actual(c: &Case, control: &ProfileControl) -> Value {
    let fit = cox::fit(&c.data, &c.columns, c.ties, &CoxControl::r_defaults()).unwrap();
    let p = c.columns.len();
    let cis: Vec<_> = (0..p)
        .map(|k| profile::interval(&c.data, &c.columns, c.ties, &fit.coef, k, control).unwrap())
        .collect();
    for ci in &cis {
        assert!((ci.loglik - fit.loglik).abs() <= 1e-12 * fit.loglik.abs(), "{ci:?} vs {}", fit.loglik);
        assert!(ci.lower != Bound::Failed && ci.upper != Bound::Failed, "{cis:?}");
    }
    json!({
        "coef": fit.coef,
        "loglik": fit.loglik,
        "pl_lower": cis.iter().map(|c| c.lower.value()).collect::<Vec<_>>(),
        "pl_upper": cis.iter().map(|c| c.upper.value()).collect::<Vec<_>>(),
        "lower_infinite": cis.iter().map(|c| c.lower == Bound::Infinite).collect::<Vec<_>>(),
        "upper_infinite": cis.iter().map(|c| c.upper == Bound::Infinite).collect::<Vec<_>>(),
    })
}

fn expected_fields(c: &Case, case: &str) -> Value {
    let mut want = serde_json::Map::new();
    for field in FIELDS {
        let v = c.expected.get(field).unwrap_or_else(|| panic!("{case}: reference lacks {field}"));
        let v = if field == "loglik" { v.clone() } else { Value::Array(array(v)) };
        want.insert(field.to_string(), v);
    }
    Value::Object(want)
}

#[test]
fn profile_intervals_match_r_on_every_case() {
    let tol = Tolerance { rel: 1e-8, abs: 1e-10, skip_below: 1e-12 };
    let mut failures = Vec::new();
    for case in CASES {
        let c = load(case);
        let got = actual(&c, &ProfileControl { xtol: 1e-12, ..ProfileControl::standard() });
        let want = expected_fields(&c, case);
        eprintln!("{case}: R {want}\n{case}: us {got}");
        for d in differences(&want, &got, tol, &[]) {
            failures.push(format!("{case}: {d}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn default_control_is_within_1e_7() {
    // the replicate's control (ends to 1e-9 on the log-HR scale)
    let tol = Tolerance { rel: 1e-7, abs: 1e-8, skip_below: 1e-12 };
    for case in CASES {
        let c = load(case);
        let diffs =
            differences(&expected_fields(&c, case), &actual(&c, &ProfileControl::standard()), tol, &[]);
        assert!(diffs.is_empty(), "{case}: {}", diffs.join("\n"));
    }
}

#[test]
fn every_infinite_end_comes_with_a_monotone_fit() {
    // the reference has an infinite end exactly where coxph warns the coefficient may be infinite
    for case in CASES {
        let c = load(case);
        let fit = cox::fit(&c.data, &c.columns, c.ties, &CoxControl::r_defaults()).unwrap();
        let inf = array(&c.expected["upper_infinite"]);
        let any_inf = inf.iter().chain(&array(&c.expected["lower_infinite"])).any(|v| v == true);
        assert_eq!(any_inf, fit.termination == Termination::MonotoneLikelihood, "{case}: {fit:?}");
    }
    assert!(CASES.iter().any(|case| array(&load(case).expected["upper_infinite"]).contains(&json!(true))));
}
