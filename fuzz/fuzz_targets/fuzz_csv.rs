//! The CSV reader and `survmc analyze` on arbitrary bytes: never a panic.
#![no_main]

#[path = "../drivers.rs"]
mod drivers;

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| drivers::csv_and_analyze(bytes));
