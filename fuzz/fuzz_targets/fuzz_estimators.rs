//! Every estimator on a data set decoded from arbitrary bytes, with the invariants of issue 7.
#![no_main]

#[path = "../drivers.rs"]
mod drivers;

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| drivers::estimators(bytes));
