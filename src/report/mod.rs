//! Reporting: the only layer that knows output formats (JSON blocks, CSV, Markdown, SVG).

pub mod blocks;
pub mod calibration;
pub mod cohort_csv;
pub mod compare;
pub mod plots;
pub mod reliability;
pub mod run_output;
pub mod summary;
pub mod table;
