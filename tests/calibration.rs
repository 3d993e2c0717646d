//! `survmc simulate` and `survmc calibrate` end to end, and the calibrated default scenario
//! against the paper's figures (issue 3, "Done when").

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use survmc::cohort::calibrate::{simulate_statistics, target_rows};
use survmc::cohort::{Cohort, generate_into};
use survmc::engine::rng_for;

const BIN: &str = env!("CARGO_BIN_EXE_survmc");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const TARGETS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/paper/targets.json");

fn scenario_path(id: &str) -> PathBuf {
    Path::new(ROOT).join("scenarios").join(format!("{id}.toml"))
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).current_dir(ROOT).output().expect("the survmc binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn targets_json() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(TARGETS).expect("targets.json")).expect("JSON")
}

// ---------------------------------------------------------------------------------------------
// simulate
// ---------------------------------------------------------------------------------------------

#[test]
fn simulate_writes_k_cohorts_reproducibly_and_cohort_k_is_replicate_k_minus_1() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cohorts.csv");
    let out2 = dir.path().join("again.csv");
    let path = scenario_path("tsh2024");
    let p = path.to_str().unwrap();
    for o in [&out, &out2] {
        let r = run(&["simulate", p, "--cohorts", "3", "--seed", "7", "--out", o.to_str().unwrap()]);
        assert!(r.status.success(), "{}", stderr(&r));
    }
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(bytes, std::fs::read(&out2).unwrap(), "a seed fixes the file byte for byte");

    let scenario = survmc::scenario::load(&path).unwrap();
    let mut rdr = csv::Reader::from_reader(bytes.as_slice());
    let header: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    let names = Cohort::new(&scenario).column_names().iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(header[0], "cohort");
    assert_eq!(&header[1..], names.as_slice());
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3 * scenario.n);

    // Cohort 2 of the file is engine replicate 1 of (seed 7, "tsh2024").
    let mut cohort = Cohort::new(&scenario);
    generate_into(&scenario, &mut rng_for(7, "tsh2024", 1), &mut cohort);
    let second: Vec<&csv::StringRecord> = rows.iter().filter(|r| &r[0] == "2").collect();
    assert_eq!(second.len(), scenario.n);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    for (i, r) in second.iter().enumerate() {
        let t: f64 = r[col("os_time")].parse().unwrap();
        assert!((t - cohort.os_time()[i]).abs() < 1e-9, "row {i}: {t} vs {}", cohort.os_time()[i]);
        assert_eq!(&r[col("os_event")], if cohort.os_event()[i] { "1" } else { "0" });
        assert_eq!(&r[col("stratum")], cohort.stratum_names()[cohort.stratum()[i]]);
        let age = cohort.column_by_name("age_years").unwrap()[i];
        assert_eq!(r[col("age_years")].parse::<f64>().ok(), age);
    }
    // Missing values are empty cells: bmi has exactly 4 missing per cohort (Table 1 footnote).
    assert_eq!(second.iter().filter(|r| r[col("bmi")].is_empty()).count(), 4);
    // Categorical characteristics are written as level labels.
    assert!(second.iter().all(|r| ["colon", "rectum", "unknown"].contains(&&r[col("primary_site")])));
}

#[test]
fn analyze_reads_one_cohort_of_simulate_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cohorts.csv");
    let path = scenario_path("tsh2024");
    let r = run(&["simulate", path.to_str().unwrap(), "--cohorts", "2", "--out", out.to_str().unwrap()]);
    assert!(r.status.success(), "{}", stderr(&r));
    let r = run(&[
        "analyze",
        "--data",
        out.to_str().unwrap(),
        "--where",
        "cohort=1",
        "--time",
        "os_time",
        "--event",
        "os_event",
        "--group",
        "stratum",
        "--table",
        "stratum,lymphatic_invasion",
        "--format",
        "json",
    ]);
    assert!(r.status.success(), "{}", stderr(&r));
    let text = String::from_utf8(r.stdout).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    // 53 patients of cohort 1 only, both strata present by name.
    assert!(text.contains("le10") && text.contains("gt10"), "{text}");
    assert!(text.contains("\"n\": 53") || text.contains("53"), "{text}");
    assert!(v.is_object());
}

// ---------------------------------------------------------------------------------------------
// calibrate
// ---------------------------------------------------------------------------------------------

