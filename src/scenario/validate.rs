//! Validation: `ScenarioSpec` -> `Scenario`, with errors naming the dotted key and what is allowed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::spec::*;
use super::*;

/// Tolerance on "sums to 1" / "sums to n" for probabilities read from a file.
const SUM_TOL: f64 = 1e-6;

/// Largest cohort size (`n`, `report.plan_n`): a cohort is held in memory whole (a few dozen bytes
/// per patient and column), so 10^7 patients is already gigabytes in total; a typo like
/// n = 10^12 must be refused here, not met by an allocation failure.
const MAX_N: i64 = 10_000_000;

struct Ctx {
    file: PathBuf,
}

impl Ctx {
    fn err(
        &self,
        key: impl Into<String>,
        found: impl ToString,
        expected: impl Into<String>,
    ) -> ScenarioError {
        ScenarioError::Invalid {
            file: self.file.clone(),
            key: key.into(),
            found: found.to_string(),
            expected: expected.into(),
        }
    }

    fn positive(&self, key: &str, x: Option<f64>) -> Result<f64, ScenarioError> {
        match x {
            Some(v) if v.is_finite() && v > 0.0 => Ok(v),
            Some(v) => Err(self.err(key, v, "a finite number > 0")),
            None => Err(self.err(key, "absent", "a finite number > 0")),
        }
    }

    fn finite(&self, key: &str, x: Option<f64>) -> Result<f64, ScenarioError> {
        match x {
            Some(v) if v.is_finite() => Ok(v),
            Some(v) => Err(self.err(key, v, "a finite number")),
            None => Err(self.err(key, "absent", "a finite number")),
        }
    }

    fn probability(&self, key: &str, x: f64) -> Result<f64, ScenarioError> {
        if (0.0..=1.0).contains(&x) { Ok(x) } else { Err(self.err(key, x, "a probability in [0, 1]")) }
    }

    fn count(&self, key: &str, x: i64) -> Result<usize, ScenarioError> {
        usize::try_from(x).map_err(|_| self.err(key, x, "an integer >= 0"))
    }

    /// Keys that `dist` does not use must be absent.
    fn unused(&self, prefix: &str, dist: &str, keys: &[(&str, bool)]) -> Result<(), ScenarioError> {
        match keys.iter().find(|(_, present)| *present) {
            Some((k, _)) => {
                Err(self.err(format!("{prefix}.{k}"), "present", format!("absent for dist = \"{dist}\"")))
            }
            None => Ok(()),
        }
    }
}

pub(super) fn validate(file: &Path, id: &str, spec: ScenarioSpec) -> Result<Scenario, ScenarioError> {
    let c = Ctx { file: file.to_path_buf() };
    if spec.n < 1 {
        return Err(c.err("n", spec.n, "an integer >= 1"));
    }
    if spec.n > MAX_N {
        return Err(c.err(
            "n",
            spec.n,
            format!("an integer <= {MAX_N} (the largest cohort survmc simulates)"),
        ));
    }
    let n = spec.n as usize;
    let seed = match spec.seed {
        Some(s) => c.count("seed", s)? as u64,
        None => 1,
    };

    let strata = if spec.strata.is_empty() {
        Allocation { names: vec!["all".into()], kind: AllocationKind::Counts(vec![n]) }
    } else {
        let groups: Vec<_> = spec.strata.iter().map(|s| (s.name.clone(), s.count, s.probability)).collect();
        allocation(&c, "strata", n, &groups)?
    };

    // Columns: covariates, then derived. Names must be unique and not clash with fixed columns.
    let mut names: Vec<String> = Vec::new();
    for (i, cov) in spec.covariates.iter().enumerate() {
        check_name(&c, &format!("covariates[{i}].name"), &cov.name, &names)?;
        names.push(cov.name.clone());
    }
    for (i, d) in spec.derived.iter().enumerate() {
        check_name(&c, &format!("derived[{i}].name"), &d.name, &names)?;
        names.push(d.name.clone());
    }

    let mut covariates = Vec::with_capacity(spec.covariates.len());
    for cs in &spec.covariates {
        let cov = covariate(&c, n, &strata, &covariates, cs)?;
        covariates.push(cov);
    }
    let mut kinds: Vec<ColumnKind> = covariates.iter().map(|c: &Covariate| c.kind.clone()).collect();
    let mut derived = Vec::with_capacity(spec.derived.len());
    for ds in &spec.derived {
        derived.push(derived_indicator(&c, &strata, &covariates, ds)?);
        kinds.push(ColumnKind::Derived);
    }

    let (eras, censoring) = match (spec.eras.is_empty(), &spec.censoring) {
        (true, Some(cs)) => (
            Allocation { names: vec!["all".into()], kind: AllocationKind::Counts(vec![n]) },
            vec![censoring_dist(&c, "censoring", cs)?],
        ),
        (false, None) => {
            let groups: Vec<_> = spec.eras.iter().map(|e| (e.name.clone(), e.count, e.probability)).collect();
            let eras = allocation(&c, "eras", n, &groups)?;
            let cens = spec
                .eras
                .iter()
                .map(|e| censoring_dist(&c, &format!("eras.{}.censoring", e.name), &e.censoring))
                .collect::<Result<Vec<_>, _>>()?;
            (eras, cens)
        }
        (true, None) => return Err(c.err("censoring", "absent", "a [censoring] table or [[eras]] entries")),
        (false, Some(_)) => {
            return Err(c.err(
                "censoring",
                "present",
                "absent when [[eras]] give each era its own censoring",
            ));
        }
    };

    let os = hazard(&c, "outcomes.os", &names, &spec.outcomes.os)?;
    let progression = spec
        .outcomes
        .progression
        .as_ref()
        .map(|h| hazard(&c, "outcomes.progression", &names, h))
        .transpose()?;

    let after_progression = match &spec.after_progression {
        None => None,
        Some(ap) => {
            if ap.options.is_empty() {
                return Err(c.err("after_progression.options", "empty", "at least one option"));
            }
            if progression.is_none() {
                return Err(c.err("after_progression", "present", "absent without [outcomes.progression]"));
            }
            let mut options = Vec::new();
            for o in &ap.options {
                let p = format!("after_progression.options.{}", o.name);
                if options.iter().any(|x: &TreatmentOption| x.name == o.name) {
                    return Err(c.err(format!("{p}.name"), &o.name, "a name not used by another option"));
                }
                let intercept = c.finite(&format!("{p}.intercept"), Some(o.intercept))?;
                let mut effects = Vec::new();
                for e in &o.effects {
                    let column_idx = column(&c, &format!("{p}.effects.covariate"), &names, &e.covariate)?;
                    let log_hr = c.finite(&format!("{p}.effects.{}.coef", e.covariate), Some(e.coef))?;
                    effects.push(Effect { column_idx, log_hr });
                }
                let time_ratio = match o.time_ratio {
                    None => 1.0,
                    some => c.positive(&format!("{p}.time_ratio"), some)?,
                };
                options.push(TreatmentOption { name: o.name.clone(), intercept, effects, time_ratio });
            }
            Some(AfterProgression { options })
        }
    };

    let layout = Arc::new(Layout {
        columns: names.clone(),
        kinds,
        strata: strata.names.clone(),
        eras: eras.names.clone(),
        treatments: after_progression
            .as_ref()
            .map(|a| a.options.iter().map(|o| o.name.clone()).collect())
            .unwrap_or_default(),
    });
    let analysis = analysis(&c, seed, &layout, spec.analysis.as_ref())?;
    let report = report(&c, file, spec.report.as_ref())?;

    let mut scenario = Scenario {
        id: id.to_string(),
        sha256: String::new(),
        description: spec.description.clone(),
        n,
        seed,
        strata,
        covariates,
        derived,
        eras,
        censoring,
        os,
        progression,
        after_progression,
        analysis,
        calibration: None,
        report,
        layout,
    };
    if let Some(cal) = &spec.calibration {
        scenario.calibration = Some(calibration(&c, &scenario, cal)?);
    }
    Ok(scenario)
}

