//! TODO: JSON block for logrank (being written).
