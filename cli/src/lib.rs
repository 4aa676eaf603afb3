//! Shared start-up code of the binaries (logging, signals).
//!
//! # Layout
//! - `src/bin/*`: one file per upstream binary name.
