//! Fixed blocks of replicates: the unit of work, of persistence and of aggregation.
//!
//! ```text
//! block b = replicates [b * block_size, min((b + 1) * block_size, replicates))
//! acc_b   = replicates of block b pushed in order into an empty BlockAccumulator
//! total   = ((empty + acc_0) + acc_1) + ... + acc_{B-1}      (merged in block order)
//! ```
//! A block's accumulator depends only on its replicates, and the fold order is fixed, so the total
//! is the same bits for any thread count, shard split, or interruption and resume.
//!
//! On disk (`DIR/run.json` first, then one file per finished block):
//! ```text
//! DIR/run.json                          RunFile: the run's identity (key + schema + pilot grids)
//! DIR/blocks/block-000042.json          BlockFile: accumulator of block 42 (the commit marker)
//! DIR/blocks/block-000042.replicates.csv, .choices.csv   per-replicate rows (--keep-replicates)
//! ```
//! Every file is written to a temporary name and renamed, the block's JSON last: a killed run
//! leaves only whole blocks. f64 values are written by serde_json (shortest round-trip form, read
//! back exactly with `float_roundtrip`); accumulators never hold NaN or infinities.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{EngineError, Replicate, Schema};
use crate::metrics::{ChoiceAccumulator, PairAccumulator, PairGrids};
use crate::report::run_output;

pub const RUN_FILE: &str = "run.json";
pub const BLOCKS_DIR: &str = "blocks";
const RUN_FORMAT: &str = "survmc-run/2";

/// How replicates are cut into blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockLayout {
    pub replicates: u64,
    pub block_size: u64,
}

impl BlockLayout {
    pub fn n_blocks(self) -> u64 {
        self.replicates.div_ceil(self.block_size)
    }

    /// Replicate indices of block `b`.
    pub fn range(self, b: u64) -> std::ops::Range<u64> {
        let start = b * self.block_size;
        start..(start + self.block_size).min(self.replicates)
    }

    /// Replicates in blocks 0..n.
    pub fn replicates_in(self, n: u64) -> u64 {
        (n * self.block_size).min(self.replicates)
    }
}

/// What makes two runs the same run: blocks of one can be merged with blocks of the other.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunKey {
    pub scenario_id: String,
    pub scenario_sha256: String,
    pub seed: u64,
    pub survmc_version: String,
    /// Total replicates (the cap under `--until-mcse`).
    pub replicates: u64,
    pub block_size: u64,
}

/// `run.json`: the key, the study's schema and the bias-eliminated coverage grids its pilot fixed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunFile {
    pub format: String,
    pub key: RunKey,
    pub schema: Schema,
    /// One per pair, aligned with the schema (see `metrics::performance`).
    pub be_grids: Vec<PairGrids>,
}

impl RunFile {
    pub fn new(key: RunKey, schema: Schema, be_grids: Vec<PairGrids>) -> Self {
        RunFile { format: RUN_FORMAT.to_string(), key, schema, be_grids }
    }

    pub fn layout(&self) -> BlockLayout {
        BlockLayout { replicates: self.key.replicates, block_size: self.key.block_size }
    }

    /// SHA-256 (hex) of the canonical JSON: stamped into every block file.
    pub fn fingerprint(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        hex(&Sha256::digest(&json))
    }

    pub fn read(dir: &Path) -> Result<RunFile, EngineError> {
        let path = dir.join(RUN_FILE);
        let bytes = std::fs::read(&path).map_err(|e| EngineError::io(&path, e))?;
        let run: RunFile = serde_json::from_slice(&bytes)
            .map_err(|e| EngineError::Corrupt { path: path.clone(), what: e.to_string() })?;
        if run.format != RUN_FORMAT {
            return Err(EngineError::Corrupt {
                path,
                what: format!("format {:?}, this survmc reads {RUN_FORMAT:?}", run.format),
            });
        }
        Ok(run)
    }

    pub fn write(&self, dir: &Path) -> Result<(), EngineError> {
        let path = dir.join(RUN_FILE);
        let mut bytes = serde_json::to_vec_pretty(self)
            .map_err(|e| EngineError::Corrupt { path: path.clone(), what: e.to_string() })?;
        bytes.push(b'\n');
        run_output::atomic_write(&path, &bytes).map_err(|e| EngineError::io(&path, e))
    }

