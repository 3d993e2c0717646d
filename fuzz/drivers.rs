//! What the fuzz targets run, shared with `tests/properties.rs` (which drives the same functions with
//! proptest's arbitrary bytes, so the suite exercises them without a nightly toolchain).
//!
//! Each driver takes arbitrary bytes, must never panic except through an invariant check, and
//! checks the invariants of issue 7: no NaN or infinity without a flag, KM monotone in [0, 1],
//! p-values in [0, 1], HR intervals containing the HR, AUC in [0, 1].
//!
//! Included with `#[path]` from both places; it depends only on survmc's public API.

#![allow(dead_code)]

use survmc::analysis::analyze::{AnalyzeSpec, analyze};
use survmc::data::{Factor, SurvivalData};
use survmc::estimators::cox::{self, CoxControl, CoxData, Termination, Ties};
use survmc::estimators::km::{self, ConfType};
use survmc::estimators::{logrank, mann_whitney, maxstat, roc, tables};
use survmc::input::Dataset;

/// The CSV reader and `analyze` on arbitrary bytes: any `Ok` or `Err`, never a panic. When the file
/// parses, its columns are used for every flag in turn, so the analysis sees hostile cells too.
pub fn csv_and_analyze(bytes: &[u8]) {
    let Ok(ds) = Dataset::from_bytes("fuzz.csv", bytes) else { return };
    let h = ds.headers().to_vec();
    let col = |i: usize| h[i % h.len()].clone();
    let _ = ds.numeric(&col(0), "--time");
    let _ = ds.text(&col(1), "--event");
    let spec = AnalyzeSpec {
        time: col(0),
        event: col(1),
        group: Some(col(2)),
        marker: Some(col(3)),
        cox: vec![vec![col(2)], vec![col(3), col(4)]],
        at: vec![0.0, 1.0, 10.0],
        tau: Some(5.0),
        table: Some((col(2), col(4))),
        compare: Some((col(3), col(2))),
    };
    if let Ok(value) = analyze(&ds, &spec) {
        // serde_json never holds a non-finite number, so the document must print and read back
        let text = serde_json::to_string(&value).expect("analysis output serialises");
        let _: serde_json::Value = serde_json::from_str(&text).expect("analysis output is valid JSON");
    }
    // the plain survival analysis alone, which fails on fewer kinds of input
    let spec = AnalyzeSpec { time: col(0), event: col(1), ..AnalyzeSpec::default() };
    let _ = analyze(&ds, &spec);
}

/// A small survival data set decoded from bytes: 4 bytes per subject (time, event and group,
/// covariate, marker); times on a coarse grid so that ties are common.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub data: SurvivalData,
    pub group: Vec<usize>,
    pub x1: Vec<f64>,
    pub x2: Vec<f64>,
    pub marker: Vec<f64>,
}

pub fn decode(bytes: &[u8]) -> Option<Decoded> {
    let rows: Vec<&[u8]> = bytes.chunks_exact(4).take(200).collect();
    if rows.is_empty() {
        return None;
    }
    let scale = |b: u8| match b >> 6 {
        0 => 1.0,
        1 => 1e-6,
        2 => 1e3,
        _ => 1e6,
    };
    let time: Vec<f64> = rows.iter().map(|r| f64::from(r[0] % 32) * scale(r[3] & 0xc0) / 4.0).collect();
    let event: Vec<bool> = rows.iter().map(|r| r[1] & 1 == 1).collect();
    let group: Vec<usize> = rows.iter().map(|r| usize::from((r[1] >> 1) % 3)).collect();
    let x1: Vec<f64> = rows.iter().map(|r| f64::from(r[2] as i8) * scale(r[0])).collect();
    let x2: Vec<f64> = rows.iter().map(|r| f64::from(r[2] % 2)).collect();
    let marker: Vec<f64> = rows.iter().map(|r| f64::from(r[3] % 64) / 8.0).collect();
    let data = SurvivalData::new(time, event).ok()?;
    Some(Decoded { data, group, x1, x2, marker })
}

/// Every estimator on data decoded from arbitrary bytes, with the invariants checked.
pub fn estimators(bytes: &[u8]) {
    let Some(d) = decode(bytes) else { return };
    check_all(&d);
}

pub fn check_all(d: &Decoded) {
    check_km(&d.data);
    let n_groups = d.group.iter().max().map_or(1, |g| g + 1);
    check_logrank(&d.data, &d.group, n_groups);
    check_cox(&d.data, std::slice::from_ref(&d.x1));
    check_cox(&d.data, &[d.x1.clone(), d.x2.clone()]);
    check_roc(&d.marker, d.data.event());
    check_maxstat(&d.data, &d.marker);
    let labels: Vec<String> = d.group.iter().map(|g| g.to_string()).collect();
    let x2_labels: Vec<String> = d.x2.iter().map(|v| v.to_string()).collect();
    check_tables(&Factor::from_labels(&labels), &Factor::from_labels(&x2_labels));
    let (a, b): (Vec<f64>, Vec<f64>) = (
        (0..d.marker.len()).filter(|&i| d.group[i] == 0).map(|i| d.marker[i]).collect(),
        (0..d.marker.len()).filter(|&i| d.group[i] != 0).map(|i| d.marker[i]).collect(),
    );
    check_mann_whitney(&a, &b);
}

