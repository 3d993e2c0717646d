//! One module per subcommand: flags (clap), then a call into the library, then output through
//! `survmc::report`. No statistics here.

pub mod analyze;
pub mod calibrate;
pub mod plan;
pub mod report;
pub mod run;
pub mod simulate;

/// An error caused by what the user gave us (a malformed flag): exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Writes `text` and a newline to stdout; a closed pipe (`survmc ... | head`) is not an error.
pub fn print_stdout(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