    /// `Err(Mismatch)` naming the first field where `other` (read from `path`) differs.
    pub fn check_same(&self, other: &RunFile, path: &Path) -> Result<(), EngineError> {
        let (a, b) = (&self.key, &other.key);
        let fields: [(&str, String, String); 6] = [
            ("scenario id", a.scenario_id.clone(), b.scenario_id.clone()),
            ("scenario file sha256", a.scenario_sha256.clone(), b.scenario_sha256.clone()),
            ("seed", a.seed.to_string(), b.seed.to_string()),
            ("survmc version", a.survmc_version.clone(), b.survmc_version.clone()),
            ("replicates", a.replicates.to_string(), b.replicates.to_string()),
            ("block size", a.block_size.to_string(), b.block_size.to_string()),
        ];
        for (field, expected, found) in fields {
            if expected != found {
                return Err(EngineError::Mismatch { path: path.to_path_buf(), field, expected, found });
            }
        }
        if self.schema != other.schema {
            return Err(EngineError::Mismatch {
                path: path.to_path_buf(),
                field: "study schema (estimands, methods, truths, choices)",
                expected: self.fingerprint(),
                found: other.fingerprint(),
            });
        }
        if self.be_grids != other.be_grids {
            return Err(EngineError::Mismatch {
                path: path.to_path_buf(),
                field: "bias-eliminated coverage grids (fixed by the pilot block)",
                expected: self.fingerprint(),
                found: other.fingerprint(),
            });
        }
        Ok(())
    }
}

/// Accumulators of every pair and choice of the schema, aligned with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockAccumulator {
    pub pairs: Vec<PairAccumulator>,
    pub choices: Vec<ChoiceAccumulator>,
}

impl BlockAccumulator {
    /// Empty accumulators; `grids` aligned with the schema's pairs (missing ones: no grid).
    pub fn new(schema: &Schema, grids: &[PairGrids]) -> Self {
        BlockAccumulator {
            pairs: (0..schema.pairs.len())
                .map(|i| PairAccumulator::new(grids.get(i).copied().unwrap_or_default()))
                .collect(),
            choices: schema.choices.iter().map(|c| ChoiceAccumulator::new(&c.kind)).collect(),
        }
    }

    /// Empty accumulators whose grids are fixed later ([`BlockAccumulator::set_grids`]), for
    /// the pilot block, accumulated while it fixes them.
    pub fn deferred(schema: &Schema) -> Self {
        BlockAccumulator {
            pairs: schema.pairs.iter().map(|_| PairAccumulator::deferred()).collect(),
            choices: schema.choices.iter().map(|c| ChoiceAccumulator::new(&c.kind)).collect(),
        }
    }

    /// Fixes the grids of a [`BlockAccumulator::deferred`] accumulator: it is then what
    /// [`BlockAccumulator::new`] with `grids` would have accumulated.
    pub fn set_grids(&mut self, grids: &[PairGrids]) {
        for (i, acc) in self.pairs.iter_mut().enumerate() {
            acc.set_grids(grids.get(i).copied().unwrap_or_default());
        }
    }

    /// Add one replicate (already checked against the schema by the caller).
    pub fn push(&mut self, schema: &Schema, rep: &Replicate) -> Result<(), &'static str> {
        for ((acc, spec), obs) in self.pairs.iter_mut().zip(&schema.pairs).zip(&rep.observations) {
            acc.push(obs.as_ref(), spec.truth, schema.alpha);
        }
        for ((acc, spec), c) in self.choices.iter_mut().zip(&schema.choices).zip(&rep.choices) {
            acc.push(&spec.kind, *c)?;
        }
        Ok(())
    }

    pub fn merge(&mut self, other: &BlockAccumulator) {
        for (a, b) in self.pairs.iter_mut().zip(&other.pairs) {
            a.merge(b);
        }
        for (a, b) in self.choices.iter_mut().zip(&other.choices) {
            a.merge(b);
        }
    }
}

