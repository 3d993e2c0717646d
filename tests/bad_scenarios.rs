//! Hostile scenario files (issue 7): every file of `tests/bad_scenarios/` goes through the real
//! binary's `survmc run` and `survmc simulate`. Each must be refused with exit code 2 (bad input,
//! never 101, a panic) and a message that names the file, the key (or line and column) and what
//! was expected. A good scenario through the same commands is the control.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_survmc");

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_scenarios").join(name)
}

/// (file, fragments the message must contain besides the file name). Fragments name the key or
/// the line, and what was expected.
const CASES: &[(&str, &[&str])] = &[
    ("unknown_key_top.toml", &["unknown field `nn`", "line 4", "expected"]),
    ("unknown_key_censoring.toml", &["unknown field `att`", "expected"]),
    ("wrong_type_n.toml", &["line 2", "invalid type: string \"fifty\"", "expected"]),
    ("wrong_type_hr.toml", &["hr", "invalid type: string \"half\"", "expected"]),
    ("probability_above_one.toml", &["`covariates.treated", ".p` is 1.5", "expected"]),
    ("probability_negative.toml", &[".p` is -0.1", "expected"]),
    ("probability_nan.toml", &[".p` is NaN", "expected"]),
    ("strata_probabilities_sum.toml", &["strata", "expected", "1"]),
    ("categorical_probs_sum.toml", &["probs", "expected"]),
    ("hr_zero.toml", &["hr` is 0", "expected"]),
    ("hr_negative.toml", &["hr` is -0.5", "expected"]),
    ("hr_infinite.toml", &["hr` is inf", "expected"]),
    ("median_nan.toml", &["median` is NaN", "expected"]),
    ("censoring_infinite.toml", &["censoring.at` is inf", "expected"]),
    ("n_zero.toml", &["`n` is 0", "expected an integer >= 1"]),
    ("n_negative.toml", &["`n` is -5", "expected an integer >= 1"]),
    ("n_huge.toml", &["`n` is 1000000000000", "<= 10000000"]),
    ("n_overflow.toml", &["line 2", "expected"]),
    ("unknown_dist_covariate.toml", &["`covariates.treated.dist` is \"poisson\"", "expected one of"]),
    ("unknown_dist_baseline.toml", &["`outcomes.os.baseline.dist` is \"gompertz\"", "expected one of"]),
    ("missing_outcomes.toml", &["missing field `outcomes`"]),
    ("syntax_error.toml", &["line 11", "string"]),
    ("replicates_zero.toml", &["`analysis.replicates` is 0", "expected an integer >= 1"]),
    ("alpha_above_one.toml", &["`analysis.alpha` is 1.5", "expected"]),
    ("firth_unknown.toml", &["`analysis.firth` is \"sometimes\"", "\"when_monotone\" or \"always\""]),
    ("empty.toml", &["missing field `n`"]),
    ("binary.toml", &["not UTF-8"]),
];

fn survmc(args: &[&str], dir: &Path) -> Output {
    Command::new(BIN).args(args).current_dir(dir).output().expect("the survmc binary runs")
}

fn run_and_simulate(file: &Path, tmp: &Path) -> [(&'static str, Output); 2] {
    let f = file.to_str().unwrap();
    let out_dir = tmp.join("out");
    let csv = tmp.join("cohorts.csv");
    [
        (
            "run",
            survmc(&["run", f, "--reps", "4", "--block-size", "2", "--out", out_dir.to_str().unwrap()], tmp),
        ),
        ("simulate", survmc(&["simulate", f, "--cohorts", "2", "--out", csv.to_str().unwrap()], tmp)),
    ]
}

/// Every file of the corpus is listed in CASES (a new bad file cannot go untested) and vice versa.
#[test]
fn the_corpus_is_covered() {
    let mut on_disk: Vec<String> = std::fs::read_dir(corpus(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = CASES.iter().map(|(f, _)| f.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

#[test]
fn every_bad_scenario_is_refused_with_exit_code_2_and_a_clear_message() {
    let mut failures = Vec::new();
    for (name, fragments) in CASES {
        let tmp = tempfile::tempdir().unwrap();
        for (cmd, out) in run_and_simulate(&corpus(name), tmp.path()) {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let code = out.status.code();
            let mut problems = Vec::new();
            if code != Some(2) {
                problems.push(format!("exit code {code:?}, expected 2"));
            }
            if stderr.contains("panicked") {
                problems.push("panicked".to_string());
            }
            if !stderr.contains(name) {
                problems.push("the message does not name the file".to_string());
            }
            for f in *fragments {
                if !stderr.contains(f) {
                    problems.push(format!("the message lacks {f:?}"));
                }
            }
            // Nothing is written for a refused scenario.
            if tmp.path().join("out").exists() || tmp.path().join("cohorts.csv").exists() {
                problems.push("output was written".to_string());
            }
            if !problems.is_empty() {
                failures.push(format!("{name} via {cmd}: {}\n  stderr: {stderr}", problems.join("; ")));
            }
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

/// The control: the same commands accept a good scenario (so the test above fails for the
/// right reason), and a file that does not exist is a bad input too.
#[test]
fn a_good_scenario_passes_and_a_missing_file_is_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let good = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/textbook_exponential.toml");
    for (cmd, out) in run_and_simulate(&good, tmp.path()) {
        assert_eq!(out.status.code(), Some(0), "{cmd}: {}", String::from_utf8_lossy(&out.stderr));
    }
    assert!(tmp.path().join("out/summary.json").exists());
    assert!(tmp.path().join("cohorts.csv").exists());

    let tmp = tempfile::tempdir().unwrap();
    for (cmd, out) in run_and_simulate(&corpus("no_such_file.toml"), tmp.path()) {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {stderr}");
        assert!(stderr.contains("no_such_file.toml") && stderr.contains("cannot read"), "{cmd}: {stderr}");
    }
}
