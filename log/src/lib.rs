//! The replicated log (being written).
