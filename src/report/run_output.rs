//! Output files of a Monte Carlo run, written atomically (temporary file, then rename).
//!
//! ```text
//! DIR/manifest.json     what ran: scenario id and file hash, seed, survmc and crate versions, RNG,
//!                       replicates, block size, blocks, stopping rule (reproducible: no timings)
//! DIR/summary.json      every measure of every (estimand, method), both views, and the choices
//! DIR/performance.csv   tidy long: estimand, method, include_degenerate, stat, est, mcse, n_used
//! DIR/replicates.csv    with --keep-replicates: rep, estimand, method, est, se, lower, upper,
//!                       p_value, degenerate (flags joined by '|')
//! DIR/choices.csv       with --keep-replicates: rep, choice, value
//! DIR/provenance.json   how this directory was produced (threads, shards, timings): the one file
//!                       that differs between runs of the same study
//! ```
//! `stat` names follow R's rsimsum (`nsim`, `thetamean`, `bias`, `empse`, `mse`, `modelse`,
//! `relerror`, `cover`, `becover`, `power`; plus `relbias`, `n_missing`, `n_degenerate`,
//! `degenerate_rate`, `n_<kind>`); proportions are in [0, 1], `relerror` in percent. Undefined
//! values are `NA` (CSV) or `null` (JSON). Numbers are written in shortest round-trip form.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use crate::engine::blocks::{self, RunFile};
use crate::engine::{EngineError, Replicate, RunSummary, Schema, StopReason};
use crate::metrics::{Choice, ChoiceKind, Estimate, Measure};

pub const MANIFEST: &str = "manifest.json";
pub const SUMMARY: &str = "summary.json";
pub const PERFORMANCE: &str = "performance.csv";
pub const REPLICATES: &str = "replicates.csv";
pub const CHOICES: &str = "choices.csv";
pub const PROVENANCE: &str = "provenance.json";

const CARGO_LOCK: &str = include_str!("../../Cargo.lock");
/// Crates whose versions change the numbers a run produces.
const RECORDED_CRATES: [&str; 8] =
    ["chacha20", "libm", "nalgebra", "rand", "rand_core", "rand_distr", "rayon", "statrs"];

/// Write `bytes` to `path` so that readers (and a killed writer) only ever see the old file or
/// the whole new one: write a temporary file in the same directory, sync it, rename it.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    atomic_write_with(path, |w| w.write_all(bytes))
}