/// One persisted block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockFile {
    /// [`RunFile::fingerprint`] of the run it belongs to.
    pub run: String,
    pub block: u64,
    pub first_rep: u64,
    pub n_reps: u64,
    pub acc: BlockAccumulator,
}

pub fn blocks_dir(dir: &Path) -> PathBuf {
    dir.join(BLOCKS_DIR)
}

pub fn block_path(dir: &Path, b: u64) -> PathBuf {
    blocks_dir(dir).join(format!("block-{b:06}.json"))
}

/// Paths of the per-replicate row files of block `b`: (replicates, choices).
pub fn row_paths(dir: &Path, b: u64) -> [PathBuf; 2] {
    let d = blocks_dir(dir);
    [d.join(format!("block-{b:06}.replicates.csv")), d.join(format!("block-{b:06}.choices.csv"))]
}

/// Creates `DIR/blocks` and removes the temporary files a killed process left there
/// (`.block-*.tmp-*`: never renamed, so never part of the run).
pub fn prepare_dir(dir: &Path) -> Result<(), EngineError> {
    let d = blocks_dir(dir);
    std::fs::create_dir_all(&d).map_err(|e| EngineError::io(&d, e))?;
    for entry in std::fs::read_dir(&d).map_err(|e| EngineError::io(&d, e))?.flatten() {
        let name = entry.file_name();
        if name.to_str().is_some_and(|n| n.starts_with(".block-") && n.contains(".tmp-")) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(())
}

/// Indices of the persisted blocks in `dir` (sorted). Temporary files are ignored.
pub fn list_blocks(dir: &Path) -> Result<Vec<u64>, EngineError> {
    let d = blocks_dir(dir);
    let entries = match std::fs::read_dir(&d) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(EngineError::io(&d, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| EngineError::io(&d, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(b) = name.strip_prefix("block-").and_then(|s| s.strip_suffix(".json"))
            && b.len() >= 6
            && let Ok(b) = b.parse::<u64>()
        {
            out.push(b);
        }
    }
    out.sort_unstable();
    Ok(out)
}

pub fn write_block(dir: &Path, file: &BlockFile) -> Result<(), EngineError> {
    let path = block_path(dir, file.block);
    let bytes = serde_json::to_vec(file)
        .map_err(|e| EngineError::Corrupt { path: path.clone(), what: e.to_string() })?;
    run_output::atomic_write(&path, &bytes).map_err(|e| EngineError::io(&path, e))
}

/// Read block `b` of `dir` and check it belongs to `run` and has the expected range.
pub fn read_block(dir: &Path, b: u64, run: &RunFile) -> Result<BlockFile, EngineError> {
    let path = block_path(dir, b);
    let bytes = std::fs::read(&path).map_err(|e| EngineError::io(&path, e))?;
    let file: BlockFile = serde_json::from_slice(&bytes)
        .map_err(|e| EngineError::Corrupt { path: path.clone(), what: e.to_string() })?;
    let fingerprint = run.fingerprint();
    if file.run != fingerprint {
        return Err(EngineError::Mismatch {
            path,
            field: "run fingerprint (the block belongs to another run)",
            expected: fingerprint,
            found: file.run,
        });
    }
    let range = run.layout().range(b);
    let n_pairs_ok =
        file.acc.pairs.len() == run.schema.pairs.len() && file.acc.choices.len() == run.schema.choices.len();
    if file.block != b
        || file.first_rep != range.start
        || file.n_reps != range.end - range.start
        || !n_pairs_ok
    {
        return Err(EngineError::Corrupt {
            path,
            what: format!(
                "header says block {} with replicates from {}, expected block {b}",
                file.block, file.first_rep
            ),
        });
    }
    Ok(file)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 (hex) of some bytes, e.g. a scenario file.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_cuts_a_partial_last_block() {
        let l = BlockLayout { replicates: 1050, block_size: 500 };
        assert_eq!(l.n_blocks(), 3);
        assert_eq!(l.range(2), 1000..1050);
        assert_eq!(l.replicates_in(2), 1000);
        assert_eq!(l.replicates_in(3), 1050);
    }
}
