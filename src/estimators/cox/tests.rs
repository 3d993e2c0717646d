use super::*;
use proptest::prelude::*;

fn data(time: &[f64], event: &[bool]) -> CoxData {
    CoxData::new(&SurvivalData::new(time.to_vec(), event.to_vec()).unwrap())
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn three_subjects_closed_form_mle() {
    // A (x = 1) dies at t = 1, B (x = 0) dies at t = 2, C (x = 1) is censored at t = 3.
    // l(b) = b - log(2e^b + 1) - log(e^b + 1);  U(b) = 1/(2e^b + 1) - e^b/(e^b + 1) = 0
    // <=> 2 e^{2b} = 1  <=>  b = -log(2)/2.
    // I(b) = 2e^b/(2e^b + 1)^2 + e^b/(e^b + 1)^2.
    // Score test at 0: U(0) = 1/3 - 1/2 = -1/6, I(0) = 2/9 + 1/4 = 17/36, chi2 = (1/36)/(17/36) = 1/17.
    let d = data(&[1.0, 2.0, 3.0], &[true, true, false]);
    for ties in [Ties::Efron, Ties::Breslow] {
        let f = fit(&d, &[vec![1.0, 0.0, 1.0]], ties, &CoxControl::r_defaults()).unwrap();
        let b = -(2f64.ln()) / 2.0;
        let e = b.exp();
        let info = 2.0 * e / (2.0 * e + 1.0).powi(2) + e / (e + 1.0).powi(2);
        assert!(close(f.coef[0], b, 1e-8), "{f:?}");
        assert!(close(f.var[0][0], 1.0 / info, 1e-8));
        assert!(close(f.loglik, b - (2.0 * e + 1.0).ln() - (e + 1.0).ln(), 1e-12));
        assert!(close(f.loglik_null, -(3f64.ln()) - 2f64.ln(), 1e-14));
        assert!(close(f.score_chisq, 1.0 / 17.0, 1e-12));
        assert_eq!(f.termination, Termination::Converged);
        // lp = b x: A and C tie; pairs (A,B): lp_A < lp_B, discordant; (A,C) tied; (B,C): lp_B > lp_C,
        // concordant. C = (1 + 0.5) / 3.
        assert!(close(f.concordance.unwrap(), 0.5, 1e-15));
    }
}

#[test]
fn score_test_equals_logrank_for_binary_covariate_without_ties() {
    // times 1..4 all events, x = (1, 0, 1, 0). By hand (O - E, hypergeometric V) per death time:
    // t1: 1 - 2/4, V 4/16; t2: 0 - 1/3, V 2/9; t3: 1 - 1/2, V 1/4; t4: no one else at risk.
    // U = 2/3, V = 13/18, log-rank chi2 = (4/9) / (13/18) = 8/13.
    let d = data(&[1.0, 2.0, 3.0, 4.0], &[true; 4]);
    let f = fit(&d, &[[1.0, 0.0, 1.0, 0.0]], Ties::Efron, &CoxControl::r_defaults()).unwrap();
    assert!(close(f.score_chisq, 8.0 / 13.0, 1e-13), "{}", f.score_chisq);
    assert!(close(f.score_p, chisq_sf(8.0 / 13.0, 1), 1e-13));
}

/// Three subjects with x = 1 die at times 1, 2, 3, before anyone with x = 0 has an event: the
/// partial likelihood increases in b without bound.
fn monotone_case() -> (CoxData, Vec<Vec<f64>>) {
    let time = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0];
    let event = [true, true, true, true, false, true, true, false, true, false, true, true];
    let x = vec![1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
    let z = vec![0.3, -1.2, 0.8, 1.5, -0.4, 0.0, 2.1, -0.7, 0.9, -1.8, 0.2, 1.1];
    (data(&time, &event), vec![x, z])
}

#[test]
fn monotone_likelihood_is_flagged_and_finite() {
    let (d, cols) = monotone_case();
    for ties in [Ties::Efron, Ties::Breslow] {
        let f = fit(&d, &cols, ties, &CoxControl::r_defaults()).unwrap();
        assert_eq!(f.termination, Termination::MonotoneLikelihood, "{f:?}");
        assert_eq!(f.monotone, vec![true, false]);
        assert_eq!(f.warnings, vec!["Loglik converged before variable  1 ; coefficient may be infinite. "]);
        assert!(f.coef[0] > 5.0, "{f:?}");
        for v in [&f.coef, &f.se, &f.z, &f.p, &f.hr, &f.hr_lower] {
            assert!(v.iter().all(|x| x.is_finite()), "{f:?}");
        }
        for v in [f.loglik, f.loglik_null, f.lr_chisq, f.lr_p, f.wald_chisq, f.wald_p, f.score_chisq] {
            assert!(v.is_finite(), "{f:?}");
        }
        assert!(f.var.iter().flatten().all(|x| x.is_finite()));
        // the one-covariate model diverges as well
        let g = fit(&d, &cols[..1], ties, &CoxControl::r_defaults()).unwrap();
        assert_eq!(g.termination, Termination::MonotoneLikelihood);
        assert_eq!(g.monotone, vec![true]);
    }
}

#[test]
fn aliased_column_is_flagged_not_fatal() {
    // the second column is twice the first: R reports NA for it
    let d = data(&[1.0, 2.0, 3.0, 4.0, 5.0], &[true, true, false, true, true]);
    let x = vec![0.5, 2.0, 1.0, 3.0, 0.0];
    let x2: Vec<f64> = x.iter().map(|v| 2.0 * v).collect();
    let f = fit(&d, &[x.clone(), x2], Ties::Efron, &CoxControl::r_defaults()).unwrap();
    let g = fit(&d, &[x], Ties::Efron, &CoxControl::r_defaults()).unwrap();
    assert_eq!(f.aliased, vec![false, true]);
    assert_eq!(f.df, 1);
    assert!(f.coef[1].is_nan());
    assert!(close(f.coef[0], g.coef[0], 1e-9));
    assert!(close(f.loglik, g.loglik, 1e-12));
}

#[test]
fn invalid_columns_are_errors() {
    let d = data(&[1.0, 2.0], &[true, false]);
    let c = CoxControl::r_defaults();
    assert_eq!(
        fit(&d, &[vec![1.0]], Ties::Efron, &c),
        Err(CoxError::ColumnLength { column_idx: 0, len: 1, n: 2 })
    );
    assert_eq!(
        fit(&d, &[vec![1.0, f64::NAN]], Ties::Efron, &c),
        Err(CoxError::NotFinite { column_idx: 0, row_idx: 1 })
    );
}

#[test]
fn no_events_gives_a_flagged_fit() {
    let d = data(&[1.0, 2.0, 3.0], &[false; 3]);
    let f = fit(&d, &[vec![1.0, 2.0, 4.0]], Ties::Efron, &CoxControl::r_defaults()).unwrap();
    assert_eq!(f.aliased, vec![true]);
    assert_eq!(f.loglik, 0.0);
    assert_eq!(f.concordance, None);
}

#[test]
fn round_r_rounds_like_r() {
    // R 4.x: round(14.2549, 2) = 14.25, round(0.125, 2) = 0.12 (0.125 is exact: tie to even),
    // round(2.675, 2) = 2.67 (2.675 is stored as 2.67499999...)
    assert_eq!(round_r(14.2549, 2), 14.25);
    assert_eq!(round_r(0.125, 2), 0.12);
    assert_eq!(round_r(2.675, 2), 2.67);
    assert_eq!(round_r(4.1449, 2), 4.14);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn shift_invariance_and_ci_contains_hr(
        rows in prop::collection::vec((1u8..15, any::<bool>(), -3.0f64..3.0), 6..40),
        shift in -50.0f64..50.0,
    ) {
        let time: Vec<f64> = rows.iter().map(|r| r.0 as f64).collect();
        let event: Vec<bool> = rows.iter().map(|r| r.1).collect();
        prop_assume!(event.iter().filter(|&&e| e).count() >= 2);
        let x: Vec<f64> = rows.iter().map(|r| r.2).collect();
        let xs: Vec<f64> = x.iter().map(|v| v + shift).collect();
        let d = data(&time, &event);
        let c = CoxControl::r_defaults();
        let f = fit(&d, &[x], Ties::Efron, &c).unwrap();
        let g = fit(&d, &[xs], Ties::Efron, &c).unwrap();
        prop_assume!(f.termination == Termination::Converged && g.termination == Termination::Converged);
        // A diverging fit can end with I underflowed to 0: the column is then aliased and its
        // coefficient NA, as in R (the saved regression case: coxph gives coef NA, var 0, loglik
        // +0.0208 after 19 iterations, as survmc does). Shift invariance is about the others.
        prop_assume!(!f.aliased[0] && !g.aliased[0]);
        prop_assert!(close(f.coef[0], g.coef[0], 1e-7), "{} vs {}", f.coef[0], g.coef[0]);
        prop_assert!(close(f.loglik, g.loglik, 1e-10));
        prop_assert!(close(f.se[0], g.se[0], 1e-7));
        prop_assert!(f.hr_lower[0] <= f.hr[0] && f.hr[0] <= f.hr_upper[0]);
        prop_assert!(f.p[0] >= 0.0 && f.p[0] <= 1.0);
    }
}

/// The same coefficients, SEs and p-values to the bit, termination and aliasing.
fn same_bits(f: &CoxCoefficients, g: &CoxCoefficients) -> bool {
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    bits(&f.coef) == bits(&g.coef)
        && bits(&f.se) == bits(&g.se)
        && bits(&f.p) == bits(&g.p)
        && f.termination == g.termination
        && f.aliased == g.aliased
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Filtering the sorted order is sorting the subset: same order, groups and statuses, and then
    /// the lean fit reports exactly the full fit's coefficients, SEs, p-values and termination.
    #[test]
    fn restrict_is_subset_and_fit_coefficients_is_fit(
        rows in prop::collection::vec((1u8..12, any::<bool>(), -3.0f64..3.0, any::<bool>()), 4..40),
    ) {
        let time: Vec<f64> = rows.iter().map(|r| r.0 as f64).collect();
        let event: Vec<bool> = rows.iter().map(|r| r.1).collect();
        let keep: Vec<usize> = (0..rows.len()).filter(|&i| rows[i].3).collect();
        let full = SurvivalData::new(time, event).unwrap();
        let sub = full.subset(&keep);
        let restricted = CoxData::new(&full).restrict(&keep);
        prop_assert_eq!(&restricted, &CoxData::new(&sub));
        prop_assume!(sub.n_event() >= 1);
        let x: Vec<f64> = keep.iter().map(|&i| rows[i].2).collect();
        let c = CoxControl::r_defaults();
        let f = fit(&restricted, &[&x], Ties::Efron, &c).unwrap();
        let g = fit_coefficients(&restricted, &[&x], Ties::Efron, &c).unwrap();
        let f = CoxCoefficients {
            coef: f.coef.into(),
            se: f.se.into(),
            p: f.p.into(),
            termination: f.termination,
            aliased: f.aliased.into(),
        };
        prop_assert!(same_bits(&f, &g), "{:?} vs {:?}", f, g);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The complete-case design laid out in one pass fits exactly as the restricted data and
    /// columns do (same bits), for a binary column (tallied) beside a continuous one, with values
    /// missing at random in either.
    #[test]
    fn complete_design_fits_as_restrict_and_fit_coefficients(
        rows in prop::collection::vec(
            (1u8..12, any::<bool>(), any::<bool>(), -3.0f64..3.0, 0u8..5, 0u8..5),
            4..40,
        ),
        two in any::<bool>(),
    ) {
        let time: Vec<f64> = rows.iter().map(|r| r.0 as f64).collect();
        let event: Vec<bool> = rows.iter().map(|r| r.1).collect();
        // missing when the draw is 0 (one in five)
        let bin: Vec<Option<f64>> = rows.iter().map(|r| (r.4 > 0).then_some(f64::from(u8::from(r.2)))).collect();
        let cont: Vec<Option<f64>> = rows.iter().map(|r| (r.5 > 0).then_some(r.3)).collect();
        let cols: Vec<&[Option<f64>]> = if two { vec![&bin, &cont] } else { vec![&bin] };
        let full = SurvivalData::new(time, event).unwrap();
        let sorted = CoxData::new(&full);
        let keep: Vec<usize> = (0..rows.len()).filter(|&i| cols.iter().all(|c| c[i].is_some())).collect();
        let mut design = Design::default();
        sorted.complete_design(cols.len(), |i, k| cols[k][i], &mut design);
        let restricted = sorted.restrict(&keep);
        prop_assert_eq!(design.len(), restricted.len());
        prop_assert_eq!(design.n_event(), restricted.n_event());
        let x: Vec<Vec<f64>> = cols.iter().map(|c| keep.iter().map(|&i| c[i].unwrap()).collect()).collect();
        for (k, xk) in x.iter().enumerate() {
            prop_assert_eq!(design.varies(k), xk.iter().any(|&v| v != xk[0]));
        }
        prop_assume!(restricted.n_event() >= 1);
        let c = CoxControl::r_defaults();
        let f = fit_coefficients(&restricted, &x, Ties::Efron, &c).unwrap();
        let g = fit_design(&mut design, Ties::Efron, &c).unwrap();
        prop_assert!(same_bits(&f, &g), "{:?} vs {:?}", f, g);
    }

    /// Binary and {-1, 0, 1} columns tallied in one pass fit exactly as their laid-out complete
    /// cases do (same bits), with values missing at random; the tally is declined exactly when a
    /// value would be centred, there is nothing to fit, or there are too many patterns.
    #[test]
    fn complete_tally_fits_as_complete_design(
        rows in prop::collection::vec(
            (1u8..12, any::<bool>(), prop::collection::vec(0u8..4, 4), 0u8..6),
            2..40,
        ),
        p in 1usize..=4,
        ternary in any::<bool>(),
        centred in any::<bool>(),
    ) {
        let time: Vec<f64> = rows.iter().map(|r| r.0 as f64).collect();
        let event: Vec<bool> = rows.iter().map(|r| r.1).collect();
        // level 0 is missing (one in four); otherwise {0, 1}, or {-1, 0, 1}; with `centred`, the
        // first subject's value of the last column is 2 (coxph would centre that column)
        let cols: Vec<Vec<Option<f64>>> = (0..p)
            .map(|k| {
                rows.iter()
                    .enumerate()
                    .map(|(i, r)| {
                        let level = r.2[k];
                        let v = if ternary { f64::from(level) - 2.0 } else { f64::from(level % 2) };
                        if centred && k == p - 1 && i == 0 { Some(2.0) } else { (level > 0).then_some(v) }
                    })
                    .collect()
            })
            .collect();
        let sorted = CoxData::new(&SurvivalData::new(time, event).unwrap());
        let value = |i: usize, k: usize| cols[k][i];
        let mut design = Design::default();
        sorted.complete_design(p, value, &mut design);
        let keep: Vec<usize> = (0..rows.len()).filter(|&i| cols.iter().all(|c| c[i].is_some())).collect();
        let distinct: std::collections::BTreeSet<Vec<u64>> =
            keep.iter().map(|&i| cols.iter().map(|c| c[i].unwrap().to_bits()).collect()).collect();
        let any_centred = keep.iter().any(|&i| cols.iter().any(|c| c[i].unwrap().abs() > 1.0));
        let fits = !design.is_empty() && design.n_event() > 0 && (0..p).all(|k| design.varies(k));
        let expect_tally = fits && !any_centred && distinct.len() <= 8 && distinct.len() <= keep.len() / 4;
        let tallied = sorted.complete_tally(p, value);
        prop_assert_eq!(tallied.is_some(), expect_tally);
        if let Some(t) = tallied {
            let c = CoxControl::r_defaults();
            let f = fit_design(&mut design, Ties::Efron, &c).unwrap();
            let g = fit_tallied(t, Ties::Efron, &c);
            prop_assert!(same_bits(&f, &g), "{:?} vs {:?}", f, g);
        }
    }
    /// Many columns tallied side by side (more than one pass of lanes, some continuous, some
    /// missing, some constant) are each tallied as that column alone: declined exactly when
    /// `complete_tally` declines it, and otherwise fitted as its laid-out complete cases (same
    /// bits).
    #[test]
    fn unit_tallies_are_each_columns_complete_tally(
        rows in prop::collection::vec((1u8..12, any::<bool>(), prop::collection::vec(0u8..5, 37)), 2..40),
        kinds in prop::collection::vec(0u8..4, 37),
    ) {
        let time: Vec<f64> = rows.iter().map(|r| r.0 as f64).collect();
        let event: Vec<bool> = rows.iter().map(|r| r.1).collect();
        // level 0 is missing; a column is binary, {-1, 0, 1}, continuous, or constant 1
        let cols: Vec<Vec<Option<f64>>> = kinds
            .iter()
            .enumerate()
            .map(|(k, &kind)| {
                rows.iter()
                    .map(|r| {
                        let level = r.2[k];
                        let v = match kind {
                            0 => f64::from(level % 2),
                            1 => f64::from(level % 3) - 1.0,
                            2 => f64::from(level) * 0.7,
                            _ => 1.0,
                        };
                        (level > 0).then_some(v)
                    })
                    .collect()
            })
            .collect();
        let sorted = CoxData::new(&SurvivalData::new(time, event).unwrap());
        let columns: Vec<&[Option<f64>]> = cols.iter().map(|c| c.as_slice()).collect();
        let tallied = sorted.unit_tallies(&columns);
        prop_assert_eq!(tallied.len(), cols.len());
        let c = CoxControl::r_defaults();
        for (col, t) in cols.iter().zip(tallied) {
            let alone = sorted.complete_tally(1, |i, _| col[i]);
            prop_assert_eq!(t.is_some(), alone.is_some());
            // when to tally, from the column itself (complete_tally is this same pass on one
            // column): values in {-1, 0, 1}, something to fit, few enough distinct values
            let mut design = Design::default();
            sorted.complete_design(1, |i, _| col[i], &mut design);
            let present: Vec<f64> = col.iter().flatten().copied().collect();
            let distinct: std::collections::BTreeSet<u64> = present.iter().map(|v| v.to_bits()).collect();
            let in_unit = present.iter().all(|&v| v == 0.0 || v == 1.0 || v == -1.0);
            let fits = !design.is_empty() && design.n_event() > 0 && design.varies(0);
            let expect_tally = in_unit && fits && distinct.len() <= 8 && distinct.len() <= present.len() / 4;
            prop_assert_eq!(t.is_some(), expect_tally);
            if let Some(t) = t {
                let f = fit_design(&mut design, Ties::Efron, &c).unwrap();
                let g = fit_tallied(t, Ties::Efron, &c);
                prop_assert!(same_bits(&f, &g), "{:?} vs {:?}", f, g);
            }
        }
    }
}
