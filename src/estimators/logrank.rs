//! TODO: logrank (being written).
