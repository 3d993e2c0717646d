//! One module per subcommand: flags (clap), then a call into the library, then output through
//! `survmc::report`. No statistics here.

pub mod analyze;
pub mod calibrate;
pub mod simulate;

/// An error caused by what the user gave us (a malformed flag): exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);
