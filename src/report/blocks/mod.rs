//! JSON blocks of `survmc analyze`, field for field those of `../shared/reference/expected/*.json`
//! (made by R's survival, pROC, maxstat and stats). `null` stands where R gives NA.

pub mod cox;
pub mod km;
pub mod logrank;
pub mod maxstat;
pub mod roc;
pub mod tables;