const RESERVED: [&str; 10] = [
    "cohort",
    "os_time",
    "os_event",
    "pfs_time",
    "pfs_event",
    "stratum",
    "era",
    "progression",
    "after_progression_treatment",
    "time_from_progression",
];

fn check_name(c: &Ctx, key: &str, name: &str, taken: &[String]) -> Result<(), ScenarioError> {
    let ok_chars = !name.is_empty()
        && name.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
        && !name.starts_with(|ch: char| ch.is_ascii_digit());
    if !ok_chars {
        return Err(c.err(
            key,
            format!("\"{name}\""),
            "a name of letters, digits and _, not starting with a digit",
        ));
    }
    if RESERVED.contains(&name) || taken.iter().any(|t| t == name) {
        return Err(c.err(key, format!("\"{name}\""), "a name not used by another column"));
    }
    Ok(())
}

fn column(c: &Ctx, key: &str, names: &[String], name: &str) -> Result<usize, ScenarioError> {
    names
        .iter()
        .position(|x| x == name)
        .ok_or_else(|| c.err(key, format!("\"{name}\""), "the name of a covariate or derived column"))
}

fn allocation(
    c: &Ctx,
    table: &str,
    n: usize,
    groups: &[(String, Option<i64>, Option<f64>)],
) -> Result<Allocation, ScenarioError> {
    let mut names: Vec<String> = Vec::new();
    for (name, _, _) in groups {
        if names.contains(name) || name.is_empty() {
            return Err(c.err(format!("{table}.name"), format!("\"{name}\""), "a unique, non-empty name"));
        }
        names.push(name.clone());
    }
    let all_counts = groups.iter().all(|g| g.1.is_some() && g.2.is_none());
    let all_probs = groups.iter().all(|g| g.2.is_some() && g.1.is_none());
    if all_counts {
        let mut counts = Vec::new();
        for (name, k, _) in groups {
            counts.push(c.count(&format!("{table}.{name}.count"), k.unwrap_or(0))?);
        }
        let total: usize = counts.iter().sum();
        if total != n {
            return Err(c.err(
                format!("{table}.count"),
                format!("a total of {total}"),
                format!("counts summing to n = {n}"),
            ));
        }
        Ok(Allocation { names, kind: AllocationKind::Counts(counts) })
    } else if all_probs {
        let mut probs = Vec::new();
        for (name, _, p) in groups {
            probs.push(c.probability(&format!("{table}.{name}.probability"), p.unwrap_or(0.0))?);
        }
        let total: f64 = probs.iter().sum();
        if (total - 1.0).abs() > SUM_TOL {
            return Err(c.err(
                format!("{table}.probability"),
                format!("a total of {total}"),
                "probabilities summing to 1",
            ));
        }
        Ok(Allocation { names, kind: AllocationKind::Probabilities(probs) })
    } else {
        Err(c.err(
            format!("{table}.count"),
            "mixed or absent",
            "every entry with `count` or every entry with `probability`",
        ))
    }
}

