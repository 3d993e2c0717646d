//! What a dataset or a synthetic cohort is put through, composed from the estimators.
//!
//! `analyze` serves `survmc analyze` on a user's CSV (and the reference tests against R);
//! `replicate` is what each synthetic cohort of a Monte Carlo run is put through.

pub mod analyze;
pub mod power;
pub mod replicate;
