//! The tokio runtime and libprocess HTTP transport (being written).