fn covariate(
    c: &Ctx,
    n: usize,
    strata: &Allocation,
    earlier: &[Covariate],
    s: &CovariateSpec,
) -> Result<Covariate, ScenarioError> {
    let p = format!("covariates.{}", s.name);
    let given = match &s.given {
        None => None,
        Some(g) => {
            let pos = earlier.iter().position(|x| &x.name == g);
            match pos {
                Some(i) if earlier[i].kind == ColumnKind::Binary => Some(i),
                _ => {
                    return Err(c.err(
                        format!("{p}.given"),
                        format!("\"{g}\""),
                        "the name of a binary covariate listed earlier",
                    ));
                }
            }
        }
    };
    let missing = match (s.missing_count, s.missing_prob) {
        (None, None) => Missing::None,
        (Some(k), None) => {
            let k = c.count(&format!("{p}.missing_count"), k)?;
            if k > n {
                return Err(c.err(format!("{p}.missing_count"), k, format!("an integer in [0, n = {n}]")));
            }
            if k == 0 { Missing::None } else { Missing::Count(k) }
        }
        (None, Some(q)) => Missing::Probability(c.probability(&format!("{p}.missing_prob"), q)?),
        (Some(_), Some(_)) => {
            return Err(c.err(format!("{p}.missing_prob"), "present", "absent when missing_count is given"));
        }
    };
    // Parameters per stratum.
    let per_stratum: Vec<(String, &ParamSpec)> = match (&s.params, &s.strata) {
        (Some(ps), None) => strata.names.iter().map(|_| (format!("{p}.params"), ps)).collect(),
        (None, Some(map)) => {
            if let Some(extra) = map.keys().find(|k| strata.index(k).is_none()) {
                return Err(c.err(
                    format!("{p}.strata.{extra}"),
                    "present",
                    format!("one of the strata {:?}", strata.names),
                ));
            }
            let mut v = Vec::new();
            for name in &strata.names {
                match map.get(name) {
                    Some(ps) => v.push((format!("{p}.strata.{name}"), ps)),
                    None => {
                        return Err(c.err(
                            format!("{p}.strata.{name}"),
                            "absent",
                            "parameters for every stratum",
                        ));
                    }
                }
            }
            v
        }
        (None, None) => return Err(c.err(format!("{p}.params"), "absent", "`params` or `strata`")),
        (Some(_), Some(_)) => {
            return Err(c.err(format!("{p}.strata"), "present", "absent when `params` is given"));
        }
    };
    let dist = s.dist.as_str();
    let is_continuous = matches!(dist, "normal" | "lognormal" | "gamma");
    if !is_continuous {
        c.unused(
            &p,
            dist,
            &[
                ("shift", s.shift.is_some()),
                ("round", s.round.is_some()),
                ("lower", s.lower.is_some()),
                ("upper", s.upper.is_some()),
            ],
        )?;
    }
    if dist != "categorical" {
        c.unused(&p, dist, &[("levels", s.levels.is_some())])?;
    }
    let mut samplers = Vec::new();
    let kind = match dist {
        "binary" => {
            for (key, ps) in &per_stratum {
                c.unused(
                    key,
                    dist,
                    &[
                        ("dist", ps.dist.is_some()),
                        ("probs", ps.probs.is_some()),
                        ("counts", ps.counts.is_some()),
                        ("mean", ps.mean.is_some()),
                        ("sd", ps.sd.is_some()),
                        ("shift", ps.shift.is_some()),
                        ("lower", ps.lower.is_some()),
                        ("upper", ps.upper.is_some()),
                    ],
                )?;
                let pr =
                    ps.p.ok_or_else(|| c.err(format!("{key}.p"), "absent", "a probability in [0, 1]"))?;
                samplers.push(Sampler::Binary { p: c.probability(&format!("{key}.p"), pr)? });
            }
            ColumnKind::Binary
        }
        "categorical" => {
            let levels = s.levels.clone().unwrap_or_default();
            if levels.len() < 2 {
                return Err(c.err(format!("{p}.levels"), levels.len(), "at least 2 level names"));
            }
            for (key, ps) in &per_stratum {
                c.unused(
                    key,
                    dist,
                    &[
                        ("dist", ps.dist.is_some()),
                        ("p", ps.p.is_some()),
                        ("mean", ps.mean.is_some()),
                        ("sd", ps.sd.is_some()),
                        ("shift", ps.shift.is_some()),
                        ("lower", ps.lower.is_some()),
                        ("upper", ps.upper.is_some()),
                    ],
                )?;
                let probs = match (&ps.probs, &ps.counts) {
                    (Some(pr), None) => {
                        for (k, &x) in pr.iter().enumerate() {
                            c.probability(&format!("{key}.probs[{k}]"), x)?;
                        }
                        let total: f64 = pr.iter().sum();
                        if (total - 1.0).abs() > SUM_TOL {
                            return Err(c.err(
                                format!("{key}.probs"),
                                format!("a total of {total}"),
                                "probabilities summing to 1",
                            ));
                        }
                        pr.clone()
                    }
                    (None, Some(ct)) => {
                        if let Some((k, &x)) =
                            ct.iter().enumerate().find(|(_, x)| !(x.is_finite() && **x >= 0.0))
                        {
                            return Err(c.err(format!("{key}.counts[{k}]"), x, "a count >= 0"));
                        }
                        let total: f64 = ct.iter().sum();
                        if total <= 0.0 {
                            return Err(c.err(
                                format!("{key}.counts"),
                                "a total of 0",
                                "counts with a positive total",
                            ));
                        }
                        ct.iter().map(|x| x / total).collect()
                    }
                    _ => {
                        return Err(c.err(
                            format!("{key}.probs"),
                            "absent or both given",
                            "exactly one of `probs` and `counts`",
                        ));
                    }
                };
                if probs.len() != levels.len() {
                    return Err(c.err(
                        format!("{key}.probs"),
                        format!("{} values", probs.len()),
                        format!("one value per level ({})", levels.len()),
                    ));
                }
                let mut acc = 0.0;
                let mut cumulative: Vec<f64> = probs
                    .iter()
                    .map(|x| {
                        acc += x;
                        acc
                    })
                    .collect();
                if let Some(last) = cumulative.last_mut() {
                    *last = 1.0;
                }
                samplers.push(Sampler::Categorical { cumulative });
            }
            ColumnKind::Categorical { levels }
        }
        "normal" | "lognormal" | "gamma" => {
            let round = match s.round {
                None => None,
                some => Some(c.positive(&format!("{p}.round"), some)?),
            };
            for (key, ps) in &per_stratum {
                c.unused(
                    key,
                    dist,
                    &[("p", ps.p.is_some()), ("probs", ps.probs.is_some()), ("counts", ps.counts.is_some())],
                )?;
                let shift = c.finite(&format!("{key}.shift"), Some(ps.shift.or(s.shift).unwrap_or(0.0)))?;
                let lower = ps.lower.or(s.lower).unwrap_or(f64::NEG_INFINITY);
                let upper = ps.upper.or(s.upper).unwrap_or(f64::INFINITY);
                if lower.is_nan() || upper.is_nan() || lower >= upper {
                    return Err(c.err(format!("{key}.upper"), upper, format!("a number > lower = {lower}")));
                }
                let sd = c.positive(&format!("{key}.sd"), ps.sd)?;
                let law_name = ps.dist.as_deref().unwrap_or(dist);
                let law = match law_name {
                    "normal" => Law::Normal { mean: c.finite(&format!("{key}.mean"), ps.mean)?, sd },
                    "lognormal" => {
                        let mean = c.positive(&format!("{key}.mean"), ps.mean)?;
                        let v = (1.0 + (sd / mean).powi(2)).ln();
                        Law::LogNormal { meanlog: mean.ln() - v / 2.0, sdlog: v.sqrt() }
                    }
                    "gamma" => {
                        let mean = c.positive(&format!("{key}.mean"), ps.mean)?;
                        Law::Gamma { shape: (mean / sd).powi(2), scale: sd * sd / mean }
                    }
                    other => {
                        return Err(c.err(
                            format!("{key}.dist"),
                            format!("\"{other}\""),
                            "one of \"normal\", \"lognormal\", \"gamma\"",
                        ));
                    }
                };
                let sampler = ContinuousSampler { law, shift, round, lower, upper };
                if sampler.acceptance() < 1e-3 {
                    return Err(c.err(
                        format!("{key}.lower"),
                        lower,
                        "bounds that keep at least 0.1% of the distribution",
                    ));
                }
                samplers.push(Sampler::Continuous(sampler));
            }
            ColumnKind::Continuous
        }
        other => {
            return Err(c.err(
                format!("{p}.dist"),
                format!("\"{other}\""),
                "one of \"binary\", \"categorical\", \"normal\", \"lognormal\", \"gamma\"",
            ));
        }
    };
    Ok(Covariate { name: s.name.clone(), kind, given, missing, samplers })
}

