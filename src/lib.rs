//! survmc: simulation and validation harness for small-sample survival studies.
//!
//! The layers, bottom up: `data` (validated survival data) -> `estimators` (KM, log-rank, Cox, ROC,
//! maxstat, group comparisons) -> `analysis` (what one dataset or cohort is put through) -> `report`
//! (JSON, CSV, Markdown). `input` reads users' CSV files. Nothing imports upward.

pub mod analysis;
pub mod cohort;
pub mod data;
pub mod engine;
pub mod estimators;
pub mod input;
pub mod metrics;
pub mod report;
pub mod scenario;
pub mod study;
