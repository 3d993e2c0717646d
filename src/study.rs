//! A scenario as a Monte Carlo study: each replicate generates a cohort from its own random stream
//! and puts it through the scenario's analysis.
//!
//! ```text
//! replicate i:  rng_i (engine) -> cohort::generate_into -> analysis::replicate::evaluate -> Replicate
//! truth:        cohort::truth on its own stream (seed, "truth:" + scenario id)
//! ```
//! The only randomness is the engine's per-replicate stream, handed to the cohort generator; the
//! analysis itself is deterministic.

use crate::analysis::replicate::{Plan, evaluate, plan};
use crate::cohort::{self, Cohort, Truth, TruthControl};
use crate::engine::{Replicate, Schema, Study, StudyError, rng_for};
use crate::scenario::{EstimandKind, Scenario};
use rand::rngs::ChaCha8Rng;

/// A validated scenario with its true values and compiled analysis.
pub struct ScenarioStudy {
    pub scenario: Scenario,
    pub truth: Truth,
    plan: Plan,
}

impl ScenarioStudy {
    /// Computes the true values (large-sample simulation where no formula exists, on a stream of
    /// its own so that it never depends on the replicates) and compiles the analysis.
    /// The truth is computed at `control.times` and at every `km_surv` time of the analysis, and
    /// the restricted mean at the first `rmst` horizon of the analysis (else `control.tau`).
    pub fn new(scenario: Scenario, seed: u64, control: &TruthControl) -> ScenarioStudy {
        let mut control = control.clone();
        let mut tau = None;
        for e in &scenario.analysis.estimands {
            match e.kind {
                EstimandKind::KmSurv { at, .. } if !control.times.contains(&at) => control.times.push(at),
                EstimandKind::Rmst { tau: Some(t), .. } if tau.is_none() => tau = Some(t),
                _ => {}
            }
        }
        control.tau = tau.unwrap_or(control.tau);
        let mut rng = rng_for(seed, &format!("truth:{}", scenario.id), 0);
        let truth = cohort::truth(&scenario, &control, &mut rng);
        let plan = plan(&scenario, &truth);
        ScenarioStudy { scenario, truth, plan }
    }
}

impl Study for ScenarioStudy {
    type Scratch = Cohort;

    fn schema(&self) -> &Schema {
        &self.plan.schema
    }

    fn scratch(&self) -> Cohort {
        Cohort::new(&self.scenario)
    }

    fn replicate(
        &self,
        rng: &mut ChaCha8Rng,
        cohort: &mut Cohort,
        out: &mut Replicate,
    ) -> Result<(), StudyError> {
        cohort::generate_into(&self.scenario, rng, cohort);
        evaluate(&self.plan, &self.scenario, cohort, out);
        Ok(())
    }
}
