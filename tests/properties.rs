//! Property tests (proptest) of the estimators' invariants on random survival data, and the fuzz
//! drivers of `fuzz/` on arbitrary bytes (issue 7).
//!
//! Data: n in 1..80, times drawn from a few integer values (heavy ties) or continuous, any event
//! pattern including all censored and all events. The invariants live in `fuzz/drivers.rs` so that
//! `cargo fuzz` checks exactly the same ones:
//! - KM: S non-increasing in [0, 1], every 95% interval in [0, 1] and containing S;
//! - log-rank / Peto–Peto: p in [0, 1], or no p with a `degenerate` reason;
//! - Cox (Efron, Breslow): no NaN/inf in a non-aliased field unless the fit is flagged
//!   (monotone likelihood, out of iterations), HR CI contains the HR, p in [0, 1];
//! - ROC: AUC in [0, 1], DeLong CI in [0, 1] containing it;
//! - maxstat: finite statistic and p-values, or a status saying why there is none;
//! - Fisher, chi-square, Mann–Whitney: p in [0, 1] or none with a reason;
//! - the CSV reader and `analyze` never panic on arbitrary bytes.
//!
//! Case counts are small so the file runs in seconds; `PROPTEST_CASES` raises them.

#[path = "../fuzz/drivers.rs"]
mod drivers;

use drivers::Decoded;
use proptest::prelude::*;
use survmc::data::{Factor, SurvivalData};

fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(cases);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// Times: either a few integer values (ties) or continuous in (0, 100]; zero allowed.
fn times(n: usize) -> impl Strategy<Value = Vec<f64>> {
    prop_oneof![
        prop::collection::vec((0u8..6).prop_map(f64::from), n),
        prop::collection::vec((1u32..24).prop_map(f64::from), n),
        prop::collection::vec(0.001f64..100.0, n),
    ]
}

/// Event indicators: any pattern, or all censored, or all events.
fn events(n: usize) -> impl Strategy<Value = Vec<bool>> {
    prop_oneof![
        6 => prop::collection::vec(any::<bool>(), n),
        1 => Just(vec![false; n]),
        1 => Just(vec![true; n]),
    ]
}

/// A covariate: binary, small integers (ties), continuous, or continuous at a large scale.
fn covariate(n: usize) -> impl Strategy<Value = Vec<f64>> {
    prop_oneof![
        prop::collection::vec((0u8..2).prop_map(f64::from), n),
        prop::collection::vec((-2i8..3).prop_map(f64::from), n),
        prop::collection::vec(-5.0f64..5.0, n),
        prop::collection::vec(-1e6f64..1e6, n),
    ]
}

fn survival_case() -> impl Strategy<Value = Decoded> {
    (1usize..80)
        .prop_flat_map(|n| {
            (
                times(n),
                events(n),
                prop::collection::vec(0usize..3, n),
                covariate(n),
                covariate(n),
                covariate(n),
            )
        })
        .prop_map(|(time, event, group, x1, x2, marker)| Decoded {
            data: SurvivalData::new(time, event).expect("valid times"),
            group,
            x1,
            x2,
            marker,
        })
}

proptest! {
    #![proptest_config(config(96))]

    #[test]
    fn km_is_monotone_in_unit_interval_with_intervals_containing_it(d in survival_case()) {
        drivers::check_km(&d.data);
    }

    #[test]
    fn logrank_p_is_a_probability_or_flagged(d in survival_case()) {
        let n_groups = d.group.iter().max().map_or(1, |g| g + 1);
        drivers::check_logrank(&d.data, &d.group, n_groups);
        // with one group code left unused, the flag says which
        drivers::check_logrank(&d.data, &d.group, n_groups + 1);
    }

    #[test]
    fn cox_has_no_unflagged_nan_and_hr_ci_contains_hr(d in survival_case()) {
        drivers::check_cox(&d.data, std::slice::from_ref(&d.x1));
        drivers::check_cox(&d.data, &[d.x1.clone(), d.x2.clone()]);
        // an exactly collinear pair: the second is aliased, never NaN elsewhere
        let doubled: Vec<f64> = d.x1.iter().map(|v| 2.0 * v).collect();
        drivers::check_cox(&d.data, &[d.x1.clone(), doubled]);
    }

    #[test]
    fn roc_auc_in_unit_interval(d in survival_case()) {
        drivers::check_roc(&d.marker, d.data.event());
    }

    #[test]
    fn maxstat_p_values_finite_or_flagged(d in survival_case()) {
        drivers::check_maxstat(&d.data, &d.marker);
    }

    #[test]
    fn tables_and_mann_whitney_p_in_unit_interval(d in survival_case()) {
        let g: Vec<String> = d.group.iter().map(|g| g.to_string()).collect();
        let e: Vec<&str> = d.data.event().iter().map(|&e| if e { "event" } else { "censored" }).collect();
        drivers::check_tables(&Factor::from_labels(&g), &Factor::from_labels(&e));
        let (x, y): (Vec<f64>, Vec<f64>) = (
            (0..d.x1.len()).filter(|&i| d.data.event()[i]).map(|i| d.x1[i]).collect(),
            (0..d.x1.len()).filter(|&i| !d.data.event()[i]).map(|i| d.x1[i]).collect(),
        );
        drivers::check_mann_whitney(&x, &y);
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// The `fuzz_csv` target: arbitrary bytes into the CSV reader and `analyze`.
    #[test]
    fn csv_reader_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        drivers::csv_and_analyze(&bytes);
    }

    /// Bytes that look like CSV (digits, separators, quotes, line ends, NA, BOM) reach further.
    #[test]
    fn csv_reader_never_panics_on_csv_like_text(
        cells in prop::collection::vec(
            prop_oneof![
                Just("0"), Just("1"), Just("2"), Just("-1"), Just("3.5"), Just("NA"), Just(""), Just("NaN"),
                Just("1e308"), Just("\""), Just("a"), Just(","), Just("\n"), Just("\r\n"), Just(";"),
                Just("\u{feff}"), Just("\t"), Just("inf"),
            ],
            0..120,
        )
    ) {
        let mut text = String::from("t,e,g,m,x\n");
        text.push_str(&cells.concat());
        drivers::csv_and_analyze(text.as_bytes());
    }

    /// The `fuzz_estimators` target: arbitrary bytes decoded into a data set, every estimator run
    /// and its invariants checked.
    #[test]
    fn estimators_hold_their_invariants_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..240)) {
        drivers::estimators(&bytes);
    }
}
