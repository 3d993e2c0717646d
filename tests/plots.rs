//! SVG figures: well-formed documents with the embedded font's text, and no panic or NaN on
//! degenerate input. Writes the four example figures to target/plot-examples/ for a human look.

use proptest::prelude::*;
use survmc::report::plots::{
    PlotError, Series, StepCurve, distribution_with_truth, histogram, km_curves, power_curves,
};

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/target/plot-examples");

/// Checks a rendered figure: an `<svg>` root, balanced tags, no NaN/inf, and each expected
/// string inside a `<text>` element (i.e. drawn as text with the registered font family).
fn check(svg: &str, texts: &[&str]) {
    assert!(svg.trim_start().starts_with("<svg"), "does not start with <svg");
    assert!(svg.trim_end().ends_with("</svg>"), "does not end with </svg>");
    assert_balanced(svg);
    for bad in ["NaN", "inf\"", "inf ", "-inf"] {
        assert!(!svg.contains(bad), "SVG contains {bad:?}");
    }
    let texts_in_svg = text_elements(svg);
    for t in texts {
        let escaped = t.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
        assert!(
            texts_in_svg.iter().any(|x| x.contains(&escaped)),
            "no <text> element with {t:?}; texts: {texts_in_svg:?}"
        );
    }
    assert!(svg.contains("font-family=\"DejaVu Sans, sans-serif\""), "embedded font family not used");
}

/// Contents of every `<text ...>...</text>` element.
fn text_elements(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|s| {
            let body = &s[s.find('>')? + 1..];
            Some(body[..body.find("</text>")?].trim().to_string())
        })
        .collect()
}

/// Every opened tag is closed in order (self-closing `<x/>` and `<?xml ...?>` excepted).
fn assert_balanced(svg: &str) {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = svg;
    while let Some(start) = rest.find('<') {
        let end = rest[start..].find('>').expect("unterminated tag") + start;
        let tag = &rest[start + 1..end];
        rest = &rest[end + 1..];
        if tag.starts_with('?') || tag.starts_with('!') || tag.ends_with('/') {
            continue;
        }
        let name: String = tag.trim_start_matches('/').chars().take_while(|c| !c.is_whitespace()).collect();
        if tag.starts_with('/') {
            assert_eq!(stack.pop().as_deref(), Some(name.as_str()), "mismatched </{name}>");
        } else {
            stack.push(name);
        }
        assert!(!rest.is_empty() || stack.is_empty(), "unclosed tags {stack:?}");
    }
    assert!(stack.is_empty(), "unclosed tags {stack:?}");
}

fn write_example(name: &str, svg: &str) {
    std::fs::create_dir_all(EXAMPLES).unwrap();
    std::fs::write(format!("{EXAMPLES}/{name}.svg"), svg).unwrap();
}

/// A made-up exponential-ish KM step curve (not a statistic under test, only something to draw).
fn synthetic_km(label: &str, rate: f64, n_steps: usize) -> StepCurve {
    let time: Vec<f64> = (1..=n_steps).map(|i| i as f64 * 90.0 / n_steps as f64).collect();
    let surv = time.iter().map(|t| (-rate * t).exp()).collect();
    StepCurve { label: label.to_string(), time, surv }
}

#[test]
fn km_curves_example() {
    let curves = [
        synthetic_km("Synthetic cohorts (n = 53)", 0.018, 30),
        synthetic_km("Synthetic cohorts (n = 53)", 0.022, 25),
        synthetic_km("Synthetic cohorts (n = 53)", 0.026, 35),
        synthetic_km("Large-sample truth", 0.021, 200),
    ];
    // Paper's OS at 1, 3, 5 years (the 5-year value 34.7% is the paper's headline; the others are
    // placeholders for the figure, not reference numbers).
    let refs = [(12.0, 0.80, "1 y: 80%"), (36.0, 0.50, "3 y: 50%"), (60.0, 0.347, "5 y: 34.7%")];
    let svg = km_curves(
        "Overall survival: synthetic cohorts vs the paper",
        &curves,
        &refs,
        "Months since hepatectomy",
        "Overall survival",
    )
    .unwrap();
    check(
        &svg,
        &[
            "Overall survival: synthetic cohorts vs the paper",
            "Months since hepatectomy",
            "Overall survival",
            "5 y: 34.7%",
            "Synthetic cohorts (n = 53)",
            "Large-sample truth",
            "Paper (published)",
            "100%",
            "50%",
        ],
    );
    // One legend entry per label, not one per curve.
    let n = text_elements(&svg).iter().filter(|t| *t == "Synthetic cohorts (n = 53)").count();
    assert_eq!(n, 1);
    write_example("km_curves", &svg);
}

/// Distribution of a selected cut-point (made-up counts).
fn cut_bins() -> Vec<(f64, f64, u64)> {
    let counts = [3_u64, 10, 25, 60, 120, 180, 210, 160, 110, 70, 40, 22, 10, 5];
    counts.iter().enumerate().map(|(i, &c)| (i as f64 + 1.5, i as f64 + 2.5, c)).collect()
}

