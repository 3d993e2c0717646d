//! One whole replicate of the seed paper's scenario (`scenarios/tsh2024.toml`, n = 53), and the
//! engine running 2000 replicates of it on 1 and 2 threads. `benches/peers/replicate.R` does the
//! same pipeline in R and `benches/compare_r.sh` prints the ratio; see `benches/README.md`.
//!
//! ```text
//! replicate/generate   cohort::generate_into (one 53-patient cohort from replicate i's stream)
//! replicate/tsh2024    generate_into + analysis::replicate::evaluate: what the engine does per
//!                      replicate, without accumulating (KM, RMST, 3 Cox estimands with Firth's
//!                      profile intervals, 6 log-rank tests, ROC/Youden, maxstat, 35 univariate
//!                      Cox screens and the multivariate fit, ~25 Table 1 tests)
//! engine/2000/<k>      engine::run of 2000 replicates (8 blocks of 250) on k threads: the pilot
//!                      (block 0's 250 replicates, accumulated as block 0), the other replicates,
//!                      accumulation of every performance measure, the blocks written to disk
//!                      and folded, the run's outputs
//! engine/20000/<k>     the same for 20,000 replicates in blocks of `survmc run`'s default size (10 of 2000),
//!                      where the fixed costs (pilot, fold, outputs) weigh less
//! ```
//! Replicate i uses the engine's stream for i (`rng_for(seed, "tsh2024", i)`), i cycling over
//! 0..1000, so the timing averages over cohorts as a run does. The truth is computed once at a
//! reduced size (it fixes the schema's true values, not the cost of a replicate).

use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use survmc::cohort::{self, Cohort, TruthControl};
use survmc::engine::{self, ProgressMode, Replicate, RunConfig, ScenarioIdentity, Study, rng_for};
use survmc::study::ScenarioStudy;

const CYCLE: u64 = 1000;
/// Replicates per block in the engine bench: the engine parallelises over blocks (and over the
/// pilot, block 0, computed first), so 2000 replicates are 8 blocks for the threads to share.
const BLOCK: u64 = 250;
/// Replicates of the engine bench in blocks of `survmc run`'s default size (10 blocks).
const LONG: u64 = 20_000;
const LONG_BLOCK: u64 = 2000;

fn study() -> (ScenarioStudy, ScenarioIdentity, u64) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/tsh2024.toml");
    let s = survmc::scenario::load(&path).expect("scenarios/tsh2024.toml loads");
    let seed = s.analysis.seed;
    let identity = ScenarioIdentity { id: s.id.clone(), sha256: s.sha256.clone() };
    let control = TruthControl { n_large: 20_000, n_batches: 4, ..TruthControl::issue3() };
    (ScenarioStudy::new(s, seed, &control), identity, seed)
}

fn replicate(c: &mut Criterion) {
    let (study, _, seed) = study();
    let id = study.scenario.id.clone();
    let mut g = c.benchmark_group("replicate");
    g.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(5)).sample_size(50);

    let mut cohort: Cohort = Cohort::new(&study.scenario);
    let mut i = 0u64;
    g.bench_function("generate", |b| {
        b.iter(|| {
            let mut rng = rng_for(seed, &id, i % CYCLE);
            i += 1;
            cohort::generate_into(&study.scenario, &mut rng, &mut cohort);
            black_box(&cohort);
        })
    });

    let mut scratch = study.scratch();
    let mut out = Replicate::new(study.schema());
    let mut i = 0u64;
    g.bench_function("tsh2024", |b| {
        b.iter(|| {
            let mut rng = rng_for(seed, &id, i % CYCLE);
            i += 1;
            out.clear();
            study.replicate(&mut rng, &mut scratch, &mut out).expect("replicate");
            black_box(&out);
        })
    });
    g.finish();
}

fn engine_threads(c: &mut Criterion) {
    let (study, identity, seed) = study();
    let dir = tempfile::tempdir().expect("temporary directory");
    let runs = AtomicU64::new(0);
    // (replicates, replicates per block): a short run, where the pilot, the block files and the
    // final fold are a large share, and a run of the default block size
    for (replicates, block_size) in [(2000, BLOCK), (LONG, LONG_BLOCK)] {
        let mut g = c.benchmark_group(format!("engine/{replicates}"));
        g.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(20)).sample_size(10);
        if replicates == LONG {
            // one run per sample (a run lasts seconds)
            g.sampling_mode(SamplingMode::Flat);
        }
        for threads in [1usize, 2] {
            g.bench_with_input(BenchmarkId::from_parameter(threads), &threads, |b, &threads| {
                b.iter(|| {
                    // a fresh output directory per run (the engine does not overwrite a run)
                    let k = runs.fetch_add(1, Ordering::Relaxed);
                    let out = dir.path().join(k.to_string());
                    let mut config = RunConfig::new(identity.clone(), seed, replicates, out);
                    config.block_size = block_size;
                    config.threads = Some(threads);
                    config.progress = ProgressMode::Quiet;
                    black_box(engine::run(&study, &config).expect("engine run"));
                })
            });
        }
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = replicate, engine_threads
}
criterion_main!(benches);
