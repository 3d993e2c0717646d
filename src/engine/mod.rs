//! The Monte Carlo engine: runs a [`Study`] on many replicates, in parallel, reproducibly, in
//! shards, and aggregates the performance of its methods.
//!
//! ```text
//! pilot:        replicates of block 0, once, before anything   (fixes each pair's becover grid,
//!               recorded in run.json; every shard computes the same one; the process that owes
//!               block 0 accumulates it on the way, grids set afterwards)
//! replicate i:  rng_i = rng_for(seed, scenario id, i)          (seeding: one ChaCha stream each)
//!               study.replicate(rng_i, scratch, &mut out)       (estimates, SEs, intervals, flags)
//! block b:      replicates of b, in order -> BlockAccumulator  (blocks: persisted atomically)
//! run:          blocks b with b % N == k (shard k/N), in parallel (rayon; the only rayon user);
//!               a block's replicates computed in parallel chunks of 128, pushed in order
//! output:       fold blocks in order -> metrics -> DIR/{manifest.json, summary.json,
//!               performance.csv, replicates.csv, choices.csv}
//! ```
//! Guarantees: every output file except `provenance.json` is byte-identical whatever the thread
//! count, whether the run was split in shards and merged, or interrupted and resumed (all go
//! through the same persisted blocks and the same in-order fold). Replicate i can be regenerated
//! alone with [`rng_for`] or [`replicate_one`].
//!
//! `--until-mcse X` runs rounds of blocks and stops after the first block b (in block order) at
//! which every primary measure of every pair, in both views (degenerate fits included and
//! excluded), has a defined Monte Carlo SE below X, computed on blocks 0..=b. The decision
//! depends only on those blocks, so the result equals a plain run of (b + 1) blocks. It needs the
//! whole run in one process (no shards); `replicates` is the cap.
//!
//! Memory is flat in the number of replicates: a block's accumulator holds counts, moments, a
//! fixed grid and capped tables (`metrics`), at most one block per thread is in flight (with at
//! most 128 computed replicates waiting to be pushed into it), plus
//! the running total; per-replicate rows go straight to files, and only with `--keep-replicates`.
//!
//! Interruption: SIGINT or SIGKILL lose at most the blocks in flight (no signal handler is
//! needed; persisted blocks are whole). A caller that traps SIGINT can set `RunConfig::cancel`:
//! no new block starts, running ones finish and persist, and `run` returns
//! [`EngineError::Interrupted`]. `resume: true` continues from the persisted blocks.
//!
//! Architecture invariant: the engine knows nothing of survival analysis; studies know nothing
//! of threads, files or blocks.

pub mod blocks;
pub mod progress;
pub mod seeding;
pub mod shard;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use rand::rngs::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub use blocks::{BlockAccumulator, BlockLayout, RunFile, RunKey, sha256_hex};
pub use progress::ProgressMode;
pub use seeding::{Streams, derive_key, rng_for};
pub use shard::{Shard, merge};

use crate::metrics::{
    Choice, ChoiceKind, ChoiceSummary, Measure, Observation, PairGrids, PairPilot, PairSummary,
};
use crate::report::run_output;

/// Replicates per block unless configured otherwise.
pub const DEFAULT_BLOCK_SIZE: u64 = 500;

/// A simulation study the engine can run: a fixed schema and one replicate at a time.
pub trait Study: Sync {
    /// Per-thread working memory reused across replicates (buffers, workspaces); `()` if none.
    type Scratch: Send;

    /// What each replicate reports; fixed for the whole run.
    fn schema(&self) -> &Schema;

    fn scratch(&self) -> Self::Scratch;

    /// Simulate and analyse one replicate, drawing only from `rng`. `out` arrives cleared
    /// (every observation `None`, every choice `Missing`) and sized by the schema; fill it in.
    /// `Err` is for bugs and invalid settings, not for degenerate data (flag those).
    fn replicate(
        &self,
        rng: &mut ChaCha8Rng,
        scratch: &mut Self::Scratch,
        out: &mut Replicate,
    ) -> Result<(), StudyError>;
}

pub type StudyError = Box<dyn std::error::Error + Send + Sync>;

