//! The replicated log and the master registry's durable state, in upstream's
//! on-disk format (Mesos 1.9.0 `src/log/`, `src/state/log.cpp`).
//!
//! # Layout
//! - [`storage`]: the LevelDB layout of a replica (`src/log/leveldb.cpp`): keys,
//!   `Record`s, synced writes, truncation; [`storage::LevelDb`] wraps rusty-leveldb on
//!   its own thread; [`storage::MemKv`] is an in-memory store for tests.
//! - [`replica`]: the acceptor (`src/log/replica.cpp`): promise/write/recover/learned
//!   handlers as plain methods returning the reply.
//! - [`network`]: the replicas a proposer reaches, in process.
//! - [`consensus`]: the proposer's phases and reply folds (`consensus.cpp`, `catchup.cpp`).
//! - [`mod@log`]: recovery (auto-initialize), the writer/coordinator and reader (`log.cpp`,
//!   `coordinator.cpp`, `recover.cpp`).
//! - [`state`]: `LogStorage` and `State` (`src/state/log.cpp`, `include/mesos/state/`):
//!   snapshots/expunges/diffs in the log, compare-and-swap stores.
//! - [`svndiff`]: applying `Operation::DIFF` values.
//! - [`registry`]: [`RegistryStore`], the registrar's load/save of `mesos.internal.Registry`.
//! - [`intervals`]: the interval set behind holes and learned positions.
//! - [`actor`]: the replica as the `log-replica(N)` libprocess actor, and a key-value
//!   store on the simulator's disk.
//!
//! Quick use (what the master's registrar calls):
//! ```no_run
//! # fn main() -> Result<(), mesos_log::Error> {
//! let mut store = mesos_log::RegistryStore::open("/var/lib/mesos/master", true)?;
//! let mut registry = store.load()?.unwrap_or_default();
//! registry.minimum_capabilities.clear();
//! store.save(&registry)?;
//! # Ok(()) }
//! ```

pub mod actor;
pub mod consensus;
pub mod error;
pub mod intervals;
pub mod log;
pub mod network;
pub mod registry;
pub mod replica;
pub mod state;
pub mod storage;
pub mod svndiff;

pub use error::{Error, Result};
pub use log::{Log, LogEntry};
pub use registry::{log_path, RegistryStore, REGISTRY_KEY};
pub use replica::{Replica, Status};
pub use state::{LogStorage, State, Variable};
pub use storage::{LevelDbStorage, Storage};
