//! TODO: tables (being written).