/// What every replicate of a study reports, declared up front.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    /// Significance level of the rejection rate (`power`): reject when p <= alpha.
    pub alpha: f64,
    pub pairs: Vec<PairSpec>,
    pub choices: Vec<ChoiceSpec>,
}

/// One estimand estimated by one method.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairSpec {
    pub estimand: String,
    pub method: String,
    /// The true value; `None` when there is none (bias, MSE and coverage are then not reported).
    pub truth: Option<f64>,
    /// Measures whose Monte Carlo SE `--until-mcse` watches.
    pub primary: Vec<Measure>,
}

/// A named discrete choice made by each replicate (a selected cut-point, a covariate set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChoiceSpec {
    pub name: String,
    pub kind: ChoiceKind,
}

impl Schema {
    pub fn validate(&self) -> Result<(), EngineError> {
        let bad = |s: String| Err(EngineError::Schema(s));
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return bad(format!("alpha = {} is not in (0, 1)", self.alpha));
        }
        for (i, p) in self.pairs.iter().enumerate() {
            if p.truth.is_some_and(|t| !t.is_finite()) {
                return bad(format!("{} / {}: the true value is not finite", p.estimand, p.method));
            }
            if self.pairs[..i].iter().any(|q| q.estimand == p.estimand && q.method == p.method) {
                return bad(format!("{} / {} is declared twice", p.estimand, p.method));
            }
        }
        for (i, c) in self.choices.iter().enumerate() {
            if self.choices[..i].iter().any(|d| d.name == c.name) {
                return bad(format!("choice {} is declared twice", c.name));
            }
            match &c.kind {
                ChoiceKind::Categorical { labels } if labels.is_empty() => {
                    return bad(format!("choice {} has no labels", c.name));
                }
                ChoiceKind::Numeric { histogram: Some(h) }
                    if !(h.lo.is_finite() && h.hi.is_finite() && h.lo < h.hi && h.bins >= 1) =>
                {
                    return bad(format!("choice {}: histogram needs finite lo < hi and bins >= 1", c.name));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// One replicate's results, aligned with the schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Replicate {
    pub observations: Vec<Option<Observation>>,
    pub choices: Vec<Choice>,
}

impl Replicate {
    pub fn new(schema: &Schema) -> Self {
        Replicate {
            observations: vec![None; schema.pairs.len()],
            choices: vec![Choice::Missing; schema.choices.len()],
        }
    }

    pub fn clear(&mut self) {
        self.observations.fill(None);
        self.choices.fill(Choice::Missing);
    }
}

/// Which scenario a run belongs to: `id` seeds the streams, `sha256` (of the scenario file) is
/// recorded and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioIdentity {
    pub id: String,
    pub sha256: String,
}

/// Everything `run` needs besides the study.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub scenario: ScenarioIdentity,
    pub seed: u64,
    /// Replicates to run (the cap under `until_mcse`).
    pub replicates: u64,
    pub block_size: u64,
    /// Threads; `None` uses the current rayon pool.
    pub threads: Option<usize>,
    pub out_dir: PathBuf,
    pub shard: Shard,
    pub until_mcse: Option<f64>,
    /// Continue from the blocks already persisted in `out_dir`.
    pub resume: bool,
    /// Also write one row per replicate (replicates.csv, choices.csv).
    pub keep_replicates: bool,
    pub progress: ProgressMode,
    /// Set to stop starting new blocks (e.g. from a SIGINT handler).
    pub cancel: Option<Arc<AtomicBool>>,
}

impl RunConfig {
    /// A whole, fresh run with the default block size, current thread pool, automatic progress.
    pub fn new(scenario: ScenarioIdentity, seed: u64, replicates: u64, out_dir: impl Into<PathBuf>) -> Self {
        RunConfig {
            scenario,
            seed,
            replicates,
            block_size: DEFAULT_BLOCK_SIZE,
            threads: None,
            out_dir: out_dir.into(),
            shard: Shard::SINGLE,
            until_mcse: None,
            resume: false,
            keep_replicates: false,
            progress: ProgressMode::Auto,
            cancel: None,
        }
    }

