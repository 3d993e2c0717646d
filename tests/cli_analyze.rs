//! `survmc analyze` from the outside: JSON equal to the library's, and every kind of bad input gets a
//! message naming the place and exit code 2 (never a panic, exit 101).

use std::path::Path;
use std::process::{Command, Output};

fn survmc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_survmc")).args(args).output().expect("survmc runs")
}

/// Writes `csv` to a temporary file and runs `analyze` on it with `flags`.
fn analyze_text(csv: &str, flags: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("input.csv");
    std::fs::write(&path, csv).unwrap();
    let mut args = vec!["analyze", "--data", path.to_str().unwrap(), "--format", "json"];
    args.extend_from_slice(flags);
    survmc(&args)
}

/// Asserts exit code 2 and that stderr contains every one of `needles`.
fn check_rejected(out: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "exit code; stderr: {stderr}");
    for n in needles {
        assert!(stderr.contains(n), "stderr lacks {n:?}: {stderr}");
    }
}

const GOOD: &str = "time,event,g,x,m\n1,1,a,0,3\n2,0,a,1,5\n3,1,b,0,4\n4,1,b,1,8\n5,0,a,1,2\n6,1,b,0,9\n";
const TE: [&str; 4] = ["--time", "time", "--event", "event"];

fn flags<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    TE.iter().copied().chain(extra.iter().copied()).collect()
}

#[test]
fn json_output_of_a_reference_case_parses_and_has_every_block() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/data/ovarian.csv");
    let out = survmc(&[
        "analyze",
        "--data",
        data.to_str().unwrap(),
        "--time",
        "time",
        "--event",
        "event",
        "--group",
        "rx",
        "--marker",
        "age",
        "--cox",
        "age",
        "--cox",
        "age,rx",
        "--at",
        "365,730",
        "--tau",
        "1200",
        "--table",
        "rx,ecog_ps",
        "--compare",
        "age,rx",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for block in ["km", "km_by_group", "tests", "cox", "roc", "maxstat", "group_comparisons"] {
        assert!(v.get(block).is_some(), "missing block {block}");
    }
    // two --cox sets x two tie methods, in R's order: all Efron fits, then all Breslow fits
    let fits = v["cox"].as_array().unwrap();
    let summary: Vec<(usize, &str)> = fits
        .iter()
        .map(|f| (f["covariates"].as_array().unwrap().len(), f["ties"].as_str().unwrap()))
        .collect();
    assert_eq!(summary, vec![(1, "efron"), (2, "efron"), (1, "breslow"), (2, "breslow")]);
    let table = survmc(&[
        "analyze",
        "--data",
        data.to_str().unwrap(),
        "--time",
        "time",
        "--event",
        "event",
        "--format",
        "table",
    ]);
    assert!(String::from_utf8_lossy(&table.stdout).contains("All subjects: n = 26, events = 12"));
}

#[test]
fn unknown_column_names_the_flag_and_lists_the_columns() {
    check_rejected(
        &analyze_text(GOOD, &flags(&["--group", "grp"])),
        &["no column named 'grp'", "--group", "time, event, g"],
    );
}

#[test]
fn non_numeric_time_names_line_and_column() {
    check_rejected(&analyze_text("time,event\n1,1\nsoon,0\n", &TE), &["line 3, column 'time'", "'soon'"]);
}

#[test]
fn negative_time_is_rejected() {
    check_rejected(&analyze_text("time,event\n1,1\n-2,0\n", &TE), &["line 3, column 'time'", "negative"]);
}

#[test]
fn event_coded_one_two_says_how_to_recode() {
    check_rejected(&analyze_text("time,event\n1,2\n2,1\n", &TE), &["line 2, column 'event'", "status - 1"]);
}

#[test]
fn empty_file_and_header_only_are_rejected() {
    check_rejected(&analyze_text("", &TE), &["empty"]);
    check_rejected(&analyze_text("time,event\n", &TE), &["empty"]);
}

#[test]
fn ragged_rows_name_the_line() {
    check_rejected(
        &analyze_text("time,event,g\n1,1,a\n2,0\n", &TE),
        &["line 3", "2 cells where the header has 3"],
    );
}

#[test]
fn one_group_only_for_logrank() {
    check_rejected(
        &analyze_text("time,event,g\n1,1,a\n2,0,a\n", &flags(&["--group", "g"])),
        &["'g'", "only one value"],
    );
}

#[test]
fn no_events() {
    check_rejected(&analyze_text("time,event\n1,0\n2,0\n", &TE), &["no events"]);
}

#[test]
fn constant_covariate_in_cox() {
    let csv = "time,event,c\n1,1,5\n2,0,5\n3,1,5\n";
    check_rejected(&analyze_text(csv, &flags(&["--cox", "c"])), &["covariate 'c'", "constant"]);
}

#[test]
fn marker_with_one_value() {
    let csv = "time,event,m\n1,1,5\n2,0,5\n3,1,5\n";
    check_rejected(&analyze_text(csv, &flags(&["--marker", "m"])), &["'m'", "one value"]);
}

#[test]
fn malformed_flags_are_usage_errors() {
    check_rejected(&analyze_text(GOOD, &flags(&["--table", "g"])), &["--table g"]);
    check_rejected(&analyze_text(GOOD, &flags(&["--at=-1"])), &["--at"]);
    check_rejected(&analyze_text(GOOD, &flags(&["--compare", "x,g,m"])), &["--compare"]);
    check_rejected(
        &survmc(&["analyze", "--data", "/nonexistent/file.csv", "--time", "t", "--event", "e"]),
        &["/nonexistent/file.csv"],
    );
}