fn derived_indicator(
    c: &Ctx,
    strata: &Allocation,
    covs: &[Covariate],
    d: &DerivedSpec,
) -> Result<Derived, ScenarioError> {
    let p = format!("derived.{}", d.name);
    let (source, levels): (Source, Option<&[String]>) = if d.from == "stratum" {
        (Source::Stratum, Some(&strata.names))
    } else {
        match covs.iter().position(|x| x.name == d.from) {
            Some(i) => (
                Source::Column(i),
                match &covs[i].kind {
                    ColumnKind::Categorical { levels } => Some(levels.as_slice()),
                    _ => None,
                },
            ),
            None => {
                return Err(c.err(
                    format!("{p}.from"),
                    format!("\"{}\"", d.from),
                    "\"stratum\" or the name of a covariate",
                ));
            }
        }
    };
    let thresholds = [("gt", d.gt), ("ge", d.ge), ("lt", d.lt), ("le", d.le)];
    let n_rules = thresholds.iter().filter(|t| t.1.is_some()).count() + usize::from(d.levels.is_some());
    if n_rules != 1 {
        return Err(c.err(
            format!("{p}.gt"),
            format!("{n_rules} rules"),
            "exactly one of gt, ge, lt, le, levels",
        ));
    }
    let rule = if let Some(lv) = &d.levels {
        let Some(all) = levels else {
            return Err(c.err(
                format!("{p}.levels"),
                "present",
                "a categorical source (or the stratum) for `levels`",
            ));
        };
        let mask = |key: &str, list: &[String]| -> Result<Vec<bool>, ScenarioError> {
            let mut m = vec![false; all.len()];
            for l in list {
                match all.iter().position(|x| x == l) {
                    Some(i) => m[i] = true,
                    None => {
                        return Err(c.err(
                            format!("{p}.{key}"),
                            format!("\"{l}\""),
                            format!("one of {all:?}"),
                        ));
                    }
                }
            }
            Ok(m)
        };
        let positive = mask("levels", lv)?;
        let na = mask("na_levels", d.na_levels.as_deref().unwrap_or(&[]))?;
        Rule::Levels { positive, na }
    } else {
        if d.na_levels.is_some() {
            return Err(c.err(format!("{p}.na_levels"), "present", "absent unless `levels` is given"));
        }
        if levels.is_some() {
            return Err(c.err(format!("{p}.gt"), "a threshold", "`levels` for a categorical source"));
        }
        let (name, v) = thresholds
            .iter()
            .find(|t| t.1.is_some())
            .map(|t| (t.0, t.1.unwrap_or(0.0)))
            .unwrap_or(("gt", 0.0));
        let v = c.finite(&format!("{p}.{name}"), Some(v))?;
        match name {
            "gt" => Rule::Gt(v),
            "ge" => Rule::Ge(v),
            "lt" => Rule::Lt(v),
            _ => Rule::Le(v),
        }
    };
    Ok(Derived { name: d.name.clone(), source, rule })
}

fn baseline(c: &Ctx, p: &str, d: &DistSpec) -> Result<Baseline, ScenarioError> {
    let k = |name: &str| format!("{p}.{name}");
    match d.dist.as_str() {
        "exponential" => {
            c.unused(
                p,
                &d.dist,
                &[
                    ("mean", d.mean.is_some()),
                    ("shape", d.shape.is_some()),
                    ("scale", d.scale.is_some()),
                    ("min", d.min.is_some()),
                    ("max", d.max.is_some()),
                    ("at", d.at.is_some()),
                    ("breaks", d.breaks.is_some()),
                    ("rates", d.rates.is_some()),
                ],
            )?;
            let rate = match (d.rate, d.median) {
                (Some(_), None) => c.positive(&k("rate"), d.rate)?,
                (None, Some(_)) => std::f64::consts::LN_2 / c.positive(&k("median"), d.median)?,
                _ => {
                    return Err(c.err(
                        k("rate"),
                        "absent or both given",
                        "exactly one of `rate` and `median`",
                    ));
                }
            };
            Ok(Baseline::Exponential { rate })
        }
        "weibull" => {
            c.unused(
                p,
                &d.dist,
                &[
                    ("rate", d.rate.is_some()),
                    ("mean", d.mean.is_some()),
                    ("median", d.median.is_some()),
                    ("min", d.min.is_some()),
                    ("max", d.max.is_some()),
                    ("at", d.at.is_some()),
                    ("breaks", d.breaks.is_some()),
                    ("rates", d.rates.is_some()),
                ],
            )?;
            Ok(Baseline::Weibull {
                shape: c.positive(&k("shape"), d.shape)?,
                scale: c.positive(&k("scale"), d.scale)?,
            })
        }
        "piecewise" => {
            c.unused(
                p,
                &d.dist,
                &[
                    ("rate", d.rate.is_some()),
                    ("mean", d.mean.is_some()),
                    ("median", d.median.is_some()),
                    ("shape", d.shape.is_some()),
                    ("scale", d.scale.is_some()),
                    ("min", d.min.is_some()),
                    ("max", d.max.is_some()),
                    ("at", d.at.is_some()),
                ],
            )?;
            let breaks = d.breaks.clone().unwrap_or_default();
            let rates = d.rates.clone().unwrap_or_default();
            let mut prev = 0.0;
            for (i, &b) in breaks.iter().enumerate() {
                if !(b.is_finite() && b > prev) {
                    return Err(c.err(
                        format!("{p}.breaks[{i}]"),
                        b,
                        format!("a finite number > {prev} (increasing, > 0)"),
                    ));
                }
                prev = b;
            }
            if rates.len() != breaks.len() + 1 {
                return Err(c.err(
                    k("rates"),
                    format!("{} values", rates.len()),
                    format!("len(breaks) + 1 = {} rates", breaks.len() + 1),
                ));
            }
            for (i, &r) in rates.iter().enumerate() {
                if !(r.is_finite() && r >= 0.0) {
                    return Err(c.err(format!("{p}.rates[{i}]"), r, "a finite rate >= 0"));
                }
            }
            if rates.last().is_some_and(|&r| r <= 0.0) {
                return Err(c.err(
                    format!("{p}.rates[{}]", rates.len() - 1),
                    0,
                    "a rate > 0 in the last piece",
                ));
            }
            Ok(Baseline::Piecewise { breaks, rates })
        }
        other => Err(c.err(
            k("dist"),
            format!("\"{other}\""),
            "one of \"exponential\", \"weibull\", \"piecewise\"",
        )),
    }
}

