//! Estimators: pure functions of validated data. No IO, no randomness, no threads.
//!
//! Each module is one method and opens with its formula and source. Results are plain structs;
//! a degenerate fit (monotone likelihood, empty group, no events) is a flagged result, not an error.

pub mod chisq;
pub mod cox;
pub mod km;
pub mod logrank;
pub mod mann_whitney;
pub mod maxstat;
mod order;
pub mod roc;
pub mod tables;