/// KM: S non-increasing in [0, 1]; every interval (where defined) lies in [0, 1] and contains S;
/// se_surv is None only where S = 0; n_risk decreases by the deaths and censorings.
pub fn check_km(data: &SurvivalData) {
    let fit = km::fit(data);
    assert_eq!(fit.n, data.len());
    assert!(!fit.is_empty());
    assert_eq!(fit.n_risk[0], data.len());
    let mut last = 1.0;
    for i in 0..fit.len() {
        let s = fit.surv[i];
        assert!((0.0..=1.0).contains(&s) && s <= last, "surv {:?}", fit.surv);
        last = s;
        if i + 1 < fit.len() {
            assert_eq!(fit.n_risk[i + 1], fit.n_risk[i] - fit.n_event[i] - fit.n_censor[i]);
        }
        assert!(!fit.std_err[i].is_nan(), "std_err NaN at {i}: {fit:?}");
        match fit.se_surv[i] {
            Some(se) => assert!(se.is_finite() && se >= 0.0, "{fit:?}"),
            None => assert_eq!(s, 0.0, "se_surv missing where S > 0: {fit:?}"),
        }
    }
    for conf in [ConfType::Log, ConfType::LogLog, ConfType::Plain] {
        for (i, ci) in fit.conf_ints(conf).iter().enumerate() {
            let s = fit.surv[i];
            for b in [ci.lower, ci.upper].into_iter().flatten() {
                assert!(b.is_finite() && (0.0..=1.0).contains(&b), "{conf:?} bound {b} at {i}: {fit:?}");
            }
            // R's log-log interval is NA at S = 1 and both are NA at S = 0; otherwise both exist
            if s > 0.0 && !(s == 1.0 && conf == ConfType::LogLog) {
                let (lo, up) = (ci.lower.expect("lower"), ci.upper.expect("upper"));
                let tol = 1e-12;
                assert!(
                    lo <= s + tol && s <= up + tol,
                    "{conf:?} [{lo}, {up}] misses S = {s} at {i}: {fit:?}"
                );
            }
        }
    }
    let median = fit.median(ConfType::Log);
    for m in [median.median, median.lower, median.upper].into_iter().flatten() {
        assert!(m.is_finite());
    }
    let r = fit.rmean_last();
    assert!(r.rmean.is_finite() && r.rmean >= 0.0 && !r.se.is_nan(), "{r:?}");
}

/// Log-rank and Peto–Peto: p in [0, 1] with chisq >= 0, or no p and a reason.
pub fn check_logrank(data: &SurvivalData, group: &[usize], n_groups: usize) {
    for rho in [0.0, 1.0] {
        let t = logrank::test(data, group, n_groups, rho);
        match (t.chisq, t.p) {
            (Some(chisq), Some(p)) => {
                assert!(chisq.is_finite() && chisq >= -1e-9, "{t:?}");
                assert!((0.0..=1.0).contains(&p), "{t:?}");
            }
            (None, None) => assert!(t.degenerate.is_some(), "no test and no reason: {t:?}"),
            _ => panic!("chisq and p disagree: {t:?}"),
        }
        for v in t.observed.iter().chain(&t.expected).chain(&t.var) {
            assert!(v.is_finite(), "{t:?}");
        }
    }
}

/// Cox (Efron and Breslow): unless the fit is flagged (monotone likelihood, out of iterations),
/// every non-aliased number is finite; p-values are in [0, 1] or NaN only where aliased; the HR
/// interval contains the HR; the likelihood does not decrease from b = 0.
pub fn check_cox(data: &SurvivalData, columns: &[Vec<f64>]) {
    if data.n_event() == 0 {
        return;
    }
    let prepared = CoxData::new(data);
    for ties in [Ties::Efron, Ties::Breslow] {
        let fit = cox::fit(&prepared, columns, ties, &CoxControl::r_defaults()).expect("valid columns");
        let flagged = fit.termination != Termination::Converged;
        assert!(fit.loglik_null.is_finite(), "{fit:?}");
        for k in 0..columns.len() {
            if fit.aliased[k] {
                continue;
            }
            // exp() of a finite coefficient or CI bound can overflow to inf or 0 in a converged fit
            // that R's "may be infinite" test does not catch (R prints Inf too); NaN never
            let hrs = [fit.hr[k], fit.hr_lower[k], fit.hr_upper[k]];
            assert!(hrs.iter().all(|v| !v.is_nan()) || flagged, "unflagged NaN HR in column {k}: {fit:?}");
            if !flagged {
                let values = [fit.coef[k], fit.se[k], fit.z[k], fit.p[k]];
                assert!(values.iter().all(|v| v.is_finite()), "unflagged non-finite in column {k}: {fit:?}");
            }
            assert!(!fit.coef[k].is_nan(), "coef NaN: {fit:?}");
            if !fit.p[k].is_nan() || !flagged {
                assert!((0.0..=1.0).contains(&fit.p[k]), "p {}: {fit:?}", fit.p[k]);
            }
            if !flagged {
                assert!(fit.hr_lower[k] <= fit.hr[k] && fit.hr[k] <= fit.hr_upper[k], "HR CI: {fit:?}");
            }
        }
        if !flagged {
            assert!(fit.loglik.is_finite() && fit.loglik >= fit.loglik_null - 1e-9, "{fit:?}");
            for p in [fit.lr_p, fit.wald_p, fit.score_p] {
                assert!((0.0..=1.0).contains(&p), "global p {p}: {fit:?}");
            }
            if let Some(c) = fit.concordance {
                assert!((0.0..=1.0).contains(&c));
            }
        }
    }
}