#[test]
fn histogram_example() {
    let svg = histogram(
        "Selected cut-point for the nodule count",
        &cut_bins(),
        &[(8.0, "True cut: 8"), (10.5, "Paper: > 10")],
        "Cut-point (number of nodules)",
    )
    .unwrap();
    check(
        &svg,
        &[
            "Selected cut-point for the nodule count",
            "Cut-point (number of nodules)",
            "Share of replicates",
            "True cut: 8",
            "Paper: > 10",
        ],
    );
    write_example("histogram", &svg);
}

#[test]
fn power_curves_example() {
    let ns = [53.0, 100.0, 200.0, 400.0, 800.0];
    let series = [
        Series {
            label: "Log-rank, nodules > 10".into(),
            points: ns
                .iter()
                .zip([0.31, 0.52, 0.79, 0.96, 0.999])
                .map(|(&n, p)| (n, p, (p * (1.0 - p) / 1000.0_f64).sqrt()))
                .collect(),
        },
        Series {
            label: "Multivariate Cox".into(),
            points: ns
                .iter()
                .zip([0.18, 0.33, 0.58, 0.85, 0.98])
                .map(|(&n, p)| (n, p, (p * (1.0 - p) / 1000.0_f64).sqrt()))
                .collect(),
        },
    ];
    let svg =
        power_curves("Power against sample size", &series, &[(0.8, "80%"), (0.9, "90%")], "Patients (n)")
            .unwrap();
    check(
        &svg,
        &[
            "Power against sample size",
            "Patients (n)",
            "Power",
            "Log-rank, nodules > 10",
            "Multivariate Cox",
            "80%",
            "90%",
        ],
    );
    write_example("power_curves", &svg);
}

#[test]
fn distribution_with_truth_example() {
    // Log-spaced bins of an HR from 0.5 to 20 (made-up counts, skewed right like a small-sample HR).
    let edges: Vec<f64> = (0..=24).map(|i| 0.5 * 20.0_f64.powf(i as f64 / 24.0 * 1.23)).collect();
    let counts =
        [2_u64, 5, 12, 30, 60, 95, 130, 150, 140, 120, 95, 70, 50, 35, 25, 18, 12, 8, 6, 4, 3, 2, 1, 1];
    let bins: Vec<(f64, f64, u64)> = edges.windows(2).zip(counts).map(|(w, c)| (w[0], w[1], c)).collect();
    let svg = distribution_with_truth(
        "Hazard ratio for nodules > 10 (univariate Cox)",
        &bins,
        2.1,
        Some(4.28),
        "Hazard ratio (log scale)",
        true,
    )
    .unwrap();
    check(
        &svg,
        &[
            "Hazard ratio for nodules > 10 (univariate Cox)",
            "Hazard ratio (log scale)",
            "Truth: 2.1",
            "Paper: 4.28",
        ],
    );
    write_example("distribution_with_truth", &svg);
}

/// A degenerate input gives `Err` or a valid figure (with "No data" when nothing is drawable).
fn check_degenerate(result: Result<String, PlotError>, title: &str, expect_no_data: bool) {
    match result {
        Err(e) => panic!("{title}: plotters failed: {e}"),
        Ok(svg) => {
            check(&svg, &[title]);
            assert_eq!(
                text_elements(&svg).iter().any(|t| t == "No data"),
                expect_no_data,
                "{title}: 'No data' note"
            );
        }
    }
}

#[test]
fn degenerate_km_curves() {
    let nan = f64::NAN;
    check_degenerate(km_curves("empty", &[], &[], "t", "S"), "empty", true);
    let empty = StepCurve { label: "e".into(), time: vec![], surv: vec![] };
    check_degenerate(km_curves("empty curve", &[empty], &[], "t", "S"), "empty curve", true);
    let one = StepCurve { label: "one".into(), time: vec![5.0], surv: vec![0.9] };
    check_degenerate(km_curves("single point", &[one], &[], "t", "S"), "single point", false);
    let at_zero = StepCurve { label: "z".into(), time: vec![0.0], surv: vec![1.0] };
    check_degenerate(km_curves("only time 0", &[at_zero], &[], "t", "S"), "only time 0", true);
    let all_nan = StepCurve { label: "n".into(), time: vec![nan, nan], surv: vec![nan, 0.5] };
    check_degenerate(km_curves("all missing", &[all_nan], &[(nan, 0.3, "x")], "t", "S"), "all missing", true);
    let some_nan = StepCurve {
        label: "some".into(),
        time: vec![1.0, nan, 3.0, f64::INFINITY, 4.0],
        surv: vec![0.9, 0.8, nan, 0.5, 1.7],
    };
    check_degenerate(
        km_curves("some missing", &[some_nan], &[(2.0, nan, "bad"), (2.0, 0.5, "ok")], "t", "S"),
        "some missing",
        false,
    );
    // Mismatched lengths: the extra times are ignored.
    let ragged = StepCurve { label: "r".into(), time: vec![1.0, 2.0, 3.0], surv: vec![0.5] };
    check_degenerate(km_curves("ragged", &[ragged], &[], "t", "S"), "ragged", false);
    // Only the paper's points: still a figure.
    check_degenerate(km_curves("refs only", &[], &[(60.0, 0.347, "p")], "t", "S"), "refs only", false);
}