/// A short calibration (40 cohorts, `max_evals` loss evaluations) into `dir`.
fn calibrate_into(dir: &Path, scenario: &Path, max_evals: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "calibrate",
        scenario.to_str().unwrap(),
        "--cohorts",
        "40",
        "--max-evals",
        max_evals,
        "--targets",
        TARGETS,
        "--out-dir",
        dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn calibrate_is_deterministic_for_a_seed() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let c = tempfile::tempdir().unwrap();
    let s = scenario_path("tsh2024");
    for d in [a.path(), b.path()] {
        let r = calibrate_into(d, &s, "25", &["--seed", "11"]);
        assert!(r.status.success(), "{}", stderr(&r));
    }
    let r = calibrate_into(c.path(), &s, "25", &["--seed", "12"]);
    assert!(r.status.success(), "{}", stderr(&r));
    let read = |d: &Path, f: &str| std::fs::read(d.join(f)).unwrap();
    assert_eq!(read(a.path(), "calibration.json"), read(b.path(), "calibration.json"));
    assert_eq!(read(a.path(), "calibration.md"), read(b.path(), "calibration.md"));
    assert_ne!(read(a.path(), "calibration.json"), read(c.path(), "calibration.json"), "the seed matters");

    // One row per target, named by its dotted path, with every column of the report.
    let v: serde_json::Value = serde_json::from_slice(&read(a.path(), "calibration.json")).unwrap();
    let scenario = survmc::scenario::load(&s).unwrap();
    let cal = scenario.calibration.as_ref().unwrap();
    let rows = v["targets"].as_array().unwrap();
    assert_eq!(rows.len(), cal.targets.len());
    for (row, t) in rows.iter().zip(&cal.targets) {
        assert_eq!(row["path"], t.path.as_str());
        for field in ["target", "mean", "q025", "q975", "tolerance", "mc_se"] {
            assert!(row[field].is_number(), "{} lacks {field}", t.path);
        }
        let clean = row["pass"] == true && row["marginal"] == false;
        assert_eq!(clean, row["reason"].is_null(), "a failure or marginal pass says why: {row}");
        assert!(row["q025"].as_f64() <= row["mean"].as_f64() && row["mean"].as_f64() <= row["q975"].as_f64());
    }
}

#[test]
fn calibrate_write_keeps_comments_and_the_file_reproduces_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("tsh2024.toml");
    let original = std::fs::read_to_string(scenario_path("tsh2024")).unwrap();
    std::fs::write(&copy, &original).unwrap();
    let out = dir.path().join("report");
    let r = calibrate_into(&out, &copy, "12", &["--write"]);
    assert!(r.status.success(), "{}", stderr(&r));
    let written = std::fs::read_to_string(&copy).unwrap();
    let comments =
        |t: &str| t.lines().filter(|l| l.trim_start().starts_with('#')).map(String::from).collect::<Vec<_>>();
    assert_eq!(comments(&written), comments(&original), "every comment line is kept");
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("calibration.json")).unwrap()).unwrap();
    assert_eq!(v["written_back"], true);
    let scenario = survmc::scenario::load(&copy).unwrap();
    for p in v["parameters"].as_array().unwrap() {
        let key = scenario.param_key(p["name"].as_str().unwrap()).unwrap();
        assert_eq!(scenario.parameter(&key), p["value"].as_f64().unwrap(), "{p}");
    }
    // The reported means are those of the written file (values rounded before the final run).
    let cal = scenario.calibration.as_ref().unwrap();
    let stats: Vec<_> = cal.targets.iter().map(|t| t.statistic.clone()).collect();
    let values = simulate_statistics(&scenario, &stats, cal.seed, 40);
    let rows = target_rows(cal, &cal.target_values(&targets_json()).unwrap(), &values);
    for (row, json) in rows.iter().zip(v["targets"].as_array().unwrap()) {
        assert_eq!(row.mean, json["mean"].as_f64().unwrap(), "{}", row.path);
    }
}

// ---------------------------------------------------------------------------------------------
// The calibrated default scenario against the paper (issue 3, "Done when")
// ---------------------------------------------------------------------------------------------

