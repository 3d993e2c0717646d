//! TODO: mann_whitney (being written).