    fn key(&self) -> RunKey {
        RunKey {
            scenario_id: self.scenario.id.clone(),
            scenario_sha256: self.scenario.sha256.clone(),
            seed: self.seed,
            survmc_version: env!("CARGO_PKG_VERSION").to_string(),
            replicates: self.replicates,
            block_size: self.block_size,
        }
    }

    fn validate(&self, schema: &Schema) -> Result<(), EngineError> {
        let bad = |s: &str| Err(EngineError::Config(s.to_string()));
        if self.replicates == 0 {
            return bad("replicates must be at least 1");
        }
        if self.block_size == 0 {
            return bad("block size must be at least 1");
        }
        if self.threads == Some(0) {
            return bad("threads must be at least 1");
        }
        if let Some(x) = self.until_mcse {
            if !(x > 0.0 && x.is_finite()) {
                return bad("--until-mcse needs a positive number");
            }
            if !self.shard.is_single() {
                return bad(
                    "--until-mcse decides when to stop from all blocks in order: it cannot run in shards",
                );
            }
            if schema.pairs.iter().all(|p| p.primary.is_empty()) {
                return bad("--until-mcse needs at least one primary measure in the study");
            }
        }
        Ok(())
    }
}

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// All replicates ran.
    Completed,
    /// `--until-mcse`: every primary MCSE fell below the target.
    McseReached,
    /// `--until-mcse`: the cap was reached first.
    CapReached,
    /// A shard finished its blocks; merge the shards for outputs.
    ShardDone,
}

/// What a run or merge did.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub out_dir: PathBuf,
    /// Replicates aggregated in the outputs (shards: replicates in this shard's blocks).
    pub replicates: u64,
    pub blocks_used: u64,
    /// Blocks computed by this invocation.
    pub blocks_computed: u64,
    /// Blocks found already persisted (resume, merge).
    pub blocks_reused: u64,
    pub stop: StopReason,
    /// The aggregated results (`None` for a shard).
    pub summary: Option<RunSummary>,
}

/// `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    pub scenario: String,
    pub seed: u64,
    pub replicates: u64,
    pub blocks: u64,
    pub alpha: f64,
    pub pairs: Vec<PairReport>,
    pub choices: Vec<ChoiceSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairReport {
    pub estimand: String,
    pub method: String,
    pub truth: Option<f64>,
    pub primary: Vec<Measure>,
    #[serde(flatten)]
    pub performance: PairSummary,
}

impl RunSummary {
    pub fn new(run: &RunFile, total: &BlockAccumulator, blocks: u64) -> Self {
        let schema = &run.schema;
        RunSummary {
            scenario: run.key.scenario_id.clone(),
            seed: run.key.seed,
            replicates: run.layout().replicates_in(blocks),
            blocks,
            alpha: schema.alpha,
            pairs: schema
                .pairs
                .iter()
                .zip(&total.pairs)
                .map(|(spec, acc)| PairReport {
                    estimand: spec.estimand.clone(),
                    method: spec.method.clone(),
                    truth: spec.truth,
                    primary: spec.primary.clone(),
                    performance: acc.summary(spec.truth),
                })
                .collect(),
            choices: schema
                .choices
                .iter()
                .zip(&total.choices)
                .map(|(c, acc)| acc.summary(&c.name, &c.kind))
                .collect(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("invalid study schema: {0}")]
    Schema(String),
    #[error("replicate {rep}: the study failed: {source}")]
    Study {
        rep: u64,
        #[source]
        source: StudyError,
    },
    #[error("replicate {rep}: {what}")]
    InvalidReplicate { rep: u64, what: String },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: unreadable: {what}", path.display())]
    Corrupt { path: PathBuf, what: String },
    #[error("{}: {field} differs: expected {expected}, found {found}", path.display())]
    Mismatch { path: PathBuf, field: &'static str, expected: String, found: String },
    #[error("{} already holds a run: pass --resume to continue it, or choose another output directory", path.display())]
    OutputExists { path: PathBuf },
    #[error(
        "blocks missing: {} of blocks 0..{n_blocks} (is a shard directory missing, or a shard unfinished?)",
        ranges(missing)
    )]
    MissingBlocks { missing: Vec<u64>, n_blocks: u64 },
    #[error("blocks present more than once: {}", duplicates_text(duplicates))]
    DuplicateBlocks { duplicates: Vec<(u64, Vec<PathBuf>)> },
    #[error("interrupted: {persisted} blocks persisted in {}; run again with --resume to continue", path.display())]
    Interrupted { path: PathBuf, persisted: u64 },
    #[error("thread pool: {0}")]
    ThreadPool(String),
}

impl EngineError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        EngineError::Io { path: path.to_path_buf(), source }
    }
}

