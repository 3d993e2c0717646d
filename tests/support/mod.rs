//! Shared by the Monte Carlo tests that hold the engine against results from outside its code.

use survmc::cohort::TruthControl;
use survmc::engine::{self, RunConfig, RunSummary, ScenarioIdentity};
use survmc::study::ScenarioStudy;

/// Runs scenario `text` (written as `<tmp>/<id>.toml`) for `reps` replicates from `seed`, with a
/// reduced large-sample truth, and returns the summary.
pub fn run(id: &str, text: &str, reps: u64, seed: u64) -> RunSummary {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{id}.toml"));
    std::fs::write(&path, text).unwrap();
    let scenario = survmc::scenario::load(&path).expect("valid scenario");
    let identity = ScenarioIdentity { id: scenario.id.clone(), sha256: scenario.sha256.clone() };
    let control = TruthControl { n_large: 20_000, n_batches: 4, ..TruthControl::issue3() };
    let study = ScenarioStudy::new(scenario, seed, &control);
    let mut config = RunConfig::new(identity, seed, reps, dir.path().join("out"));
    config.progress = engine::ProgressMode::Quiet;
    engine::run(&study, &config).expect("run").summary.expect("a whole run has a summary")
}