/// [`atomic_write`] for content streamed by `fill` (never held in memory whole).
pub fn atomic_write_with(
    path: &Path,
    fill: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp =
        dir.join(format!(".{name}.tmp-{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)));
    let result = (|| {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        fill(&mut w)?;
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Versions of the crates in `RECORDED_CRATES`, read from Cargo.lock at build time.
pub fn crate_versions() -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    let mut name: Option<&str> = None;
    for line in CARGO_LOCK.lines() {
        let line = line.trim();
        if line == "[[package]]" {
            name = None;
        } else if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"'));
        } else if let (Some(v), Some(n)) = (line.strip_prefix("version = "), name)
            && RECORDED_CRATES.contains(&n)
        {
            let v = v.trim_matches('"');
            out.entry(n.to_string())
                .and_modify(|e| *e = format!("{e}, {v}"))
                .or_insert_with(|| v.to_string());
        }
    }
    out
}

/// A number as written in CSV files: shortest round-trip form, `Inf`, `-Inf`, `NaN` (as R writes).
pub fn fmt_f64(x: f64) -> String {
    if x.is_finite() {
        format!("{x:?}")
    } else if x.is_nan() {
        "NaN".into()
    } else if x > 0.0 {
        "Inf".into()
    } else {
        "-Inf".into()
    }
}

fn fmt_opt(x: Option<f64>) -> String {
    x.map_or_else(|| "NA".into(), fmt_f64)
}

/// Per-replicate rows of one block (no header; the header is added when blocks are joined).
pub struct ReplicateRows {
    reps: csv::Writer<Vec<u8>>,
    choices: csv::Writer<Vec<u8>>,
}

impl Default for ReplicateRows {
    fn default() -> Self {
        Self::new()
    }
}

const REPLICATES_HEADER: &str = "rep,estimand,method,est,se,lower,upper,p_value,degenerate\n";
const CHOICES_HEADER: &str = "rep,choice,value\n";

impl ReplicateRows {
    pub fn new() -> Self {
        let w = || csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
        ReplicateRows { reps: w(), choices: w() }
    }

    pub fn push(&mut self, rep: u64, schema: &Schema, r: &Replicate) {
        let rep_s = rep.to_string();
        for (spec, obs) in schema.pairs.iter().zip(&r.observations) {
            let fields: [String; 6] = match obs {
                Some(o) => [
                    fmt_f64(o.estimate),
                    fmt_opt(o.se),
                    fmt_opt(o.lower),
                    fmt_opt(o.upper),
                    fmt_opt(o.p_value),
                    o.flags.kinds().map(|k| k.name()).collect::<Vec<_>>().join("|"),
                ],
                None => ["NA".into(), "NA".into(), "NA".into(), "NA".into(), "NA".into(), String::new()],
            };
            // Writing into a Vec cannot fail.
            let _ = self.reps.write_record(
                [rep_s.as_str(), spec.estimand.as_str(), spec.method.as_str()]
                    .into_iter()
                    .chain(fields.iter().map(String::as_str)),
            );
        }
        for (spec, c) in schema.choices.iter().zip(&r.choices) {
            let value = match (c, &spec.kind) {
                (Choice::Category(i), ChoiceKind::Categorical { labels }) => {
                    labels.get(*i as usize).cloned().unwrap_or_else(|| "NA".into())
                }
                (Choice::Value(x), _) => fmt_f64(*x),
                _ => "NA".into(),
            };
            let _ = self.choices.write_record([rep_s.as_str(), spec.name.as_str(), value.as_str()]);
        }
    }

    /// (replicates rows, choices rows).
    pub fn into_bytes(self) -> (Vec<u8>, Vec<u8>) {
        let bytes =
            |w: csv::Writer<Vec<u8>>| w.into_inner().unwrap_or_else(|e| e.into_inner().get_ref().clone());
        (bytes(self.reps), bytes(self.choices))
    }
}

#[derive(Serialize)]
struct Manifest<'a> {
    format: &'static str,
    scenario: ScenarioRecord<'a>,
    seed: u64,
    survmc_version: &'a str,
    crates: BTreeMap<String, String>,
    rng: &'static str,
    replicates: u64,
    replicates_cap: u64,
    block_size: u64,
    blocks: u64,
    until_mcse: Option<f64>,
    stop: StopReason,
    run_fingerprint: String,
    files: Vec<&'static str>,
}

#[derive(Serialize)]
struct ScenarioRecord<'a> {
    id: &'a str,
    sha256: &'a str,
}

/// Write manifest.json, summary.json, performance.csv and, when every used block kept its rows,
/// replicates.csv and choices.csv.
pub fn write_outputs(
    dir: &Path,
    run: &RunFile,
    summary: &RunSummary,
    n_used: u64,
    stop: StopReason,
    until_mcse: Option<f64>,
) -> Result<(), EngineError> {
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        atomic_write(&path, bytes).map_err(|e| EngineError::io(&path, e))
    };
    let mut files = vec![SUMMARY, PERFORMANCE];
    write(SUMMARY, &json(summary))?;
    write(PERFORMANCE, &performance_csv(summary))?;
    let kept = n_used > 0 && (0..n_used).all(|b| blocks::row_paths(dir, b).iter().all(|p| p.exists()));
    if kept {
        join_rows(dir, n_used, REPLICATES, REPLICATES_HEADER, 0)?;
        join_rows(dir, n_used, CHOICES, CHOICES_HEADER, 1)?;
        files.extend([REPLICATES, CHOICES]);
    } else {
        for name in [REPLICATES, CHOICES] {
            let _ = std::fs::remove_file(dir.join(name));
        }
    }
    let manifest = Manifest {
        format: "survmc-manifest/1",
        scenario: ScenarioRecord { id: &run.key.scenario_id, sha256: &run.key.scenario_sha256 },
        seed: run.key.seed,
        survmc_version: &run.key.survmc_version,
        crates: crate_versions(),
        rng: "ChaCha8Rng; key = SHA-256(\"survmc/ChaCha8Rng/v1\\0\", seed u64 LE, len u64 LE, scenario id); stream = replicate index",
        replicates: summary.replicates,
        replicates_cap: run.key.replicates,
        block_size: run.key.block_size,
        blocks: n_used,
        until_mcse,
        stop,
        run_fingerprint: run.fingerprint(),
        files,
    };
    write(MANIFEST, &json(&manifest))
}