fn censoring_dist(c: &Ctx, p: &str, d: &DistSpec) -> Result<Censoring, ScenarioError> {
    let k = |name: &str| format!("{p}.{name}");
    let no_pw =
        [("breaks", d.breaks.is_some()), ("rates", d.rates.is_some()), ("median", d.median.is_some())];
    c.unused(p, &d.dist, &no_pw)?;
    let cap = |c: &Ctx| -> Result<f64, ScenarioError> {
        match d.max {
            None => Ok(f64::INFINITY),
            some => c.positive(&k("max"), some),
        }
    };
    match d.dist.as_str() {
        "none" => {
            c.unused(
                p,
                &d.dist,
                &[
                    ("rate", d.rate.is_some()),
                    ("mean", d.mean.is_some()),
                    ("shape", d.shape.is_some()),
                    ("scale", d.scale.is_some()),
                    ("min", d.min.is_some()),
                    ("max", d.max.is_some()),
                    ("at", d.at.is_some()),
                ],
            )?;
            Ok(Censoring::None)
        }
        "fixed" => {
            c.unused(
                p,
                &d.dist,
                &[
                    ("rate", d.rate.is_some()),
                    ("mean", d.mean.is_some()),
                    ("shape", d.shape.is_some()),
                    ("scale", d.scale.is_some()),
                    ("min", d.min.is_some()),
                    ("max", d.max.is_some()),
                ],
            )?;
            Ok(Censoring::Fixed { at: c.positive(&k("at"), d.at)? })
        }
        "uniform" => {
            c.unused(
                p,
                &d.dist,
                &[
                    ("rate", d.rate.is_some()),
                    ("mean", d.mean.is_some()),
                    ("shape", d.shape.is_some()),
                    ("scale", d.scale.is_some()),
                    ("at", d.at.is_some()),
                ],
            )?;
            let min = c.finite(&k("min"), d.min)?;
            let max = c.finite(&k("max"), d.max)?;
            if !(min >= 0.0 && max > min) {
                return Err(c.err(k("max"), max, format!("a number > min = {min} >= 0")));
            }
            Ok(Censoring::Uniform { min, max })
        }
        "exponential" => {
            c.unused(
                p,
                &d.dist,
                &[
                    ("shape", d.shape.is_some()),
                    ("scale", d.scale.is_some()),
                    ("min", d.min.is_some()),
                    ("at", d.at.is_some()),
                ],
            )?;
            let mean = match (d.rate, d.mean) {
                (Some(_), None) => 1.0 / c.positive(&k("rate"), d.rate)?,
                (None, Some(_)) => c.positive(&k("mean"), d.mean)?,
                _ => {
                    return Err(c.err(k("mean"), "absent or both given", "exactly one of `rate` and `mean`"));
                }
            };
            Ok(Censoring::Exponential { mean, max: cap(c)? })
        }
        "weibull" => {
            c.unused(
                p,
                &d.dist,
                &[
                    ("rate", d.rate.is_some()),
                    ("mean", d.mean.is_some()),
                    ("min", d.min.is_some()),
                    ("at", d.at.is_some()),
                ],
            )?;
            Ok(Censoring::Weibull {
                shape: c.positive(&k("shape"), d.shape)?,
                scale: c.positive(&k("scale"), d.scale)?,
                max: cap(c)?,
            })
        }
        other => Err(c.err(
            k("dist"),
            format!("\"{other}\""),
            "one of \"none\", \"fixed\", \"uniform\", \"exponential\", \"weibull\"",
        )),
    }
}

fn hazard(c: &Ctx, p: &str, names: &[String], h: &HazardSpec) -> Result<Hazard, ScenarioError> {
    let baseline = baseline(c, &format!("{p}.baseline"), &h.baseline)?;
    let mut effects = Vec::new();
    for e in &h.effects {
        let column_idx = column(c, &format!("{p}.effects.covariate"), names, &e.covariate)?;
        let key = format!("{p}.effects.{}", e.covariate);
        let log_hr = match (e.hr, e.log_hr) {
            (Some(hr), None) => {
                if !(hr.is_finite() && hr > 0.0) {
                    return Err(c.err(format!("{key}.hr"), hr, "a hazard ratio > 0"));
                }
                hr.ln()
            }
            (None, Some(b)) => c.finite(&format!("{key}.log_hr"), Some(b))?,
            _ => {
                return Err(c.err(
                    format!("{key}.hr"),
                    "absent or both given",
                    "exactly one of `hr` and `log_hr`",
                ));
            }
        };
        if effects.iter().any(|x: &Effect| x.column_idx == column_idx) {
            return Err(c.err(key, "given twice", "one effect per covariate"));
        }
        effects.push(Effect { column_idx, log_hr });
    }
    Ok(Hazard { baseline, effects })
}

fn endpoint(c: &Ctx, key: &str, e: Option<&str>) -> Result<Endpoint, ScenarioError> {
    match e.unwrap_or("os") {
        "os" => Ok(Endpoint::Os),
        "pfs" => Ok(Endpoint::Pfs),
        "from_progression" => Ok(Endpoint::FromProgression),
        other => Err(c.err(key, format!("\"{other}\""), "one of \"os\", \"pfs\", \"from_progression\"")),
    }
}

