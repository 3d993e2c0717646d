//! Shared by the reference tests: where R's reference cases are.

use std::path::{Path, PathBuf};

/// `$SURVMC_REFERENCE_DIR` if set (a folder of more cases made by `make_reference.R`), else
/// `../shared/reference` when present (the workplace's cases, which may hold more), else the copy
/// committed in `tests/reference` (so a clone anywhere tests the same five cases).
pub fn reference_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SURVMC_REFERENCE_DIR") {
        return PathBuf::from(dir);
    }
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/reference");
    if shared.join("expected").is_dir() { shared } else { vendored_dir() }
}

/// The copy of the reference cases committed in this repository.
pub fn vendored_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference")
}
