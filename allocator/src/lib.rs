//! Hierarchical DRF allocator and sorters as pure state machines.
//!
//! # Layout
//! - [`resources`]: Mesos resource arithmetic on `mesos_proto::mesos::Resource`
//!   (`Resources`, quantities and limits, `--resources` parsing, display).
//! - [`error`]: the crate's one error enum.

pub mod error;
pub mod resources;

pub use error::{Error, Result};
pub use resources::Resources;