/// ROC: AUC in [0, 1]; the DeLong interval (when defined) in [0, 1] and containing the AUC.
pub fn check_roc(marker: &[f64], event: &[bool]) {
    let fit = roc::fit(marker, event).expect("finite marker of the right length");
    if let Some(auc) = fit.auc {
        assert!((0.0..=1.0).contains(&auc), "{fit:?}");
        // no AUC >= 0.5 check: pROC's "auto" direction compares the medians of cases and
        // controls, so the AUC can fall below 0.5 (as in pROC)
    }
    if let Some(se) = fit.auc_se {
        assert!(se.is_finite() && se >= 0.0, "{fit:?}");
    }
    if let (Some(auc), Some((lo, up))) = (fit.auc, fit.auc_ci) {
        assert!(0.0 <= lo && lo <= auc + 1e-12 && auc <= up + 1e-12 && up <= 1.0, "{fit:?}");
    }
    for p in &fit.youden {
        assert!((0.0..=1.0).contains(&p.sensitivity) && (0.0..=1.0).contains(&p.specificity), "{fit:?}");
        assert!(!p.threshold.is_nan() && !p.cut.is_nan());
    }
}

/// maxstat: an estimate (finite statistic, Lau92 in [0, 1], Lau94 finite and >= 0: maxstat does not
/// clip it to 1) or a status that says why there is none.
pub fn check_maxstat(data: &SurvivalData, marker: &[f64]) {
    let fit = maxstat::fit(data, marker, &maxstat::MaxstatControl::r_defaults()).expect("valid marker");
    match (&fit.status, &fit.estimate) {
        (maxstat::MaxstatStatus::Ok | maxstat::MaxstatStatus::SingleCut, Some(e)) => {
            assert!(e.statistic.is_finite() && e.statistic >= 0.0, "{fit:?}");
            assert!((0.0..=1.0).contains(&e.p_lau92), "{fit:?}");
            assert!(e.p_lau94.is_finite() && e.p_lau94 >= 0.0, "{fit:?}");
            assert!(e.cut_le.is_finite() && e.n_le >= 1 && e.n_le < data.len(), "{fit:?}");
        }
        (maxstat::MaxstatStatus::Ok | maxstat::MaxstatStatus::SingleCut, None) => {
            panic!("no estimate: {fit:?}")
        }
        (_, None) => {}
        (_, Some(_)) => panic!("estimate with a degenerate status: {fit:?}"),
    }
}

/// Fisher and chi-square on the table of two factors: p in [0, 1] or none with a reason.
pub fn check_tables(a: &Factor, b: &Factor) {
    let table = tables::ContingencyTable::from_factors(a, b).expect("same length");
    let fisher = tables::fisher_exact(&table);
    match fisher.p {
        Some(p) => assert!((0.0..=1.0).contains(&p), "{fisher:?}"),
        None => assert!(
            matches!(fisher.status, tables::FisherStatus::NotTwoWay | tables::FisherStatus::TooLarge),
            "{fisher:?}"
        ),
    }
    for correct in [true, false] {
        let chi = tables::chisq_test(&table, correct);
        match (chi.statistic, chi.p) {
            (Some(x), Some(p)) => assert!(x.is_finite() && x >= 0.0 && (0.0..=1.0).contains(&p), "{chi:?}"),
            (None, None) => assert!(chi.degenerate.is_some(), "{chi:?}"),
            _ => panic!("statistic and p disagree: {chi:?}"),
        }
    }
}

/// Mann–Whitney: W in [0, n_x n_y] and p in [0, 1], or a reason.
pub fn check_mann_whitney(x: &[f64], y: &[f64]) {
    let t = mann_whitney::rank_sum_test(x, y);
    if let Some(w) = t.w {
        assert!((0.0..=(x.len() * y.len()) as f64).contains(&w), "{t:?}");
    } else {
        assert!(t.degenerate.is_some(), "{t:?}");
    }
    for p in [t.p_default, t.p_normal_cc].into_iter().flatten() {
        assert!((0.0..=1.0).contains(&p), "{t:?}");
    }
    if t.p_default.is_none() || t.p_normal_cc.is_none() {
        assert!(t.degenerate.is_some(), "missing p without a reason: {t:?}");
    }
}
