//! The Monte Carlo engine on a toy study whose answers are known exactly: the mean of n
//! Normal(mu, 1) draws with its t-interval (coverage 0.95, t-test type-I error 0.05, exactly)
//! and its z-interval with known variance (coverage 0.95; z-test of mu = 0 with power
//! Phi(-z + mu sqrt(n)) + Phi(-z - mu sqrt(n)), exactly).
//!
//! Checks: agreement with the exact values within 3 MCSE; byte-identical outputs for 1, 2 and 4
//! threads, for 3 shards merged, and after an interruption and a resume; merge refusing bad shard
//! sets; a replicate regenerated alone; `--until-mcse`; the MCSE formulas on a hand-computed sample.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rand::RngExt;
use rand::rngs::ChaCha8Rng;
use rand_distr::StandardNormal;
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};
use survmc::engine::{
    self, ChoiceSpec, EngineError, PairSpec, Replicate, RunConfig, RunOutcome, ScenarioIdentity, Schema,
    Shard, StopReason, Study, StudyError,
};
use survmc::metrics::{
    Choice, ChoiceKind, DegenerateKind, Estimate, HistogramSpec, Measure, Observation, PairAccumulator,
};
use survmc::report::run_output::fmt_f64;

const N: usize = 10;
const MU: f64 = 0.3;
const P_MISSING: f64 = 0.02;
const P_DEGENERATE: f64 = 0.03;
const SEED: u64 = 20261104;

/// Mean of N Normal(MU, 1) draws. Pair 0, ("mean", "t"): t-interval and t-test of the true mean;
/// flagged degenerate with probability P_DEGENERATE. Pair 1, ("mean", "z"): z-interval (sd 1
/// known) and z-test of mean 0; missing with probability P_MISSING. Missingness and flags come
/// from draws independent of the sample, so the exact values hold in every view.
struct NormalMean {
    schema: Schema,
    t_crit: f64,
    z_crit: f64,
    t_dist: StudentsT,
    normal: Normal,
}

impl NormalMean {
    fn new() -> Self {
        let t_dist = StudentsT::new(0.0, 1.0, (N - 1) as f64).unwrap();
        let normal = Normal::standard();
        let schema = Schema {
            alpha: 0.05,
            pairs: vec![
                PairSpec {
                    estimand: "mean".into(),
                    method: "t".into(),
                    truth: Some(MU),
                    primary: vec![Measure::Cover],
                },
                PairSpec {
                    estimand: "mean".into(),
                    method: "z".into(),
                    truth: Some(MU),
                    primary: vec![Measure::Power],
                },
            ],
            choices: vec![
                ChoiceSpec {
                    name: "sign".into(),
                    kind: ChoiceKind::Categorical { labels: vec!["neg".into(), "pos".into()] },
                },
                ChoiceSpec {
                    name: "rounded_mean".into(),
                    kind: ChoiceKind::Numeric {
                        histogram: Some(HistogramSpec { lo: -1.5, hi: 1.5, bins: 6 }),
                    },
                },
            ],
        };
        NormalMean {
            schema,
            t_crit: t_dist.inverse_cdf(0.975),
            z_crit: normal.inverse_cdf(0.975),
            t_dist,
            normal,
        }
    }
}

impl Study for NormalMean {
    type Scratch = Vec<f64>;

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn scratch(&self) -> Vec<f64> {
        Vec::with_capacity(N)
    }