/// "0-3, 7, 9-10".
fn ranges(xs: &[u64]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < xs.len() {
        let mut j = i;
        while j + 1 < xs.len() && xs[j + 1] == xs[j] + 1 {
            j += 1;
        }
        parts.push(if i == j { xs[i].to_string() } else { format!("{}-{}", xs[i], xs[j]) });
        i = j + 1;
    }
    parts.join(", ")
}

fn duplicates_text(d: &[(u64, Vec<PathBuf>)]) -> String {
    d.iter()
        .map(|(b, dirs)| {
            let dirs: Vec<String> = dirs.iter().map(|p| p.display().to_string()).collect();
            format!("block {b} in {}", dirs.join(" and "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Run `study` as `config` says; see the module documentation.
pub fn run<S: Study + ?Sized>(study: &S, config: &RunConfig) -> Result<RunOutcome, EngineError> {
    match config.threads {
        Some(k) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(k)
                .build()
                .map_err(|e| EngineError::ThreadPool(e.to_string()))?;
            pool.install(|| run_in_pool(study, config))
        }
        None => run_in_pool(study, config),
    }
}

/// Replicate `rep` alone, exactly as it runs inside `run` with the same seed and scenario id.
pub fn replicate_one<S: Study + ?Sized>(
    study: &S,
    seed: u64,
    scenario_id: &str,
    rep: u64,
) -> Result<Replicate, EngineError> {
    let mut out = Replicate::new(study.schema());
    let mut scratch = study.scratch();
    let mut rng = rng_for(seed, scenario_id, rep);
    study.replicate(&mut rng, &mut scratch, &mut out).map_err(|source| EngineError::Study { rep, source })?;
    check_replicate(study.schema(), &out, rep)?;
    Ok(out)
}

fn run_in_pool<S: Study + ?Sized>(study: &S, config: &RunConfig) -> Result<RunOutcome, EngineError> {
    let start = Instant::now();
    let schema = study.schema();
    schema.validate()?;
    config.validate(schema)?;
    let out = config.out_dir.as_path();
    let streams = Streams::new(config.seed, &config.scenario.id);

    // The directory: fresh, or the same run when resuming.
    let run_path = out.join(blocks::RUN_FILE);
    let existing = run_path.exists() || !blocks::list_blocks(out)?.is_empty();
    if existing && !config.resume {
        return Err(EngineError::OutputExists { path: out.to_path_buf() });
    }
    let previous = if existing && run_path.exists() { Some(RunFile::read(out)?) } else { None };
    let persisted = |b: u64| {
        blocks::block_path(out, b).exists()
            && (!config.keep_replicates || blocks::row_paths(out, b).iter().all(|p| p.exists()))
    };
    // The pilot fixes the grids; a resumed run takes them from its run.json (after the key and
    // schema are checked below, a fresh pilot would give the same). The pilot's replicates are
    // block 0's: when this process owes block 0, the pilot accumulates it too.
    let layout = BlockLayout { replicates: config.replicates, block_size: config.block_size };
    let mut block0 = None;
    let grids = match &previous {
        Some(p) if p.key == config.key() && p.schema == *schema => p.be_grids.clone(),
        _ => {
            if config.shard.owns(0) && !persisted(0) {
                block0 = Some(PilotBlock {
                    acc: BlockAccumulator::deferred(schema),
                    rows: config.keep_replicates.then(run_output::ReplicateRows::new),
                });
            }
            pilot_grids(study, &streams, layout, block0.as_mut())?
        }
    };
    let run = RunFile::new(config.key(), schema.clone(), grids);
    let layout = run.layout();
    let n_blocks = layout.n_blocks();
    if let Some(previous) = previous {
        previous.check_same(&run, &run_path).map_err(|e| match e {
            // Report the mismatch the natural way round: the directory holds `found`.
            EngineError::Mismatch { path, field, expected, found } => {
                EngineError::Mismatch { path, field, expected: found, found: expected }
            }
            e => e,
        })?;
    }
    blocks::prepare_dir(out)?;
    run.write(out)?;
    let mut computed = 0;
    if let Some(PilotBlock { mut acc, rows }) = block0 {
        acc.set_grids(&run.be_grids);
        persist_block(out, 0, layout.range(0), &run.fingerprint(), acc, rows)?;
        computed += 1;
    }

    let mine: Vec<u64> = (0..n_blocks).filter(|&b| config.shard.owns(b)).collect();
    let todo_total: u64 =
        mine.iter().filter(|&&b| !persisted(b)).map(|&b| layout.range(b).end - layout.range(b).start).sum();
    let progress = progress::Progress::new(config.progress, todo_total);
    let ctx = Context { study, schema, run: &run, streams, config, progress: &progress };

    let (used, stop) = match config.until_mcse {
        None => {
            let todo: Vec<u64> = mine.iter().copied().filter(|&b| !persisted(b)).collect();
            computed += ctx.compute(&todo)?;
            if config.shard.is_single() {
                (n_blocks, StopReason::Completed)
            } else {
                (mine.len() as u64, StopReason::ShardDone)
            }
        }
        Some(target) => {
            let round = rayon::current_num_threads().max(1) as u64;
            let mut total = BlockAccumulator::new(schema, &run.be_grids);
            let mut outcome = None;
            let mut next = 0;
            while next < n_blocks && outcome.is_none() {
                let end = (next + round).min(n_blocks);
                let todo: Vec<u64> = (next..end).filter(|&b| !persisted(b)).collect();
                computed += ctx.compute(&todo)?;
                for b in next..end {
                    total.merge(&blocks::read_block(out, b, &run)?.acc);
                    if mcse_reached(schema, &total, target) {
                        outcome = Some((b + 1, StopReason::McseReached));
                        break;
                    }
                }
                next = end;
            }
            outcome.unwrap_or((n_blocks, StopReason::CapReached))
        }
    };
    progress.finish();

    let summary = if stop == StopReason::ShardDone {
        None
    } else {
        Some(finalize(out, &run, used, stop, config.until_mcse)?)
    };
    let provenance = serde_json::json!({
        "shard": config.shard.to_string(),
        "threads": rayon::current_num_threads(),
        "blocks_computed": computed,
        "blocks_reused": mine.len() as u64 - computed.min(mine.len() as u64),
        "elapsed_seconds": start.elapsed().as_secs_f64(),
    });
    run_output::write_provenance(out, &provenance)?;
    let replicates = if stop == StopReason::ShardDone {
        mine.iter().map(|&b| layout.range(b).end - layout.range(b).start).sum()
    } else {
        layout.replicates_in(used)
    };
    Ok(RunOutcome {
        out_dir: out.to_path_buf(),
        replicates,
        blocks_used: used,
        blocks_computed: computed,
        blocks_reused: used.saturating_sub(computed),
        stop,
        summary,
    })
}

struct Context<'a, S: Study + ?Sized> {
    study: &'a S,
    schema: &'a Schema,
    run: &'a RunFile,
    streams: Streams,
    config: &'a RunConfig,
    progress: &'a progress::Progress,
}

impl<S: Study + ?Sized> Context<'_, S> {
    /// Compute and persist `todo` in parallel; the number computed.
    fn compute(&self, todo: &[u64]) -> Result<u64, EngineError> {
        let cancelled = || self.config.cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed));
        let fingerprint = self.run.fingerprint();
        todo.par_iter()
            .try_for_each_init(Vec::new, |reps, &b| {
                if cancelled() {
                    return Err(EngineError::Interrupted { path: self.config.out_dir.clone(), persisted: 0 });
                }
                self.block(b, &fingerprint, reps)
            })
            .map_err(|e| match e {
                EngineError::Interrupted { path, .. } => {
                    let persisted = blocks::list_blocks(&path).map_or(0, |v| v.len() as u64);
                    EngineError::Interrupted { path, persisted }
                }
                e => e,
            })?;
        Ok(todo.len() as u64)
    }

    fn block(&self, b: u64, fingerprint: &str, reps: &mut Vec<Replicate>) -> Result<(), EngineError> {
        let range = self.run.layout().range(b);
        let mut acc = BlockAccumulator::new(self.schema, &self.run.be_grids);
        let mut rows = self.config.keep_replicates.then(run_output::ReplicateRows::new);
        let mut start = range.start;
        while start < range.end {
            let end = (start + CHUNK).min(range.end);
            let chunk = compute_chunk(self.study, &self.streams, start..end, reps, Some(self.progress))?;
            for (i, rep) in (start..end).zip(chunk.iter()) {
                acc.push(self.schema, rep)
                    .map_err(|what| EngineError::InvalidReplicate { rep: i, what: what.into() })?;
                if let Some(rows) = rows.as_mut() {
                    rows.push(i, self.schema, rep);
                }
            }
            start = end;
        }
        persist_block(&self.config.out_dir, b, range, fingerprint, acc, rows)
    }
}