fn analysis(
    c: &Ctx,
    seed: u64,
    layout: &Layout,
    a: Option<&AnalysisSpec>,
) -> Result<Analysis, ScenarioError> {
    let names = layout.columns.as_slice();
    let Some(a) = a else {
        return Ok(Analysis {
            alpha: 0.05,
            replicates: 1000,
            seed,
            estimands: Vec::new(),
            screening: None,
            table1: false,
            firth: FirthUse::WhenMonotone,
        });
    };
    let alpha = a.alpha.unwrap_or(0.05);
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(c.err("analysis.alpha", alpha, "a level in (0, 1)"));
    }
    let replicates = match a.replicates {
        None => 1000,
        Some(r) if r >= 1 => r as usize,
        Some(r) => return Err(c.err("analysis.replicates", r, "an integer >= 1")),
    };
    let seed = match a.seed {
        None => seed,
        Some(s) => c.count("analysis.seed", s)? as u64,
    };
    let mut estimands = Vec::new();
    for (i, e) in a.estimands.iter().enumerate() {
        let p = format!("analysis.estimands[{i}]");
        let k = |name: &str| format!("{p}.{name}");
        let used: &[&str] = match e.kind.as_str() {
            "km_surv" => &["endpoint", "at"],
            "rmst" => &["endpoint", "tau"],
            "cox_hr" => &["endpoint", "covariate", "adjust"],
            "logrank" => &["endpoint", "by"],
            "rmst_diff" => &["endpoint", "by", "groups", "tau"],
            "youden_cut" => &["marker"],
            "maxstat" => &["endpoint", "marker"],
            other => {
                return Err(c.err(
                    k("kind"),
                    format!("\"{other}\""),
                    "one of \"km_surv\", \"rmst\", \"cox_hr\", \"logrank\", \"rmst_diff\", \"youden_cut\", \"maxstat\"",
                ));
            }
        };
        let present = [
            ("endpoint", e.endpoint.is_some()),
            ("at", e.at.is_some()),
            ("tau", e.tau.is_some()),
            ("covariate", e.covariate.is_some()),
            ("adjust", e.adjust.is_some()),
            ("by", e.by.is_some()),
            ("groups", e.groups.is_some()),
            ("marker", e.marker.is_some()),
        ];
        let unused: Vec<(&str, bool)> = present.iter().filter(|(n, _)| !used.contains(n)).copied().collect();
        c.unused(&p, &e.kind, &unused)?;
        let ep = endpoint(c, &k("endpoint"), e.endpoint.as_deref())?;
        let ep_name = match ep {
            Endpoint::Os => "os",
            Endpoint::Pfs => "pfs",
            Endpoint::FromProgression => "from_progression",
        };
        let col = |key: &str, v: &Option<String>| -> Result<usize, ScenarioError> {
            let name = v.as_deref().ok_or_else(|| c.err(k(key), "absent", "a column name"))?;
            column(c, &k(key), names, name)
        };
        let (kind, default_name) = match e.kind.as_str() {
            "km_surv" => {
                let at = c.positive(&k("at"), e.at)?;
                (EstimandKind::KmSurv { endpoint: ep, at }, format!("km_surv_{ep_name}_{at}"))
            }
            "rmst" => {
                let tau = match e.tau {
                    None => None,
                    some => Some(c.positive(&k("tau"), some)?),
                };
                let t = tau.map(|t| t.to_string()).unwrap_or_else(|| "last".into());
                (EstimandKind::Rmst { endpoint: ep, tau }, format!("rmst_{ep_name}_{t}"))
            }
            "cox_hr" => {
                let covariate = col("covariate", &e.covariate)?;
                let mut adjust = Vec::new();
                for a in e.adjust.as_deref().unwrap_or(&[]) {
                    let j = column(c, &k("adjust"), names, a)?;
                    if j == covariate || adjust.contains(&j) {
                        return Err(c.err(
                            k("adjust"),
                            format!("\"{a}\""),
                            "columns other than `covariate`, each once",
                        ));
                    }
                    adjust.push(j);
                }
                let nm = format!("cox_hr_{ep_name}_{}", names[covariate]);
                (EstimandKind::CoxHr { endpoint: ep, covariate, adjust }, nm)
            }
            "logrank" => {
                let by_name = e
                    .by
                    .as_deref()
                    .ok_or_else(|| c.err(k("by"), "absent", "a column name, \"stratum\" or \"treatment\""))?;
                let by = match by_name {
                    "stratum" => GroupBy::Stratum,
                    "treatment" => GroupBy::Treatment,
                    name => GroupBy::Column(column(c, &k("by"), names, name)?),
                };
                (EstimandKind::Logrank { endpoint: ep, by }, format!("logrank_{ep_name}_{by_name}"))
            }
            "rmst_diff" => {
                let tau = c.positive(&k("tau"), e.tau)?;
                let (by, by_name, levels) = group_levels(c, &k("by"), layout, e.by.as_deref())?;
                let groups = group_pair(c, &k("groups"), e.groups.as_deref(), &levels)?;
                (
                    EstimandKind::RmstDiff { endpoint: ep, by, groups, tau },
                    format!("rmst_diff_{ep_name}_{by_name}_{tau}"),
                )
            }
            "youden_cut" => {
                let marker = col("marker", &e.marker)?;
                (EstimandKind::YoudenCut { marker }, format!("youden_cut_{}", names[marker]))
            }
            _ => {
                let marker = col("marker", &e.marker)?;
                (
                    EstimandKind::Maxstat { endpoint: ep, marker },
                    format!("maxstat_{ep_name}_{}", names[marker]),
                )
            }
        };
        let name = e.name.clone().unwrap_or(default_name);
        if estimands.iter().any(|x: &Estimand| x.name == name) {
            return Err(c.err(k("name"), format!("\"{name}\""), "a name not used by another estimand"));
        }
        estimands.push(Estimand { name, kind });
    }
    let screening = match &a.screening {
        None => None,
        Some(sc) => {
            let alpha = sc.alpha.unwrap_or(0.05);
            if !(alpha > 0.0 && alpha < 1.0) {
                return Err(c.err("analysis.screening.alpha", alpha, "a level in (0, 1)"));
            }
            if sc.covariates.is_empty() {
                return Err(c.err("analysis.screening.covariates", "[]", "at least one column name"));
            }
            let mut columns = Vec::new();
            for (i, name) in sc.covariates.iter().enumerate() {
                let j = column(c, &format!("analysis.screening.covariates[{i}]"), names, name)?;
                if columns.contains(&j) {
                    return Err(c.err(
                        format!("analysis.screening.covariates[{i}]"),
                        format!("\"{name}\""),
                        "each column once",
                    ));
                }
                columns.push(j);
            }
            Some(Screening { columns, alpha })
        }
    };
    let firth = match a.firth.as_deref() {
        None | Some("when_monotone") => FirthUse::WhenMonotone,
        Some("always") => FirthUse::Always,
        Some(other) => {
            return Err(c.err("analysis.firth", format!("\"{other}\""), "\"when_monotone\" or \"always\""));
        }
    };
    Ok(Analysis { alpha, replicates, seed, estimands, screening, table1: a.table1.unwrap_or(false), firth })
}

/// The grouping `by` of an `rmst_diff` and the names of its levels, in code order: the treatment
/// options, the strata, a categorical column's levels, or "0" and "1" for a binary or derived
/// column.
fn group_levels<'a>(
    c: &Ctx,
    key: &str,
    layout: &'a Layout,
    by: Option<&'a str>,
) -> Result<(GroupBy, &'a str, Vec<String>), ScenarioError> {
    let expected = "\"treatment\", \"stratum\" or the name of a binary, categorical or derived column";
    let by_name = by.ok_or_else(|| c.err(key, "absent", expected))?;
    match by_name {
        "treatment" if layout.treatments.is_empty() => Err(c.err(
            key,
            "\"treatment\"",
            "a grouping other than \"treatment\" without [after_progression]",
        )),
        "treatment" => Ok((GroupBy::Treatment, by_name, layout.treatments.clone())),
        "stratum" => Ok((GroupBy::Stratum, by_name, layout.strata.clone())),
        name => {
            let j = column(c, key, &layout.columns, name)?;
            let levels = match &layout.kinds[j] {
                ColumnKind::Categorical { levels } => levels.clone(),
                ColumnKind::Binary | ColumnKind::Derived => vec!["0".into(), "1".into()],
                ColumnKind::Continuous => {
                    return Err(c.err(key, format!("\"{name}\" (continuous)"), expected));
                }
            };
            Ok((GroupBy::Column(j), by_name, levels))
        }
    }
}