/// Fresh cohorts (a seed other than the calibration's, so that the fit is not judged on the
/// streams it was tuned on). Every mean must be within the issue's tolerance by more than 3 Monte
/// Carlo SEs (the pass is not an accident of these 2000 cohorts) -- except the OS S(60) targets,
/// which the paper makes mutually inconsistent (see below): for those the test asserts the
/// inconsistency and that each mean is within tolerance up to 3 Monte Carlo SEs.
#[test]
fn calibrated_default_scenario_meets_the_issue_tolerances_on_fresh_cohorts() {
    let scenario = survmc::scenario::load(scenario_path("tsh2024")).unwrap();
    let cal = scenario.calibration.as_ref().unwrap();
    // The issue's tolerances; the scenario file must not loosen them.
    let issue: [(&str, f64); 15] = [
        ("overall_survival.km_surv.12", 0.03),
        ("overall_survival.km_surv.36", 0.03),
        ("overall_survival.km_surv.60", 0.03),
        ("overall_survival.by_nodules.le10.km_surv_60", 0.05),
        ("overall_survival.by_nodules.gt10.km_surv_60", 0.05),
        ("overall_survival.rmst_last", 3.0),
        ("overall_survival.by_nodules.le10.rmst_last", 4.0),
        ("overall_survival.by_nodules.gt10.rmst_last", 4.0),
        ("overall_survival.deaths", 1.5),
        ("progression_free_survival.km_surv.60", 0.03),
        ("progression_free_survival.rmst_last", 2.0),
        ("progression_free_survival.events", 2.0),
        ("cohort.followup_months.median", 2.0),
        ("cohort.followup_months.mean", 2.0),
        ("cohort.followup_months.mean_late_era", 2.0),
    ];
    for (path, tol) in issue {
        let t =
            cal.targets.iter().find(|t| t.path == path).unwrap_or_else(|| panic!("{path} is not a target"));
        assert_eq!(t.tolerance, tol, "{path}");
    }
    // The paper's S(60): 0.548 (36 patients) and 0.111 (17) mix to 0.408 for the whole cohort,
    // 0.061 above its reported 0.347 -- more than the 0.03 tolerance. With follow-up independent
    // of the stratum, the pooled KM estimates that mixture, so the three cannot all be central.
    let paper = targets_json();
    let os = &paper["overall_survival"];
    let mix = (36.0 * os["by_nodules"]["le10"]["km_surv_60"].as_f64().unwrap()
        + 17.0 * os["by_nodules"]["gt10"]["km_surv_60"].as_f64().unwrap())
        / 53.0;
    assert!(mix - os["km_surv"]["60"].as_f64().unwrap() > 0.03, "mixture {mix}");
    let inconsistent = [
        "overall_survival.km_surv.60",
        "overall_survival.by_nodules.le10.km_surv_60",
        "overall_survival.by_nodules.gt10.km_surv_60",
    ];

    let stats: Vec<_> = cal.targets.iter().map(|t| t.statistic.clone()).collect();
    let values = simulate_statistics(&scenario, &stats, cal.seed.wrapping_add(1), 2000);
    let rows = target_rows(cal, &cal.target_values(&paper).unwrap(), &values);
    let mut failures = Vec::new();
    for r in &rows {
        assert_eq!(r.n_defined, 2000, "{}", r.path);
        let d = (r.mean - r.target).abs();
        let ok = if inconsistent.contains(&r.path.as_str()) {
            d - 3.0 * r.mc_se <= r.tolerance
        } else {
            d + 3.0 * r.mc_se <= r.tolerance
        };
        if !ok {
            failures.push(format!(
                "{}: mean {} (MC SE {}) vs {} +- {}",
                r.path, r.mean, r.mc_se, r.target, r.tolerance
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The committed report is the one the committed scenario gives: every target passes, the
/// parameters are those of the file, and the run was written back.
#[test]
fn committed_report_matches_the_committed_scenario() {
    for id in ["tsh2024", "tsh2024_null"] {
        let report = Path::new(ROOT).join("results").join(id).join("calibration.json");
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
        let scenario = survmc::scenario::load(scenario_path(id)).unwrap();
        assert_eq!(v["written_back"], true, "{id}");
        assert_eq!(v["scenario_sha256"], scenario.sha256.as_str(), "{id}: the report describes this file");
        for p in v["parameters"].as_array().unwrap() {
            let key = scenario.param_key(p["name"].as_str().unwrap()).unwrap();
            assert_eq!(scenario.parameter(&key), p["value"].as_f64().unwrap(), "{id}: {p}");
        }
        let failing: Vec<&str> = v["targets"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["pass"] == false)
            .map(|r| r["path"].as_str().unwrap())
            .collect();
        assert_eq!(v["n_fail"].as_u64().unwrap() as usize, failing.len());
        assert!(failing.is_empty(), "{id}: {failing:?}");
    }
}

/// The null scenario has no covariate effect: both nodule strata share one OS curve, so the
/// paper's stratum contrast (S(60) 0.548 vs 0.111) is absent, as its file documents.
#[test]
fn null_scenario_has_no_stratum_contrast() {
    let scenario = survmc::scenario::load(scenario_path("tsh2024_null")).unwrap();
    assert!(scenario.os.effects.is_empty());
    let le10 = scenario.strata.index("le10");
    let gt10 = scenario.strata.index("gt10");
    let stat = |s| survmc::scenario::Statistic::KmSurv {
        endpoint: survmc::scenario::Endpoint::Os,
        at: 60.0,
        stratum: s,
    };
    let values = simulate_statistics(&scenario, &[stat(le10), stat(gt10)], 5, 2000);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let sd = |v: &[f64]| {
        let m = mean(v);
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
    };
    let diff = mean(&values[0]) - mean(&values[1]);
    // SE of the difference of two independent means over 2000 cohorts; 4 SE: a false alarm
    // has probability < 1e-4, and a contrast of the paper's size (0.44) is far outside.
    let se = (sd(&values[0]).powi(2) / 2000.0 + sd(&values[1]).powi(2) / 2000.0).sqrt();
    assert!(diff.abs() < 4.0 * se, "difference {diff}, SE {se}");
}

// ---------------------------------------------------------------------------------------------
// Malformed input: exit code 2 and a message that says where
// ---------------------------------------------------------------------------------------------

#[test]
fn malformed_scenarios_exit_with_code_2() {
    let original = std::fs::read_to_string(scenario_path("tsh2024")).unwrap();
    let cases: [(&str, String, &str); 7] = [
        ("negative n", original.replacen("n = 53", "n = -3", 1), "n"),
        ("unknown key", original.replacen("n = 53", "n = 53\nsize = 4", 1), "size"),
        ("TOML syntax", original.replacen("n = 53", "n = = 53", 1), "line"),
        (
            "probability above 1",
            original.replacen("strata.le10 = { p = 0.5556 }", "strata.le10 = { p = 1.5556 }", 1),
            "male",
        ),
        ("HR <= 0", original.replacen("hr = 4.284", "hr = -4.284", 1), "hr"),
        ("unknown distribution", original.replacen("dist = \"gamma\"", "dist = \"gumbel\"", 1), "gumbel"),
        (
            "calibration parameter the baseline lacks",
            original.replacen(
                "key = \"outcomes.os.baseline.rates.2\"",
                "key = \"outcomes.os.baseline.shape\"",
                1,
            ),
            "outcomes.os.baseline.shape",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (what, text, needle) in cases {
        assert_ne!(text, original, "{what}: the test edit did not apply");
        let path = dir.path().join("broken.toml");
        std::fs::write(&path, text).unwrap();
        let p = path.to_str().unwrap();
        let out = dir.path().join("out.csv");
        for args in [
            vec!["simulate", p, "--out", out.to_str().unwrap()],
            vec![
                "calibrate",
                p,
                "--cohorts",
                "2",
                "--max-evals",
                "1",
                "--targets",
                TARGETS,
                "--out-dir",
                dir.path().to_str().unwrap(),
            ],
        ] {
            let r = run(&args);
            let err = stderr(&r);
            assert_eq!(r.status.code(), Some(2), "{what} ({}): {err}", args[0]);
            assert!(err.contains("broken.toml") && err.contains(needle), "{what}: {err}");
            assert!(!err.contains("panicked"), "{what}: {err}");
        }
    }
    // A missing file, a scenario without [calibration], a target path absent from targets.json.
    let r = run(&["simulate", "no/such/file.toml", "--out", "x.csv"]);
    assert_eq!(r.status.code(), Some(2), "{}", stderr(&r));
    let textbook = scenario_path("textbook_exponential");
    assert!(!std::fs::read_to_string(&textbook).unwrap().contains("[calibration]"));
    let r = run(&[
        "calibrate",
        textbook.to_str().unwrap(),
        "--targets",
        TARGETS,
        "--out-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(r.status.code(), Some(2), "{}", stderr(&r));
    assert!(stderr(&r).contains("[calibration]"), "{}", stderr(&r));
    let absent =
        original.replacen("path = \"overall_survival.deaths\"", "path = \"overall_survival.dead\"", 1);
    let path = dir.path().join("absent.toml");
    std::fs::write(&path, absent).unwrap();
    let r = run(&[
        "calibrate",
        path.to_str().unwrap(),
        "--targets",
        TARGETS,
        "--out-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(r.status.code(), Some(2), "{}", stderr(&r));
    assert!(stderr(&r).contains("overall_survival.dead"), "{}", stderr(&r));
}