/// Writes block `b` (replicates `range`) of the run `fingerprint` to `out`, after its
/// per-replicate rows when they are kept.
fn persist_block(
    out: &Path,
    b: u64,
    range: std::ops::Range<u64>,
    fingerprint: &str,
    acc: BlockAccumulator,
    rows: Option<run_output::ReplicateRows>,
) -> Result<(), EngineError> {
    if let Some(rows) = rows {
        let [reps_path, choices_path] = blocks::row_paths(out, b);
        let (reps, choices) = rows.into_bytes();
        run_output::atomic_write(&reps_path, &reps).map_err(|e| EngineError::io(&reps_path, e))?;
        run_output::atomic_write(&choices_path, &choices).map_err(|e| EngineError::io(&choices_path, e))?;
    }
    let file = blocks::BlockFile {
        run: fingerprint.to_string(),
        block: b,
        first_rep: range.start,
        n_reps: range.end - range.start,
        acc,
    };
    blocks::write_block(out, &file)
}

/// Replicates computed together before they are pushed, in order, into an accumulator.
const CHUNK: u64 = 128;

/// Computes replicates `range` (at most [`CHUNK`]) into the first slots of `reps` (grown as
/// needed) in parallel, and returns those slots. Idle threads take part in another thread's chunk
/// (rayon's work stealing), so a run's last blocks do not leave a thread waiting for the others.
/// Which thread computed a replicate changes nothing: its stream is its own. The error reported
/// is the first in replicate order.
fn compute_chunk<'r, S: Study + ?Sized>(
    study: &S,
    streams: &Streams,
    range: std::ops::Range<u64>,
    reps: &'r mut Vec<Replicate>,
    progress: Option<&progress::Progress>,
) -> Result<&'r [Replicate], EngineError> {
    let schema = study.schema();
    let len = (range.end - range.start) as usize;
    if reps.len() < len {
        reps.resize_with(len, || Replicate::new(schema));
    }
    let chunk = &mut reps[..len];
    let outcomes: Vec<Result<(), EngineError>> = chunk
        .par_iter_mut()
        .enumerate()
        .map_init(
            || study.scratch(),
            |scratch, (k, rep)| {
                let i = range.start + k as u64;
                let mut rng = streams.replicate(i);
                rep.clear();
                study
                    .replicate(&mut rng, scratch, rep)
                    .map_err(|source| EngineError::Study { rep: i, source })?;
                check_replicate(schema, rep, i)?;
                if let Some(p) = progress {
                    p.inc(1);
                }
                Ok(())
            },
        )
        .collect();
    outcomes.into_iter().collect::<Result<(), EngineError>>()?;
    Ok(chunk)
}