    fn replicate(
        &self,
        rng: &mut ChaCha8Rng,
        xs: &mut Vec<f64>,
        out: &mut Replicate,
    ) -> Result<(), StudyError> {
        xs.clear();
        xs.extend((0..N).map(|_| MU + rng.sample::<f64, _>(StandardNormal)));
        let (u_missing, u_degenerate): (f64, f64) = (rng.random(), rng.random());
        let n = N as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        let se_t = sd / n.sqrt();
        let t = (mean - MU) / se_t;
        let mut obs_t = Observation::estimate(mean)
            .with_se(se_t)
            .with_interval(mean - self.t_crit * se_t, mean + self.t_crit * se_t)
            .with_p_value(2.0 * self.t_dist.sf(t.abs()));
        if u_degenerate < P_DEGENERATE {
            obs_t = obs_t.with_flag(DegenerateKind::Other);
        }
        out.observations[0] = Some(obs_t);
        if u_missing >= P_MISSING {
            let se_z = 1.0 / n.sqrt();
            let z = mean / se_z;
            out.observations[1] = Some(
                Observation::estimate(mean)
                    .with_se(se_z)
                    .with_interval(mean - self.z_crit * se_z, mean + self.z_crit * se_z)
                    .with_p_value(2.0 * self.normal.sf(z.abs())),
            );
            out.choices[0] = Choice::Category(u32::from(mean > 0.0));
            out.choices[1] = Choice::Value((mean * 4.0).round() / 4.0);
        }
        Ok(())
    }
}

/// Delegates to NormalMean and raises the cancel flag after `after` replicates (a Ctrl-C).
struct Interrupting {
    inner: NormalMean,
    calls: AtomicU64,
    after: u64,
    flag: Arc<AtomicBool>,
}

impl Study for Interrupting {
    type Scratch = Vec<f64>;

    fn schema(&self) -> &Schema {
        self.inner.schema()
    }

    fn scratch(&self) -> Vec<f64> {
        self.inner.scratch()
    }

    fn replicate(
        &self,
        rng: &mut ChaCha8Rng,
        xs: &mut Vec<f64>,
        out: &mut Replicate,
    ) -> Result<(), StudyError> {
        if self.calls.fetch_add(1, Ordering::Relaxed) + 1 >= self.after {
            self.flag.store(true, Ordering::Relaxed);
        }
        self.inner.replicate(rng, xs, out)
    }
}

fn scenario() -> ScenarioIdentity {
    ScenarioIdentity { id: "toy-normal-mean".into(), sha256: engine::sha256_hex(b"toy scenario file") }
}

fn config(dir: &Path, replicates: u64) -> RunConfig {
    let mut c = RunConfig::new(scenario(), SEED, replicates, dir);
    c.progress = engine::ProgressMode::Quiet;
    c.keep_replicates = true;
    c
}

fn run_with_threads(study: &NormalMean, c: &RunConfig, threads: usize) -> Result<RunOutcome, EngineError> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| engine::run(study, c))
}

const OUTPUT_FILES: [&str; 5] =
    ["manifest.json", "summary.json", "performance.csv", "replicates.csv", "choices.csv"];

/// Every reproducible output file of a run directory, with its bytes.
fn outputs(dir: &Path) -> Vec<(&'static str, Vec<u8>)> {
    OUTPUT_FILES.iter().filter_map(|&name| std::fs::read(dir.join(name)).ok().map(|b| (name, b))).collect()
}

fn assert_same_outputs(a: &Path, b: &Path) {
    let (oa, ob) = (outputs(a), outputs(b));
    assert!(oa.len() >= 3, "{} lacks outputs", a.display());
    assert_eq!(
        oa.iter().map(|x| x.0).collect::<Vec<_>>(),
        ob.iter().map(|x| x.0).collect::<Vec<_>>(),
        "different files"
    );
    for ((name, x), (_, y)) in oa.iter().zip(&ob) {
        assert!(x == y, "{name} differs between {} and {}", a.display(), b.display());
    }
}

fn within_3_mcse(what: &str, e: &Estimate, exact: f64) {
    let (est, mcse) = (e.est.unwrap(), e.mcse.unwrap());
    assert!((est - exact).abs() <= 3.0 * mcse, "{what}: {est} vs exact {exact} (MCSE {mcse}, n {})", e.n);
}

