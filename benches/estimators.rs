//! Each estimator at n = 53 (the seed paper's cohort), 500 and 5000, on one cohort per n drawn once
//! with a fixed seed. `benches/peers/estimators.R` does the same work in R and
//! `benches/compare_r.sh` prints the ratio; see `benches/README.md`.
//!
//! ```text
//! x1 ~ Bernoulli(0.5)      binary covariate (log-rank groups, table rows, Mann–Whitney groups)
//! z  ~ N(0, 1)             continuous marker (ROC, maxstat, Cox with 1 covariate)
//! z2..z9 ~ N(0, 1)         eight more covariates (Cox with 10: x1, z, z2..z9)
//! T  ~ Exp(0.05 exp(0.7 x1 + 0.5 z))   months
//! C  ~ Exp(0.045)                      about 40% censored
//! time = max(0.1, round(min(T, C), 1)), event = T <= C   (0.1-month grid: realistic ties)
//! ```
//! Benchmark ids are `<estimator>/<n>` (criterion writes `target/criterion/<estimator>/<n>/`).
//! Each timed call does what one R call does from the same raw vectors: the Cox benches include
//! `CoxData::new` (the sort), the KM bench the median as well because R's `summary.survfit`
//! always computes it.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use rand_distr::{Bernoulli, Distribution, Exp, StandardNormal};
use std::hint::black_box;
use std::time::Duration;
use survmc::data::SurvivalData;
use survmc::estimators::cox::{self, CoxControl, CoxData, Ties};
use survmc::estimators::tables::{self, ContingencyTable};
use survmc::estimators::{km, logrank, mann_whitney, maxstat, roc};

const SIZES: [usize; 3] = [53, 500, 5000];
const SEED: u64 = 20261126;

/// One simulated cohort; every estimator reads the columns it needs.
struct Cohort {
    data: SurvivalData,
    /// the binary covariate x1 as group codes 0/1
    group: Vec<usize>,
    /// continuous marker
    z: Vec<f64>,
    /// quartile of `z` (0..4), the columns of the 2x4 table
    z_quartile: Vec<usize>,
    /// the ten Cox covariates: x1, z, z2..z9
    covariates: Vec<Vec<f64>>,
}

impl Cohort {
    fn draw(n: usize) -> Cohort {
        let mut rng = ChaCha8Rng::seed_from_u64(SEED ^ n as u64);
        let coin = Bernoulli::new(0.5).expect("valid p");
        let censor = Exp::new(0.045).expect("valid rate");
        let unit = Exp::new(1.0).expect("valid rate");
        let mut covariates: Vec<Vec<f64>> = (0..10).map(|_| Vec::with_capacity(n)).collect();
        let (mut time, mut event) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for _ in 0..n {
            let x1 = if coin.sample(&mut rng) { 1.0 } else { 0.0 };
            covariates[0].push(x1);
            for column in &mut covariates[1..] {
                column.push(StandardNormal.sample(&mut rng));
            }
            let rate = 0.05 * (0.7 * x1 + 0.5 * covariates[1].last().expect("pushed")).exp();
            let t: f64 = unit.sample(&mut rng) / rate;
            let c: f64 = censor.sample(&mut rng);
            time.push(((t.min(c) * 10.0).round() / 10.0).max(0.1));
            event.push(t <= c);
        }
        let data = SurvivalData::new(time, event).expect("finite non-negative times");
        let z = covariates[1].clone();
        let group = covariates[0].iter().map(|&v| v as usize).collect();
        let mut sorted = z.clone();
        sorted.sort_by(f64::total_cmp);
        let z_quartile = z.iter().map(|&v| (sorted.partition_point(|&s| s < v) * 4 / n).min(3)).collect();
        Cohort { data, group, z, z_quartile, covariates }
    }
}

/// Times at which the KM curve is read (months).
const AT: [f64; 3] = [3.0, 6.0, 12.0];

fn bench_km(c: &mut Criterion, cohorts: &[Cohort]) {
    let mut g = c.benchmark_group("km");
    for cohort in cohorts {
        g.bench_with_input(BenchmarkId::from_parameter(cohort.data.len()), cohort, |b, cohort| {
            b.iter(|| {
                let fit = km::fit(black_box(&cohort.data));
                let at = AT.map(|t| {
                    let s = fit.surv_at(t);
                    (s, s.ci(km::ConfType::Log))
                });
                (at, fit.rmean_last(), fit.median(km::ConfType::Log))
            })
        });
    }
}

fn bench_logrank(c: &mut Criterion, cohorts: &[Cohort]) {
    let mut g = c.benchmark_group("logrank");
    for cohort in cohorts {
        g.bench_with_input(BenchmarkId::from_parameter(cohort.data.len()), cohort, |b, cohort| {
            b.iter(|| logrank::test(black_box(&cohort.data), &cohort.group, 2, 0.0))
        });
    }
}

