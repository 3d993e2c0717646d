//! TODO: JSON block for cox (being written).