/// Block 0 accumulated by the pilot, its grids not yet fixed.
struct PilotBlock {
    acc: BlockAccumulator,
    rows: Option<run_output::ReplicateRows>,
}

/// Simulate the replicates of block 0 (the pilot) once, in order, and fix every pair's
/// bias-eliminated coverage grids from them. Every process of a run (each shard, a resumed run)
/// gets the same grids, since block 0's replicates are the same everywhere. With `block0`, the
/// replicates are also accumulated into it, as computing block 0 would (so it is not computed
/// twice).
fn pilot_grids<S: Study + ?Sized>(
    study: &S,
    streams: &Streams,
    layout: BlockLayout,
    mut block0: Option<&mut PilotBlock>,
) -> Result<Vec<PairGrids>, EngineError> {
    let schema = study.schema();
    let mut pilots: Vec<PairPilot> = schema.pairs.iter().map(|_| PairPilot::default()).collect();
    // Replicates are computed in parallel, a chunk at a time, and pushed in replicate order (the
    // grids depend on that order, not on which thread computed what); a chunk bounds the memory.
    let range = layout.range(0);
    let mut reps = Vec::new();
    let mut start = range.start;
    while start < range.end {
        let end = (start + CHUNK).min(range.end);
        for (i, rep) in (start..end).zip(compute_chunk(study, streams, start..end, &mut reps, None)?) {
            for ((pilot, spec), obs) in pilots.iter_mut().zip(&schema.pairs).zip(&rep.observations) {
                pilot.push(obs.as_ref(), spec.truth);
            }
            if let Some(PilotBlock { acc, rows }) = block0.as_deref_mut() {
                acc.push(schema, rep)
                    .map_err(|what| EngineError::InvalidReplicate { rep: i, what: what.into() })?;
                if let Some(rows) = rows.as_mut() {
                    rows.push(i, schema, rep);
                }
            }
        }
        start = end;
    }
    Ok(pilots.into_iter().map(PairPilot::grids).collect())
}