#[test]
fn coverage_type_one_error_and_power_agree_with_exact_values() {
    let dir = tempfile::tempdir().unwrap();
    let study = NormalMean::new();
    let out = engine::run(&study, &config(dir.path(), 4000)).unwrap();
    assert_eq!((out.replicates, out.blocks_used, out.stop), (4000, 8, StopReason::Completed));
    let s = out.summary.unwrap();
    let (t, z) = (&s.pairs[0].performance, &s.pairs[1].performance);
    let normal = Normal::standard();
    let shift = MU * (N as f64).sqrt();
    let zc = normal.inverse_cdf(0.975);
    // Exact power of the two-sided z-test of mean 0 when the mean is MU, sd 1/sqrt(N).
    let power = normal.cdf(-zc + shift) + normal.cdf(-zc - shift);
    let se_mean = 1.0 / (N as f64).sqrt();
    for (view, v) in [("included", &t.included), ("excluded", &t.excluded)] {
        within_3_mcse(&format!("t cover {view}"), &v.cover, 0.95);
        within_3_mcse(&format!("t type-I error {view}"), &v.power, 0.05);
        within_3_mcse(&format!("t bias {view}"), &v.bias, 0.0);
        within_3_mcse(&format!("t empse {view}"), &v.empse, se_mean);
        // E[s^2] = 1, so sqrt(mean s^2 / N) estimates 1 / sqrt(N).
        within_3_mcse(&format!("t modelse {view}"), &v.modelse, se_mean);
        within_3_mcse(&format!("t becover {view}"), &v.becover, 0.95);
        // 4000 continuous intervals: past the exact tables, read off the pilot's grid.
        assert_eq!(v.becover_method, "grid", "{view}");
    }
    within_3_mcse("z cover", &z.included.cover, 0.95);
    within_3_mcse("z power", &z.included.power, power);
    // The z standard error is the constant 1/sqrt(N): no Monte Carlo error at all.
    assert!((z.included.modelse.est.unwrap() - se_mean).abs() < 1e-15);
    assert_eq!(z.included.modelse.mcse, Some(0.0));
    within_3_mcse("t degenerate rate", &t.counts.degenerate_rate, P_DEGENERATE);
    assert_eq!(t.counts.by_kind.iter().find(|k| k.kind == "other").unwrap().n, t.counts.n_degenerate);
    assert_eq!(t.excluded.cover.n + t.counts.n_degenerate, 4000);
    assert_eq!(t.included.cover.n, 4000);
    assert_eq!(z.counts.n_missing + z.included.cover.n, 4000);
    let missing = Estimate {
        est: Some(z.counts.n_missing as f64 / 4000.0),
        mcse: Some((P_MISSING * (1.0 - P_MISSING) / 4000.0).sqrt()),
        n: 4000,
    };
    within_3_mcse("z missing rate", &missing, P_MISSING);
    // Choices: P(mean > 0) = Phi(MU sqrt(N)) among the (1 - P_MISSING) replicates that choose.
    let sign = &s.choices[0];
    let pos = sign.table.as_ref().unwrap()[1].proportion;
    within_3_mcse("P(sign = pos)", &pos, (1.0 - P_MISSING) * normal.cdf(shift));
    let rounded = &s.choices[1];
    let median = rounded.quantiles.iter().find(|q| q.prob == 0.5).unwrap();
    assert!((median.est - 0.25).abs() <= 0.25, "median of the rounded mean {}", median.est);
    let h = rounded.histogram.as_ref().unwrap();
    let in_bins: u64 = h.bins.iter().map(|b| b.n).sum();
    assert_eq!(in_bins + h.n_below + h.n_above + rounded.n_missing, 4000);

    // performance.csv is tidy long with rsimsum's column and stat names.
    let csv = std::fs::read_to_string(dir.path().join("performance.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("estimand,method,include_degenerate,stat,est,mcse,n_used"));
    let cover_row = lines.find(|l| l.starts_with("mean,t,false,cover,")).unwrap();
    let fields: Vec<&str> = cover_row.split(',').collect();
    assert_eq!(fields[4].parse::<f64>().unwrap(), t.excluded.cover.est.unwrap());
    assert_eq!(fields[5].parse::<f64>().unwrap(), t.excluded.cover.mcse.unwrap());
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["replicates"], 4000);
    assert_eq!(manifest["seed"], SEED);
    assert_eq!(manifest["survmc_version"], env!("CARGO_PKG_VERSION"));
    assert!(manifest["crates"]["rand"].is_string() && manifest["crates"]["statrs"].is_string());
}

#[test]
fn thread_count_does_not_change_a_byte() {
    let study = NormalMean::new();
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    for (dir, threads) in dirs.iter().zip([1, 2, 4]) {
        let mut c = config(dir.path(), 2300);
        c.block_size = 250;
        run_with_threads(&study, &c, threads).unwrap();
    }
    assert_same_outputs(dirs[0].path(), dirs[1].path());
    assert_same_outputs(dirs[0].path(), dirs[2].path());
    // `threads` in the config builds its own pool: same bytes again.
    let d = tempfile::tempdir().unwrap();
    let mut c = config(d.path(), 2300);
    c.block_size = 250;
    c.threads = Some(3);
    engine::run(&study, &c).unwrap();
    assert_same_outputs(dirs[0].path(), d.path());
}

/// Runs shards k/3 of 2300 replicates in blocks of 500 (the last block partial) into three dirs.
fn run_shards(study: &NormalMean, seeds: [u64; 3]) -> Vec<tempfile::TempDir> {
    (0..3u64)
        .map(|k| {
            let dir = tempfile::tempdir().unwrap();
            let mut c = config(dir.path(), 2300);
            c.seed = seeds[k as usize];
            c.shard = Shard::new(k, 3).unwrap();
            let out = run_with_threads(study, &c, 2).unwrap();
            assert_eq!(out.stop, StopReason::ShardDone);
            assert!(out.summary.is_none());
            dir
        })
        .collect()
}

fn paths(dirs: &[&tempfile::TempDir]) -> Vec<PathBuf> {
    dirs.iter().map(|d| d.path().to_path_buf()).collect()
}

#[test]
fn three_shards_merged_equal_the_unsharded_run() {
    let study = NormalMean::new();
    let single = tempfile::tempdir().unwrap();
    run_with_threads(&study, &config(single.path(), 2300), 2).unwrap();
    let shards = run_shards(&study, [SEED; 3]);
    // Shard 1 of 3 owns blocks 1 and 4 (replicates 500..1000 and 2000..2300).
    assert_eq!(survmc::engine::blocks::list_blocks(shards[1].path()).unwrap(), vec![1, 4]);
    let merged = tempfile::tempdir().unwrap();
    let out = engine::merge(&paths(&shards.iter().collect::<Vec<_>>()), merged.path()).unwrap();
    assert_eq!((out.replicates, out.blocks_used), (2300, 5));
    assert_same_outputs(single.path(), merged.path());
    // Merging in another order, or into one of the shard directories, gives the same bytes.
    let out_dir = shards[2].path().to_path_buf();
    engine::merge(&paths(&[&shards[2], &shards[0], &shards[1]]), &out_dir).unwrap();
    assert_same_outputs(single.path(), &out_dir);
}

#[test]
fn merge_refuses_bad_shard_sets() {
    let study = NormalMean::new();
    let shards = run_shards(&study, [SEED; 3]);
    let out = tempfile::tempdir().unwrap();

    // A shard missing: blocks 2 of shard 2/3 (blocks 2) are absent.
    let err = engine::merge(&paths(&[&shards[0], &shards[1]]), out.path()).unwrap_err();
    match &err {
        EngineError::MissingBlocks { missing, n_blocks } => {
            assert_eq!((missing.as_slice(), *n_blocks), (&[2][..], 5))
        }
        e => panic!("expected missing blocks, got {e}"),
    }
    assert!(err.to_string().contains("blocks missing: 2 of blocks 0..5"), "{err}");

    // A shard given twice.
    let err =
        engine::merge(&paths(&[&shards[0], &shards[1], &shards[2], &shards[0]]), out.path()).unwrap_err();
    match &err {
        EngineError::DuplicateBlocks { duplicates } => {
            assert_eq!(duplicates.iter().map(|d| d.0).collect::<Vec<_>>(), vec![0, 3]);
        }
        e => panic!("expected duplicated blocks, got {e}"),
    }
    assert!(err.to_string().contains("block 0 in"), "{err}");

    // One block copied into a second shard directory.
    let b = survmc::engine::blocks::block_path(shards[0].path(), 3);
    let copy = survmc::engine::blocks::block_path(shards[1].path(), 3);
    std::fs::copy(&b, &copy).unwrap();
    let err = engine::merge(&paths(&[&shards[0], &shards[1], &shards[2]]), out.path()).unwrap_err();
    assert!(
        matches!(&err, EngineError::DuplicateBlocks { duplicates } if duplicates.len() == 1 && duplicates[0].0 == 3),
        "{err}"
    );
    std::fs::remove_file(&copy).unwrap();

    // A shard run with another seed.
    let other = run_shards(&study, [SEED, SEED, SEED + 1]);
    let err = engine::merge(&paths(&[&shards[0], &shards[1], &other[2]]), out.path()).unwrap_err();
    match &err {
        EngineError::Mismatch { field, expected, found, .. } => {
            assert_eq!(
                (*field, expected.as_str(), found.as_str()),
                ("seed", &*SEED.to_string(), &*(SEED + 1).to_string())
            );
        }
        e => panic!("expected a seed mismatch, got {e}"),
    }
    // A block file smuggled from a run with another seed (its run.json says otherwise).
    let foreign = survmc::engine::blocks::block_path(other[2].path(), 2);
    let dest = survmc::engine::blocks::block_path(shards[0].path(), 2);
    std::fs::copy(&foreign, &dest).unwrap();
    let err = engine::merge(&paths(&[&shards[0], &shards[1]]), out.path()).unwrap_err();
    assert!(
        matches!(&err, EngineError::Mismatch { field, .. } if field.starts_with("run fingerprint")),
        "{err}"
    );
    std::fs::remove_file(&dest).unwrap();

    // Nothing was written where a merge failed, and the good set still merges.
    assert!(!out.path().join("summary.json").exists());
    engine::merge(&paths(&[&shards[0], &shards[1], &shards[2]]), out.path()).unwrap();
}

#[test]
fn a_replicate_regenerated_alone_equals_the_same_replicate_in_a_run() {
    let study = NormalMean::new();
    let dir = tempfile::tempdir().unwrap();
    run_with_threads(&study, &config(dir.path(), 1200), 3).unwrap();
    let csv = std::fs::read_to_string(dir.path().join("replicates.csv")).unwrap();
    let choices = std::fs::read_to_string(dir.path().join("choices.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 1200 * 2);
    for rep in [0u64, 499, 500, 777, 1199] {
        let alone = engine::replicate_one(&study, SEED, &scenario().id, rep).unwrap();
        for (pair, obs) in ["t", "z"].iter().zip(&alone.observations) {
            let line = csv.lines().find(|l| l.starts_with(&format!("{rep},mean,{pair},"))).unwrap();
            let expect = match obs {
                Some(o) => format!(
                    "{rep},mean,{pair},{},{},{},{},{},{}",
                    fmt_f64(o.estimate),
                    fmt_f64(o.se.unwrap()),
                    fmt_f64(o.lower.unwrap()),
                    fmt_f64(o.upper.unwrap()),
                    fmt_f64(o.p_value.unwrap()),
                    if o.flags.is_degenerate() { "other" } else { "" }
                ),
                None => format!("{rep},mean,{pair},NA,NA,NA,NA,NA,"),
            };
            assert_eq!(line, expect);
        }
        let sign = choices.lines().find(|l| l.starts_with(&format!("{rep},sign,"))).unwrap();
        let label = match alone.choices[0] {
            Choice::Category(1) => "pos",
            Choice::Category(_) => "neg",
            _ => "NA",
        };
        assert_eq!(sign, format!("{rep},sign,{label}"));
        // The stream itself: rng_for gives the generator the run used.
        let mut again = Replicate::new(study.schema());
        study
            .replicate(&mut engine::rng_for(SEED, &scenario().id, rep), &mut Vec::new(), &mut again)
            .unwrap();
        assert_eq!(again, alone);
    }
}

#[test]
fn an_interrupted_run_resumed_gives_the_same_output() {
    let study = NormalMean::new();
    let full = tempfile::tempdir().unwrap();
    run_with_threads(&study, &config(full.path(), 3000), 2).unwrap();

    // Interrupt after about 1200 replicates (as a SIGINT handler would): blocks in flight finish,
    // no new block starts.
    let dir = tempfile::tempdir().unwrap();
    let flag = Arc::new(AtomicBool::new(false));
    let interrupting =
        Interrupting { inner: NormalMean::new(), calls: AtomicU64::new(0), after: 1200, flag: flag.clone() };
    let mut c = config(dir.path(), 3000);
    c.cancel = Some(flag);
    c.threads = Some(2);
    let err = engine::run(&interrupting, &c).unwrap_err();
    let EngineError::Interrupted { persisted, .. } = err else {
        panic!("expected an interruption, got {err}")
    };
    assert!((2..6).contains(&persisted), "{persisted} blocks persisted");
    assert!(!dir.path().join("summary.json").exists());

    // As after kill -9: one persisted block lost too, and a stray temporary file.
    // (Which blocks finished depends on scheduling: rayon splits the block list between threads.)
    let done = survmc::engine::blocks::list_blocks(dir.path()).unwrap();
    assert_eq!(done.len() as u64, persisted);
    std::fs::remove_file(survmc::engine::blocks::block_path(dir.path(), done[0])).unwrap();
    std::fs::write(dir.path().join("blocks").join(".block-000005.json.tmp-1-1"), b"{trunc").unwrap();

    // Without --resume the directory is refused; with another seed it is refused too.
    let mut c = config(dir.path(), 3000);
    let err = engine::run(&study, &c).unwrap_err();
    assert!(matches!(err, EngineError::OutputExists { .. }), "{err}");
    c.resume = true;
    c.seed = SEED + 1;
    let err = engine::run(&study, &c).unwrap_err();
    assert!(matches!(&err, EngineError::Mismatch { field: "seed", .. }), "{err}");

    c.seed = SEED;
    let out = run_with_threads(&study, &c, 3).unwrap();
    assert_eq!(out.blocks_used, 6);
    assert!(out.blocks_computed < 6 && out.blocks_computed >= 2, "{} computed", out.blocks_computed);
    assert_same_outputs(full.path(), dir.path());

    // Losing blocks after completion and resuming again: the same bytes.
    for b in [0, 5] {
        std::fs::remove_file(survmc::engine::blocks::block_path(dir.path(), b)).unwrap();
    }
    let out = engine::run(&study, &c).unwrap();
    assert_eq!(out.blocks_computed, 2);
    assert_same_outputs(full.path(), dir.path());
}

#[test]
fn until_mcse_stops_at_the_first_block_below_target() {
    let study = NormalMean::new();
    let target = 0.01;
    let mut outcomes = Vec::new();
    let dirs: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    for (dir, threads) in dirs.iter().zip([1, 3]) {
        let mut c = config(dir.path(), 20_000);
        c.until_mcse = Some(target);
        outcomes.push(run_with_threads(&study, &c, threads).unwrap());
    }
    assert_same_outputs(dirs[0].path(), dirs[1].path());
    let out = &outcomes[0];
    assert_eq!(out.stop, StopReason::McseReached);
    assert_eq!(out.replicates, out.blocks_used * 500);
    // z power ~ 0.16 needs about 0.16 * 0.84 / 0.01^2 = 1350 replicates: 3 blocks of 500.
    assert!((2..=5).contains(&out.blocks_used), "{} blocks", out.blocks_used);
    let primary = |s: &survmc::engine::RunSummary| -> Vec<f64> {
        let mut v = Vec::new();
        for (p, m) in s.pairs.iter().zip([Measure::Cover, Measure::Power]) {
            v.push(p.performance.included.get(m).mcse.unwrap());
            v.push(p.performance.excluded.get(m).mcse.unwrap());
        }
        v
    };
    assert!(primary(out.summary.as_ref().unwrap()).iter().all(|&x| x < target));

    // The same as a plain run of that many replicates; one block fewer was not enough.
    let plain = tempfile::tempdir().unwrap();
    let p = engine::run(&study, &config(plain.path(), out.replicates)).unwrap();
    for name in ["summary.json", "performance.csv", "replicates.csv"] {
        assert!(
            std::fs::read(plain.path().join(name)).unwrap()
                == std::fs::read(dirs[0].path().join(name)).unwrap(),
            "{name} differs from a plain run"
        );
    }
    assert_eq!(p.summary.as_ref().map(|s| s.replicates), Some(out.replicates));
    let fewer = tempfile::tempdir().unwrap();
    let f = engine::run(&study, &config(fewer.path(), out.replicates - 500)).unwrap();
    assert!(primary(f.summary.as_ref().unwrap()).iter().any(|&x| x >= target));

    // A target out of reach stops at the cap; shards cannot stop early.
    let cap = tempfile::tempdir().unwrap();
    let mut c = config(cap.path(), 1000);
    c.until_mcse = Some(1e-6);
    let out = engine::run(&study, &c).unwrap();
    assert_eq!((out.stop, out.replicates), (StopReason::CapReached, 1000));
    let manifest = std::fs::read_to_string(cap.path().join("manifest.json")).unwrap();
    assert!(manifest.contains("\"stop\": \"cap_reached\""), "{manifest}");
    c.shard = Shard::new(0, 2).unwrap();
    assert!(matches!(engine::run(&study, &c), Err(EngineError::Config(_))));
}

#[test]
fn mcse_formulas_match_hand_computation() {
    // Estimates 1, 2, 4 with truth 2: d = -1, 0, 2; mean(d) = 1/3;
    // S2_d = ((4/3)^2 + (1/3)^2 + (5/3)^2) / 2 = 7/3.  d^2 = 1, 0, 4: mean 5/3, S2 = 13/3.
    // SEs 1, 1, 2: V = 1, 1, 4, mean 2, S2_V = 3.
    // Intervals [0, 3], [1.5, 2.5], [2.2, 5]: the truth 2 lies in the first two; mean 7/3 in all.
    // p-values 0.01, 0.05, 0.2 at alpha 0.05: two rejections (p <= alpha).
    let mut acc = PairAccumulator::default();
    let data = [(1.0, 1.0, 0.0, 3.0, 0.01), (2.0, 1.0, 1.5, 2.5, 0.05), (4.0, 2.0, 2.2, 5.0, 0.2)];
    for (est, se, lo, up, p) in data {
        let obs = Observation::estimate(est).with_se(se).with_interval(lo, up).with_p_value(p);
        acc.push(Some(&obs), Some(2.0), 0.05);
    }
    let s = acc.summary(Some(2.0)).included;
    let empse = (7.0f64 / 3.0).sqrt();
    let modelse = 2.0f64.sqrt();
    let expect: [(Measure, f64, f64); 10] = [
        (Measure::ThetaMean, 7.0 / 3.0, 7.0f64.sqrt() / 3.0),
        (Measure::Bias, 1.0 / 3.0, 7.0f64.sqrt() / 3.0),
        (Measure::RelBias, 1.0 / 6.0, 7.0f64.sqrt() / 6.0),
        // empse / sqrt(2 (n - 1)) = empse / 2
        (Measure::EmpSe, empse, empse / 2.0),
        (Measure::Mse, 5.0 / 3.0, 13.0f64.sqrt() / 3.0),
        // sqrt(S2_V / (4 n modelse^2)) = sqrt(3 / 24)
        (Measure::ModelSe, modelse, (1.0f64 / 8.0).sqrt()),
        // 100 (M/E) sqrt(S2_V / (4 n M^4) + 1 / (2 (n - 1))) = 100 sqrt(6/7) sqrt(3/48 + 1/4)
        (
            Measure::RelError,
            100.0 * ((6.0f64 / 7.0).sqrt() - 1.0),
            100.0 * (6.0f64 / 7.0).sqrt() * (5.0f64 / 16.0).sqrt(),
        ),
        (Measure::Cover, 2.0 / 3.0, (2.0f64 / 27.0).sqrt()),
        (Measure::BeCover, 1.0, 0.0),
        (Measure::Power, 2.0 / 3.0, (2.0f64 / 27.0).sqrt()),
    ];
    for (m, est, mcse) in expect {
        let e = s.get(m);
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1.0);
        assert!(close(e.est.unwrap(), est), "{}: {:?} vs {est}", m.name(), e.est);
        assert!(close(e.mcse.unwrap(), mcse), "{}: MCSE {:?} vs {mcse}", m.name(), e.mcse);
        assert_eq!(e.n, 3);
    }
}

/// 50 pairs (the mean of N Normal(mu_k, 1) draws with its z-interval, k = 0..50) and one
/// continuous numeric choice: the shape of a real study, for the size of its block files.
struct Wide {
    schema: Schema,
}

impl Wide {
    const PAIRS: usize = 50;

    fn new() -> Self {
        let pairs = (0..Self::PAIRS)
            .map(|k| PairSpec {
                estimand: format!("mean{k}"),
                method: "z".into(),
                truth: Some(k as f64 / 10.0),
                primary: vec![],
            })
            .collect();
        let choices = vec![ChoiceSpec { name: "x".into(), kind: ChoiceKind::Numeric { histogram: None } }];
        Wide { schema: Schema { alpha: 0.05, pairs, choices } }
    }
}

impl Study for Wide {
    type Scratch = ();

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn scratch(&self) {}

    fn replicate(&self, rng: &mut ChaCha8Rng, _: &mut (), out: &mut Replicate) -> Result<(), StudyError> {
        let se = 1.0 / (N as f64).sqrt();
        for (k, slot) in out.observations.iter_mut().enumerate() {
            let t = k as f64 / 10.0 + se * rng.sample::<f64, _>(StandardNormal);
            *slot = Some(Observation::estimate(t).with_se(se).with_interval(t - 1.96 * se, t + 1.96 * se));
        }
        out.choices[0] = Choice::Value(rng.sample::<f64, _>(StandardNormal));
        Ok(())
    }
}

#[test]
fn a_block_file_does_not_grow_with_the_replicates_in_it() {
    // One block of n replicates for n = 1000, 8000, 32000: the accumulators hold counts, moments,
    // a pilot grid of 201 counts per view and at most capped tables, so the block file's size is
    // bounded whatever n (the old per-replicate interval ends took 32 bytes per replicate and
    // pair: 50 MB of JSON at n = 32000). Counts gain a digit or two as n grows, nothing more.
    let study = Wide::new();
    let size = |n: u64| {
        let dir = tempfile::tempdir().unwrap();
        let mut c = RunConfig::new(scenario(), SEED, n, dir.path());
        c.progress = engine::ProgressMode::Quiet;
        c.block_size = n;
        let out = engine::run(&study, &c).unwrap();
        let s = out.summary.unwrap();
        for p in &s.pairs {
            assert_eq!(p.performance.included.becover_method, "grid");
            // 50 pairs x 3 sizes: 4.5 MCSE keeps the family-wise false alarm rate near 1e-3.
            let be = &p.performance.included.becover;
            let (est, mcse) = (be.est.unwrap(), be.mcse.unwrap());
            assert!((est - 0.95).abs() <= 4.5 * mcse, "{}: becover {est} (MCSE {mcse})", p.estimand);
        }
        std::fs::metadata(dir.path().join("blocks/block-000000.json")).unwrap().len()
    };
    // The bound, from the caps: per pair and view about 600 characters of counts and moments and
    // 201 grid counts of at most 8 characters; the choice table at most 4096 rows of at most 32.
    // The old layout needed about 4000 bytes per replicate here (50 pairs x 2 views x 2 ends x
    // ~20 characters): 4 MB at n = 1000 already.
    let bound = Wide::PAIRS as u64 * 2 * (600 + 201 * 8) + 4096 * 32;
    let sizes: Vec<(u64, u64)> = [1000, 8000, 32000, 128_000].into_iter().map(|n| (n, size(n))).collect();
    for &(n, s) in &sizes {
        assert!(s < bound, "block of {n} replicates: {s} bytes, bound {bound}");
    }
    // 16x the replicates, less than 1.5x the bytes (counts gain a digit; the table fills to its cap).
    assert!(sizes[3].1 * 2 < sizes[1].1 * 3, "{sizes:?}");
}
