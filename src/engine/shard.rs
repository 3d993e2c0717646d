//! Shards: slice k of N runs the blocks b with b % N == k; `merge` puts the slices back together.
//!
//! ```text
//! shard k/N  -> blocks { b : b % N == k }       (any N >= 1, 0 <= k < N)
//! merge dirs -> every block 0..n_blocks present exactly once, same run.json everywhere
//!            -> fold in block order            (= the unsharded run, byte for byte)
//! ```
//! The scheduler (SLURM array, Kubernetes Indexed Job, GNU parallel) runs the shards; survmc only
//! slices and merges.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Instant;

use super::blocks::{self, RunFile};
use super::{EngineError, RunOutcome, StopReason};
use crate::report::run_output;

/// Slice `index` of `count` (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// The whole run.
    pub const SINGLE: Shard = Shard { index: 0, count: 1 };

    pub fn new(index: u64, count: u64) -> Result<Shard, EngineError> {
        if count == 0 || index >= count {
            return Err(EngineError::Config(format!("shard {index}/{count}: need 0 <= k < N")));
        }
        Ok(Shard { index, count })
    }

    /// Whether block `block` belongs to this shard.
    pub fn owns(self, block: u64) -> bool {
        block % self.count == self.index
    }

    pub fn is_single(self) -> bool {
        self.count == 1
    }
}

impl FromStr for Shard {
    type Err = EngineError;