/// Cox, Efron ties, R's control, on the first `p` covariates (`p = 1`: z alone).
fn bench_cox(c: &mut Criterion, cohorts: &[Cohort], name: &str, p: usize) {
    let control = CoxControl::r_defaults();
    let mut g = c.benchmark_group(name);
    for cohort in cohorts {
        let columns: Vec<&[f64]> =
            if p == 1 { vec![&cohort.z] } else { cohort.covariates[..p].iter().map(Vec::as_slice).collect() };
        let fit =
            cox::fit(&CoxData::new(&cohort.data), &columns, Ties::Efron, &control).expect("valid columns");
        assert_eq!(fit.termination, cox::Termination::Converged, "{name}/{}", cohort.data.len());
        g.bench_with_input(BenchmarkId::from_parameter(cohort.data.len()), cohort, |b, cohort| {
            b.iter(|| {
                let prepared = CoxData::new(black_box(&cohort.data));
                cox::fit(&prepared, &columns, Ties::Efron, &control)
            })
        });
    }
}

/// AUC, DeLong SE and CI, every Youden optimum: the marker z against the event indicator.
fn bench_roc(c: &mut Criterion, cohorts: &[Cohort]) {
    let mut g = c.benchmark_group("roc");
    for cohort in cohorts {
        g.bench_with_input(BenchmarkId::from_parameter(cohort.data.len()), cohort, |b, cohort| {
            b.iter(|| roc::fit(black_box(&cohort.z), cohort.data.event()))
        });
    }
}

/// Maximally selected log-rank statistic of z, with both Lausen–Schumacher p-values.
fn bench_maxstat(c: &mut Criterion, cohorts: &[Cohort]) {
    let control = maxstat::MaxstatControl::r_defaults();
    let mut g = c.benchmark_group("maxstat");
    for cohort in cohorts {
        g.bench_with_input(BenchmarkId::from_parameter(cohort.data.len()), cohort, |b, cohort| {
            b.iter(|| maxstat::fit(black_box(&cohort.data), &cohort.z, &control))
        });
    }
}

/// Fisher's exact test on x1 x event (2 x 2) and on x1 x quartile of z (2 x 4); the tables are
/// made once, outside the timing (as in the R script).
fn bench_fisher(c: &mut Criterion, cohorts: &[Cohort]) {
    for (name, n_cols) in [("fisher_2x2", 2), ("fisher_2x4", 4)] {
        let mut g = c.benchmark_group(name);
        for cohort in cohorts {
            let mut counts = vec![0u64; 2 * n_cols];
            for i in 0..cohort.data.len() {
                let col =
                    if n_cols == 2 { usize::from(cohort.data.event()[i]) } else { cohort.z_quartile[i] };
                counts[cohort.group[i] * n_cols + col] += 1;
            }
            let table = ContingencyTable::from_counts(2, n_cols, counts).expect("2 x n_cols counts");
            g.bench_with_input(BenchmarkId::from_parameter(cohort.data.len()), &table, |b, table| {
                b.iter(|| tables::fisher_exact(black_box(table)))
            });
        }
    }
}

/// Wilcoxon rank-sum test of z between the x1 groups: R's default p-value and the normal one.
fn bench_mann_whitney(c: &mut Criterion, cohorts: &[Cohort]) {
    let mut g = c.benchmark_group("mann_whitney");
    for cohort in cohorts {
        let split = |level: usize| -> Vec<f64> {
            cohort.z.iter().zip(&cohort.group).filter(|&(_, &g)| g == level).map(|(&z, _)| z).collect()
        };
        let (z1, z0) = (split(1), split(0));
        g.bench_with_input(BenchmarkId::from_parameter(cohort.data.len()), &(z1, z0), |b, (z1, z0)| {
            b.iter(|| mann_whitney::rank_sum_test(black_box(z1), black_box(z0)))
        });
    }
}

fn estimators(c: &mut Criterion) {
    let cohorts: Vec<Cohort> = SIZES.iter().map(|&n| Cohort::draw(n)).collect();
    for cohort in &cohorts {
        let censored = 1.0 - cohort.data.n_event() as f64 / cohort.data.len() as f64;
        assert!((0.2..0.6).contains(&censored), "n = {}: {censored} censored", cohort.data.len());
    }
    bench_km(c, &cohorts);
    bench_logrank(c, &cohorts);
    bench_cox(c, &cohorts, "cox1", 1);
    bench_cox(c, &cohorts, "cox10", 10);
    bench_roc(c, &cohorts);
    bench_maxstat(c, &cohorts);
    bench_fisher(c, &cohorts);
    bench_mann_whitney(c, &cohorts);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .without_plots()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50);
    targets = estimators
}
criterion_main!(benches);
