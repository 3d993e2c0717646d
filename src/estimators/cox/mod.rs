//! TODO: Cox proportional hazards (being written).
