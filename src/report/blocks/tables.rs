//! TODO: JSON block for tables (being written).
