//! TODO: roc (being written).