#[test]
fn degenerate_histograms() {
    let nan = f64::NAN;
    check_degenerate(histogram("empty", &[], &[], "x"), "empty", true);
    check_degenerate(histogram("zeros", &[(0.0, 1.0, 0), (1.0, 2.0, 0)], &[(1.0, "m")], "x"), "zeros", true);
    check_degenerate(histogram("one bin", &[(3.0, 4.0, 7)], &[], "x"), "one bin", false);
    check_degenerate(
        histogram("nan bins", &[(nan, 1.0, 5), (2.0, 2.0, 3), (3.0, 1.0, 2)], &[], "x"),
        "nan bins",
        true,
    );
    check_degenerate(
        histogram("nan marker", &[(1.0, 2.0, 5)], &[(nan, "m"), (f64::INFINITY, "i")], "x"),
        "nan marker",
        false,
    );
    check_degenerate(
        distribution_with_truth("nan truth", &[(1.0, 2.0, 5)], nan, Some(nan), "HR", true),
        "nan truth",
        false,
    );
    // On a log axis, bins and truth at or below 0 cannot be drawn.
    check_degenerate(
        distribution_with_truth("log nonpositive", &[(-1.0, 0.0, 5)], 0.0, None, "HR", true),
        "log nonpositive",
        true,
    );
    check_degenerate(
        distribution_with_truth("log one bin", &[(1.0, 1.0 + 1e-9, 5)], 1.0, None, "HR", true),
        "log one bin",
        false,
    );
    // Values beyond 1e100 are not drawn (their ranges would overflow): "No data".
    check_degenerate(
        distribution_with_truth("huge", &[(-1e300, 1e300, 5)], 0.0, None, "HR", false),
        "huge",
        true,
    );
}

#[test]
fn degenerate_power_curves() {
    let nan = f64::NAN;
    check_degenerate(power_curves("empty", &[], &[(0.8, "80%")], "n"), "empty", true);
    let none = Series { label: "none".into(), points: vec![] };
    check_degenerate(power_curves("no points", &[none], &[], "n"), "no points", true);
    let one = Series { label: "one".into(), points: vec![(53.0, 0.3, 0.01)] };
    check_degenerate(power_curves("single point", &[one], &[], "n"), "single point", false);
    let bad = Series {
        label: "bad".into(),
        points: vec![(nan, 0.5, 0.01), (100.0, nan, 0.01), (200.0, 0.7, nan), (400.0, 1.5, -0.2)],
    };
    check_degenerate(power_curves("nan points", &[bad], &[(nan, "x"), (2.0, "y")], "n"), "nan points", false);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// Arbitrary values (including NaN, infinities, huge and negative numbers) never panic,
    /// never fail, and never put a NaN into the SVG.
    #[test]
    fn arbitrary_inputs_give_valid_svgs(
        values in prop::collection::vec(
            prop_oneof![any::<f64>(), -1e3..1e3_f64, Just(f64::NAN), Just(0.0)],
            0..12,
        ),
        counts in prop::collection::vec(0_u64..1000, 0..6),
        log_x in any::<bool>(),
    ) {
        let half = values.len() / 2;
        let curve = StepCurve {
            label: "c".into(),
            time: values[..half].to_vec(),
            surv: values[half..].to_vec(),
        };
        let refs: Vec<(f64, f64, &str)> = values.windows(2).map(|w| (w[0], w[1], "r")).collect();
        check(&km_curves("km", &[curve], &refs, "t", "S").unwrap(), &["km"]);

        let bins: Vec<(f64, f64, u64)> =
            values.windows(2).zip(&counts).map(|(w, &c)| (w[0], w[1], c)).collect();
        let markers: Vec<(f64, &str)> = values.iter().map(|&v| (v, "m")).collect();
        check(&histogram("hist", &bins, &markers, "x").unwrap(), &["hist"]);
        let truth = values.first().copied().unwrap_or(1.0);
        let paper = values.last().copied();
        check(&distribution_with_truth("dist", &bins, truth, paper, "x", log_x).unwrap(), &["dist"]);

        let points: Vec<(f64, f64, f64)> =
            values.windows(3).map(|w| (w[0], w[1], w[2])).collect();
        let series = Series { label: "s".into(), points };
        check(&power_curves("power", &[series], &[(0.8, "80%")], "n").unwrap(), &["power"]);
    }
}
