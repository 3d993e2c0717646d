//! TODO: JSON block for km (being written).
