//! TODO: km (being written).