/// Write provenance.json (how the directory was produced; not reproducible by design).
pub fn write_provenance(dir: &Path, value: &serde_json::Value) -> Result<(), EngineError> {
    let path = dir.join(PROVENANCE);
    let mut bytes = serde_json::to_vec_pretty(value).unwrap_or_default();
    bytes.push(b'\n');
    atomic_write(&path, &bytes).map_err(|e| EngineError::io(&path, e))
}

/// Concatenate the header and the row files (`which`: 0 replicates, 1 choices) of blocks
/// 0..n_used into `name`, streaming: memory stays flat however many replicates were kept.
fn join_rows(dir: &Path, n_used: u64, name: &str, header: &str, which: usize) -> Result<(), EngineError> {
    let path = dir.join(name);
    atomic_write_with(&path, |w| {
        w.write_all(header.as_bytes())?;
        for b in 0..n_used {
            let part = &blocks::row_paths(dir, b)[which];
            let mut f = std::fs::File::open(part)
                .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", part.display())))?;
            std::io::copy(&mut f, w)?;
        }
        Ok(())
    })
    .map_err(|e| EngineError::io(&path, e))
}

/// performance.csv: one row per estimand x method x view x stat.
pub fn performance_csv(summary: &RunSummary) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(["estimand", "method", "include_degenerate", "stat", "est", "mcse", "n_used"]);
    for p in &summary.pairs {
        let c = &p.performance.counts;
        for (include, view) in [("true", &p.performance.included), ("false", &p.performance.excluded)] {
            let mut row = |stat: &str, est: String, mcse: String, n: u64| {
                let _ = w.write_record([
                    p.estimand.as_str(),
                    p.method.as_str(),
                    include,
                    stat,
                    &est,
                    &mcse,
                    &n.to_string(),
                ]);
            };
            let mut count = |stat: &str, k: u64| row(stat, k.to_string(), "NA".into(), c.nsim);
            count("nsim", c.nsim);
            count("n_missing", c.n_missing);
            count("n_degenerate", c.n_degenerate);
            for k in &c.by_kind {
                count(&format!("n_{}", k.kind), k.n);
            }
            count("n_nonfinite", view.n_nonfinite);
            let mut measure = |stat: &str, e: Estimate| row(stat, fmt_opt(e.est), fmt_opt(e.mcse), e.n);
            measure("degenerate_rate", c.degenerate_rate);
            for m in Measure::ALL {
                measure(m.name(), *view.get(m));
            }
        }
    }
    w.into_inner().unwrap_or_default()
}

/// Pretty JSON with a final newline.
fn json<T: Serialize>(v: &T) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(v).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_and_crates_are_found() {
        for x in [0.1, 1.0 / 3.0, 1e-300, 123456789.0, -2.5e17] {
            assert_eq!(fmt_f64(x).parse::<f64>().unwrap(), x);
        }
        assert_eq!(fmt_f64(1e-7), "1e-7");
        assert_eq!(fmt_f64(f64::NEG_INFINITY), "-Inf");
        let v = crate_versions();
        assert!(
            v.contains_key("rand")
                && v.contains_key("statrs")
                && v.contains_key("rand_distr")
                && v.contains_key("libm"),
            "{v:?}"
        );
    }

    #[test]
    fn atomic_write_replaces_whole_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.json");
        atomic_write(&p, b"old").unwrap();
        atomic_write(&p, b"new").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