/// Two different level names of `levels`, as their codes.
fn group_pair(
    c: &Ctx,
    key: &str,
    groups: Option<&[String]>,
    levels: &[String],
) -> Result<[usize; 2], ScenarioError> {
    let quoted = || levels.iter().map(|l| format!("\"{l}\"")).collect::<Vec<_>>().join(", ");
    let expected = || format!("two different levels of `by` ({})", quoted());
    let g = groups.ok_or_else(|| c.err(key, "absent", expected()))?;
    if g.len() != 2 {
        return Err(c.err(key, format!("{} names", g.len()), expected()));
    }
    let mut codes = [0; 2];
    for (i, name) in g.iter().enumerate() {
        codes[i] = levels.iter().position(|l| l == name).ok_or_else(|| {
            c.err(format!("{key}[{i}]"), format!("\"{name}\""), format!("one of {}", quoted()))
        })?;
    }
    if codes[0] == codes[1] {
        return Err(c.err(key, format!("\"{}\" twice", g[0]), expected()));
    }
    Ok(codes)
}

fn calibration(c: &Ctx, s: &Scenario, cal: &CalibrationSpec) -> Result<Calibration, ScenarioError> {
    let cohorts = match cal.cohorts {
        None => 2000,
        Some(k) if k >= 1 => k as usize,
        Some(k) => return Err(c.err("calibration.cohorts", k, "an integer >= 1")),
    };
    let seed = match cal.seed {
        None => s.seed,
        Some(x) => c.count("calibration.seed", x)? as u64,
    };
    let mut parameters = Vec::new();
    for (i, ps) in cal.parameters.iter().enumerate() {
        let p = format!("calibration.parameters[{i}]");
        let key = param_key(s, &c.file, &ps.key).map_err(|e| match e {
            ScenarioError::Invalid { found, expected, .. } => c.err(format!("{p}.key"), found, expected),
            other => other,
        })?;
        if !(ps.lower.is_finite() && ps.upper.is_finite() && ps.lower < ps.upper) {
            return Err(c.err(
                format!("{p}.upper"),
                ps.upper,
                format!("a finite number > lower = {}", ps.lower),
            ));
        }
        let current = get_parameter(s, &key);
        if !(ps.lower..=ps.upper).contains(&current) {
            return Err(c.err(
                format!("{p}.lower"),
                format!("[{}, {}]", ps.lower, ps.upper),
                format!("bounds containing the current value {current}"),
            ));
        }
        parameters.push(FreeParameter { name: ps.key.clone(), key, lower: ps.lower, upper: ps.upper });
    }
    let mut targets = Vec::new();
    for (i, t) in cal.targets.iter().enumerate() {
        let p = format!("calibration.targets[{i}]");
        let k = |name: &str| format!("{p}.{name}");
        if t.path.is_empty() || t.path.split('.').any(str::is_empty) {
            return Err(c.err(
                k("path"),
                format!("\"{}\"", t.path),
                "a dotted path such as overall_survival.km_surv.60",
            ));
        }
        if !(t.tolerance.is_finite() && t.tolerance > 0.0) {
            return Err(c.err(k("tolerance"), t.tolerance, "a number > 0"));
        }
        let stratum = match &t.stratum {
            None => None,
            Some(name) => Some(s.strata.index(name).ok_or_else(|| {
                c.err(k("stratum"), format!("\"{name}\""), format!("one of {:?}", s.strata.names))
            })?),
        };
        let era = match &t.era {
            None => None,
            Some(name) => Some(s.eras.index(name).ok_or_else(|| {
                c.err(k("era"), format!("\"{name}\""), format!("one of {:?}", s.eras.names))
            })?),
        };
        let used: &[&str] = match t.statistic.as_str() {
            "km_surv" => &["endpoint", "at", "stratum"],
            "rmst" => &["endpoint", "tau", "stratum"],
            "events" => &["endpoint", "stratum"],
            "followup_mean" => &["era"],
            "followup_median" | "followup_min" | "followup_max" => &[],
            other => {
                return Err(c.err(k("statistic"), format!("\"{other}\""), "one of \"km_surv\", \"rmst\", \"events\", \"followup_median\", \"followup_mean\", \"followup_min\", \"followup_max\""));
            }
        };
        let present = [
            ("endpoint", t.endpoint.is_some()),
            ("at", t.at.is_some()),
            ("tau", t.tau.is_some()),
            ("stratum", t.stratum.is_some()),
            ("era", t.era.is_some()),
        ];
        let unused: Vec<(&str, bool)> = present.iter().filter(|(n, _)| !used.contains(n)).copied().collect();
        c.unused(&p, &t.statistic, &unused)?;
        let ep = endpoint(c, &k("endpoint"), t.endpoint.as_deref())?;
        let statistic = match t.statistic.as_str() {
            "km_surv" => Statistic::KmSurv { endpoint: ep, at: c.positive(&k("at"), t.at)?, stratum },
            "rmst" => Statistic::Rmst {
                endpoint: ep,
                tau: match t.tau {
                    None => None,
                    some => Some(c.positive(&k("tau"), some)?),
                },
                stratum,
            },
            "events" => Statistic::Events { endpoint: ep, stratum },
            "followup_mean" => Statistic::FollowupMean { era },
            "followup_median" => Statistic::FollowupMedian,
            "followup_min" => Statistic::FollowupMin,
            _ => Statistic::FollowupMax,
        };
        targets.push(Target { path: t.path.clone(), statistic, tolerance: t.tolerance });
    }
    Ok(Calibration { cohorts, seed, parameters, targets })
}

