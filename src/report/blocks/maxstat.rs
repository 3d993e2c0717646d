//! TODO: JSON block for maxstat (being written).
