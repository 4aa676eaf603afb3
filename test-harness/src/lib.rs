//! Simulated Mesos clusters with seeded fault campaigns, and the pieces of
//! `mesos-bench` (synthetic agents and frameworks on the real wire).
//!
//! # Layout
//! - [`model`]: protocol models of the master's peers, actors that run on
//!   either runtime: [`model::agent::ModelAgent`] (register, pings, tasks on a
//!   fake containerizer, checkpointed status update streams) and
//!   [`model::scheduler::DriverScheduler`] (driver protocol, acks,
//!   reconciliation, failover).
//! - [`ledger`]: what the peers did, recorded outside them (survives crashes).
//! - [`registry`]: a registrar that keeps the master's registry on the
//!   simulated disk, so a restarted master node finds it.
//! - [`cluster`]: [`cluster::ClusterBuilder`] / [`cluster::Cluster`]: a master,
//!   agents and schedulers on the deterministic simulator, with crash/restart,
//!   partitions and operator calls.
//! - [`invariants`]: the checks a campaign runs continuously and at the end.
//! - [`campaign`]: seeded random fault schedules, running, shrinking, replay.
//! - [`bench`]: `mesos-bench` (synthetic load against any master URL).

pub mod bench;
pub mod campaign;
pub mod cluster;
pub mod invariants;
pub mod ledger;
pub mod model;
pub mod registry;

/// Errors of the harness.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The master's flags did not load.
    #[error("master flags: {0}")]
    Flags(String),
    /// An HTTP call to a master failed or answered unexpectedly.
    #[error("HTTP: {0}")]
    Http(String),
    /// A response body was not what the API promises.
    #[error("bad response: {0}")]
    BadResponse(String),
    /// Socket or process I/O.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T> = std::result::Result<T, Error>;
