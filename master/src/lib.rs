//! The Mesos master: state, actor, registrar, HTTP and operator APIs.
//!
//! # Layout
//! - [`flags`]: `MasterFlags`, loaded from `--flags` and `MESOS_*` variables.
//! - [`resources`]: the resource arithmetic the master needs (sums,
//!   containment, reservation formats).
//! - [`state`]: the pure master state: frameworks, agents, tasks, offers and
//!   the ID generators; no I/O, no clock.
//! - [`allocator`]: the [`allocator::Allocator`] trait the master drives and a
//!   small built-in offer generator behind it.
//! - [`validation`]: task / call validation as `src/master/validation.cpp`.
//! - [`registrar`]: the [`registrar::Registrar`] trait, the in-memory
//!   registry and the replicated-log one (`mesos_log::RegistryStore`).
//! - [`observer`]: the `slave-observer(N)` actor that pings one agent.
//! - [`actor`]: the `master` actor: install table and handlers, split by
//!   concern (agents, frameworks, offers, tasks, framework delivery).
//! - [`http`]: HTTP endpoints: the scheduler API (`/api/v1/scheduler`), the
//!   operator API (`/api/v1`), and the v0 JSON endpoints (`/state`, ...).
//! - [`convert`]: v0 <-> v1 message conversion (same wire format).

// The 1.9 wire still carries deprecated fields (`Resource.role`,
// `FrameworkInfo.role`, ...) that old peers need; using them is deliberate.
#![allow(deprecated)]

pub mod actor;
pub mod allocator;
pub mod authorizer;
pub mod build;
pub mod convert;
pub mod error;
pub mod flags;
pub mod http;
pub mod observer;
pub mod operation_validation;
pub mod registrar;
pub mod resources;
pub mod state;
pub mod validation;

pub use actor::Master;
pub use error::{Error, Result};
pub use flags::MasterFlags;

/// The version this master reports (`/version`, `MasterInfo.version`).
pub const MESOS_VERSION: &str = "1.9.0";

/// A fresh `MasterInfo.id`: a random UUID, as upstream's
/// `id::UUID::random()` in `Master::initialize`.
pub fn new_master_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The machine's host name (`/proc/sys/kernel/hostname`), used when
/// `--hostname` is not given.
pub fn local_hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}