fn check_replicate(schema: &Schema, rep: &Replicate, i: u64) -> Result<(), EngineError> {
    if rep.observations.len() != schema.pairs.len() || rep.choices.len() != schema.choices.len() {
        return Err(EngineError::InvalidReplicate {
            rep: i,
            what: format!(
                "{} observations and {} choices, the schema declares {} and {}",
                rep.observations.len(),
                rep.choices.len(),
                schema.pairs.len(),
                schema.choices.len()
            ),
        });
    }
    Ok(())
}

/// Whether every primary measure has a Monte Carlo SE below `target` in both views.
fn mcse_reached(schema: &Schema, total: &BlockAccumulator, target: f64) -> bool {
    schema.pairs.iter().zip(&total.pairs).filter(|(spec, _)| !spec.primary.is_empty()).all(|(spec, acc)| {
        let s = acc.summary(spec.truth);
        spec.primary
            .iter()
            .all(|&m| [&s.included, &s.excluded].iter().all(|v| v.get(m).mcse.is_some_and(|x| x < target)))
    })
}

/// Fold blocks 0..n_used of `dir` in order and write the outputs.
fn finalize(
    dir: &Path,
    run: &RunFile,
    n_used: u64,
    stop: StopReason,
    until_mcse: Option<f64>,
) -> Result<RunSummary, EngineError> {
    let mut total = BlockAccumulator::new(&run.schema, &run.be_grids);
    // Reading a block (parsing its JSON) costs far more than merging it: blocks are read in
    // parallel, a few per thread at a time (bounded memory), and merged in block order, which
    // fixes the bits. The first failing block in order is the error reported.
    let chunk = 2 * rayon::current_num_threads().max(1) as u64;
    let mut start = 0;
    while start < n_used {
        let end = (start + chunk).min(n_used);
        let files: Vec<Result<blocks::BlockFile, EngineError>> =
            (start..end).into_par_iter().map(|b| blocks::read_block(dir, b, run)).collect();
        for file in files {
            total.merge(&file?.acc);
        }
        start = end;
    }
    let summary = RunSummary::new(run, &total, n_used);
    run_output::write_outputs(dir, run, &summary, n_used, stop, until_mcse)?;
    Ok(summary)
}
