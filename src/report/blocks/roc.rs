//! TODO: JSON block for roc (being written).