    /// "k/N", e.g. "0/4".
    fn from_str(s: &str) -> Result<Shard, EngineError> {
        let bad = || EngineError::Config(format!("shard {s:?}: expected k/N with 0 <= k < N, e.g. 0/4"));
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let k = k.trim().parse().map_err(|_| bad())?;
        let n = n.trim().parse().map_err(|_| bad())?;
        Shard::new(k, n).map_err(|_| bad())
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Combine the output directories of shards (or of partial and resumed runs) into `out`: checks
/// they belong to the same run (scenario, file hash, seed, survmc version, replicates, block size,
/// schema) and that every block is present exactly once, copies the blocks into `out` and writes
/// the outputs there, byte-identical to an unsharded run's. `out` must be absent, empty or one of
/// `dirs`; a new `out` appears whole (built under `.NAME.merging`, then renamed) or not at all; an
/// existing `out` holding other things (not a run) receives the outputs file by file, manifest last.
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<RunOutcome, EngineError> {
    let start = Instant::now();
    let Some(first) = dirs.first() else {
        return Err(EngineError::Config("merge needs at least one directory".into()));
    };
    let run = RunFile::read(first)?;
    for dir in &dirs[1..] {
        let other = RunFile::read(dir)?;
        run.check_same(&other, &dir.join(blocks::RUN_FILE))?;
    }
    let n_blocks = run.layout().n_blocks();

    // Which directory holds each block.
    let mut holders: BTreeMap<u64, Vec<PathBuf>> = BTreeMap::new();
    for dir in dirs {
        for b in blocks::list_blocks(dir)? {
            if b >= n_blocks {
                return Err(EngineError::Corrupt {
                    path: blocks::block_path(dir, b),
                    what: format!("block {b} is outside this run's blocks 0..{n_blocks}"),
                });
            }
            holders.entry(b).or_default().push(dir.clone());
        }
    }
    let duplicates: Vec<(u64, Vec<PathBuf>)> =
        holders.iter().filter(|(_, d)| d.len() > 1).map(|(b, d)| (*b, d.clone())).collect();
    if !duplicates.is_empty() {
        return Err(EngineError::DuplicateBlocks { duplicates });
    }
    let missing: Vec<u64> = (0..n_blocks).filter(|b| !holders.contains_key(b)).collect();
    if !missing.is_empty() {
        return Err(EngineError::MissingBlocks { missing, n_blocks });
    }

    // Every block must belong to the run before anything is written.
    for (b, holder) in &holders {
        blocks::read_block(&holder[0], *b, &run)?;
    }
    let out_is_input = dirs.iter().any(|d| same_dir(d, out));
    if !out_is_input && !blocks::list_blocks(out).unwrap_or_default().is_empty() {
        return Err(EngineError::OutputExists { path: out.to_path_buf() });
    }

    // A new output directory is built whole under a temporary sibling name and renamed into place
    // at the end: a killed or failing merge leaves the full output or none (a stale staging
    // directory of a killed merge is replaced by the next merge). A merge into one of its input
    // directories writes in place (each file atomically).
    let staging = if out_is_input { None } else { staging_dir(out)? };
    let dest = staging.as_deref().unwrap_or(out);
    let summary = write_merged(dirs, &run, &holders, dest, n_blocks, start);
    let summary = match (summary, &staging) {
        (Err(e), Some(staging)) => {
            let _ = std::fs::remove_dir_all(staging);
            return Err(e);
        }
        (result, _) => result?,
    };
    if let Some(staging) = &staging {
        move_into_place(staging, out)?;
    }
    Ok(RunOutcome {
        out_dir: out.to_path_buf(),
        replicates: run.key.replicates,
        blocks_used: n_blocks,
        blocks_computed: 0,
        blocks_reused: n_blocks,
        stop: StopReason::Completed,
        summary: Some(summary),
    })
}

/// Copies the blocks into `dest` (rows first, the block's JSON last) and writes the outputs there.
fn write_merged(
    dirs: &[PathBuf],
    run: &RunFile,
    holders: &BTreeMap<u64, Vec<PathBuf>>,
    dest: &Path,
    n_blocks: u64,
    start: Instant,
) -> Result<super::RunSummary, EngineError> {
    blocks::prepare_dir(dest)?;
    run.write(dest)?;
    for (b, holder) in holders {
        let dir = &holder[0];
        if same_dir(dir, dest) {
            continue;
        }
        let [rows, choices] = blocks::row_paths(dir, *b);
        for path in [rows, choices, blocks::block_path(dir, *b)] {
            if path.exists() {
                let bytes = std::fs::read(&path).map_err(|e| EngineError::io(&path, e))?;
                let name = path.file_name().unwrap_or_default();
                let to = blocks::blocks_dir(dest).join(name);
                run_output::atomic_write(&to, &bytes).map_err(|e| EngineError::io(&to, e))?;
            }
        }
    }
    let summary = super::finalize(dest, run, n_blocks, StopReason::Completed, None)?;
    let provenance = serde_json::json!({
        "merged_from": dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>(),
        "blocks": n_blocks,
        "elapsed_seconds": start.elapsed().as_secs_f64(),
    });
    run_output::write_provenance(dest, &provenance)?;
    Ok(summary)
}

/// Puts the merged outputs built in `staging` at `out`. An absent or empty `out` is replaced by the
/// staging directory in one rename(2). An `out` that already holds other things (a run-and-merge
/// script's `shards/` and `logs/`, never another run: that was refused) receives each output by
/// its own rename, `manifest.json` last, so a run directory is complete once its manifest exists.
fn move_into_place(staging: &Path, out: &Path) -> Result<(), EngineError> {
    let occupied = std::fs::read_dir(out).map(|mut e| e.next().is_some()).unwrap_or(false);
    if !occupied {
        return std::fs::rename(staging, out).map_err(|e| EngineError::io(out, e));
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(staging)
        .map_err(|e| EngineError::io(staging, e))?
        .map(|e| e.map(|e| e.path()).map_err(|err| EngineError::io(staging, err)))
        .collect::<Result<_, _>>()?;
    entries.sort_by_key(|p| (p.file_name().is_some_and(|n| n == "manifest.json"), p.clone()));
    for from in entries {
        let to = out.join(from.file_name().unwrap_or_default());
        if to.is_dir() {
            // an empty `blocks/` left by an earlier attempt (a non-empty one was refused above)
            std::fs::remove_dir(&to).map_err(|e| EngineError::io(&to, e))?;
        }
        std::fs::rename(&from, &to).map_err(|e| EngineError::io(&to, e))?;
    }
    std::fs::remove_dir(staging).map_err(|e| EngineError::io(staging, e))
}

/// A fresh, empty staging directory next to `out` (`.NAME.merging`); `None` when `out` has no file
/// name (".", "/").
fn staging_dir(out: &Path) -> Result<Option<PathBuf>, EngineError> {
    let Some(name) = out.file_name().and_then(|n| n.to_str()) else { return Ok(None) };
    match std::fs::read_dir(out) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(EngineError::io(out, e)),
    }
    let staging = out.with_file_name(format!(".{name}.merging"));
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(|e| EngineError::io(&staging, e))?;
    }
    if let Some(parent) = staging.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| EngineError::io(parent, e))?;
    }
    Ok(Some(staging))
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_slices() {
        let s: Shard = "1/3".parse().unwrap();
        assert_eq!(s, Shard { index: 1, count: 3 });
        assert_eq!((0..7).filter(|&b| s.owns(b)).collect::<Vec<_>>(), vec![1, 4]);
        assert!("3/3".parse::<Shard>().is_err());
        assert!("1-3".parse::<Shard>().is_err());
        assert!("0/0".parse::<Shard>().is_err());
        assert_eq!(s.to_string(), "1/3");
    }
}