/// `outcomes.os.baseline.<p>`, `outcomes.progression.baseline.<p>`, `censoring.<p>` (no eras) or
/// `eras.<name>.censoring.<p>`, where <p> is a parameter of that distribution (`rates.<k>` for a
/// piecewise rate).
pub(super) fn param_key(s: &Scenario, file: &Path, key: &str) -> Result<ParamKey, ScenarioError> {
    let c = Ctx { file: file.to_path_buf() };
    let bad = |what: &str| c.err(key, format!("\"{key}\""), what.to_string());
    let parts: Vec<&str> = key.split('.').collect();
    let parsed = match parts.as_slice() {
        ["outcomes", "os", "baseline", rest @ ..] if !rest.is_empty() => ParamKey::OsBaseline(rest.join(".")),
        ["outcomes", "progression", "baseline", rest @ ..] if !rest.is_empty() => {
            if s.progression.is_none() {
                return Err(bad("a parameter of an existing hazard ([outcomes.progression] is absent)"));
            }
            ParamKey::ProgressionBaseline(rest.join("."))
        }
        ["censoring", p] if s.eras.names == ["all"] => {
            ParamKey::Censoring { era_idx: 0, param: p.to_string() }
        }
        ["eras", era, "censoring", p] => match s.eras.index(era) {
            Some(era_idx) => ParamKey::Censoring { era_idx, param: p.to_string() },
            None => return Err(bad(&format!("an era among {:?}", s.eras.names))),
        },
        _ => {
            return Err(bad(
                "outcomes.os.baseline.<p>, outcomes.progression.baseline.<p>, censoring.<p> or eras.<era>.censoring.<p>",
            ));
        }
    };
    if param_slot(&mut s.clone(), &parsed).is_none() {
        return Err(bad("a parameter that the distribution at this key has"));
    }
    Ok(parsed)
}

/// Reads the current value (NaN if the key does not fit the scenario, which `param_key` rules out).
pub(super) fn get_parameter(s: &Scenario, key: &ParamKey) -> f64 {
    param_slot(&mut s.clone(), key).map(|x| *x).unwrap_or(f64::NAN)
}

pub(super) fn set_parameter(s: &mut Scenario, key: &ParamKey, value: f64) -> Result<(), ScenarioError> {
    let name = match key {
        ParamKey::OsBaseline(p) => format!("outcomes.os.baseline.{p}"),
        ParamKey::ProgressionBaseline(p) => format!("outcomes.progression.baseline.{p}"),
        ParamKey::Censoring { era_idx, param } => format!(
            "eras.{}.censoring.{param}",
            s.eras.names.get(*era_idx).map(String::as_str).unwrap_or("?")
        ),
    };
    let c = Ctx { file: PathBuf::from(&s.id) };
    // Rates may be 0 only inside a piecewise baseline; everything else must be > 0.
    let allow_zero =
        matches!(key, ParamKey::OsBaseline(p) | ParamKey::ProgressionBaseline(p) if p.starts_with("rates."));
    if !(value.is_finite() && (value > 0.0 || (allow_zero && value == 0.0))) {
        return Err(c.err(name, value, "a finite number > 0"));
    }
    match param_slot(s, key) {
        Some(slot) => {
            *slot = value;
            Ok(())
        }
        None => Err(c.err(name, "absent", "a parameter of this distribution")),
    }
}

fn param_slot<'a>(s: &'a mut Scenario, key: &ParamKey) -> Option<&'a mut f64> {
    fn baseline_slot<'b>(b: &'b mut Baseline, p: &str) -> Option<&'b mut f64> {
        match (b, p) {
            (Baseline::Exponential { rate }, "rate") => Some(rate),
            (Baseline::Weibull { shape, .. }, "shape") => Some(shape),
            (Baseline::Weibull { scale, .. }, "scale") => Some(scale),
            (Baseline::Piecewise { rates, .. }, p) => {
                let k: usize = p.strip_prefix("rates.")?.parse().ok()?;
                rates.get_mut(k)
            }
            _ => None,
        }
    }
    match key {
        ParamKey::OsBaseline(p) => baseline_slot(&mut s.os.baseline, p),
        ParamKey::ProgressionBaseline(p) => baseline_slot(&mut s.progression.as_mut()?.baseline, p),
        ParamKey::Censoring { era_idx, param } => match (s.censoring.get_mut(*era_idx)?, param.as_str()) {
            (Censoring::Fixed { at }, "at") => Some(at),
            (Censoring::Uniform { min, .. }, "min") => Some(min),
            (Censoring::Uniform { max, .. }, "max") => Some(max),
            (Censoring::Exponential { mean, .. }, "mean") => Some(mean),
            (Censoring::Exponential { max, .. }, "max") => Some(max),
            (Censoring::Weibull { shape, .. }, "shape") => Some(shape),
            (Censoring::Weibull { scale, .. }, "scale") => Some(scale),
            (Censoring::Weibull { max, .. }, "max") => Some(max),
            _ => None,
        },
    }
}

fn report(c: &Ctx, file: &Path, r: Option<&ReportSpec>) -> Result<Report, ScenarioError> {
    let Some(r) = r else { return Ok(Report::default()) };
    let null_scenario = r.null_scenario.as_ref().map(|p| file.parent().unwrap_or(Path::new(".")).join(p));
    let mut claims = Vec::new();
    for (i, cl) in r.claims.iter().enumerate() {
        let kind = match cl.kind.as_str() {
            "estimate" => ClaimKind::Estimate,
            "effect" => ClaimKind::Effect,
            "no_association" => ClaimKind::NoAssociation,
            "cut" => ClaimKind::Cut,
            "no_true_effect" => ClaimKind::NoTrueEffect,
            other => {
                return Err(c.err(
                    format!("report.claims[{i}].kind"),
                    format!("\"{other}\""),
                    "one of \"estimate\", \"effect\", \"no_association\", \"cut\", \"no_true_effect\"",
                ));
            }
        };
        claims.push(Claim {
            claim: cl.claim.clone(),
            kind,
            estimand: cl.estimand.clone(),
            method: cl.method.clone(),
            paper: cl.paper,
            proportion: match cl.proportion {
                Some(p) if !(p > 0.0 && p < 1.0) => {
                    return Err(c.err(format!("report.claims[{i}].proportion"), p, "a fraction in (0, 1)"));
                }
                p => p,
            },
        });
    }
    let mut plan_n = Vec::new();
    for (i, &n) in r.plan_n.iter().flatten().enumerate() {
        plan_n.push(c.count(&format!("report.plan_n[{i}]"), n)?);
        if !(1..=MAX_N).contains(&n) {
            return Err(c.err(format!("report.plan_n[{i}]"), n, format!("a sample size in 1..={MAX_N}")));
        }
    }
    let plan_replicates = match r.plan_replicates {
        None => 1000,
        Some(k) if k >= 1 => k as usize,
        Some(k) => return Err(c.err("report.plan_replicates", k, "an integer >= 1")),
    };
    Ok(Report { null_scenario, plan_n, plan_replicates, claims })
}
