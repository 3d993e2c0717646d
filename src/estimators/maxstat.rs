//! TODO: maxstat (being written).
